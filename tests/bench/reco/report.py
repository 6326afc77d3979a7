#!/usr/bin/python3
"""Turns the `result ...` and `fact ...` lines of one tests/bench/reco/run.sh run into
RESULTS.md: the latency table, the ratios against the issue-4 targets, throughput and RSS.
Every number comes from the lines of that one run; nothing is carried over."""
import argparse
import sys


def parse(path):
    facts, rows, server, profile, kernels = {}, [], {}, {}, []
    with open(path) as f:
        for line in f:
            parts = line.split()
            if not parts:
                continue
            if parts[0] == "fact":
                key, _, value = line[5:].rstrip("\n").partition("=")
                facts[key] = value
            elif parts[0] == "kernel":
                kernels.append(dict(p.partition("=")[::2] for p in parts[1:]))
            elif parts[0] == "profile":
                kv = dict(p.partition("=")[::2] for p in parts[1:])
                profile.setdefault((kv["catalog"], int(kv["saved"]), kv.get("ranking", "0")),
                                   []).append(
                    (kv["fn"], int(kv["ir_per_request"]), float(kv["share"])))
            elif parts[0] == "server":
                kv = dict(p.partition("=")[::2] for p in parts[1:])
                server.setdefault((kv["catalog"], int(kv["saved"]), kv.get("ranking", "0")),
                                  []).append(
                    int(kv["us"]) / 1e3)
            elif parts[0] == "result":
                row = {}
                for kv in parts[1:]:
                    k, _, v = kv.partition("=")
                    row[k] = v
                row.setdefault("ranking", "0")
                rows.append(row)
    return facts, rows, server, profile, kernels


RANKINGS = {"0": "default", "1": "mean cosine"}


def find(rows, impl, catalog, saved=None, **extra):
    for r in rows:
        if r.get("impl") == impl and r.get("catalog") == catalog and \
                (saved is None or int(r["saved"]) == saved) and \
                all(r.get(k) == str(v) for k, v in extra.items()):
            return r
    return None


def ms(r, key="p50_ms"):
    return float(r[key]) if r is not None else None


def median(values):
    if not values:
        return None
    s = sorted(values)
    return s[(len(s) - 1) // 2]


def fmt_ms(v):
    if v is None:
        return "–"
    if v >= 1000:
        return f"{v / 1000:,.1f} s"
    if v >= 10:
        return f"{v:,.1f}"
    if v >= 1:
        return f"{v:.2f}"
    return f"{v:.3f}"


def fmt_x(v):
    return "–" if v is None else f"{v:,.0f}x" if v >= 100 else f"{v:.1f}x"


def verdict(ok):
    return "–" if ok is None else ("**met**" if ok else "**MISSED**")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", required=True)
    ap.add_argument("--command", required=True)
    ap.add_argument("--real-label", default="114k")
    ap.add_argument("--synth-label", default="1.7M")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    facts, rows, server, profile, kernels = parse(args.results)
    catalogs = [c for c in (args.real_label, args.synth_label)
                if find(rows, "reco_service", c) is not None]
    sizes = sorted({int(r["saved"]) for r in rows if r.get("impl") == "reco_service"})
    out = []
    w = out.append
    w("# reco-service benchmark (issue 4)\n")
    w("Recommend latency through the RPC (NNG req/rep over TCP loopback, protobuf, one client "
      "calling back to back), against the original notebook's algorithm in Python on the same "
      "catalog and the same saved-track lists, in the same run.\n")
    w("```sh\n" + args.command + "\n```\n")
    w(f"- Run: {facts.get('date', '?')} at commit `{facts.get('commit', '?')}`, Release build "
      f"(-O2, no sanitizers), quick={facts.get('quick', '?')}.")
    w(f"- Machine: {facts.get('nproc', '?')} cores ({facts.get('cpu', '?')}), "
      f"{facts.get('mem_gib', '?')} GiB. Load average (1/5/15 min) before "
      f"{facts.get('load_before', '?')}, after {facts.get('load_after', '?')}; the machine is "
      "shared, and the load generator and the service run on the same 2 cores.")
    w("- Saved lists: distinct canonical tracks drawn by `reco-bench sample --seed 4` from the "
      "model; the service gets id, title, artists, duration and year of each (as the front "
      "sends them), the notebook the same ids.")
    w("- Notebook as written: per saved song a full scan of the catalog DataFrame "
      "(`df[(df.name == name) & (df.year == year)].iloc[0]`; the 114k catalog has no year, so "
      "(track_name, artists) there), scale and predict one row, then per cluster `cdist` cosine "
      "against the catalog scaled inside the request. Where a full request would take too "
      "long, the per-song loop is timed on a prefix and scaled linearly to the list size (each "
      "song costs one full scan) and the rest is run in full: those rows say *extrapolated*.")
    w("- Notebook vectorised: the saved tracks' feature rows known by index; one "
      "`scaler.transform` + `kmeans.predict` for the batch, per-cluster numpy cosine over a "
      "catalog scaled and grouped offline.")
    w("- Both notebook versions run with one BLAS/OpenMP thread (OPENBLAS_NUM_THREADS=1, "
      "OMP_NUM_THREADS=1), as the service answers each request on one thread; fitting the "
      "k-means (n_init=1) and pickling are offline and not timed.\n")

    w("## Latency (ms per request)\n")
    w("*Of which in the service*: the median of the service's own time per request (its "
      "`event=request ... us=` log line: decode, recommend, encode); the rest of the "
      "reco-service p50 is the RPC (NNG over TCP loopback, both ends) and the client.\n")
    w("Each size is measured twice: with the service's default ranking (what users get; see "
      "reco-service/README.md) and with mean cosine, the notebook's own ranking (the like-for-"
      "like comparison with the Python columns).\n")
    w("| catalog | saved | ranking | reco-service p50 | p99 | mean | requests | of which in the "
      "service (p50) | notebook vectorised p50 | notebook as written | faster than vectorised "
      "| faster than as written |")
    w("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    ratios_vec, ratios_written = [], []
    for c in catalogs:
        for n in sizes:
            vec = find(rows, "notebook_vectorised", c, n)
            wr = find(rows, "notebook_written", c, n)
            for rk, rk_name in RANKINGS.items():
                svc = find(rows, "reco_service", c, n, ranking=rk)
                if svc is None:
                    continue
                rv = ms(vec) / ms(svc) if vec else None
                rw = ms(wr) / ms(svc) if wr else None
                if rv is not None:
                    ratios_vec.append((rv, c, n, rk))
                if rw is not None:
                    ratios_written.append((rw, c, n, rk))
                wr_text = "–" if wr is None else fmt_ms(ms(wr)) + (
                    " (extrapolated)" if wr.get("method") == "extrapolated" else
                    f" ({wr['requests']} run{'s' if wr['requests'] != '1' else ''})")
                w(f"| {c} | {n:,} | {rk_name} | {fmt_ms(ms(svc))} | "
                  f"{fmt_ms(ms(svc, 'p99_ms'))} | {fmt_ms(ms(svc, 'mean_ms'))} | "
                  f"{svc['requests']} | {fmt_ms(median(server.get((c, n, rk))))} | "
                  f"{fmt_ms(ms(vec))} | {wr_text} | {fmt_x(rv)} | {fmt_x(rw)} |")
    w("")
    floors = [r for r in rows if r.get("impl") == "rpc_floor"]
    if floors:
        w("The RPC's own round trip, measured in the same run with `reco-bench floor` (Health "
          "calls back to back: two envelopes of a few bytes over NNG and the service's worker "
          "hand-off, nothing to compute): "
          + ", ".join(f"{r['catalog']} p50 {fmt_ms(ms(r))} ms (p99 {fmt_ms(ms(r, 'p99_ms'))})"
                      for r in floors)
          + ". No Recommend can answer faster through the RPC.\n")

    overlaps = [(r["catalog"], int(r["saved"]), float(r["overlap_with_vectorised"]))
                for r in rows if r.get("impl") == "notebook_written" and
                "overlap_with_vectorised" in r]
    if overlaps:
        w("Share of the as-written playlist that the vectorised one also has (same algorithm; "
          "the as-written lookup by title + year/artists takes the first catalog row with that "
          "key, which is another song when the key is not unique, as often in the synthetic "
          "catalog, and ties between duplicate rows may break differently): "
          + ", ".join(f"{c} {n:,} saved {o:.0%}" for c, n, o in overlaps) + ".\n")

    w("## Throughput at 200 saved tracks (client threads share one rpc_client)\n")
    w("| catalog | client threads | requests/s | p50 | p99 | errors |")
    w("|---|---:|---:|---:|---:|---:|")
    best = {}
    for r in rows:
        if r.get("impl") == "reco_service_throughput":
            rps = float(r["rps"])
            best[r["catalog"]] = max(best.get(r["catalog"], 0.0), rps)
            w(f"| {r['catalog']} | {r['threads']} | {rps:,.0f} | {fmt_ms(ms(r))} | "
              f"{fmt_ms(ms(r, 'p99_ms'))} | {r['errors']} |")
    w("")

    w("## Memory\n")
    w("| catalog | model file | RSS idle | peak after the latency runs (one request at a time) "
      "| RSS after the run | peak RSS (VmHWM) | bar: model + 32 MB |")
    w("|---|---:|---:|---:|---:|---:|---:|")
    rss_ok = []
    for c in catalogs:
        model = int(facts.get(f"model_bytes_{c}", 0)) / 2**20
        bar_mib = 32e6 / 2**20  # 32 MB
        idle = int(facts.get(f"rss_idle_kb_{c}", 0)) / 1024
        rss = int(facts.get(f"rss_kb_{c}", 0)) / 1024
        hwm = int(facts.get(f"hwm_kb_{c}", 0)) / 1024
        rss_ok.append(hwm < model + bar_mib)
        hwm_latency = int(facts.get(f"hwm_kb_after_latency_{c}", 0)) / 1024
        w(f"| {c} | {model:,.1f} MiB | {idle:,.1f} MiB | {hwm_latency:,.1f} MiB | "
          f"{rss:,.1f} MiB | {hwm:,.1f} MiB | "
          f"{model + bar_mib:,.1f} MiB |")
    w("")

    if profile:
        w("## Where the time goes inside the service (callgrind)\n")
        w("Instructions per Recommend request, inclusive, counted only inside the service's "
          "request handler (`handle_method`: decode, recommend, encode), from "
          "`tests/bench/reco/profile.sh` on the same model and saved list. Instruction counts "
          "are not time, but they do not depend on the machine's load.\n")
        for (c, n, rk), fns in sorted(profile.items()):
            w(f"**{c}, {n:,} saved, ranking {RANKINGS.get(rk, rk)}**\n")
            w("| function | instructions / request | share of the handler |")
            w("|---|---:|---:|")
            for fn, ir, share in fns:
                w(f"| `{fn}` | {ir:,} | {share:.1%} |")
            w("")

    if kernels:
        w("## One scoring pass over every row of the model (`reco-bench kernels`)\n")
        w("A Recommend call with a few hundred saved tracks or more touches nearly every "
          "cluster, so it pays about one pass over the whole scaled catalog. Best of 30, one "
          "thread, on the model file the service ran: *scalar_dot_per_row* is a scalar dot "
          "product per row (four accumulators; how `reco-service/recommend.c` scored before it "
          "took 4-wide vectors); *simd_sse_vec4* / *simd_avx2_vec8* are 4- and 8-wide vector "
          "passes computing the same cosines (checked to 1e-4); *read_only_floor* only reads "
          "the bytes (memory bandwidth once the matrix outgrows the caches).\n")
        w("| catalog | rows x dims | pass | ms | ns per row |")
        w("|---|---|---|---:|---:|")
        for k in kernels:
            w(f"| {k['catalog']} | {int(k['rows']):,} x {k['dims']} | {k['name']} | "
              f"{float(k['best_ms']):.3f} | {float(k['ns_per_row']):.2f} |")
        w("")

    w("## Against the targets\n")
    w("| target | measured | verdict |")
    w("|---|---|---|")
    # Bars are judged on the default ranking (what the service answers); mean cosine, the
    # notebook's ranking, is shown beside it.
    def both(catalog, n):
        d = find(rows, "reco_service", catalog, n, ranking="0")
        m = find(rows, "reco_service", catalog, n, ranking="1")
        return d, (f"{fmt_ms(ms(d))} ms" if d else "–") + (
            f" (mean cosine {fmt_ms(ms(m))} ms)" if m else "")

    svc, text = both(args.real_label, 1000)
    w(f"| p50 < 1 ms at 1,000 saved, {args.real_label} catalog | {text} | "
      f"{verdict(None if svc is None else ms(svc) < 1.0)} |")
    # The issue states the ratio bars beside the 1,000-saved target on the real catalog: they
    # are judged there; every other size and catalog is listed beside them.
    for name, ratios, bar in (("the vectorised notebook", ratios_vec, 20),
                              ("the notebook as written", ratios_written, 10000)):
        if not ratios:
            continue
        at = {rk: r for r, cc, nn, rk in ratios if cc == args.real_label and nn == 1000}
        budget = ""
        base = find(rows, "notebook_vectorised" if bar == 20 else "notebook_written",
                    args.real_label, 1000)
        floor = find(rows, "rpc_floor", args.real_label)
        if base is not None:
            budget = f" (the bar means p50 <= {fmt_ms(ms(base) / bar)} ms"
            if floor is not None:
                budget += f"; the RPC round trip alone is {fmt_ms(ms(floor))} ms"
            budget += ")"
        w(f"| >= {bar:,}x faster than {name} (p50, 1,000 saved, {args.real_label}){budget} | "
          f"{fmt_x(at.get('0'))} (mean cosine {fmt_x(at.get('1'))}); default ranking at all "
          "sizes: " + ", ".join(f"{fmt_x(r)} @ {cc} {nn:,}" for r, cc, nn, rk in ratios
                                if rk == "0")
          + f" | {verdict(at['0'] >= bar if '0' in at else None)} |")
    at, text = both(args.synth_label, 1000)
    if at is not None:
        others = [find(rows, "reco_service", args.synth_label, n, ranking="0") for n in sizes]
        w(f"| p50 < 10 ms on the {args.synth_label} catalog (1,000 saved, like the bars above) | "
          f"{text}; default ranking at all sizes: "
          + ", ".join(f"{fmt_ms(ms(r))} ms @ {int(r['saved']):,}" for r in others if r)
          + f" | {verdict(ms(at) < 10.0)} |")
    if args.real_label in best:
        w(f"| >= 2,000 requests/s on 2 cores at 200 saved ({args.real_label}; best thread "
          f"count) | {best[args.real_label]:,.0f}/s"
          + (f" ({args.synth_label}: {best[args.synth_label]:,.0f}/s)"
             if args.synth_label in best else "")
          + f" | {verdict(best[args.real_label] >= 2000)} |")
    if rss_ok:
        w(f"| peak RSS < model file + 32 MB | see Memory | {verdict(all(rss_ok))} |")
    w("")
    with open(args.out, "w") as f:
        f.write("\n".join(out))
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
