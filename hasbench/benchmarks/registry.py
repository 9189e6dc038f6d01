"""Finding and loading benchmarks by name or path.

Shipped benchmarks live in the data folder: ``$HASBENCH_DATA`` if set, else ``<repo>/data``
(``Path(hasbench.__file__).parents[1] / "data"``). A name ``N`` resolves to

- ``N.surrogate/`` (a surrogate folder with ``manifest.json``) for ``kind="surrogate"``,
- ``N.h5`` (a run table) for ``kind="table"``.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

from ..errors import InvalidValueError, UnknownNameError, check_choice, check_path

__all__ = ["data_dir", "list_benchmarks", "load", "KINDS"]

KINDS = ("surrogate", "table", "synthetic")


def data_dir() -> Path:
    """The folder shipped benchmarks are read from (``$HASBENCH_DATA`` or ``<repo>/data``)."""
    env = os.environ.get("HASBENCH_DATA")
    if env:
        return check_path("HASBENCH_DATA", env)
    import hasbench

    return Path(hasbench.__file__).resolve().parents[1] / "data"


def list_benchmarks(directory: str | os.PathLike | None = None) -> dict[str, list[str]]:
    """Benchmarks found in the data folder: ``{name: [kinds available]}``."""
    d = data_dir() if directory is None else check_path("directory", directory)
    out: dict[str, list[str]] = {}
    if not d.is_dir():
        return out
    for p in sorted(d.iterdir()):
        if p.is_dir() and p.name.endswith(".surrogate") and (p / "manifest.json").is_file():
            out.setdefault(p.name[: -len(".surrogate")], []).append("surrogate")
        elif p.is_file() and p.suffix == ".h5" and not p.name.startswith("."):
            out.setdefault(p.stem, []).append("table")
    return out


def describe_benchmarks(directory: str | os.PathLike | None = None) -> dict[str, dict]:
    """What ``hasbench data list`` shows: for each benchmark of :func:`list_benchmarks`, its
    kinds and, when present, ``table`` (configs, runs, seeds, epochs, MB, and ``partial``
    with the planned runs when the table holds fewer runs than its provenance asked for,
    i.e. a collection in progress or interrupted) and ``validation`` (the surrogate's
    validation report's targets: ``{name: (measured, target, met)}``). A file that cannot
    be read is reported with its error, not raised: the listing is for looking around."""
    import json

    from ..tables import RunTable

    d = data_dir() if directory is None else check_path("directory", directory)
    out: dict[str, dict] = {}
    for name, kinds in list_benchmarks(d).items():
        info: dict[str, Any] = {"kinds": kinds}
        if "table" in kinds:
            p = d / f"{name}.h5"
            try:
                t = RunTable.read(p)
            except Exception as exc:  # noqa: BLE001 - listed, not raised
                info["table_error"] = f"{type(exc).__name__}: {exc}"
            else:
                info["table"] = {"configs": t.n_configs, "runs": t.n_runs,
                                 "seeds": len(t.seeds), "epochs": t.max_epochs,
                                 "mb": round(p.stat().st_size / 1e6, 1)}
                prov = t.provenance
                planned_cfg = prov.get("n_configs")
                for e in prov.get("extensions") or []:
                    if isinstance(e, dict) and isinstance(e.get("n_configs"), int):
                        planned_cfg = max(planned_cfg or 0, e["n_configs"])
                seeds = prov.get("seeds")
                if isinstance(planned_cfg, int) and isinstance(seeds, list):
                    planned = planned_cfg * len(seeds)
                    if t.n_runs < planned:
                        info["table"]["partial"] = planned
        rep = d / f"{name}.validation.json"
        if "surrogate" in kinds and rep.is_file():
            try:
                targets = json.loads(rep.read_text()).get("targets", {})
                info["validation"] = {k: (v.get("measured"), v.get("target"), v.get("met"))
                                      for k, v in targets.items() if isinstance(v, dict)}
            except (OSError, ValueError, AttributeError) as exc:
                info["validation_error"] = f"{type(exc).__name__}: {exc}"
        out[name] = info
    return out


def _looks_like_path(x: Any) -> bool:
    if isinstance(x, os.PathLike):
        return True
    s = str(x)
    return os.sep in s or s.startswith("~") or s.endswith((".h5", ".surrogate")) or \
        Path(s).exists()


def load(name_or_path: Any, kind: str | None = None, **kwargs: Any):
    """Load a benchmark.

    Parameters
    ----------
    name_or_path : str or PathLike
        A shipped name (``"digits-hia-cnn"``, see :func:`list_benchmarks`), a run table file
        (``.h5``), a surrogate folder (with ``manifest.json``), or, with
        ``kind="synthetic"``, a space name.
    kind : {"surrogate", "table", "synthetic"}, optional
        Default: for names, ``"surrogate"`` when a surrogate of that name is shipped, else
        ``"table"`` (a name shipped as a run table only); for paths,
        what the path is.
    **kwargs
        Passed on: :class:`TabularBenchmark` (``fallback="surrogate"``, ``surrogate``),
        :class:`SurrogateBenchmark` (``verify_table``), ``SyntheticBenchmark`` (``seed`` ...).
        For a shipped table with ``fallback="surrogate"``, the shipped surrogate of the same
        name is used when present.

    Returns
    -------
    Benchmark

    Raises
    ------
    UnknownNameError
        Unknown name (the message lists the available ones).
    """
    from .surrogate import SurrogateBenchmark
    from .tabular import TabularBenchmark

    where = "hasbench.load"
    if kind is not None:
        check_choice("kind", kind, KINDS, where)
    if kind == "synthetic":
        if importlib.util.find_spec("hasbench.benchmarks.synthetic") is None:
            raise InvalidValueError("kind", kind, [k for k in KINDS if k != "synthetic"],
                                    where, hint="hasbench.benchmarks.synthetic is not installed")
        from .synthetic import SyntheticBenchmark

        return SyntheticBenchmark(name_or_path, **kwargs)
    if not isinstance(name_or_path, (str, os.PathLike)) or str(name_or_path) == "":
        raise InvalidValueError("name_or_path", name_or_path,
                                "a benchmark name or a path", where)
    if _looks_like_path(name_or_path):
        p = check_path("name_or_path", name_or_path, must_exist=True, where=where)
        is_sur = p.is_dir() and (p / "manifest.json").is_file()
        if kind is None:
            kind = "surrogate" if is_sur else "table"
        if kind == "surrogate":
            if not is_sur:
                raise InvalidValueError("name_or_path", str(p), "a surrogate folder with "
                                        "manifest.json for kind='surrogate'", where,
                                        hint="for a run table use kind='table', or fit one with "
                                             "'hasbench fit TABLE --out DIR'")
            return SurrogateBenchmark(p, **kwargs)
        if not p.is_file():
            raise InvalidValueError("name_or_path", str(p), "a run table file (.h5) for "
                                    "kind='table'", where)
        return TabularBenchmark(p, **kwargs)
    name = str(name_or_path)
    d = data_dir()
    avail = list_benchmarks(d)
    any_kind = kind is None
    if any_kind:  # a shipped surrogate when there is one, else a shipped table
        kind = "table" if avail.get(name) == ["table"] else "surrogate"
    if kind == "surrogate":
        p = d / f"{name}.surrogate"
        if (p / "manifest.json").is_file():
            return SurrogateBenchmark(p, name=name, **kwargs)
    else:
        p = d / f"{name}.h5"
        if p.is_file():
            if kwargs.get("fallback") == "surrogate" and kwargs.get("surrogate") is None:
                sp = d / f"{name}.surrogate"
                if (sp / "manifest.json").is_file():
                    kwargs["surrogate"] = sp
            return TabularBenchmark(p, name=name, **kwargs)
    have = sorted(n for n, kinds in avail.items() if any_kind or kind in kinds)
    hint = f"benchmarks in {d}: " + (", ".join(f"{n} ({'/'.join(k)})"
                                              for n, k in avail.items()) or "none")
    raise UnknownNameError("benchmark" if any_kind else f"{kind} benchmark", name, have, where,
                           hint=hint)
