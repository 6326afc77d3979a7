#!/usr/bin/python3
"""Issue 17's bars from reco-evaluate's tab-separated results (tests/quality/issue17.sh).

usage: bars17.py RESULTS.tsv OUT.md COMMAND
Writes OUT.md: every bar met / not met with its numbers, then the full tables."""
import csv
import sys

KNN = ["knn-union", "knn-union-3", "knn-union-30"]
CLEAR = 0.02  # "clearly below": at least 2 points of total variation distance
POINT = 0.01


def load(path):
    rows = {}
    with open(path) as f:
        for r in csv.DictReader(f, delimiter="\t"):
            for k in ("precision", "fidelity", "recall", "recall_new", "energy", "energy_ok",
                      "overlap", "artists", "hygiene", "picks", "ms_per_user"):
                r[k] = float(r[k])
            r["users"] = int(r["users"])
            rows[(r["label"], r["method"], r["users_type"])] = r
    return rows


def pct(x):
    return f"{100 * x:.1f}"


def verdict(ok):
    return "**met**" if ok else "**not met**"


def main():
    rows = load(sys.argv[1])
    labels = sorted({k[0] for k in rows})
    types = {}
    for (label, _, t) in rows:
        types.setdefault(label, [])
        if t not in types[label]:
            types[label].append(t)
    out = ["# Issue 17: quality bars", "",
           f"Produced by `{sys.argv[3]}` (raw lines: `build/quality/issue17/results.tsv`). "
           "Genre features in every model come only from the 160k companion file's artist "
           "genres and the 2024 set's `artist_genres` (`--artist-genres`, "
           "`--no-catalog-genres`), never from the labels scored (TidyTuesday `playlist_genre`, "
           "114k `track_genre`); `tt` is audio only. Precision, distance (total variation "
           "between the library's genre shares and the playlist's, lower is better) and recall "
           "in points (x100). `flat` is the same ranking over the whole catalog with no "
           "allocation (`RECO_RANK_FLAT`); `kNN best` is the best of the kNN union with 3, 10 "
           "and 30 neighbours for that figure.", ""]

    def get(label, method, t, field):
        r = rows.get((label, method, t))
        return None if r is None else r[field]

    def best_knn(label, t, field):
        vals = [get(label, m, t, field) for m in KNN]
        vals = [v for v in vals if v is not None]
        return max(vals) if vals else None

    for label in labels:
        ts = types[label]
        single = [t for t in ts if t.startswith("playlist (")]
        mixed = [t for t in ts if t != "all" and not t.startswith("playlist (") and
                 not t.startswith("1 genre")]
        one = single or [t for t in ts if t.startswith("1 genre")]
        out += [f"## {label}", ""]
        if get(label, "reco-flat", "all", "precision") is not None:
            out += ["| bar | user type | default | flat | verdict |", "|---|---|---:|---:|---|"]
            for t in mixed:
                d = {f: get(label, "reco-default", t, f) for f in ("precision", "fidelity", "recall")}
                fl = {f: get(label, "reco-flat", t, f) for f in ("precision", "fidelity", "recall")}
                ok = (d["fidelity"] <= fl["fidelity"] - CLEAR and
                      d["precision"] >= fl["precision"] - POINT and d["recall"] >= fl["recall"] - POINT)
                out.append(f"| mixed libraries keep their mix (distance / precision / recall) | {t} | "
                           f"{pct(d['fidelity'])} / {pct(d['precision'])} / {pct(d['recall'])} | "
                           f"{pct(fl['fidelity'])} / {pct(fl['precision'])} / {pct(fl['recall'])} | "
                           f"{verdict(ok)} |")
            for t in one:
                d = {f: get(label, "reco-default", t, f) for f in ("precision", "recall")}
                fl = {f: get(label, "reco-flat", t, f) for f in ("precision", "recall")}
                ok = d["precision"] >= fl["precision"] - POINT and d["recall"] >= fl["recall"] - POINT
                out.append(f"| one-style libraries lose nothing (precision / recall) | {t} | "
                           f"{pct(d['precision'])} / {pct(d['recall'])} | "
                           f"{pct(fl['precision'])} / {pct(fl['recall'])} | {verdict(ok)} |")
            out.append("")
        if get(label, "mean", "all", "precision") is not None:
            out += ["| bar | user type | default | single mean | kNN best | verdict |",
                    "|---|---|---:|---:|---:|---|"]
            for t in ts:
                d = [get(label, "reco-default", t, f) for f in ("precision", "recall")]
                m = [get(label, "mean", t, f) for f in ("precision", "recall")]
                k = [best_knn(label, t, f) for f in ("precision", "recall")]
                ok = all(d[i] > m[i] and (k[i] is None or d[i] > k[i]) for i in range(2))
                kt = "not run" if k[0] is None else f"{pct(k[0])} / {pct(k[1])}"
                out.append(f"| above the single mean and kNN union (precision / recall) | {t} | "
                           f"{pct(d[0])} / {pct(d[1])} | {pct(m[0])} / {pct(m[1])} | "
                           f"{kt} | {verdict(ok)} |")
            out.append("")
        if get(label, "reco-discover", "all", "recall_new") is not None and single:
            out += ["| bar | user type | discover=1 | single mean | kNN best | verdict |",
                    "|---|---|---:|---:|---:|---|"]
            for t in single + ["all"]:
                dn, dp = get(label, "reco-discover", t, "recall_new"), get(label, "reco-discover", t, "precision")
                mn, mp = get(label, "mean", t, "recall_new"), get(label, "mean", t, "precision")
                kn = best_knn(label, t, "recall_new")
                ok = dn > mn and (kn is None or dn > kn) and dp >= mp
                kt = "not run" if kn is None else pct(kn)
                out.append(f"| discover=1: recall of new artists' held-back songs (precision) | {t} | "
                           f"{pct(dn)} ({pct(dp)}) | {pct(mn)} ({pct(mp)}) | {kt} | {verdict(ok)} |")
            out.append("")
        if get(label, "reco-energy-high", "all", "energy") is not None:
            out += ["| bar | target | users within 0.1 | mean energy | precision (default) | verdict |",
                    "|---|---|---:|---:|---:|---|"]
            for method, target in (("reco-energy-high", 0.9), ("reco-energy-low", 0.1)):
                r = rows.get((label, method, "all"))
                if r is None:
                    continue
                dp = get(label, "reco-default", "all", "precision")
                ok = r["energy_ok"] >= 0.8 and dp - r["precision"] <= 0.05
                out.append(f"| mood targets move the playlist | energy {target} | "
                           f"{pct(r['energy_ok'])}% | {r['energy']:.3f} | {pct(r['precision'])} "
                           f"({pct(dp)}) | {verdict(ok)} |")
            out.append("")
        if get(label, "reco-variety", "all", "overlap") is not None:
            out += ["| bar | user type | largest share in common | precision (default) | verdict |",
                    "|---|---|---:|---:|---|"]
            for t in ts:
                r = rows.get((label, "reco-variety", t))
                dp = get(label, "reco-default", t, "precision")
                ok = r["overlap"] <= 0.40 and dp - r["precision"] <= 0.02
                out.append(f"| variety really varies | {t} | {pct(r['overlap'])}% | "
                           f"{pct(r['precision'])} ({pct(dp)}) | {verdict(ok)} |")
            out.append("")
        out += ["| method | user type | users | precision | distance | recall | recall new | "
                "artists | mean energy | overlap | ms/user |",
                "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for (l, method, t), r in rows.items():
            if l != label:
                continue
            out.append(f"| {method} | {t} | {r['users']} | {pct(r['precision'])} | "
                       f"{pct(r['fidelity'])} | {pct(r['recall'])} | {pct(r['recall_new'])} | "
                       f"{r['artists']:.1f} | {r['energy']:.3f} | {pct(r['overlap'])} | "
                       f"{r['ms_per_user']:.2f} |")
        out.append("")
    with open(sys.argv[2], "w") as f:
        f.write("\n".join(out))


if __name__ == "__main__":
    main()
