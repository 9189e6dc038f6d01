"""Query speed of a surrogate benchmark against raw XGBoost, and load time.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/bench_query.py [NAME_OR_PATH] [--threads N] [--json OUT]

Measured in one run (ratios need no absolute baseline):

1. 10,000 (config, epoch) rows, metric ``valid_acc``: ``bench.query(X, fidelity=f,
   metrics="valid_acc", as_arrays=True)`` vs ``booster.inplace_predict(F)`` on the same rows
   (``F`` prebuilt in the model's own input layout, oblique features included: the raw side
   does no feature work). Ratio = query rows/s / raw rows/s (target >= 0.5). Also reported: all
   metrics (vs the raw calls of every model used) and DataFrame output.
2. One config (encoded array, ``as_arrays=True``) vs a raw one-row ``inplace_predict``
   (target <= 3x). Also reported: one config given as a dict, DataFrame output.
3. Load time of the benchmark: ``hasbench.load(...)`` in this process after imports
   (target < 1 s), and a fresh interpreter including ``import hasbench``.

Without a shipped benchmark (or with ``--synthetic``) a surrogate is fitted on a synthetic
run table first.

4. ``--big-rows N`` (a separate case; sections 1-3 are skipped): one query of ``N`` rows
   (default of the report: 1,000,000), a broadcast view of one config
   (``np.broadcast_to``), on the benchmark's shipped surrogate and run table, against 10,000
   rows of the same view. Per-row time of the big query / per-row time of the small one
   (target <= 1.25: big queries scale linearly), and the big query against the same rows in
   one ``_query_arrays`` call (how ``query`` answered before it chunked), with the peak of
   traced memory of each. ``--big-metrics valid_acc`` for one metric (default: all).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np


def _best(fn, repeat=7, number=1):
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        ts.append((time.perf_counter() - t0) / number)
    return float(np.median(ts)), float(np.min(ts))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("bench", nargs="?", default="digits-hia-cnn")
    ap.add_argument("--synthetic", action="store_true", help="fit on a synthetic table")
    ap.add_argument("--threads", type=int, default=1, help="XGBoost threads (both sides)")
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--json", default=None, help="write results as JSON here")
    ap.add_argument("--big-rows", type=int, default=0,
                    help="run case 4 (one query of this many rows) instead of 1-3")
    ap.add_argument("--big-metrics", default="all", help="case 4: 'all' or one metric")
    args = ap.parse_args(argv)
    if args.big_rows:
        return big_query(args.bench, args.big_rows, args.big_metrics, args.json)

    import xgboost

    import hasbench
    from hasbench.benchmarks import SurrogateBenchmark, list_benchmarks

    tmp = None
    if args.synthetic or (args.bench not in list_benchmarks() and not os.path.exists(args.bench)):
        from hasbench.surrogates import CurveSurrogate
        from hasbench.surrogates.testing import write_synthetic_table

        tmp = tempfile.mkdtemp()
        t = write_synthetic_table(os.path.join(tmp, "syn.h5"), n_configs=300, rng=0)
        CurveSurrogate("xgb").fit(t).save(os.path.join(tmp, "syn.surrogate"))
        target = os.path.join(tmp, "syn.surrogate")
    else:
        target = args.bench
    t0 = time.perf_counter()
    bench = hasbench.load(target)
    load_warm = time.perf_counter() - t0
    load_warm2 = _best(lambda: hasbench.load(target), repeat=5)[0]
    code = ("import time; t=time.perf_counter(); import hasbench; "
            f"b=hasbench.load({target!r}); print(time.perf_counter()-t)")
    cold = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                 check=True).stdout) for _ in range(3)]
    if not isinstance(bench, SurrogateBenchmark):
        print(f"{target} is not a surrogate benchmark")
        return 1
    sur = bench.surrogate
    for reg in sur._models.values():
        if hasattr(reg, "booster"):
            reg.booster.set_param({"nthread": args.threads})
    if not hasattr(sur._models["mean:valid_acc"], "booster"):
        rng = np.random.default_rng(0)
        X = bench.space.sample_array(args.rows, rng)
        f = rng.integers(1, int(bench.fidelity.upper) + 1, args.rows).astype(float)
        q = _best(lambda: bench.query(X, fidelity=f, metrics="valid_acc", as_arrays=True))
        qa = _best(lambda: bench.query(X, fidelity=f, as_arrays=True), repeat=3)
        q1 = _best(lambda: bench.query(X[:1], fidelity=f[:1], metrics="valid_acc",
                                       as_arrays=True), repeat=7, number=200)
        print(f"{sur.model} surrogate (no XGBoost baseline): {args.rows} rows valid_acc "
              f"{q[0] * 1e3:.1f} ms, all metrics {qa[0] * 1e3:.1f} ms, one config "
              f"{q1[0] * 1e6:.0f} us; load {load_warm2 * 1e3:.0f} ms in-process, "
              f"{float(np.median(cold)):.2f} s fresh interpreter")
        return 0
    mean_reg = sur._models["mean:valid_acc"]
    booster = mean_reg.booster
    rng = np.random.default_rng(0)
    n = args.rows
    X = bench.space.sample_array(n, rng)
    f = rng.integers(1, int(bench.fidelity.upper) + 1, n).astype(float)
    F = sur.features(X, f)
    # the model's own input rows, prebuilt (with oblique features when the model has them):
    # the raw baseline does no feature work at all
    Fd = mean_reg._design(F)
    res: dict = {"benchmark": str(target), "rows": n, "threads": args.threads}

    # 1. 10,000 rows
    q = _best(lambda: bench.query(X, fidelity=f, metrics="valid_acc", as_arrays=True))
    r = _best(lambda: booster.inplace_predict(Fd))
    res["batch_valid_acc"] = {"query_s": q[0], "raw_s": r[0], "ratio": r[0] / q[0]}
    Fc = X[:, sur.search_cols]
    boosters = [(m.booster, m._design(F if k.startswith("mean:") else Fc))
                for k, m in sur._models.items() if k.startswith(("mean:", "time", "static:"))]

    def raw_all():
        for b, rows in boosters:
            b.inplace_predict(rows)

    qa = _best(lambda: bench.query(X, fidelity=f, as_arrays=True), repeat=5)
    ra = _best(raw_all, repeat=5)
    res["batch_all_metrics"] = {"query_s": qa[0], "raw_s": ra[0], "ratio": ra[0] / qa[0],
                                "n_models": len(boosters)}
    qd = _best(lambda: bench.query(X, fidelity=f, metrics="valid_acc"))
    res["batch_valid_acc_dataframe"] = {"query_s": qd[0], "ratio": r[0] / qd[0]}
    qs = _best(lambda: bench.query(X, fidelity=f, seed=np.arange(n) % 5, metrics="valid_acc",
                                   as_arrays=True))
    res["batch_valid_acc_seeded"] = {"query_s": qs[0], "ratio_vs_raw_mean_model": r[0] / qs[0]}

    # 2. one config
    x1, f1, F1 = X[:1], f[:1], Fd[:1]
    cfg = bench.space.decode(x1)[0]
    q1 = _best(lambda: bench.query(x1, fidelity=f1, metrics="valid_acc", as_arrays=True),
               repeat=7, number=200)
    r1 = _best(lambda: booster.inplace_predict(F1), repeat=7, number=200)
    qc = _best(lambda: bench.query(cfg, fidelity=f1, metrics="valid_acc", as_arrays=True),
               repeat=7, number=200)
    qdf = _best(lambda: bench.query(cfg, fidelity=f1, metrics="valid_acc"), repeat=7,
                number=100)
    res["single_config"] = {"query_array_s": q1[0], "raw_s": r1[0], "ratio": q1[0] / r1[0],
                            "query_dict_s": qc[0], "ratio_dict": qc[0] / r1[0],
                            "query_dict_dataframe_s": qdf[0], "ratio_dict_dataframe":
                            qdf[0] / r1[0]}
    res["load"] = {"warm_first_s": load_warm, "warm_s": load_warm2,
                   "fresh_process_incl_import_s": float(np.median(cold))}
    res["machine"] = {"platform": platform.platform(), "python": platform.python_version(),
                      "cpu_count": os.cpu_count(), "xgboost": xgboost.__version__,
                      "numpy": np.__version__, "hasbench": hasbench.__version__,
                      "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    b = res["batch_valid_acc"]
    s = res["single_config"]
    print(f"machine: {res['machine']}")
    print(f"10,000 rows valid_acc: query {b['query_s'] * 1e3:.2f} ms, raw inplace_predict "
          f"{b['raw_s'] * 1e3:.2f} ms -> {b['ratio']:.2f} of raw rows/s (target >= 0.5)")
    a = res["batch_all_metrics"]
    print(f"10,000 rows all {a['n_models']} models: query {a['query_s'] * 1e3:.1f} ms, raw "
          f"{a['raw_s'] * 1e3:.1f} ms -> {a['ratio']:.2f}")
    print(f"10,000 rows valid_acc DataFrame output: {qd[0] * 1e3:.2f} ms -> "
          f"{res['batch_valid_acc_dataframe']['ratio']:.2f}; with seeds: {qs[0] * 1e3:.2f} ms")
    print(f"single config: query(array) {s['query_array_s'] * 1e6:.0f} us, raw 1-row predict "
          f"{s['raw_s'] * 1e6:.0f} us -> {s['ratio']:.2f}x (target <= 3x); dict "
          f"{s['ratio_dict']:.2f}x; dict+DataFrame {s['ratio_dict_dataframe']:.2f}x")
    ld = res["load"]
    print(f"load: {ld['warm_s'] * 1e3:.0f} ms in-process (first {ld['warm_first_s'] * 1e3:.0f} "
          f"ms, target < 1 s); fresh interpreter incl. import "
          f"{ld['fresh_process_incl_import_s']:.2f} s")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(res, fh, indent=1)
    return 0


def _timed(fn):
    """Seconds and peak traced memory (bytes) of one call."""
    import tracemalloc

    tracemalloc.start()
    t0 = time.perf_counter()
    fn()
    dt = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return dt, peak


def _big_case(bench, x: np.ndarray, rows: int, small: int, ms) -> dict:
    fid = 9.0
    Xs = np.broadcast_to(x, (small, x.shape[1]))
    Xb = np.broadcast_to(x, (rows, x.shape[1]))
    bench.query(Xs, fidelity=fid, metrics=ms, as_arrays=True)  # warm up
    t_small = _best(lambda: bench.query(Xs, fidelity=fid, metrics=ms, as_arrays=True),
                    repeat=3)[0]
    t_big, m_big = _timed(lambda: bench.query(Xb, fidelity=fid, metrics=ms, as_arrays=True))
    # the old path: every row in one backend call
    Xc = bench.space.check_array(Xb)
    mlist = bench._metric_list(ms)
    t_one, m_one = _timed(lambda: bench._query_arrays(Xc, np.full(rows, fid), None, mlist))
    return {"small_s": t_small, "big_chunked_s": t_big, "big_one_call_s": t_one,
            "per_row_ratio_chunked": (t_big / rows) / (t_small / small),
            "per_row_ratio_one_call": (t_one / rows) / (t_small / small),
            "speedup_vs_one_call": t_one / t_big,
            "peak_mb_chunked": m_big / 1e6, "peak_mb_one_call": m_one / 1e6,
            "chunk_rows": bench.query_chunk_rows}


def big_query(name: str, rows: int, metrics: str, json_out: str | None,
              small: int = 10_000) -> int:
    """Case 4: a big query of one config's broadcast view, chunked (``query``) and in one
    backend call (the old path), against a small one; see the module docstring."""
    import hasbench

    ms = None if metrics == "all" else metrics
    res: dict = {"benchmark": name, "rows": rows, "small_rows": small, "metrics": metrics}
    for kind in ("surrogate", "table"):
        bench = hasbench.load(name, kind=kind)
        if kind == "table":
            x = np.asarray(bench.table.X[np.flatnonzero(bench._has_runs)[:1]], dtype=float)
        else:
            x = bench.space.sample_array(1, 0)
        r = res[kind] = _big_case(bench, x, rows, small, ms)
        print(f"{kind} ({metrics}): {small:,} rows {r['small_s']:.3f} s; {rows:,} rows "
              f"chunked {r['big_chunked_s']:.2f} s (per row {r['per_row_ratio_chunked']:.2f}x "
              f"the small query, target <= 1.25; peak {r['peak_mb_chunked']:.0f} MB), in one "
              f"call {r['big_one_call_s']:.2f} s ({r['per_row_ratio_one_call']:.2f}x; peak "
              f"{r['peak_mb_one_call']:.0f} MB): chunked {r['speedup_vs_one_call']:.2f}x "
              "faster", flush=True)
    res["machine"] = {"platform": platform.platform(), "python": platform.python_version(),
                      "cpu_count": os.cpu_count(), "numpy": np.__version__,
                      "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    if json_out:
        with open(json_out, "w") as fh:
            json.dump(res, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
