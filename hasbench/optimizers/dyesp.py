"""DyESP (Liu, Lv, Ma, Wang, Xu, AAAI-SS 2025): dynamic exploration and space pruning for
joint hyperparameter-architecture search.

What the paper states (its abstract only; no full text or code could be obtained, see
``docs/specs/dyesp.md``): a **meta-scheduler** that uses the search history to adjust
the **exploration degree** and the sampling strategy every iteration, and a **pruner**, a
fine-tuned MLP on **static metrics** (known without training), that discards configurations
predicted to be inferior; the pruner's results are written back into the meta-scheduler's
history. Everything below that is more concrete than this is **not the paper's**: it is
hasbench's specification (``dyesp.md`` section 2, all marked "[paper silent; we choose]"
there), and where that specification is itself silent or ambiguous, a further choice made
in this module (listed under "Implementation choices beyond the spec"). Every choice is a
parameter.

The algorithm as hasbench specifies it [paper silent; spec's choice]
--------------------------------------------------------------------
* **Base sampler and scheduler**: hasbench's Optuna-faithful TPE
  (:class:`~hasbench.optimizers.tpe.TPE`, ``gamma=0.15``, 64 candidates) proposes new
  configurations; ASHA (:class:`~hasbench.optimizers.asha.ASHA`, ``eta=3``, the space's
  fidelity range) evaluates them (DyESP *is* an ASHA whose new configurations come from the
  meta-scheduler). ``scheduler="none"`` evaluates every configuration at the maximum fidelity
  (plain TPE).
* **Exploration degree** ``eps`` in ``[eps_min, eps_max] = [0.05, 0.5]``, start ``eps0=0.3``:
  with probability ``eps`` a new configuration is drawn uniformly from the space, otherwise
  TPE proposes it with kernel bandwidths widened by ``beta = 1 + bw_scale * eps``
  (``bw_scale=4``).
* **Update** after every ``window=10`` proposals (new configurations, pruned ones included),
  from the improvement rate ``iota = (best_then - best_now) / |best_then|`` of the best real
  loss and the window's prune rate ``pi``: ``iota > improve_hi (0.01)``: ``eps *= 0.8``;
  ``iota == 0``: ``eps *= 1.25``; then ``pi > prune_rate_hi (0.6)``: ``eps += 0.05``;
  clipped to the range. ``fixed_eps=True`` (ablation) keeps ``eps0``.
* **Space adaptation**: multivariate TPE when more than half of the architecture group's
  searched dimensions are categorical, else independent TPE (``multivariate="auto"``).
* **History** ``H`` (:attr:`DyESP.history`): real results (x, loss, fidelity, cost, tag
  ``"ok"``/``"failed"``) and pruned records (x, predicted error, tag ``"pruned"``).
  Pruned records enter TPE's **bad** group with weight ``pruned_weight=0.5`` (hasbench's one
  rule for failed/pruned results, :mod:`hasbench.optimizers.base`: a *bad record*, never an
  observation); ``no_feedback=True`` (ablation) keeps them out of ``H`` and the sampler.
* **Pruner** (:class:`DyESPPruner`, ``no_pruner=True`` removes it): an MLP
  ``d -> 64 -> 64 -> 1``, ReLU, dropout 0.1, predicting the per-task z-scored loss from static
  features: ``log10`` params and FLOPs, the searched hyperparameters in ``[0, 1]`` (log-scaled
  where declared; categorical ones one-hot) and the fidelity as a fraction of the maximum.
  Loss ``0.5 * MSE + 0.5 * pairwise ranking loss``. Optional pre-training on other tasks of
  the same space (``pretrain``: 200 epochs, Adam ``lr=1e-3``; leave-target-out is the user's
  duty: the optimizer never sees which benchmark it runs on). Fine-tuned every
  ``ft_every=5`` real results for ``ft_steps=50`` Adam steps at ``ft_lr=1e-4`` on all target
  results (every fidelity, with the fidelity feature). A new configuration is pruned when its
  predicted maximum-fidelity error is above the ``q_prune`` quantile of the predictions for a
  reference pool of ``pool_size=1000`` uniform configurations. ``q_prune`` is 0.9 while the
  surrogate's Spearman ``rho`` on held-out results is in ``[rho_off, rho_on) = [0.2, 0.5)``,
  moves linearly to ``q_end=0.5`` while ``rho >= 0.5``, and is 1 (pruner off) when
  ``rho < 0.2``. At most ``max_consecutive_prunes=50`` proposals in a row are pruned.
  A pruned configuration costs no simulated time (the simulator charges 0 seconds; only its
  static metrics are read).

Implementation choices beyond the spec [chosen here; each a parameter]
----------------------------------------------------------------------
* ``rho`` is **prequential**: the pruner predicts every job it is shown (at the job's
  fidelity) before the job is evaluated; ``rho`` is the Spearman correlation of those
  predictions with the results, over the newest ``holdout_frac=0.2`` of such pairs (at least
  ``rho_min_obs=5``; fewer: ``rho`` unknown). These predictions were made before the model saw
  the results, so they are held out without withholding data from the fit (the spec's "last
  20%" would otherwise be both fitted and held out). Predictions come from the model versions
  current at the time; only jobs that passed the pruner are in it.
* The ``q_prune`` ramp advances one step per fine-tuning round with ``rho >= rho_on`` and
  reaches ``q_end`` after ``q_ramp=5`` such rounds in a row; a round with
  ``rho_off <= rho < rho_on`` resets it to ``q_start``. While ``rho`` is unknown ``q_prune``
  is ``q_start`` for a pre-trained model, else 1 (an untrained model's ranking is unverified).
* Without pre-training the first fit on the target (at the first ``ft_every`` results) uses
  the pre-training settings (``pretrain_epochs`` steps at ``pretrain_lr``); later rounds
  fine-tune. Each round starts a fresh Adam state. A fine-tuning step uses a mini-batch of
  ``batch_size=64`` results drawn with replacement from all target results (the whole set
  when it is smaller), so a step costs the same however many results there are;
  pre-training runs ``pretrain_epochs`` epochs of shuffled mini-batches of that size.
* Ranking loss: RankNet's logistic loss ``log(1 + exp(yhat_i - yhat_j))`` over pairs with
  ``y_i < y_j`` of the same task and fidelity, ``n_pairs=256`` pairs sampled per step (all
  pairs would be quadratic in the number of results).
* Static features: depth and width statistics are not added separately (for the shipped
  spaces they are columns of the encoding, e.g. ``hia-cnn``'s ``n_conv_layers`` and
  ``n_filters``). ``log10`` params and FLOPs are z-scored with statistics frozen at the first
  fit. An inactive numeric value is 0.5; an inactive categorical one has an all-zero one-hot.
* Where the static metrics come from (``static``): a candidate's ``params``/``flops`` are
  those the simulator reads from the benchmark (exact, :mod:`hasbench.spaces.static`, for the
  shipped surrogates). The reference pool's need the same metrics for configurations the
  simulator never sees: ``"exact"`` computes everything with
  :func:`hasbench.spaces.static.static_metrics` from ``in_shape`` and ``n_classes``;
  ``"auto"`` (default) does the same, inferring ``in_shape`` (``C`` in {1, 3}, square
  ``H = W`` up to 64) and ``n_classes`` from the first candidate's metrics when they are not
  given, checking the inference on the next 10 candidates; when that is impossible (a space
  without an exact recipe, a synthetic benchmark) it falls back to ``"benchmark"``: the
  reference pool is then the newest ``pool_size`` candidates shown to the pruner (the
  simulator does not offer static metrics of arbitrary configurations; no pruning before 20
  candidates). ``"none"``: no params/FLOPs features (encoding only, uniform pool).
* Per-rung models: ASHA's results at rung ``k`` feed a TPE model of rung ``k``; proposals
  come from the highest rung with at least ``n_startup=10`` ranked results (BOHB's rule with
  TPE's start-up count), uniform draws before that. Pruned records (and, with the constant
  liar, running new configurations) join every rung's model; the top rung's model has the
  optimizer's seed, so ``scheduler="none"``, ``no_pruner=True``, ``fixed_eps=True``,
  ``eps0=0`` proposes exactly what :class:`~hasbench.optimizers.tpe.TPE` with the same seed,
  ``gamma=0.15`` and ``n_candidates=64`` proposes.
* Bandwidth widening (``beta``): candidates are *drawn* from l with every numeric kernel's
  sigma times ``beta`` (at most the range) and each categorical kernel's keep probability
  ``1 / (beta * (c * a) + 1)`` (Optuna's ``1 / (c * a + 1)`` at ``beta = 1``); they are
  *scored* with the unwidened ``log l - log g`` (as BOHB's ``bandwidth_factor``).
* ``iota`` uses the best real loss at any fidelity; a window that starts without any real
  result skips the ``iota`` rule (no stagnation before the first result); ``best_then == 0``
  counts any improvement as ``iota = inf``.
* Only new configurations (rung 0) are pruned; promotions are ASHA's decision.
* A forced evaluation (the simulator's cap on consecutive prunes) is not shown to the
  pruner, and neither its static metrics nor its result train the MLP.

Why a numpy MLP rather than scikit-learn's ``MLPRegressor``: the spec's loss (MSE plus a
pairwise ranking term) and dropout are not available there (``MLPRegressor`` fits squared
error only, without dropout); torch is not allowed in replays. The network is small (two
hidden layers of 64), so a hand-written forward/backward pass with Adam is a few dozen lines.

Determinism: every random choice draws from streams derived from ``seed``
(:class:`numpy.random.SeedSequence`): the configuration stream and the decision stream of
:class:`~hasbench.optimizers.base.Optimizer`, one stream per rung model, and the pruner's
own streams (pool, weights, dropout, pairs). Pre-trained weights are cached per process and
source (they depend on ``pretrain_seed``, not on ``seed``).
"""

from __future__ import annotations

import copy
import math
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import InvalidValueError, check_choice, check_float, check_int
from .asha import ASHA
from .base import Job, Pruner, Result, fidelity_ladder, is_failure, is_pruned
from .parzen import ParzenEstimator
from .tpe import TPE

__all__ = ["DyESP", "DyESPPruner"]

_WHERE = "DyESP"
_MIN_SEEN_POOL = 20
_VERIFY_N = 10
#: inferred (in_shape, n_classes) per space name, reused across runs in one process
_SETUP_CACHE: dict[str, list[tuple[tuple[int, int, int], int]]] = {}
#: pre-training data and weights per source spec, cached per process
_PRETRAIN_DATA: dict[tuple, dict] = {}
_PRETRAIN_NET: dict[tuple, Any] = {}


# --------------------------------------------------------------------------- TPE helpers
def _widen(pe: ParzenEstimator, beta: float) -> ParzenEstimator:
    """A copy of ``pe`` with wider kernels for sampling (module docstring); ``pe`` itself
    when ``beta == 1``."""
    if beta == 1.0:
        return pe
    w = copy.copy(pe)
    if pe._num.size:
        rng_ = (pe._hi - pe._lo)[None, :]
        w.sigma = np.minimum(pe.sigma * beta, np.maximum(pe.sigma, rng_))
    if pe._cat.size and pe.n:
        w._p_keep = 1.0 / (beta * (1.0 / pe._p_keep - 1.0) + 1.0)
    return w


def _tpe_propose(m: TPE, beta: float) -> np.ndarray:
    """``TPE._propose`` with candidates drawn from the widened l (``beta``); identical to it
    (same draws, same result) at ``beta == 1``."""
    rng = m._rng
    good, bad = m.split()
    d = m._cols.size
    nan = np.isnan(good[0]).any(axis=0) | np.isnan(bad[0]).any(axis=0)
    full = np.flatnonzero(~nan)
    best = np.empty(d)
    n = m.n_candidates
    if full.size:
        lk, gk = m._estimators(good, bad, full)
        C = _widen(lk, beta).sample(rng, n, joint=m.multivariate)
        if m.multivariate:
            s = lk.log_pdf(C) - gk.log_pdf(C)
            best[full] = C[int(np.argmax(s))]
        else:
            s = lk.log_pdf_columns(C) - gk.log_pdf_columns(C)
            best[full] = C[np.argmax(s, axis=0), np.arange(full.size)]
    for j in np.flatnonzero(nan):
        lk, gk = m._estimators(good, bad, np.array([j]))
        C = _widen(lk, beta).sample(rng, n, joint=True)
        s = lk.log_pdf(C) - gk.log_pdf(C)
        best[j] = C[int(np.argmax(s)), 0]
    return m._from_values(best)


def _stream(seed: int, tag: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(seed), 0xD7E5, int(tag)]))


def _derived_seed(seed: int, tag: int) -> int:
    return int(np.random.SeedSequence([int(seed), 0xD7E5, int(tag)]).generate_state(1)[0]
               & 0x7FFFFFFF)


# --------------------------------------------------------------------------- the MLP
class _MLP:
    """Fully connected ReLU network with dropout, fitted with Adam on
    ``(1 - rank_weight) * MSE + rank_weight * RankNet loss`` (numpy; see the module
    docstring for why not scikit-learn). All weights live in one flat vector (views per
    layer) so an Adam step is a handful of numpy calls."""

    def __init__(self, d_in: int, hidden: Sequence[int], dropout: float,
                 rng: np.random.Generator):
        sizes = [d_in, *hidden, 1]
        shapes = []
        for a, c in zip(sizes[:-1], sizes[1:], strict=True):
            shapes += [(a, c), (c,)]
        self._shapes = shapes
        self.theta = np.zeros(sum(int(np.prod(sh)) for sh in shapes))
        self._views(self.theta)
        for i, (a, c) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            lim = math.sqrt(6.0 / a)  # He-uniform initialisation for ReLU layers
            self.W[i][...] = rng.uniform(-lim, lim, (a, c))
        self.dropout = float(dropout)

    def _split(self, flat: np.ndarray) -> list[np.ndarray]:
        out, o = [], 0
        for sh in self._shapes:
            k = int(np.prod(sh))
            out.append(flat[o:o + k].reshape(sh))
            o += k
        return out

    def _views(self, flat: np.ndarray) -> None:
        v = self._split(flat)
        self.W, self.b = v[0::2], v[1::2]

    def copy(self) -> _MLP:
        m = copy.copy(self)
        m.theta = self.theta.copy()
        m._views(m.theta)
        return m

    def predict(self, X: np.ndarray) -> np.ndarray:
        h = X
        L = len(self.W)
        for i in range(L):
            h = h @ self.W[i] + self.b[i]
            if i < L - 1:
                np.maximum(h, 0.0, out=h)
        return h[:, 0]

    def _grads(self, X, y, pairs, rank_weight, rng, gv):
        # in-place numpy calls with the same operations in the same order as the plain
        # expressions (bitwise the same gradients, fewer temporaries)
        L = len(self.W)
        acts = [X]
        masks = []
        h = X
        p = self.dropout
        scale = 1.0 / (1.0 - p) if p > 0 else 1.0
        for i in range(L - 1):
            h = h @ self.W[i]
            h += self.b[i]
            np.maximum(h, 0.0, out=h)
            if p > 0:
                mk = (rng.random(h.shape) >= p) * scale
                h *= mk
            else:
                mk = None
            masks.append(mk)
            acts.append(h)
        out = (h @ self.W[-1] + self.b[-1])[:, 0]
        n = X.shape[0]
        g = (1.0 - rank_weight) * 2.0 * (out - y) / n
        if rank_weight > 0 and pairs is not None and pairs[0].size:
            i, j = pairs
            s = out[i] - out[j]  # i has the lower loss: want out_i < out_j
            sg = 0.5 * (1.0 + np.tanh(0.5 * s))  # logistic(s), overflow-free
            c = rank_weight / i.size
            w = c * sg
            g += np.bincount(i, weights=w, minlength=n)
            g -= np.bincount(j, weights=w, minlength=n)
        dW, db = gv
        d = g[:, None]
        for k in range(L - 1, -1, -1):
            np.matmul(acts[k].T, d, out=dW[k])
            np.sum(d, axis=0, out=db[k])
            if k:
                d = d @ self.W[k].T
                if masks[k - 1] is not None:
                    d *= masks[k - 1]
                d *= acts[k] > 0

    def fit(self, X, y, groups, steps: int, lr: float, rank_weight: float, n_pairs: int,
            rng: np.random.Generator, batch_size: int | None = None,
            epochs: bool = False) -> None:
        """``steps`` Adam steps with a fresh Adam state: full batch when ``batch_size`` is
        None or at least the number of rows; otherwise each step a mini-batch of
        ``batch_size`` rows drawn with replacement, or, with ``epochs=True``, ``steps``
        epochs of shuffled mini-batches."""
        th = self.theta
        m1 = np.zeros_like(th)
        m2 = np.zeros_like(th)
        gr = np.zeros_like(th)
        tmp = np.empty_like(th)
        tmp2 = np.empty_like(th)
        gsplit = self._split(gr)
        gv = (gsplit[0::2], gsplit[1::2])
        b1, b2, eps = 0.9, 0.999, 1e-8
        t = 0
        n = X.shape[0]

        def step(idx):
            nonlocal t, m1, m2, th, tmp, tmp2
            if idx is None:
                Xb, yb, gb = X, y, groups
            else:
                Xb, yb, gb = X[idx], y[idx], groups[idx]
            pairs = _sample_pairs(yb, gb, n_pairs, rng) if rank_weight > 0 else None
            self._grads(Xb, yb, pairs, rank_weight, rng, gv)
            t += 1
            a = lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
            # th -= a * m1 / (sqrt(m2) + eps) after the moment updates, in place (the same
            # operations in the same order: bitwise the same weights)
            m1 *= b1
            np.multiply(gr, 1 - b1, out=tmp)
            m1 += tmp
            m2 *= b2
            np.multiply(gr, gr, out=tmp)
            tmp *= 1 - b2
            m2 += tmp
            np.sqrt(m2, out=tmp)
            tmp += eps
            np.multiply(m1, a, out=tmp2)
            tmp2 /= tmp
            th -= tmp2

        full = batch_size is None or batch_size >= n
        for _ in range(steps):
            if full:
                step(None)
            elif epochs:
                perm = rng.permutation(n)
                for s in range(0, n, batch_size):
                    step(perm[s:s + batch_size])
            else:
                step(rng.integers(0, n, batch_size))


def _sample_pairs(y: np.ndarray, groups: np.ndarray, n_pairs: int,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Up to ``n_pairs`` index pairs ``(i, j)`` of one group with ``y_i < y_j``."""
    n = y.shape[0]
    if n < 2:
        return np.zeros(0, int), np.zeros(0, int)
    a, b = rng.integers(0, n, (2, 2 * n_pairs))
    ok = (groups[a] == groups[b]) & (y[a] != y[b])
    a, b = a[ok][:n_pairs], b[ok][:n_pairs]
    lo = y[a] < y[b]
    return np.where(lo, a, b), np.where(lo, b, a)


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import spearmanr

    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return 0.0
    r = spearmanr(a, b).statistic
    return float(r) if math.isfinite(r) else 0.0


# --------------------------------------------------------------------------- static setup
def _infer_setup(space, x: np.ndarray, params: float, flops: float
                 ) -> tuple[tuple[int, int, int], int] | None:
    """``(in_shape, n_classes)`` with which :func:`hasbench.spaces.static.static_metrics`
    gives ``params`` and ``flops`` for config ``x`` (``C`` in {1, 3}, square ``H = W`` in
    1..64; ``n_classes`` solved from the parameter count, which is linear in it), else
    ``None``. Setups found earlier for this space are tried first. The search calls the
    module's per-network recipes directly (about 20 us each; ``static_metrics`` validates
    and decodes on every call, 0.4 ms), and the result is checked with ``static_metrics``."""
    from ..spaces import static as S

    if space.name not in S.exact_static_spaces():
        return None
    X = x[None, :]

    def match(shape, k):
        try:
            st = S.static_metrics(space, X, shape, k)
        except Exception:  # noqa: BLE001 - a shape the network cannot take
            return False
        return st["params"][0] == params and st["flops"][0] == flops

    for shape, k in _SETUP_CACHE.get(space.name, []):
        if match(shape, k):
            return shape, k
    recipe = S._RECIPES[space.name]
    cfg = dict(space.decode(X)[0])

    def count(shape, k):
        shp = shape
        if space.name == "nb201-joint" and float(cfg.get("Resolution", 1.0)) != 1.0:
            r = float(cfg["Resolution"])  # as static_metrics rescales
            shp = (shape[0], max(1, round(shape[1] * r)), max(1, round(shape[2] * r)))
        return recipe(cfg, shp, k).result()

    for c in (1, 3):
        for h in range(1, 65):
            shape = (c, h, h)
            try:
                (p1, f1, _), (p2, f2, _) = count(shape, 1), count(shape, 2)
            except Exception:  # noqa: BLE001 - a shape the network cannot take
                continue
            if p2 == p1:
                continue
            k = 1 + (params - p1) / (p2 - p1)
            if not (math.isfinite(k) and k >= 1 and abs(k - round(k)) < 1e-9):
                continue
            k = int(round(k))
            if f1 + (k - 1) * (f2 - f1) == flops and match(shape, k):
                _SETUP_CACHE.setdefault(space.name, []).append((shape, k))
                return shape, k
    return None


# --------------------------------------------------------------------------- pruner
class DyESPPruner(Pruner):
    """DyESP's pruner: a fine-tuned MLP on static features (module docstring). Built by
    :class:`DyESP` (it reads the optimizer's settings); the simulator calls :meth:`prune`
    before every job and :meth:`observe` after every evaluated one.

    Attributes
    ----------
    q_prune : float
        Current quantile (1 = pruner off).
    rho : float or None
        Latest prequential Spearman correlation.
    rounds : list of dict
        One entry per fitting round: ``n_obs``, ``rho``, ``q_prune``, ``threshold``.
    """

    static_metrics = ("params", "flops")

    def __init__(self, opt: DyESP):
        self.opt = opt
        s = opt.seed
        self._rng_pool = _stream(s, 101)
        self._rng_fit = _stream(s, 102)
        self._rng_init = _stream(s, 103)
        self.net: _MLP | None = None
        self.pretrained = False
        self.q_prune = 1.0
        self.rho: float | None = None
        self._ramp = 0
        self.rounds: list[dict] = []
        self._static_mode: str | None = None  # resolved at the first prune call
        self._setup: tuple[tuple[int, int, int], int] | None = None
        self._verified = 0
        self._scaler: tuple[np.ndarray, np.ndarray] | None = None
        self._trial_static: dict[int, np.ndarray] = {}   # trial -> log10 (params, flops)
        self._pred_at: dict[int, float] = {}             # job -> prediction at its fidelity
        self._preq: list[tuple[float, float]] = []       # (prediction, loss)
        self._obs_x: list[np.ndarray] = []
        self._obs_f: list[float] = []
        self._obs_st: list[np.ndarray | None] = []
        self._obs_y: list[float] = []
        self._since = 0
        self._pool_X: np.ndarray | None = None
        self._pool_F: np.ndarray | None = None
        self._pool_static: np.ndarray | None = None
        self._seen: deque = deque(maxlen=opt.pool_size)
        self.threshold = math.inf
        self._consecutive = 0
        #: job id -> predicted (z-scored) maximum-fidelity error of the pruned candidate
        self.predicted: dict[int, float] = {}

    # ------------------------------------------------------------ features
    @property
    def uses_static(self) -> bool:
        return self._static_mode in ("exact", "benchmark")

    def _encode(self, X: np.ndarray, fid: np.ndarray, static: np.ndarray | None
                ) -> np.ndarray:
        opt = self.opt
        V = opt._to_model(X)
        parts = []
        cat = opt._vartypes > 0
        for j in range(V.shape[1]):
            v = V[:, j]
            if cat[j]:
                k = int(opt._vartypes[j])
                oh = np.zeros((V.shape[0], k))
                ok = np.isfinite(v)
                oh[np.flatnonzero(ok), v[ok].astype(int)] = 1.0
                parts.append(oh)
            else:
                parts.append(np.where(np.isfinite(v), v, 0.5)[:, None])
        if self.uses_static:
            if static is None:
                raise InvalidValueError("static", None, "params and flops of every config",
                                        "DyESPPruner")
            mu, sd = self._scaler
            parts.append((static - mu) / sd)
        parts.append((np.asarray(fid, float) / opt.max_fidelity)[:, None])
        return np.hstack(parts)

    def _exact_static(self, X: np.ndarray) -> np.ndarray:
        from ..spaces.static import static_metrics

        shape, k = self._setup
        st = static_metrics(self.opt.space, X, shape, k)
        return np.log10(np.column_stack([st["params"], st["flops"]]))

    def _resolve_static(self, job: Job, features: Mapping[str, Any]) -> None:
        """Decide where static metrics come from (module docstring, ``static``)."""
        opt = self.opt
        mode = opt.static
        have = all(m in features and np.isfinite(float(features[m]))
                   and float(features[m]) > 0 for m in ("params", "flops"))
        if mode == "none":
            self._static_mode = "none"
        elif opt.in_shape is not None:
            self._setup = (tuple(opt.in_shape), opt.n_classes)
            self._static_mode = "exact"
        elif not have:
            if mode == "benchmark":
                raise InvalidValueError("static", mode, "'auto' or 'none' (the benchmark "
                                        "reports no params/flops)", _WHERE)
            self._static_mode = "none"
        else:
            setup = None
            if mode == "auto":
                setup = _infer_setup(opt.space, job.x, float(features["params"]),
                                     float(features["flops"]))
            if setup is not None:
                self._setup = setup
                self._static_mode = "exact"
                self._verified = 0
            else:
                self._static_mode = "benchmark"
        if self._pretrain_key() is not None:
            self._pretrain()

    def _candidate_static(self, job: Job, features: Mapping[str, Any]) -> np.ndarray | None:
        if not self.uses_static:
            return None
        t = job.trial_id
        st = self._trial_static.get(t)
        if st is not None:
            return st
        have = all(m in features for m in ("params", "flops"))
        if have:
            st = np.log10(np.array([float(features["params"]), float(features["flops"])]))
        if self._static_mode == "exact":
            if self.opt.in_shape is not None or not have:
                st = self._exact_static(job.x[None, :])[0]
            elif self._verified < _VERIFY_N:
                ex = self._exact_static(job.x[None, :])[0]
                if not np.array_equal(ex, st):  # the inference was wrong: fall back
                    self._static_mode = "benchmark"
                    self._pool_X = None
                    self._threshold_update()
                else:
                    self._verified += 1
        if st is None:
            return None
        self._trial_static[t] = st
        return st

    # ------------------------------------------------------------ pool
    def _pool(self) -> np.ndarray | None:
        """Features of the reference pool at the maximum fidelity."""
        opt = self.opt
        if self._static_mode == "benchmark":
            if len(self._seen) < _MIN_SEEN_POOL:
                return None
            X = np.array([x for x, _ in self._seen])
            S = np.array([st for _, st in self._seen])
            return self._encode(X, np.full(X.shape[0], opt.max_fidelity), S)
        if self._pool_X is None:
            U = self._rng_pool.random((opt.pool_size, opt._cols.size))
            self._pool_X = opt._from_unit_cols(U)
            st = self._exact_static(self._pool_X) if self.uses_static else None
            self._pool_static = st
            self._pool_F = None
        if self._pool_F is None:
            self._pool_F = self._encode(self._pool_X, np.full(opt.pool_size, opt.max_fidelity),
                                        self._pool_static)
        return self._pool_F

    def _threshold_update(self) -> None:
        if self.net is None or self.q_prune >= 1.0:
            self.threshold = math.inf
            return
        F = self._pool()
        if F is None:
            self.threshold = math.inf
            return
        self.threshold = float(np.quantile(self.net.predict(F), self.q_prune))

    # ------------------------------------------------------------ pre-training
    def _pretrain_key(self):
        opt = self.opt
        if not opt.pretrain:
            return None
        return (tuple(opt.pretrain), opt.space.name, opt.pretrain_n, opt.pretrain_seed,
                tuple(opt.names), self.uses_static, tuple(opt.hidden), opt.dropout,
                opt.pretrain_epochs, opt.pretrain_lr, opt.batch_size, opt.n_pairs,
                opt.rank_weight, opt.objective_metric)

    def _pretrain(self) -> None:
        key = self._pretrain_key()
        if key in _PRETRAIN_NET:
            net, scaler = _PRETRAIN_NET[key]
        else:
            opt = self.opt
            Fs, ys, gs, sts = [], [], [], []
            for gi, src in enumerate(opt.pretrain):
                d = _pretrain_data(src, opt)
                Xs, ls, st = d["X"], d["loss"], d["static"]
                ok = np.isfinite(ls)
                if self.uses_static:
                    ok &= np.isfinite(st).all(axis=1)
                Xs, ls, st = Xs[ok], ls[ok], st[ok]
                if ls.size < 2:
                    raise InvalidValueError("pretrain", src, "a benchmark with at least 2 "
                                            "finite results at the maximum fidelity", _WHERE)
                sd = ls.std() or 1.0
                ys.append((ls - ls.mean()) / sd)
                gs.append(np.full(ls.size, gi, float))
                Fs.append(Xs)
                sts.append(st)
            S = np.vstack(sts)
            if self.uses_static:
                self._scaler = (S.mean(axis=0), np.where(S.std(axis=0) > 0, S.std(axis=0), 1.0))
            X = np.vstack(Fs)
            F = self._encode(X, np.full(X.shape[0], self.opt.max_fidelity),
                             S if self.uses_static else None)
            rng = np.random.default_rng(np.random.SeedSequence([opt.pretrain_seed, 0xD7E6]))
            net = _MLP(F.shape[1], opt.hidden, opt.dropout, rng)
            net.fit(F, np.concatenate(ys), np.concatenate(gs), opt.pretrain_epochs,
                    opt.pretrain_lr, opt.rank_weight, opt.n_pairs, rng, opt.batch_size,
                    epochs=True)
            scaler = self._scaler
            _PRETRAIN_NET[key] = (net, scaler)
        self.net = net.copy()
        self._scaler = scaler
        self.pretrained = True
        self.q_prune = self.opt.q_start
        self._threshold_update()

    # ------------------------------------------------------------ interface
    def prune(self, job: Job, features: Mapping[str, Any]) -> bool:
        opt = self.opt
        if self._static_mode is None:
            self._resolve_static(job, features)
        st = self._candidate_static(job, features)
        if self.uses_static and st is None:
            return False  # no metrics for this job: never pruned, not learnt from
        new = not job.continues
        if new and self._static_mode == "benchmark":
            self._seen.append((job.x, st))
        if self.net is None:
            return False
        rows = [job.fidelity] + ([opt.max_fidelity] if new else [])
        X = np.repeat(job.x[None, :], len(rows), axis=0)
        S = None if st is None else np.repeat(st[None, :], len(rows), axis=0)
        pred = self.net.predict(self._encode(X, np.array(rows), S))
        if not new:
            self._pred_at[job.job_id] = float(pred[0])
            return False
        yhat = float(pred[1])
        prune = (yhat > self.threshold and self._consecutive < opt.max_consecutive_prunes)
        if prune:
            self._consecutive += 1
            self.predicted[job.job_id] = yhat
            return True
        self._consecutive = 0
        self._pred_at[job.job_id] = float(pred[0])
        return False

    def observe(self, job: Job, result: Result) -> None:
        if is_failure(result) or self._static_mode is None:
            return  # no measurement, or never shown a job (not run by the simulator)
        st = self._trial_static.get(job.trial_id)
        if self.uses_static and st is None:
            return  # never shown to the pruner (a forced evaluation)
        y = float(result.loss)
        p = self._pred_at.pop(job.job_id, None)
        if p is not None:
            self._preq.append((p, y))
        self._obs_x.append(job.x)
        self._obs_f.append(float(job.fidelity))
        self._obs_st.append(st)
        self._obs_y.append(y)
        self._since += 1
        if self._since >= self.opt.ft_every:
            self._since = 0
            self._round()

    def _round(self) -> None:
        opt = self.opt
        # 1. prequential rho on the newest (prediction, result) pairs
        m = len(self._preq)
        rho = None
        if m >= opt.rho_min_obs:
            w = max(opt.rho_min_obs, math.ceil(opt.holdout_frac * m))
            P = np.array(self._preq[-w:])
            rho = _spearman(P[:, 0], P[:, 1])
        self.rho = rho
        # 2. fit on every real result so far (z-scored losses; pairs within a fidelity)
        S = np.array(self._obs_st) if self.uses_static else None
        if self.uses_static and self._scaler is None:
            sd = S.std(axis=0)
            self._scaler = (S.mean(axis=0), np.where(sd > 0, sd, 1.0))
        g = np.array(self._obs_f)
        F = self._encode(np.array(self._obs_x), g, S)
        y = np.array(self._obs_y)
        sd = y.std()
        z = (y - y.mean()) / (sd if sd > 0 else 1.0)
        if self.net is None:
            self.net = _MLP(F.shape[1], opt.hidden, opt.dropout, self._rng_init)
            self.net.fit(F, z, g, opt.pretrain_epochs, opt.pretrain_lr, opt.rank_weight,
                         opt.n_pairs, self._rng_fit, opt.batch_size)
        else:
            self.net.fit(F, z, g, opt.ft_steps, opt.ft_lr, opt.rank_weight, opt.n_pairs,
                         self._rng_fit, opt.batch_size)
        # 3. q_prune
        if rho is None:
            self.q_prune = opt.q_start if self.pretrained else 1.0
            self._ramp = 0
        elif rho < opt.rho_off:
            self.q_prune = 1.0
            self._ramp = 0
        elif rho < opt.rho_on:
            self.q_prune = opt.q_start
            self._ramp = 0
        else:
            self._ramp += 1
            f = min(self._ramp, opt.q_ramp) / opt.q_ramp
            self.q_prune = opt.q_start - (opt.q_start - opt.q_end) * f
        self._pool_F = None  # the pool is re-predicted with the new weights
        self._threshold_update()
        self.rounds.append({"n_obs": len(self._obs_y), "rho": rho, "q_prune": self.q_prune,
                            "threshold": self.threshold})


def _pretrain_data(src: str, opt: DyESP) -> dict:
    """Configs, losses at the maximum fidelity (seed-averaged) and log10 (params, flops) of
    a source benchmark: a run table's own configs, else ``pretrain_n`` uniform ones."""
    key = (src, opt.space.name, opt.pretrain_n, opt.pretrain_seed, opt.objective_metric)
    if key in _PRETRAIN_DATA:
        return _PRETRAIN_DATA[key]
    from ..simulate.replay import resolve_benchmark

    bench = resolve_benchmark(src)
    sp = bench.space
    if sp.name != opt.space.name or sp.names != opt.space.names:
        raise InvalidValueError("pretrain", src, f"benchmarks of the space {opt.space.name!r}",
                                _WHERE, hint=f"{src!r} is over {sp.name!r}")
    table = getattr(bench, "table", None)
    if table is not None:
        X = np.array(table.X, dtype=float)
        X = X[np.unique(X, axis=0, return_index=True)[1]] if X.shape[0] else X
        X = X[:opt.pretrain_n]
    else:
        X = sp.sample_array(opt.pretrain_n, np.random.default_rng(
            np.random.SeedSequence([opt.pretrain_seed, 0xD7E7])))
    fid = sp.fidelity
    top = float(fid.upper)
    if table is not None:
        top = float(min(top, table.max_epochs))
    if fid.in_config and fid.name in sp.names:
        X[:, sp.names.index(fid.name)] = top
    metric = opt.objective_metric or bench.objective
    metrics = [metric] + [m for m in ("params", "flops") if m in bench.metrics]
    out = bench.query(X, fidelity=top, metrics=metrics, seed=None, as_arrays=True)
    loss = bench.to_loss(metric, np.asarray(out[metric], float))
    if "params" in out and "flops" in out:
        with np.errstate(divide="ignore", invalid="ignore"):
            st = np.log10(np.column_stack([out["params"], out["flops"]]).astype(float))
    else:
        st = np.full((X.shape[0], 2), np.nan)
    d = {"X": X, "loss": loss, "static": st}
    _PRETRAIN_DATA[key] = d
    return d


# --------------------------------------------------------------------------- optimizer
class DyESP(ASHA):
    """DyESP: meta-scheduler with an adaptive exploration degree over TPE + ASHA, and an MLP
    pruner on static metrics. See the module docstring for the algorithm and which parts are
    the paper's (few), the spec's and this module's choices.

    Parameters
    ----------
    scheduler : {"asha", "none"}
        Evaluate with ASHA (default; ``eta``, ``asha_mode`` ... as :class:`ASHA`) or every
        configuration at the maximum fidelity.
    eps0, eps_min, eps_max : float
        Initial exploration degree and its range (0.3, 0.05, 0.5). With ``fixed_eps`` any
        ``eps0`` in [0, 1] is allowed.
    window : int
        Proposals per exploration update (10).
    improve_hi, prune_rate_hi : float
        Improvement-rate and prune-rate thresholds (0.01, 0.6).
    eps_shrink, eps_grow, eps_step : float
        ``eps`` multipliers on improvement / stagnation and the increment on a high prune rate
        (0.8, 1.25, 0.05).
    bw_scale : float
        ``beta = 1 + bw_scale * eps`` (4).
    fixed_eps, no_pruner, no_feedback : bool
        Ablation switches (module docstring).
    gamma, gamma_cap, n_candidates, n_startup : TPE settings (0.15, 25, 64, 10).
    multivariate : bool or "auto"
        "auto": multivariate TPE iff > 50% of the searched architecture dimensions are
        categorical (categorical, and ordinal when TPE models them as categorical).
    tpe_kwargs : dict, optional
        Further :class:`TPE` options (``weights``, ``prior_weight``, ``constant_liar``,
        ``ordinal``, ``consider_magic_clip``, ``consider_endpoints``).
    pruned_weight : float
        Weight of a pruned record in TPE's bad group (0.5; base-class rule).
    hidden : sequence of int
        MLP hidden layer sizes ((64, 64)).
    dropout, rank_weight : float
        Dropout rate (0.1) and weight of the ranking term in the loss (0.5).
    pretrain : str or sequence of str, optional
        Source benchmarks (names for :func:`hasbench.simulate.resolve_benchmark`) of the same
        space to pre-train on; never the target (leave-target-out, not checkable here).
    pretrain_n, pretrain_seed, pretrain_epochs, pretrain_lr, batch_size :
        Source configs per surrogate source (1000; a run table uses its own), seed of the
        pre-training (0), epochs (200), Adam learning rate (1e-3), mini-batch size (64).
    objective_metric : str, optional
        Metric of the source benchmarks to pre-train on (default: each one's objective).
    ft_every, ft_steps, ft_lr : fine-tuning period in real results (5), Adam steps (50),
        learning rate (1e-4).
    n_pairs : int
        Ranking pairs sampled per step (256).
    pool_size : int
        Reference pool size (1000).
    q_start, q_end, q_ramp : float, float, int
        ``q_prune`` schedule (0.9, 0.5, 5 rounds).
    rho_on, rho_off, holdout_frac, rho_min_obs :
        Spearman thresholds (0.5, 0.2), held-out fraction (0.2) and minimum (5).
    max_consecutive_prunes : int
        Cap on proposals pruned in a row (50).
    static : {"auto", "exact", "benchmark", "none"}
        Source of the static metrics (module docstring).
    in_shape, n_classes : optional
        Network input shape ``[C, H, W]`` and class count for exact static metrics.
    Other parameters: see :class:`~hasbench.optimizers.asha.ASHA` and
    :class:`~hasbench.optimizers.base.Optimizer`.

    Attributes
    ----------
    eps : float
        Current exploration degree.
    eps_trace : list of (int, float)
        ``(proposals so far, eps)`` after every window (first entry: the start).
    history : list of dict
        ``H``: ``{"trial", "job", "x", "y", "fidelity", "cost", "tag"}`` per real result and
        per pruned record (``y``: the predicted z-scored error; absent with ``no_feedback``).
    """

    name = "dyesp"
    multi_fidelity = True

    def __init__(self, space, seed: int = 0, *, scheduler: str = "asha", eps0: float = 0.3,
                 eps_min: float = 0.05, eps_max: float = 0.5, window: int = 10,
                 improve_hi: float = 0.01, prune_rate_hi: float = 0.6,
                 eps_shrink: float = 0.8, eps_grow: float = 1.25, eps_step: float = 0.05,
                 bw_scale: float = 4.0, fixed_eps: bool = False, no_pruner: bool = False,
                 no_feedback: bool = False, gamma: float = 0.15, gamma_cap: int | None = 25,
                 n_candidates: int = 64, n_startup: int = 10, multivariate: Any = "auto",
                 tpe_kwargs: dict | None = None, pruned_weight: float = 0.5,
                 hidden: Sequence[int] = (64, 64), dropout: float = 0.1,
                 rank_weight: float = 0.5, pretrain: Any = None, pretrain_n: int = 1000,
                 pretrain_seed: int = 0, pretrain_epochs: int = 200, pretrain_lr: float = 1e-3,
                 batch_size: int = 64, objective_metric: str | None = None,
                 ft_every: int = 5, ft_steps: int = 50, ft_lr: float = 1e-4,
                 n_pairs: int = 256, pool_size: int = 1000, q_start: float = 0.9,
                 q_end: float = 0.5, q_ramp: int = 5, rho_on: float = 0.5,
                 rho_off: float = 0.2, holdout_frac: float = 0.2, rho_min_obs: int = 5,
                 max_consecutive_prunes: int = 50, static: str = "auto",
                 in_shape: Sequence[int] | None = None, n_classes: int | None = None,
                 **kw: Any):
        w = _WHERE
        self.scheduler = check_choice("scheduler", scheduler, ["asha", "none"], w)
        if "pruner" in kw and kw["pruner"] is not None:
            raise InvalidValueError("pruner", type(kw["pruner"]).__name__, "None (DyESP "
                                    "builds its own pruner; no_pruner=True removes it)", w)
        kw.pop("pruner", None)
        if self.scheduler == "none":
            if "early_stopping_rate" in kw:
                raise InvalidValueError("early_stopping_rate", kw["early_stopping_rate"],
                                        "not set with scheduler='none'", w)
            fid = space.fidelities[0] if getattr(space, "fidelities", None) else None
            lo = kw.get("min_fidelity", fid.lower if fid is not None else 1.0)
            hi = kw.get("max_fidelity", fid.upper if fid is not None else 1.0)
            lad = fidelity_ladder(float(lo), float(hi), int(kw.get("eta", 3)),
                                  kw.get("rung_mode", "geometric_up"),
                                  bool(fid is not None and fid.is_int))
            kw["early_stopping_rate"] = len(lad) - 1
        super().__init__(space, seed, pruned_weight=pruned_weight, **kw)
        for nm, v in (("fixed_eps", fixed_eps), ("no_pruner", no_pruner),
                      ("no_feedback", no_feedback)):
            if not isinstance(v, (bool, np.bool_)):
                raise InvalidValueError(nm, v, "True or False", w)
        self.fixed_eps, self.no_pruner, self.no_feedback = (bool(fixed_eps), bool(no_pruner),
                                                            bool(no_feedback))
        self.eps_min = check_float("eps_min", eps_min, 0.0, 1.0, w)
        self.eps_max = check_float("eps_max", eps_max, self.eps_min, 1.0, w)
        if self.fixed_eps:
            self.eps0 = check_float("eps0", eps0, 0.0, 1.0, w)
        else:
            self.eps0 = check_float("eps0", eps0, self.eps_min, self.eps_max, w)
        self.window = check_int("window", window, 1, None, w)
        self.improve_hi = check_float("improve_hi", improve_hi, 0.0, None, w)
        self.prune_rate_hi = check_float("prune_rate_hi", prune_rate_hi, 0.0, 1.0, w)
        self.eps_shrink = check_float("eps_shrink", eps_shrink, 0.0, 1.0, w)
        self.eps_grow = check_float("eps_grow", eps_grow, 1.0, None, w)
        self.eps_step = check_float("eps_step", eps_step, 0.0, 1.0, w)
        self.bw_scale = check_float("bw_scale", bw_scale, 0.0, None, w)
        # ---------------- sampler
        tk = dict(tpe_kwargs or {})
        if not isinstance(tpe_kwargs, (dict, type(None))):
            raise InvalidValueError("tpe_kwargs", tpe_kwargs, "a dict of TPE options", w)
        allowed_tk = {"weights", "prior_weight", "consider_magic_clip", "consider_endpoints",
                      "constant_liar", "ordinal"}
        for k in tk:
            if k not in allowed_tk:
                raise InvalidValueError("tpe_kwargs", k, sorted(allowed_tk), w)
        ordinal = tk.get("ordinal", "categorical")
        if multivariate == "auto":
            multivariate = self._categorical_heavy(ordinal)
        elif not isinstance(multivariate, (bool, np.bool_)):
            raise InvalidValueError("multivariate", multivariate, "True, False or 'auto'", w)
        self.multivariate = bool(multivariate)
        self.n_startup = check_int("n_startup", n_startup, 0, None, w)
        eff_pw = 0.0 if self.no_feedback else self.pruned_weight
        K = len(self.rungs)
        self.models: list[TPE] = []
        for k in range(K):
            s = self.seed if k == K - 1 else _derived_seed(self.seed, k)
            self.models.append(TPE(space, s, names=self.names, fixed=self.fixed,
                                   n_startup=self.n_startup, n_candidates=n_candidates,
                                   gamma=gamma, gamma_cap=gamma_cap,
                                   multivariate=self.multivariate,
                                   failed_weight=self.failed_weight, pruned_weight=eff_pw,
                                   **tk))
        top = self.models[-1]
        self.gamma, self.gamma_cap, self.n_candidates = top.gamma, top.gamma_cap, \
            top.n_candidates
        self.tpe_kwargs = tk
        # ---------------- pruner settings
        if isinstance(hidden, (int, np.integer)) or not isinstance(hidden, Sequence) or \
                not hidden or not all(isinstance(h, (int, np.integer)) and h >= 1
                                      for h in hidden):
            raise InvalidValueError("hidden", hidden, "a non-empty list of positive ints", w)
        self.hidden = tuple(int(h) for h in hidden)
        self.dropout = check_float("dropout", dropout, 0.0, 1.0, w, high_open=True)
        self.rank_weight = check_float("rank_weight", rank_weight, 0.0, 1.0, w)
        if pretrain is None or pretrain == [] or pretrain == "":
            self.pretrain: list[str] = []
        elif isinstance(pretrain, str):
            self.pretrain = [pretrain]
        elif isinstance(pretrain, Sequence) and all(isinstance(p, str) and p for p in pretrain):
            self.pretrain = list(pretrain)
        else:
            raise InvalidValueError("pretrain", pretrain, "None, a benchmark name or a list "
                                    "of benchmark names", w)
        self.pretrain_n = check_int("pretrain_n", pretrain_n, 2, None, w)
        self.pretrain_seed = check_int("pretrain_seed", pretrain_seed, 0, None, w)
        self.pretrain_epochs = check_int("pretrain_epochs", pretrain_epochs, 1, None, w)
        self.pretrain_lr = check_float("pretrain_lr", pretrain_lr, 0.0, None, w, low_open=True)
        self.batch_size = check_int("batch_size", batch_size, 1, None, w)
        if objective_metric is not None and not isinstance(objective_metric, str):
            raise InvalidValueError("objective_metric", objective_metric, "a metric name or "
                                    "None", w)
        self.objective_metric = objective_metric
        self.ft_every = check_int("ft_every", ft_every, 1, None, w)
        self.ft_steps = check_int("ft_steps", ft_steps, 0, None, w)
        self.ft_lr = check_float("ft_lr", ft_lr, 0.0, None, w, low_open=True)
        self.n_pairs = check_int("n_pairs", n_pairs, 1, None, w)
        self.pool_size = check_int("pool_size", pool_size, 1, None, w)
        self.q_end = check_float("q_end", q_end, 0.0, 1.0, w)
        self.q_start = check_float("q_start", q_start, self.q_end, 1.0, w)
        self.q_ramp = check_int("q_ramp", q_ramp, 1, None, w)
        self.rho_off = check_float("rho_off", rho_off, -1.0, 1.0, w)
        self.rho_on = check_float("rho_on", rho_on, self.rho_off, 1.0, w)
        self.holdout_frac = check_float("holdout_frac", holdout_frac, 0.0, 1.0, w,
                                        low_open=True)
        self.rho_min_obs = check_int("rho_min_obs", rho_min_obs, 3, None, w)
        self.max_consecutive_prunes = check_int("max_consecutive_prunes",
                                                max_consecutive_prunes, 0, None, w)
        self.static = check_choice("static", static, ["auto", "exact", "benchmark", "none"], w)
        if (in_shape is None) != (n_classes is None):
            raise InvalidValueError("in_shape" if in_shape is None else "n_classes", None,
                                    "given together with "
                                    + ("n_classes" if in_shape is None else "in_shape"), w)
        if in_shape is not None:
            from ..spaces.static import exact_static_spaces

            if space.name not in exact_static_spaces():
                raise InvalidValueError("in_shape", in_shape, "None (the space "
                                        f"{space.name!r} has no exact static recipe; those "
                                        f"that do: {exact_static_spaces()})", w)
            if not (isinstance(in_shape, Sequence) and len(in_shape) == 3 and all(
                    isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1
                    for v in in_shape)):
                raise InvalidValueError("in_shape", in_shape, "[C, H, W] of positive ints", w)
            self.n_classes = check_int("n_classes", n_classes, 1, None, w)
            self.in_shape = tuple(int(v) for v in in_shape)
            if self.static in ("benchmark", "none"):
                raise InvalidValueError("static", self.static, "'auto' or 'exact' (in_shape "
                                        "is given)", w)
        else:
            self.in_shape, self.n_classes = None, None
            if self.static == "exact":
                raise InvalidValueError("in_shape", None, "[C, H, W] (static='exact' needs "
                                        "in_shape and n_classes)", w)
        if self.pretrain:
            for src in self.pretrain:  # fail here, not inside a replay
                _pretrain_data(src, self)
        # ---------------- state
        self.eps = float(self.eps0)
        self.eps_trace: list[tuple[int, float]] = [(0, self.eps)]
        self.history: list[dict] = []
        self._n_prop = 0
        self._win_n = 0
        self._win_pruned = 0
        self._best = math.inf
        self._win_best = math.inf
        self.pruner = None if self.no_pruner else DyESPPruner(self)

    def _categorical_heavy(self, ordinal: str) -> bool:
        sp = self.space
        groups = sp.metadata.get("groups", {}) if isinstance(sp.metadata, dict) else {}
        arch = [n for n in groups.get("architecture", []) if n in self.names] or self.names
        cat = sum(1 for n in arch if sp.kind(n) == "categorical"
                  or (sp.kind(n) == "ordinal" and ordinal == "categorical"))
        return cat > 0.5 * len(arch)

    # ------------------------------------------------------------ meta-scheduler
    def _update_eps(self) -> None:
        if not self.fixed_eps:
            e = self.eps
            then, now = self._win_best, self._best
            if math.isfinite(then):
                if now < then:
                    iota = (then - now) / abs(then) if then != 0 else math.inf
                else:
                    iota = 0.0
                if iota > self.improve_hi:
                    e = max(self.eps_min, self.eps_shrink * e)
                elif iota == 0.0:
                    e = min(self.eps_max, self.eps_grow * e)
            if self._win_pruned / self._win_n > self.prune_rate_hi:
                e = min(self.eps_max, e + self.eps_step)
            self.eps = float(min(self.eps_max, max(self.eps_min, e)))
        self.eps_trace.append((self._n_prop, self.eps))
        self._win_n = 0
        self._win_pruned = 0
        self._win_best = self._best

    def _propose_config(self) -> tuple[np.ndarray, str]:
        coin = self._rng.random()
        if self._n_points_used < len(self._points):
            return self._sample(1)[0], "point"
        model = None
        for m in reversed(self.models):
            if m._n_ranked >= self.n_startup:
                model = m
                break
        if model is None:
            return self._sample(1)[0], "startup"
        if coin < self.eps:
            return self._sample(1)[0], "uniform"
        return _tpe_propose(model, 1.0 + self.bw_scale * self.eps), "model"

    def _new(self) -> Job | None:
        if self.max_trials is not None and self._next_trial >= self.max_trials:
            return None
        if self._win_n >= self.window:
            self._update_eps()
        x, how = self._propose_config()
        t = self._new_trial_id()
        self._x[t] = x
        job = self._job(t, 0)
        job.info["proposal"] = how
        job.info["eps"] = self.eps
        self._n_prop += 1
        self._win_n += 1
        for m in self.models:
            if m.constant_liar:
                m._pending[job.job_id] = (t, m._to_values(x)[0])
        return job

    def tell_pruned(self, job: Job, features: Mapping[str, Any]) -> None:
        self._win_pruned += 1
        if not self.no_feedback:
            yhat = None if self.pruner is None else self.pruner.predicted.get(job.job_id)
            self.history.append({"trial": job.trial_id, "job": job.job_id, "x": job.x,
                                 "y": yhat, "fidelity": job.fidelity, "cost": 0.0,
                                 "tag": "pruned"})
        self.tell(job, Result(math.inf, 0.0, "pruned"))

    def _failure_weight(self, result: Result) -> float:
        if is_pruned(result) and self.no_feedback:
            return 0.0
        return super()._failure_weight(result)

    def tell(self, job: Job, result: Result) -> None:
        super().tell(job, result)  # ASHA's rungs; the failure rule (bad records)
        k = int(job.info["rung"])
        if is_pruned(result):
            for m in self.models:  # a pruned record joins every rung's bad group
                m.tell(job, result)
            return
        self.models[k].tell(job, result)
        for i, m in enumerate(self.models):
            if i != k:
                m._pending.pop(job.job_id, None)
        failed = is_failure(result)
        self.history.append({"trial": job.trial_id, "job": job.job_id, "x": job.x,
                             "y": float(result.loss), "fidelity": job.fidelity,
                             "cost": float(result.cost), "tag": "failed" if failed else "ok"})
        if not failed and result.loss < self._best:
            self._best = float(result.loss)
