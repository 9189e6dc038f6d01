"""``hasbench fit``: fit a surrogate on a run table."""

from __future__ import annotations

import json
import sys


def register(sub) -> None:
    p = sub.add_parser(
        "fit", help="fit a surrogate on a run table",
        description="Fit a learning-curve surrogate (per-epoch metrics, seed noise, runtime, "
                    "static metrics) on an HDF5 run table and save it to a new folder "
                    "(model files + manifest.json with hashes; no pickles). See "
                    "docs/surrogates.md.")
    p.add_argument("table", help="run table (.h5)")
    p.add_argument("--model", default="xgb",
                   help="backend: xgb (default), knn (baseline), mlp (needs torch to fit) or "
                        "gp (Gaussian-process curve model, for tables up to a few thousand "
                        "configs)")
    p.add_argument("--out", required=True, help="output folder (must not exist or be empty, "
                   "unless --overwrite)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an existing surrogate folder at --out (only a folder with a "
                        "manifest.json; the old one is kept until the new one is complete)")
    p.add_argument("--params", default=None,
                   help='backend parameters as JSON: top-level keys and a "mean" block '
                        'go to the per-metric mean models, "std", "time" and "static" blocks '
                        'to those models, e.g. \'{"mean": {"max_depth": 8}, '
                        '"std": {"max_depth": 3}}\'')
    p.add_argument("--metrics", default=None,
                   help="comma-separated per-epoch metrics to model (default: all)")
    p.add_argument("--calibration-bins", type=int, default=5,
                   help="bins of the predicted value per epoch in which the predictive "
                        "interval's model error is calibrated (default 5; 1: per epoch only)")
    p.add_argument("--calibration-fraction", type=float, default=0.2,
                   help="share of configs held out to calibrate predictive intervals (0-0.5)")
    p.add_argument("--seed", type=int, default=0, help="seed of the fit (default 0)")
    p.add_argument("--threads", type=int, default=None,
                   help="threads for fitting (default: half the CPU cores, at most 8; all "
                        "cores made a small fit 3x slower on a busy machine)")
    p.add_argument("--time-detrend", type=int, default=0, metavar="RUNS",
                   help="remove slow machine-load drift from the epoch times: rolling-median "
                        "window in runs of collection order (default 0: off; for wall-time "
                        "tables collected under changing load); see docs/surrogates.md")
    p.add_argument("--acc-transform", default="logit", metavar="{logit,none}",
                   help="scale the accuracy means are fitted on (default logit: spreads "
                        "the crowded top of the range; see docs/surrogates.md)")
    p.add_argument("--time-detrend-level", type=float, default=0.1, metavar="Q",
                   help="with --time-detrend: quantile of the estimated load factors that "
                        "the runtimes are expressed at (default 0.1, near the quietest "
                        "stretch of the collection; 0.5: a typical run of the table)")
    p.add_argument("--time-static", action="store_true",
                   help="give the runtime model the exact log FLOPs and parameter count of "
                        "each config's network as inputs (tables of hasbench's own networks; "
                        "see docs/surrogates.md)")
    p.add_argument("--cost-metric", default=None, metavar="{cpu_time,epoch_time,cuda_time}",
                   help="measured clock the runtime model (the simulated clock) is fitted "
                        "on (default: the table's own, CPU time where every epoch has it, "
                        "else wall time; see docs/run-table-format.md)")
    p.set_defaults(func=_fit)


def _fit(args) -> int:
    from ..errors import InvalidValueError, check_int, check_path
    from ..surrogates import CurveSurrogate
    from ._flags import check_new_output, cli_names, replacing

    params = None
    if args.params:
        try:
            params = json.loads(args.params)
        except json.JSONDecodeError as exc:
            raise InvalidValueError("--params", args.params, "a JSON object", "hasbench fit",
                                    hint=str(exc)) from None
    _check_params(params)
    if args.threads is not None:
        check_int("--threads", args.threads, 1, None, "hasbench fit")
    else:
        args.threads = default_threads()
    out = check_new_output("--out", args.out, "fit", args.overwrite, ours="manifest.json")
    metrics = [m.strip() for m in args.metrics.split(",")] if args.metrics else None
    names = {"model": "--model", "calibration_fraction": "--calibration-fraction",
             "seed": "--seed", "n_jobs": "--threads", "time_detrend": "--time-detrend",
             "time_detrend_level": "--time-detrend-level", "acc_transform": "--acc-transform",
             "time_static": "--time-static", "metric": "--metrics", "table": "TABLE",
             "params": "--params", "calibration_bins": "--calibration-bins",
             "cost_metric": "--cost-metric"}
    with cli_names("fit", names, (None, "CurveSurrogate", "CurveSurrogate.fit")):
        sur = CurveSurrogate(args.model, params=params,
                             calibration_fraction=args.calibration_fraction, seed=args.seed,
                             n_jobs=args.threads, time_detrend=args.time_detrend,
                             time_detrend_level=args.time_detrend_level,
                             acc_transform=args.acc_transform, time_static=args.time_static,
                             calibration_bins=args.calibration_bins,
                             cost_metric=args.cost_metric)
        table = check_path("table", args.table, must_exist=True, where="hasbench fit")
        sur.fit(table, metrics=metrics, progress=sys.stderr.isatty())
    with replacing(out) as tmp:
        sur.save(tmp)
    print(f"fitted {args.model} surrogate on {table} in {sur.fit_seconds:.1f} s -> {out} "
          f"(simulated clock: {sur.cost_metric})")
    return 0


def default_threads() -> int:
    """Half the CPU cores this process may use, at least 1, at most 8."""
    import os

    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        n = os.cpu_count() or 1
    return max(1, min(8, n // 2))


#: backend parameters with a known type: (integer?, lowest allowed value)
_KNOWN = {"n_estimators": (True, 1), "max_depth": (True, 0), "n_neighbors": (True, 1),
          "members": (True, 1), "epochs": (True, 1), "batch_size": (True, 1),
          "n_restarts": (True, 0), "learning_rate": (False, 0.0), "subsample": (False, 0.0),
          "colsample_bytree": (False, 0.0), "min_child_weight": (False, 0.0),
          "reg_lambda": (False, 0.0), "reg_alpha": (False, 0.0), "gamma": (False, 0.0),
          "lr": (False, 0.0), "weight_decay": (False, 0.0), "fidelity_weight": (False, 0.0)}


def _check_params(params) -> None:
    """Refuse known backend parameters of the wrong type or range before fitting
    (``{"n_estimators": -1}`` or ``{"max_depth": "a"}`` reached XGBoost as they were)."""
    from ..errors import InvalidValueError, check_float, check_int

    if params is None:
        return
    if not isinstance(params, dict):
        raise InvalidValueError("--params", params, "a JSON object", "hasbench fit")
    blocks = [("", params)] + [(f"{r}.", params[r]) for r in ("mean", "std", "time", "static")
                               if isinstance(params.get(r), dict)]
    for prefix, block in blocks:
        for k, v in block.items():
            if k in _KNOWN:
                is_int, low = _KNOWN[k]
                name = f"--params {prefix}{k}"
                if is_int:
                    check_int(name, v, low, None, "hasbench fit")
                else:
                    check_float(name, v, low, None, "hasbench fit")
