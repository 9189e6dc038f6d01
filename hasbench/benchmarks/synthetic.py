"""Closed-form synthetic benchmarks: cheap, vectorised, with a known optimum.

They implement the :class:`~hasbench.benchmarks.base.Benchmark` interface exactly like the
tabular and surrogate benchmarks, so every optimizer and the simulator can be tested (and
studied) in milliseconds.

:class:`SyntheticBenchmark` works over any :class:`~hasbench.spaces.Space` (``hia-cnn``,
``zela2018`` ...). Its model, with ``u = space.to_unit(x)`` (inactive = 0.5) and ``e`` the
fidelity:

- final (max-fidelity) validation accuracy
  ``acc_inf(x) = acc_max - spread * sum_j w_j * pen_j(x_j) / sum_j w_j`` where
  ``pen_j = (u_j - c_j)^2 / max(c_j, 1 - c_j)^2`` for numeric columns and a fixed per-choice
  penalty in [0, 1] (0 for the best choice) for categorical columns. ``c`` is the unit
  position of an optimum configuration ``x*`` drawn from the space with ``seed``; so
  ``x*`` is an exactly encodable config and :meth:`SyntheticBenchmark.optimum` is exact.
  Weights ``w_j = 1 / (1 + rank_j)`` follow ``space.metadata['importance_rank']`` when present
  (else column order), so importance analyses have a ground truth.
- learning curve ``acc(e) = acc_0 + (acc_inf - acc_0) * h(e) / h(E)``,
  ``h(e) = 1 - exp(-(e / E) / tau(x))`` with ``tau = 0.03 + 0.2 (0.4 hash(x) + 0.6 bad(x))``
  (``bad`` = normalised distance of ``acc_inf`` from the best): curves saturate, reach
  ``acc_inf`` at the maximum fidelity ``E``, worse configs tend to learn slower, and curves
  cross (rank correlation of epoch 1 with epoch 27 is about 0.8 on ``hia-cnn``).
- seed noise: ``seed=None`` returns the noise-free expectation; an integer seed adds an offset
  ``N(0, noise)`` that is constant along the curve plus a per-epoch jitter of
  ``0.3 * noise / sqrt(e)``, both pure functions of (config, seed, epoch).
- static metrics: ``params`` grows with the numeric architecture columns (the space's
  ``metadata['groups']['architecture']`` if present, else every numeric column),
  ``flops = params * (20 + 30 u_0)``; ``model_bytes = 4 * params``.
- cost: ``cum_time(e) = e * epoch_time(x)``, ``epoch_time = base_time * (0.2 + flops / flops_ref)``
  times a batch-size factor when a ``batch_size`` column exists (larger batches are faster).
  Continuing from ``e1`` to ``e2`` therefore costs ``(e2 - e1) * epoch_time``.

For a space whose fidelity is also a hyperparameter (``hia-cnn``'s ``epochs``), that column is
left out of ``acc_inf`` (it only sets where the curve is read when no fidelity is given).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import InvalidValueError, check_float, check_int
from ..spaces import Fidelity, Space
from .base import Benchmark

__all__ = ["SyntheticBenchmark", "OneDimBenchmark", "one_dim_space"]

_METRICS = ["train_loss", "train_acc", "valid_loss", "valid_acc", "test_loss", "test_acc"]
_STATIC = ["params", "flops", "model_bytes"]


_GOLD = np.uint64(0x9E3779B97F4A7C15)


def _splitmix(z: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser on uint64 arrays (wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def _hash_rows(keys: np.ndarray) -> np.ndarray:
    """Deterministic 64-bit hash of each float64 row of ``keys`` ``(n, k)`` -> ``(n,)``
    uint64, from the bit patterns (never ``hash()``): identical across processes and runs."""
    k = np.ascontiguousarray(keys, dtype=np.float64)
    bits = k.view(np.uint64)
    with np.errstate(over="ignore"):
        salt = (np.arange(1, k.shape[1] + 1, dtype=np.uint64) * _GOLD)[None, :]
        z = _splitmix(bits + salt)
        z = z * (np.arange(k.shape[1], dtype=np.uint64) * np.uint64(2) + np.uint64(1))[None, :]
        h = np.bitwise_xor.reduce(z, axis=1) if k.shape[1] else np.zeros(k.shape[0], np.uint64)
    return _splitmix(h + _GOLD)


def _mix(h: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Combine a row hash with one more float64 value per row."""
    vb = np.ascontiguousarray(v, dtype=np.float64).view(np.uint64)
    with np.errstate(over="ignore"):
        return _splitmix(h ^ _splitmix(vb + _GOLD))


def _to_unit01(h: np.ndarray) -> np.ndarray:
    return ((h >> np.uint64(11)).astype(np.float64) + 0.5) / float(1 << 53)


def _hash_unit(keys: np.ndarray) -> np.ndarray:
    """Uniforms in (0, 1), shape ``(n,)``, from a deterministic hash of each row."""
    return _to_unit01(_hash_rows(keys))


def _normal(u: np.ndarray) -> np.ndarray:
    from scipy.special import ndtri

    return ndtri(u)


class SyntheticBenchmark(Benchmark):
    """Closed-form benchmark over any space (see the module docstring for the model).

    Parameters
    ----------
    space : Space or str
        A space or a registered space name (``"hia-cnn"``).
    seed : int
        Fixes the optimum and the per-choice penalties (not the evaluation noise, which is
        chosen per query by the ``seed`` argument of :meth:`query`).
    noise : float
        Standard deviation of the per-seed accuracy offset (0 = deterministic).
    acc_max, spread : float
        Best reachable accuracy and accuracy range between the best and worst config.
    acc_start : float
        Accuracy of every config at fidelity 0 (chance level).
    base_time : float
        Seconds per epoch of a reference-size model.
    name : str, optional
        Benchmark name (default ``"synthetic:<space name>"``).

    Examples
    --------
    >>> from hasbench.benchmarks.synthetic import SyntheticBenchmark
    >>> b = SyntheticBenchmark("hia-cnn", seed=0)
    >>> x, acc = b.optimum()
    >>> float(b.query(x, fidelity=27, as_arrays=True)["valid_acc"][0]) == acc
    True
    """

    seeds = None  #: any non-negative int seed is accepted

    def __init__(self, space: Space | str, seed: int = 0, noise: float = 0.01,
                 acc_max: float = 0.95, spread: float = 0.6, acc_start: float = 0.1,
                 base_time: float = 10.0, name: str | None = None):
        if isinstance(space, str):
            from ..spaces import get_space

            space = get_space(space)
        if not isinstance(space, Space):
            raise InvalidValueError("space", type(space).__name__, "a Space or a space name",
                                    "SyntheticBenchmark")
        self.space = space
        self.seed = check_int("seed", seed, 0, None, "SyntheticBenchmark")
        self.noise = check_float("noise", noise, 0.0, 1.0, "SyntheticBenchmark")
        self.acc_max = check_float("acc_max", acc_max, 0.0, 1.0, "SyntheticBenchmark")
        self.spread = check_float("spread", spread, 0.0, self.acc_max, "SyntheticBenchmark")
        self.acc_start = check_float("acc_start", acc_start, 0.0, self.acc_max - self.spread,
                                     "SyntheticBenchmark")
        self.base_time = check_float("base_time", base_time, 0.0, None, "SyntheticBenchmark",
                                     low_open=True)
        self.name = name or f"synthetic:{space.name}"
        self.metrics = _METRICS + ["cum_time"] + _STATIC
        self.static_metrics = list(_STATIC)
        fid = space.fidelity
        self._E = float(fid.upper)
        names = space.names
        self._fid_col = names.index(fid.name) if fid.in_config and fid.name in names else None
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, 0x5E7]))
        self._xstar = space.sample_array(1, rng)[0]
        if self._fid_col is not None:
            self._xstar[self._fid_col] = self._E
        self._cstar = space.to_unit(self._xstar[None, :])[0]
        rank = space.metadata.get("importance_rank") if isinstance(space.metadata, dict) \
            else None
        order = list(rank) if rank and set(rank) == set(names) else list(names)
        w = np.array([1.0 / (1.0 + order.index(n)) for n in names])
        cat = space.is_categorical()
        self._cat = cat
        nch = space.n_choices()
        self._pen = []  # per column: penalty per choice index (categorical) or None
        for j, _n in enumerate(names):
            if cat[j] and nch[j] > 1:
                p = rng.uniform(0.3, 1.0, nch[j])
                p[int(self._xstar[j])] = 0.0
                self._pen.append(p)
            else:
                self._pen.append(None)
        if self._fid_col is not None:
            w[self._fid_col] = 0.0
        self._w = w / w.sum() if w.sum() > 0 else w
        c = self._cstar
        self._scale = np.maximum(c, 1.0 - c) ** 2
        self._scale[~np.isfinite(self._scale) | (self._scale <= 0)] = 1.0
        groups = space.metadata.get("groups", {}) if isinstance(space.metadata, dict) else {}
        arch = [n for n in groups.get("architecture", []) if n in names]
        if not arch:
            arch = list(names)
        self._arch = np.array([names.index(n) for n in arch if not cat[names.index(n)]
                               and space.kind(n) != "constant"
                               and names.index(n) != self._fid_col], dtype=int)
        self._bs_col = names.index("batch_size") if "batch_size" in names else None
        self._flops_ref = 1e4 * 4.0 ** max(len(self._arch), 1) * 35.0 / 4.0
        self._opt_acc: float | None = None
        # vectorised form of space.to_unit (affine per column) and of the penalties
        lo = self._enc_lo()
        hi = np.array([space.bounds(n)[1] for n in space.names])
        u0 = space.to_unit(lo[None, :])[0]
        u1 = space.to_unit(hi[None, :])[0]
        span = np.where(hi > lo, hi - lo, 1.0)
        self._ua = np.where(hi > lo, (u1 - u0) / span, 0.0)
        self._ub = u0 - self._ua * lo
        num = np.array([p is None and not cat[j] and self._w[j] > 0
                        for j, p in enumerate(self._pen)])
        self._num_cols = np.flatnonzero(num)
        self._num_w = self._w[self._num_cols] / self._scale[self._num_cols]
        self._cat_cols = [j for j, p in enumerate(self._pen) if p is not None and self._w[j] > 0]

    # ---------------------------------------------------------------- model
    def _enc_lo(self) -> np.ndarray:
        return np.array([self.space.bounds(n)[0] for n in self.space.names])

    def _unit(self, X: np.ndarray) -> np.ndarray:
        """``space.to_unit`` (affine per column, clipped to [0, 1]); inactive -> 0.5."""
        U = X * self._ua + self._ub
        np.clip(U, 0.0, 1.0, out=U)
        U[np.isnan(U)] = 0.5
        return U

    def _acc_inf(self, X: np.ndarray, U: np.ndarray) -> np.ndarray:
        d = U[:, self._num_cols] - self._cstar[self._num_cols]
        # a row-wise reduction, not a BLAS product: a matrix product's last bits depend on
        # how many rows share the call, so a config's answer changed with its batch
        pen = (d * d * self._num_w).sum(axis=1)
        for j in self._cat_cols:
            idx = X[:, j]
            ok = np.isfinite(idx)
            pj = np.full(X.shape[0], 0.5)
            pj[ok] = self._pen[j][idx[ok].astype(int)]
            pen += self._w[j] * pj
        return self.acc_max - self.spread * pen

    def _static(self, U: np.ndarray) -> dict[str, np.ndarray]:
        if self._arch.size:
            params = 1e4 * np.prod(1.0 + 3.0 * U[:, self._arch], axis=1)
        else:
            params = np.full(U.shape[0], 1e4)
        flops = params * (20.0 + 30.0 * U[:, 0])
        return {"params": params, "flops": flops, "model_bytes": 4.0 * params}

    def _query_arrays(self, X: np.ndarray, fidelity: np.ndarray, seed: np.ndarray | None,
                      metrics: Sequence[str]) -> dict[str, np.ndarray]:
        n = X.shape[0]
        U = self._unit(X)
        key = np.where(np.isnan(X), -1.0, X)
        if self._fid_col is not None:
            key = key.copy()
            key[:, self._fid_col] = 0.0  # the curve does not depend on the epochs column
        static = self._static(U)
        out: dict[str, np.ndarray] = {}
        need_acc = any(m in _METRICS for m in metrics)
        if need_acc:
            hrow = _hash_rows(key)
            h0 = _to_unit01(hrow)
            a_inf = self._acc_inf(X, U)
            bad = (self.acc_max - a_inf) / max(self.spread, 1e-12)
            tau = 0.03 + 0.2 * (0.4 * h0 + 0.6 * np.clip(bad, 0.0, 1.0))
            e = fidelity / self._E
            curve = (1.0 - np.exp(-e / tau)) / (1.0 - np.exp(-1.0 / tau))
            acc = self.acc_start + (a_inf - self.acc_start) * curve
            if seed is not None and self.noise > 0:
                hs = _mix(hrow, seed.astype(np.float64))
                off = _normal(_to_unit01(hs)) * self.noise
                jit = _normal(_to_unit01(_mix(hs, fidelity)))
                acc = acc + off + 0.3 * self.noise * jit / np.sqrt(np.maximum(fidelity, 1.0))
            acc = np.clip(acc, 0.0, 1.0)
            need = set(metrics)
            vals = {"valid_acc": acc}
            if need & {"train_acc", "train_loss"}:
                gap = 0.02 + 0.08 * h0 * e  # overfitting gap grows with training
                vals["train_acc"] = np.clip(acc + gap, 0.0, 1.0)
                vals["train_loss"] = -np.log(np.clip(vals["train_acc"], 1e-6, 1.0)) * 1.5
            if need & {"test_acc", "test_loss"}:
                vals["test_acc"] = np.clip(acc - 0.01, 0.0, 1.0)
                vals["test_loss"] = -np.log(np.clip(vals["test_acc"], 1e-6, 1.0)) * 1.5
            if "valid_loss" in need:
                vals["valid_loss"] = -np.log(np.clip(acc, 1e-6, 1.0)) * 1.5
            for m in metrics:
                if m in vals:
                    out[m] = vals[m]
        if "cum_time" in metrics:
            et = self.base_time * (0.2 + static["flops"] / self._flops_ref)
            if self._bs_col is not None:
                et = et * (1.5 - U[:, self._bs_col])
            out["cum_time"] = fidelity * et
        for m in _STATIC:
            if m in metrics:
                out[m] = static[m]
        return {m: out[m] for m in metrics} if n else {m: np.zeros(0) for m in metrics}

    # ---------------------------------------------------------------- ground truth
    def optimum(self, metric: str | None = None) -> tuple[np.ndarray, float]:
        """The optimal configuration (encoded, shape ``(1, d)``) and its noise-free value of
        ``metric`` (default: :attr:`objective`) at the maximum fidelity."""
        metric = metric or self.objective
        x = self._xstar[None, :].copy()
        v = self._query_arrays(x, np.array([self._E]), None, [metric])[metric]
        return x, float(v[0])

    def optimum_source(self, metric: str | None = None) -> str:
        return "synthetic: the planted optimum (exact)"

    def optimum_loss(self, metric: str | None = None) -> float:
        """Loss (:meth:`to_loss`) of the optimum at the maximum fidelity; used for regret."""
        metric = metric or self.objective
        return float(self.to_loss(metric, np.array([self.optimum(metric)[1]]))[0])


# --------------------------------------------------------------------------- 1-D
def one_dim_space(max_budget: int = 27) -> Space:
    """A one-hyperparameter space (``x`` in [0, 1]) with an integer fidelity ``budget``
    1..``max_budget`` (not a hyperparameter)."""
    import ConfigSpace as CS

    max_budget = check_int("max_budget", max_budget, 2, None, "one_dim_space")
    cs = CS.ConfigurationSpace(name="synthetic-1d")
    cs.add(CS.UniformFloatHyperparameter("x", 0.0, 1.0, default_value=0.5))
    return Space("synthetic-1d", "1.0", cs, [Fidelity("budget", 1, max_budget, True)],
                 description="1-D synthetic test function with a budget fidelity")


class OneDimBenchmark(Benchmark):
    """A 1-D multi-fidelity test function (spec test 6), loss to minimise.

    ``loss(x, b) = f(x) + bias * (1 - b / B) * cos(7 x)`` with
    ``f(x) = (x - 0.73)^2 + 0.06 * (1 - cos(25 (x - 0.73)))``: a narrow global minimum at
    ``x = 0.73`` (loss 0) between local minima; low budgets see a shifted, biased function.
    Seeded evaluations add ``N(0, noise)`` (constant along a curve) and a jitter shrinking
    with ``b``. Cost of budget ``b`` is ``b`` seconds. Metric ``valid_loss`` (objective),
    ``cum_time``.
    """

    seeds = None

    def __init__(self, max_budget: int = 27, noise: float = 0.005, bias: float = 0.05,
                 name: str = "synthetic-1d"):
        self.space = one_dim_space(max_budget)
        self.noise = check_float("noise", noise, 0.0, None, "OneDimBenchmark")
        self.bias = check_float("bias", bias, 0.0, None, "OneDimBenchmark")
        self.name = name
        self.metrics = ["valid_loss", "cum_time"]
        self.objective = "valid_loss"
        self.static_metrics: list[str] = []
        self._B = float(max_budget)

    def _query_arrays(self, X: np.ndarray, fidelity: np.ndarray, seed: np.ndarray | None,
                      metrics: Sequence[str]) -> dict[str, np.ndarray]:
        x = X[:, 0]
        z = x - 0.73
        f = z ** 2 + 0.06 * (1.0 - np.cos(25.0 * z))
        loss = f + self.bias * (1.0 - fidelity / self._B) * np.cos(7.0 * x)
        if seed is not None and self.noise > 0:
            s = seed.astype(np.float64)[:, None]
            off = _normal(_hash_unit(np.hstack([X, s])))
            jit = _normal(_hash_unit(np.hstack([X, s, fidelity[:, None]])))
            loss = loss + self.noise * (off + jit / np.sqrt(fidelity))
        out = {"valid_loss": loss, "cum_time": fidelity.astype(float).copy()}
        return {m: out[m] for m in metrics}

    def optimum(self, metric: str | None = None) -> tuple[np.ndarray, float]:
        return np.array([[0.73]]), 0.0

    def optimum_loss(self, metric: str | None = None) -> float:
        return 0.0

    def optimum_source(self, metric: str | None = None) -> str:
        return "synthetic: the known minimum (exact)"

