"""The peers of reco-model's k-means, for tests/bench/kmeans/run.sh (run with /usr/bin/python3).

  baselines.py env                        BLAS, OpenMP and thread counts numpy / scikit-learn
                                          really use (threadpoolctl), library versions
  baselines.py sklearn MATRIX ...         scikit-learn KMeans on reco-model's --dump-matrix .npy
  baselines.py faiss MATRIX ...           FAISS k-means (faiss.Kmeans) on the same matrix
  baselines.py pipeline CSV ...           the notebook-style whole build: pandas read_csv, drop
                                          repeated ids, StandardScaler, KMeans

Each prints one line of key=value pairs: wall seconds, CPU seconds (every thread), inertia over
every row of the matrix, iterations.
"""
import argparse
import json
import math
import sys
import time
import warnings

import numpy as np

warnings.filterwarnings("ignore", category=FutureWarning)

FEATURES = ["valence", "year", "acousticness", "popularity", "danceability", "duration_ms",
            "energy", "explicit", "instrumentalness", "key", "liveness", "loudness", "mode",
            "speechiness", "tempo"]


def clock():
    return time.perf_counter(), time.process_time()


def since(start):
    wall, cpu = clock()
    return wall - start[0], cpu - start[1]


def cmd_env(_args):
    import sklearn
    from threadpoolctl import threadpool_info
    import sklearn.cluster  # noqa: F401  (loads the OpenMP runtime scikit-learn uses)
    pools = []
    for p in threadpool_info():
        pools.append(f"{p['internal_api']}:{p.get('version')}:{p.get('architecture', '-')}"
                     f":threads={p['num_threads']}:{p['filepath'].rsplit('/', 1)[-1]}")
    try:
        import faiss
        faiss_version = faiss.__version__
        faiss_threads = faiss.omp_get_max_threads()
    except ImportError:
        faiss_version, faiss_threads = "missing", 0
    print(f"numpy={np.__version__} sklearn={sklearn.__version__} faiss={faiss_version} "
          f"faiss_omp_threads={faiss_threads} pools={'|'.join(pools)}")


def cmd_sklearn(args):
    from sklearn.cluster import KMeans
    x = np.load(args.matrix)
    km = KMeans(n_clusters=args.k, n_init=args.n_init, init="k-means++", algorithm="lloyd",
                tol=args.tol, max_iter=args.max_iter, random_state=args.seed)
    start = clock()
    km.fit(x)
    wall, cpu = since(start)
    print(f"rows={x.shape[0]} dims={x.shape[1]} dtype={x.dtype} fit_seconds={wall:.3f} "
          f"cpu_seconds={cpu:.3f} inertia={km.inertia_:.6f} n_iter={km.n_iter_}", flush=True)


def cmd_faiss(args):
    import faiss
    x = np.ascontiguousarray(np.load(args.matrix), dtype=np.float32)
    n, d = x.shape
    # FAISS has no tolerance: it always runs niter iterations. Its default trains on at most
    # 256 rows per centroid; --all-rows lifts that so it clusters the same rows as the others.
    kw = dict(niter=args.niter, nredo=args.nredo, seed=args.seed, verbose=False)
    if args.all_rows:
        kw.update(max_points_per_centroid=n, min_points_per_centroid=1)
    km = faiss.Kmeans(d, args.k, **kw)
    start = clock()
    km.train(x)
    wall, cpu = since(start)
    dist, _ = km.index.search(x, 1)  # squared L2 to the nearest centroid, every row
    inertia = float(np.sum(dist, dtype=np.float64))
    print(f"rows={n} dims={d} fit_seconds={wall:.3f} cpu_seconds={cpu:.3f} "
          f"inertia={inertia:.6f} niter={args.niter} nredo={args.nredo} "
          f"train_rows={min(n, 256 * args.k) if not args.all_rows else n}", flush=True)


def cmd_pipeline(args):
    import pandas as pd
    from sklearn.cluster import KMeans
    from sklearn.preprocessing import StandardScaler
    start = clock()
    frame = pd.read_csv(args.csv)
    id_column = "track_id" if "track_id" in frame.columns else "id"
    frame = frame.drop_duplicates(subset=id_column)
    if frame["explicit"].dtype != np.int64:
        frame["explicit"] = frame["explicit"].astype(int)
    columns = [c for c in FEATURES if c in frame.columns and frame[c].nunique() > 1]
    scaled = StandardScaler().fit_transform(frame[columns].to_numpy(dtype=np.float64))
    loaded = since(start)
    km = KMeans(n_clusters=args.k, n_init=args.n_init, random_state=args.seed).fit(scaled)
    wall, cpu = since(start)
    print(f"pipeline_seconds={wall:.3f} pipeline_cpu_seconds={cpu:.3f} "
          f"pipeline_load_seconds={loaded[0]:.3f} pipeline_rows={len(frame)} "
          f"pipeline_dims={len(columns)} pipeline_inertia={km.inertia_:.3f}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("env")
    p = sub.add_parser("sklearn")
    p.add_argument("matrix")
    p.add_argument("--k", type=int, default=20)
    p.add_argument("--n-init", type=int, default=10)
    p.add_argument("--max-iter", type=int, default=300)
    p.add_argument("--tol", type=float, default=1e-4)
    p.add_argument("--seed", type=int, default=1)
    p = sub.add_parser("faiss")
    p.add_argument("matrix")
    p.add_argument("--k", type=int, default=20)
    p.add_argument("--nredo", type=int, default=10)
    p.add_argument("--niter", type=int, default=25)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--all-rows", action="store_true")
    p = sub.add_parser("pipeline")
    p.add_argument("csv")
    p.add_argument("--k", type=int, default=20)
    p.add_argument("--n-init", type=int, default=10)
    p.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    {"env": cmd_env, "sklearn": cmd_sklearn, "faiss": cmd_faiss,
     "pipeline": cmd_pipeline}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
