#!/usr/bin/python3
"""Named-styles purity (issue 17): for each style of a model, the share of its songs that carry
the style's most common label of a catalog column (by default the 114k set's track_genre; a
song carries every label its id is listed under); reports the mean over styles and the
size-weighted mean. Reads `reco-model rows MODEL` output and the catalog CSV.

usage: styles_purity.py CATALOG.csv.gz ROWS.tsv [--column track_genre] [--id-column track_id]
"""
import collections
import csv
import gzip
import sys


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    opts = dict(zip(argv[1::1], argv[2::1]))
    column = opts.get("--column", "track_genre")
    id_column = opts.get("--id-column", "track_id")
    if len(args) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    catalog, rows_path = args[0], args[1]
    labels = collections.defaultdict(set)
    opener = gzip.open if catalog.endswith(".gz") else open
    with opener(catalog, "rt", encoding="utf-8", newline="") as f:
        for rec in csv.DictReader(f):
            if rec.get(column):
                labels[rec[id_column]].add(rec[column])
    styles = collections.defaultdict(list)
    with open(rows_path, encoding="utf-8") as f:
        next(f)
        for line in f:
            parts = line.rstrip("\n").split("\t")
            styles[int(parts[2])].append(labels.get(parts[1], set()))
    shares, weighted, total = [], 0.0, 0
    for style, songs in sorted(styles.items()):
        counts = collections.Counter(g for s in songs for g in s)
        top = counts.most_common(1)[0][1] if counts else 0
        shares.append(top / len(songs))
        weighted += top
        total += len(songs)
    mean = sum(shares) / len(shares)
    print(f"styles={len(shares)} songs={total} mean_style_purity={mean:.4f} "
          f"weighted_purity={weighted / total:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
