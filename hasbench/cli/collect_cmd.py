"""``hasbench collect``: train sampled configs and append them to a run table (resumable)."""

from __future__ import annotations

import json
import sys

from ._flags import cli_names, command_line, deprecated_choice, deprecated_flag


def register(sub) -> None:
    p = sub.add_parser(
        "collect", help="train configs of a space and append them to a run table",
        description="Sample configs (Sobol, random or a CSV), train each for --seeds seeds and "
                    "--epochs epochs and append the runs to --out. Resumable: rerunning the "
                    "same command skips every (config, seed) already in the table. "
                    "Needs the 'train' extra (torch).")
    p.add_argument("--space", default="hia-cnn",
                   help="hia-cnn (default), zela2018 or nb201-joint")
    p.add_argument("--dataset", default="digits",
                   help="digits (default, offline), mnist, fashion-mnist/fmnist, kmnist, "
                        "cifar10 or npz:PATH")
    p.add_argument("--n-configs", type=int, default=8, help="number of configs (default 8)")
    p.add_argument("--seeds", type=int, default=2, help="seeds 0..N-1 per config (default 2)")
    p.add_argument("--epochs", type=int, default=None,
                   help="epochs per run (default: the space's fidelity maximum)")
    p.add_argument("--out", required=True, help="run table (.h5) to create or extend")
    p.add_argument("--sampler", default="sobol",
                   help="sobol (default), random or csv:PATH (one column per hyperparameter)")
    p.add_argument("--sample-seed", type=int, default=0,
                   help="seed of the config sample (default 0); the config list is a "
                        "function of space, sampler, n-configs and this seed")
    p.add_argument("--exclude", default=None,
                   help="run table whose configs are left out (held-out tables)")
    p.add_argument("--processes", type=int, default=1,
                   help="parallel training processes / Ray tasks (default 1)")
    deprecated_flag(p, "--workers", "--processes", "processes", "collect", type=int)
    p.add_argument("--threads", type=int, default=1, help="torch threads per worker (1)")
    p.add_argument("--batched", action="store_true",
                   help="hia-cnn: train runs sharing architecture and batch size (e.g. the "
                        "seeds of a config) together as one population; epoch_time is then "
                        "the amortised group time")
    p.add_argument("--max-group", type=int, default=8,
                   help="largest population per task with --batched (default 8)")
    p.add_argument("--executor", default="process", choices=["process", "ray"],
                   type=deprecated_choice("collect", "--executor", {"local": "process"}),
                   help="local processes (default) or a Ray cluster")
    p.add_argument("--address", default=None,
                   help="Ray address (e.g. auto or ray://host:10001); default: start a "
                        "local Ray instance")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda or auto")
    p.add_argument("--data-dir", default=None,
                   help="folder with the raw dataset files (idx/CIFAR); default: the shared "
                        "data folder when present")
    p.add_argument("--resolution", type=float, default=1.0,
                   help="image side-length factor, e.g. 0.5 (default 1.0)")
    p.add_argument("--max-train-examples", type=int, default=None,
                   help="keep only the first N training examples of the fixed split")
    p.add_argument("--max-valid-examples", type=int, default=None,
                   help="keep only the first N validation examples")
    p.add_argument("--max-test-examples", type=int, default=None,
                   help="keep only the first N test examples")
    p.add_argument("--split-seed", type=int, default=0,
                   help="seed of the train/valid/test split (default 0)")
    p.add_argument("--allow-stale-surrogates", action="store_true",
                   help="append even when a surrogate beside --out was fitted on it (it then "
                        "fails to load until refitted); refused by default")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=_collect)


def _collect(args) -> int:
    try:
        from ..train.collect import collect
    except ImportError as exc:  # pragma: no cover - depends on the install
        print("hasbench collect: needs torch (pip install -e '.[train]' in the hasbench "
              f"clone): {exc}", file=sys.stderr)
        return 1  # the environment, not the input, is at fault
    command = command_line()
    names = {"workers": "--processes", "executor": "--executor", "n_configs": "--n-configs",
             "seeds": "--seeds", "epochs": "--epochs", "threads": "--threads",
             "max_group": "--max-group", "dataset": "--dataset", "space": "--space",
             "out": "--out", "exclude": "--exclude", "sampler": "--sampler",
             "sample_seed": "--sample-seed", "resolution": "--resolution",
             "device": "--device", "address": "--address", "data_dir": "--data-dir",
             "max_train": "--max-train-examples", "max_valid": "--max-valid-examples",
             "max_test": "--max-test-examples", "split_seed": "--split-seed"}
    with cli_names("collect", names, (None, "collect")):
        s = _run_collect(collect, args, command)
    if args.json:
        print(json.dumps(s, indent=2, default=str))
    else:
        print(f"{s['out']}: trained {s['trained']} runs, skipped {s['skipped']} already "
              f"present, {s['failed']} failed, in {s['seconds']:.1f} s"
              + (f" ({s['seconds_per_run']:.2f} s/run)" if s["seconds_per_run"] else ""))
        print(f"  table: {s['n_runs']} runs, status {s['table_status']}, final valid_acc "
              f"quantiles {s['final_valid_acc_quantiles']}")
    return 1 if s["failed"] else 0


def _run_collect(collect, args, command):
    return collect(args.space, args.out, dataset=args.dataset, n_configs=args.n_configs,
                   seeds=args.seeds, epochs=args.epochs, sampler=args.sampler,
                   sample_seed=args.sample_seed, workers=args.processes,
                   executor={"process": "local"}.get(args.executor, args.executor),
                   address=args.address, device=args.device, data_dir=args.data_dir,
                   resolution=args.resolution, max_train=args.max_train_examples,
                   max_valid=args.max_valid_examples, max_test=args.max_test_examples,
                   split_seed=args.split_seed, exclude=args.exclude, threads=args.threads,
                   batched=args.batched, max_group=args.max_group,
                   progress=not args.no_progress, command=command,
                   allow_stale_surrogates=args.allow_stale_surrogates)
