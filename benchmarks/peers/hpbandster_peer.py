"""HpBandSter 0.7.4 BOHB on a hasbench benchmark (local Pyro4 name server, one worker thread).

HpBandSter has no simulated clock: a worker's ``compute`` answers from the benchmark at once,
so the wall time is HpBandSter's own overhead (master, dispatcher, Pyro4 messaging, KDE).
Prints one ``RESULT {json}`` line.
"""

from __future__ import annotations

import argparse
import logging
import warnings

from benchmarks.peers.common import Timer, emit, make_bench


def run(bench_spec: str, seed: int, n_iterations: int, n_workers: int):
    warnings.filterwarnings("ignore")
    logging.getLogger("hpbandster").setLevel(logging.ERROR)
    logging.getLogger("Pyro4").setLevel(logging.ERROR)
    import ConfigSpace as CS
    import hpbandster.core.nameserver as hpns
    import numpy as np
    import serpent
    from hpbandster.core.worker import Worker
    from hpbandster.optimizers import BOHB

    # Compatibility shim (ours, not HpBandSter's): with numpy 2 / ConfigSpace 1.x, configs
    # and budgets are numpy scalars, which Pyro4's serpent serializer cannot send, so the
    # dispatcher's one-way call dies silently and the run hangs (HpBandSter issue #69
    # pattern). Teach serpent to send numpy scalars as Python scalars; nothing else changes.
    def _np_scalar(obj, ser, out, level):
        ser._serialize(obj.item(), out, level)

    for t in (np.float64, np.float32, np.int64, np.int32, np.bool_, np.str_):
        serpent.register_class(t, _np_scalar)
    np.random.seed(seed)  # HpBandSter draws from numpy's global RNG (not hasbench's way)
    bench = make_bench(bench_spec)
    sp = bench.space
    fid = sp.fidelity
    cs = CS.ConfigurationSpace(seed=seed)
    for n in sp.names:
        if fid.in_config and n == fid.name:
            continue
        if sp.kind(n) == "ordinal":  # HpBandSter's BOHB refuses ordinals: use categorical
            cs.add(CS.CategoricalHyperparameter(n, list(sp.choices(n))))
        else:
            cs.add(sp.configspace[n])
    counter = {"n": 0}

    class W(Worker):
        def compute(self, config, budget, **kw):
            cfg = dict(config)
            if fid.in_config and fid.name in sp.names:
                cfg[fid.name] = int(fid.upper)
            X = sp.encode([cfg], validate=False)
            b = int(round(budget))
            q = bench.query(X, fidelity=b, seed=seed, metrics=[bench.objective, "cum_time"],
                            as_arrays=True)
            counter["n"] += 1
            return {"loss": float(bench.to_loss(bench.objective, q[bench.objective])[0]),
                    "info": {"cost": float(q["cum_time"][0])}}

    run_id = f"hasbench-{seed}"
    ns = hpns.NameServer(run_id=run_id, host="127.0.0.1", port=None)
    host, port = ns.start()
    workers = []
    for i in range(n_workers):
        w = W(nameserver=host, nameserver_port=port, run_id=run_id, id=i, host="127.0.0.1")
        w.run(background=True)
        workers.append(w)
    opt = BOHB(configspace=cs, run_id=run_id, nameserver=host, nameserver_port=port,
               min_budget=float(fid.lower), max_budget=float(fid.upper), eta=3,
               host="127.0.0.1")
    with Timer() as t:
        res = opt.run(n_iterations=n_iterations, min_n_workers=n_workers)
    opt.shutdown(shutdown_workers=True)
    ns.shutdown()
    runs = res.get_all_runs()
    emit({"peer": "hpbandster-0.7.4-bohb", "seed": seed, "wall": t.seconds,
          "results": len(runs), "trials": len(res.get_id2config_mapping()),
          "best": float(min(r.loss for r in runs if r.loss is not None))})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--benchmark", default="synthetic:hia-cnn")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--iterations", type=int, default=8)
    ap.add_argument("--workers", type=int, default=1)
    a = ap.parse_args()
    run(a.benchmark, a.seed, a.iterations, a.workers)


if __name__ == "__main__":
    main()
