#!/usr/bin/python3
"""The baseline for the reco-service benchmark: the original notebook's recommender in Python
(pandas + scikit-learn + scipy), timed per request, (a) as written and (b) vectorised.

Run by tests/bench/reco/run.sh on the same catalog and the same saved-track lists as reco-bench.
Fitting and pickling the Pipeline(StandardScaler, KMeans(20)) is offline and not timed; only the
recommendation for one list of saved tracks is. Prints one `result ...` key=value line per
(implementation, saved size) for the runner to parse, and notes on stderr.

The algorithm (as the original notebook does it):
  for each saved song: look it up in the catalog DataFrame with a full scan
  (df[(df['name'] == name) & (df['year'] == year)].iloc[0]), take its 15 numeric features,
  scale them with the fitted scaler, predict the cluster with the fitted k-means;
  count saved songs per cluster; give each cluster round(50 * count / total) slots;
  per cluster, the mean of the user's scaled vectors there, cosine distance (cdist 'cosine')
  to every catalog track in that cluster (the catalog scaled inside the request, as the
  notebook's recommend_songs does), the top `slots`; concatenate. Nothing is excluded.
The vectorised version knows the saved tracks' feature rows already (by catalog index), scales
and predicts them in one batch, and ranks each cluster with a numpy matrix-vector product over
a catalog scaled and grouped by cluster offline.
"""
import argparse
import collections
import hashlib
import os
import pickle
import sys
import time
import warnings

# One request is one thread on both sides of the comparison (reco-service answers each request
# on one worker thread). BLAS and OpenMP thread pools also stall badly on a shared 2-core
# machine. Set these variables in the environment to measure otherwise.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402 (after the thread settings, which numpy reads at import)
import pandas as pd  # noqa: E402
from scipy.spatial.distance import cdist  # noqa: E402
from sklearn.cluster import KMeans  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

# The notebook's 15 numeric columns (those present in a catalog are used).
NOTEBOOK_FEATURES = ["valence", "year", "acousticness", "danceability", "duration_ms", "energy",
                     "explicit", "instrumentalness", "key", "liveness", "loudness", "mode",
                     "popularity", "speechiness", "tempo"]
N_SONGS = 50


def note(msg):
    print(f"notebook: {msg}", file=sys.stderr, flush=True)


def load_catalog(path):
    df = pd.read_csv(path, low_memory=False)
    id_col = "id" if "id" in df.columns else "track_id"
    name_col = "name" if "name" in df.columns else "track_name"
    if id_col not in df.columns or name_col not in df.columns:
        sys.exit(f"notebook: {path}: needs an id/track_id and a name/track_name column")
    features = [c for c in NOTEBOOK_FEATURES if c in df.columns]
    for c in features:
        if df[c].dtype == bool or df[c].dtype == object:
            df[c] = df[c].map({True: 1, False: 0, "True": 1, "False": 0, "true": 1,
                               "false": 0, "1": 1, "0": 0}).fillna(0).astype(int)
    df[name_col] = df[name_col].fillna("")
    # The notebook finds a saved song by (name, year). A catalog without a year (the 114k one)
    # is searched by (name, artists) instead: also two column comparisons over the whole frame.
    if "year" in df.columns:
        key_cols = (name_col, "year")
    else:
        df["artists"] = df["artists"].fillna("")
        key_cols = (name_col, "artists")
    return df, id_col, features, key_cols


def fit_or_load(df, features, path, k, seed, n_init, cache_dir):
    st = os.stat(path)
    tag = f"{os.path.abspath(path)}:{st.st_size}:{int(st.st_mtime)}:{k}:{seed}:{n_init}"
    cache = os.path.join(cache_dir, "pipeline-" + hashlib.sha1(tag.encode()).hexdigest()[:16]
                         + ".pkl")
    if os.path.exists(cache):
        with open(cache, "rb") as f:
            pipeline, labels = pickle.load(f)
        note(f"loaded fitted pipeline {cache}")
        return pipeline, labels
    t0 = time.perf_counter()
    pipeline = Pipeline([("scaler", StandardScaler()),
                         ("kmeans", KMeans(n_clusters=k, n_init=n_init, random_state=seed))])
    pipeline.fit(df[features])
    labels = pipeline.steps[1][1].labels_.astype(np.int32)
    os.makedirs(cache_dir, exist_ok=True)
    with open(cache, "wb") as f:
        pickle.dump((pipeline, labels), f)
    note(f"fitted k={k} n_init={n_init} on {len(df)} rows in {time.perf_counter() - t0:.1f} s "
         f"(offline, not timed) -> {cache}")
    return pipeline, labels


# ---------------------------------------------------------------------------------------------
# (a) As written.

def written_song_loop(df, features, key_cols, scaler, kmeans, songs):
    """The notebook's per-song loop: a full-frame scan per song, then scale and predict one row."""
    vectors, clusters = [], []
    for song in songs:
        song_data = df[(df[key_cols[0]] == song[0]) & (df[key_cols[1]] == song[1])].iloc[0]
        song_vector = song_data[features].values.astype(float).reshape(1, -1)
        scaled = scaler.transform(song_vector)
        vectors.append(scaled[0])
        clusters.append(int(kmeans.predict(scaled)[0]))
    return vectors, clusters


def written_tail(df, features, id_col, scaler, labels, vectors, clusters):
    """Allocation and per-cluster ranking, as the notebook does it."""
    counts = collections.Counter(clusters)
    total = len(clusters)
    scaled_data = scaler.transform(df[features])  # recommend_songs scales the catalog per call
    recs = []
    for cluster, count in counts.items():
        slots = round(N_SONGS * count / total)
        if slots == 0:
            continue
        center = np.mean([v for v, c in zip(vectors, clusters) if c == cluster], axis=0)
        members = np.where(labels == cluster)[0]
        distances = cdist(center.reshape(1, -1), scaled_data[members], "cosine")
        index = list(np.argsort(distances)[:, :slots][0])
        recs.append(df.iloc[members[index]])
    return pd.concat(recs)[id_col].tolist()


# ---------------------------------------------------------------------------------------------
# (b) Vectorised, features already known.

class Vectorised:
    def __init__(self, df, features, id_col, pipeline, labels):
        self.scaler = pipeline.steps[0][1]
        self.kmeans = pipeline.steps[1][1]
        self.raw = df[features].to_numpy(dtype=np.float64)
        scaled = self.scaler.transform(self.raw)
        self.ids = df[id_col].to_numpy()
        self.k = self.kmeans.n_clusters
        self.members, self.blocks, self.norms = [], [], []
        for c in range(self.k):
            m = np.where(labels == c)[0]
            block = np.ascontiguousarray(scaled[m])
            self.members.append(m)
            self.blocks.append(block)
            self.norms.append(np.linalg.norm(block, axis=1))

    def recommend(self, saved_rows):
        raw = self.raw[saved_rows]
        scaled = self.scaler.transform(raw)
        clusters = self.kmeans.predict(scaled)
        counts = np.bincount(clusters, minlength=self.k)
        total = len(clusters)
        picks = []
        for c in np.nonzero(counts)[0]:
            slots = round(N_SONGS * counts[c] / total)
            if slots == 0:
                continue
            center = scaled[clusters == c].mean(axis=0)
            sims = self.blocks[c] @ center / (self.norms[c] * np.linalg.norm(center) + 1e-12)
            slots = min(slots, len(sims))
            top = np.argpartition(-sims, slots - 1)[:slots]
            top = top[np.argsort(-sims[top], kind="stable")]
            picks.append(self.members[c][top])
        return self.ids[np.concatenate(picks)].tolist()


# ---------------------------------------------------------------------------------------------

def stats(samples_ms):
    s = sorted(samples_ms)
    p = lambda q: s[min(len(s) - 1, max(0, int(np.ceil(q * len(s))) - 1))]
    return p(0.50), p(0.99), sum(s) / len(s)


def emit(impl, label, saved, samples_ms, method, extra=""):
    p50, p99, mean = stats(samples_ms)
    print(f"result impl={impl} catalog={label} saved={saved} requests={len(samples_ms)} "
          f"p50_ms={p50:.3f} p99_ms={p99:.3f} mean_ms={mean:.3f} method={method}{extra}",
          flush=True)


def read_saved(path):
    with open(path) as f:
        return [line.split("\t", 1)[0].strip() for line in f if line.strip()]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--catalog", required=True, help="catalog CSV (.csv or .csv.gz)")
    ap.add_argument("--label", required=True, help="catalog name for the result lines")
    ap.add_argument("--saved", required=True, action="append",
                    help="file with one saved track id per line (first tab-separated field); "
                         "repeat for each size")
    ap.add_argument("--modes", default="vectorised,written")
    ap.add_argument("--k", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n-init", type=int, default=1,
                    help="k-means restarts for the offline fit (does not change request cost)")
    ap.add_argument("--cache-dir", default=os.path.join(os.getcwd(), "notebook-cache"))
    ap.add_argument("--vectorised-seconds", type=float, default=5.0,
                    help="time spent repeating vectorised requests per size")
    ap.add_argument("--vectorised-max", type=int, default=500)
    ap.add_argument("--written-seconds", type=float, default=30.0,
                    help="as written: run a request in full when it is estimated to take less "
                         "than this, else time the per-song loop on a prefix and extrapolate")
    ap.add_argument("--written-repeats", type=int, default=3)
    args = ap.parse_args()
    warnings.filterwarnings("ignore")  # sklearn's feature-name warnings on plain arrays

    t0 = time.perf_counter()
    df, id_col, features, key_cols = load_catalog(args.catalog)
    note(f"{args.label}: {len(df)} rows, {len(features)} features ({','.join(features)}), "
         f"as-written lookup by ({key_cols[0]}, {key_cols[1]}); loaded in "
         f"{time.perf_counter() - t0:.1f} s")
    pipeline, labels = fit_or_load(df, features, args.catalog, args.k, args.seed, args.n_init,
                                   args.cache_dir)
    scaler, kmeans = pipeline.steps[0][1], pipeline.steps[1][1]
    modes = set(args.modes.split(","))
    vec = Vectorised(df, features, id_col, pipeline, labels)
    first_row = {}
    for i, tid in enumerate(df[id_col].tolist()):
        first_row.setdefault(tid, i)

    per_song_ms = None
    for path in args.saved:
        ids = read_saved(path)
        missing = [t for t in ids if t not in first_row]
        if missing:
            sys.exit(f"notebook: {path}: {len(missing)} ids not in {args.catalog}, e.g. "
                     f"{missing[0]}")
        rows = np.array([first_row[t] for t in ids], dtype=np.int64)
        n = len(ids)
        vec_result = None
        if "vectorised" in modes:
            samples = []
            vec_result = vec.recommend(rows)  # warm-up
            start = time.perf_counter()
            while len(samples) < 3 or (time.perf_counter() - start < args.vectorised_seconds
                                       and len(samples) < args.vectorised_max):
                t = time.perf_counter()
                vec.recommend(rows)
                samples.append((time.perf_counter() - t) * 1e3)
            emit("notebook_vectorised", args.label, n, samples, "measured")
        if "written" in modes:
            # The user's saved songs as the notebook takes them: the lookup key of each.
            keys = df[list(key_cols)].to_numpy()[rows]
            songs = [(a, b) for a, b in keys]
            if per_song_ms is None:
                probe = songs[: min(10, n)]
                t = time.perf_counter()
                written_song_loop(df, features, key_cols, scaler, kmeans, probe)
                per_song_ms = (time.perf_counter() - t) * 1e3 / len(probe)
                note(f"{args.label}: as written, {per_song_ms:.2f} ms per saved song (probe)")
            estimate_s = per_song_ms * n / 1e3
            if estimate_s <= args.written_seconds:
                samples, result = [], None
                repeats = max(1, min(args.written_repeats,
                                     int(args.written_seconds / max(estimate_s, 1e-3))))
                for _ in range(repeats):
                    t = time.perf_counter()
                    vectors, clusters = written_song_loop(df, features, key_cols, scaler,
                                                          kmeans, songs)
                    result = written_tail(df, features, id_col, scaler, labels, vectors,
                                          clusters)
                    samples.append((time.perf_counter() - t) * 1e3)
                extra = ""
                if vec_result is not None:
                    overlap = len(set(result) & set(vec_result)) / max(1, len(vec_result))
                    extra = f" overlap_with_vectorised={overlap:.2f}"
                emit("notebook_written", args.label, n, samples, "measured", extra)
            else:
                # Too slow to run in full: time the per-song loop on a prefix, scale it to n
                # (each song costs one full scan, so the loop is linear in n), and run the tail
                # (allocation + ranking) in full on the clusters of all n songs.
                m = max(10, min(n, int(args.written_seconds * 1e3 / per_song_ms / 2)))
                t = time.perf_counter()
                written_song_loop(df, features, key_cols, scaler, kmeans, songs[:m])
                loop_ms = (time.perf_counter() - t) * 1e3 * n / m
                scaled = scaler.transform(vec.raw[rows])
                clusters = [int(c) for c in kmeans.predict(scaled)]
                t = time.perf_counter()
                written_tail(df, features, id_col, scaler, labels, list(scaled), clusters)
                tail_ms = (time.perf_counter() - t) * 1e3
                emit("notebook_written", args.label, n, [loop_ms + tail_ms], "extrapolated",
                     f" timed_songs={m}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
