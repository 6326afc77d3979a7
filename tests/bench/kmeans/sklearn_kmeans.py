"""scikit-learn side of the k-means benchmark (tests/bench/kmeans/run.sh).

Fits sklearn.cluster.KMeans on exactly the matrix reco-model clustered (its --dump-matrix
.npy), with the same k and number of restarts, and prints one key=value line per run:
the fit time, the inertia and the iterations of the kept run. With --pipeline CSV it also
times the notebook-style whole build: pandas read_csv, drop repeated ids, StandardScaler on
the features, KMeans fit.
"""
import argparse
import time
import warnings

import numpy as np
import sklearn
from sklearn.cluster import KMeans

warnings.filterwarnings("ignore", category=FutureWarning)

FEATURES = ["valence", "year", "acousticness", "popularity", "danceability", "duration_ms",
            "energy", "explicit", "instrumentalness", "key", "liveness", "loudness", "mode",
            "speechiness", "tempo"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("matrix")
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--n-init", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pipeline", help="catalog CSV to time the whole notebook-style build")
    args = parser.parse_args()

    x = np.load(args.matrix)
    km = KMeans(n_clusters=args.k, n_init=args.n_init, init="k-means++", algorithm="lloyd",
                tol=1e-4, max_iter=300, random_state=args.seed)
    start = time.perf_counter()
    km.fit(x)
    fit = time.perf_counter() - start
    print(f"sklearn_version={sklearn.__version__} rows={x.shape[0]} dims={x.shape[1]} "
          f"dtype={x.dtype} fit_seconds={fit:.3f} inertia={km.inertia_:.6f} "
          f"n_iter={km.n_iter_}", flush=True)

    if args.pipeline:
        import pandas as pd
        from sklearn.preprocessing import StandardScaler
        start = time.perf_counter()
        frame = pd.read_csv(args.pipeline)
        frame = frame.drop_duplicates(subset="track_id")
        if frame["explicit"].dtype != np.int64:
            frame["explicit"] = frame["explicit"].astype(int)
        columns = [c for c in FEATURES if c in frame.columns]
        scaled = StandardScaler().fit_transform(frame[columns].to_numpy(dtype=np.float64))
        KMeans(n_clusters=args.k, n_init=args.n_init, random_state=args.seed).fit(scaled)
        total = time.perf_counter() - start
        print(f"pipeline_seconds={total:.3f} pipeline_rows={len(frame)} "
              f"pipeline_dims={len(columns)}", flush=True)


if __name__ == "__main__":
    main()
