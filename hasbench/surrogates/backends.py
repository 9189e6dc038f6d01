"""Regression backends of the curve surrogates: XGBoost, k-NN and an MLP.

A backend fits ``y (n,)`` on features ``F (n, k)`` (columns: the search hyperparameters in
encoded form, then the fidelity, see :class:`~hasbench.surrogates.model.CurveSurrogate`) and
saves itself without pickles:

=======  =======================================  ==========================================
kind     files                                    needs at query time
=======  =======================================  ==========================================
xgb      ``<stem>.ubj.gz`` (XGBoost UBJSON, gzip)  xgboost
knn      ``<stem>.npz`` (training features + y)    scikit-learn (index rebuilt on load)
mlp      ``<stem>.npz`` (weights + scalers)        numpy only (torch only for fitting)
gp       ``<stem>.npz`` (inputs, weights, kernel)  numpy only (scikit-learn to fit)
=======  =======================================  ==========================================
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InvalidValueError, MissingDependencyError, SchemaError, check_choice
from ._verify import (
    MAX_FILE_BYTES,
    check_xgb_model,
    gunzip_capped,
    load_npz_bytes,
    member_path,
    parse_ubj,
)

__all__ = ["Regressor", "XGBRegressor", "KNNRegressor", "MLPRegressor", "GPRegressor", "BACKENDS",
           "make_regressor", "load_regressor"]

log = logging.getLogger(__name__)


def _bad(name: str, where: str, hint: str) -> SchemaError:
    return SchemaError("model file", name, "a model of the structure the manifest describes",
                       where, hint=hint)


def _arr(z: dict[str, np.ndarray], key: str, name: str, where: str, ndim: int,
         kinds: str = "f", finite: bool = True) -> np.ndarray:
    """``z[key]`` checked for presence, dimensionality, dtype kind and finiteness."""
    if key not in z:
        raise _bad(name, where, f"array {key!r} missing")
    a = z[key]
    if a.ndim != ndim or a.dtype.kind not in kinds:
        raise _bad(name, where, f"array {key!r} has shape {a.shape} and dtype {a.dtype}; "
                                f"expected {ndim} dimension(s) of kind {kinds!r}")
    if finite and a.dtype.kind == "f" and not np.isfinite(a).all():
        raise _bad(name, where, f"array {key!r} has non-finite values")
    return a


def _scales(z: dict[str, np.ndarray], name: str, where: str, n_inputs: int | None
            ) -> tuple[np.ndarray, np.ndarray]:
    lo = _arr(z, "scale_lo", name, where, 1)
    hi = _arr(z, "scale_hi", name, where, 1)
    if lo.shape != hi.shape or (n_inputs is not None and lo.size != n_inputs):
        raise _bad(name, where, f"scale_lo/scale_hi have {lo.size}/{hi.size} entries, the "
                                f"model has {n_inputs} inputs")
    return lo, hi


class Regressor:
    """Interface: ``fit(F, y, seed)``, ``predict(F)``, ``save(dir, stem)``, ``load``."""

    kind = "base"
    #: defaults per role ("mean", "std", "time", "static"); overridden by user params
    role_defaults: dict[str, dict[str, Any]] = {}

    def __init__(self, role: str = "mean", scale_lo: np.ndarray | None = None,
                 scale_hi: np.ndarray | None = None, **params: Any):
        if self.role_defaults and role not in self.role_defaults:
            raise InvalidValueError("role", role, sorted(self.role_defaults),
                                    f"{type(self).__name__}")
        self.role = role
        self.params = {**self.role_defaults.get(role, {}), **params}
        self.scale_lo = None if scale_lo is None else np.asarray(scale_lo, float)
        self.scale_hi = None if scale_hi is None else np.asarray(scale_hi, float)

    def _unit(self, F: np.ndarray) -> np.ndarray:
        """Scale the columns of ``F`` to [0, 1] with the layout's bounds of the first
        ``F.shape[1]`` inputs; inactive (NaN) -> -1."""
        lo, hi = self.scale_lo[:F.shape[1]], self.scale_hi[:F.shape[1]]
        U = (F - lo) / np.where(hi > lo, hi - lo, 1.0)
        return np.where(np.isnan(U), -1.0, U)

    def fit(self, F: np.ndarray, y: np.ndarray, seed: int = 0) -> Regressor:
        raise NotImplementedError

    def predict(self, F: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def save(self, directory: Path, stem: str) -> list[str]:
        raise NotImplementedError

    @classmethod
    def load(cls, directory: Path, stem: str, meta: dict[str, Any]) -> Regressor:
        """Load from ``directory`` (see :func:`load_regressor`)."""
        return load_regressor(directory, stem, {**meta, "kind": cls.kind})

    @classmethod
    def from_bytes(cls, data: bytes, name: str, meta: dict[str, Any], n_inputs: int | None,
                   where: str, cap: int = MAX_FILE_BYTES) -> Regressor:
        """Build from the bytes of its model file, checking their structure first (against
        ``n_inputs``, the number of input columns the surrogate feeds, when given)."""
        raise NotImplementedError

    def meta(self) -> dict[str, Any]:
        return {"kind": self.kind, "role": self.role, "params": self.params}


class XGBRegressor(Regressor):
    """Gradient-boosted trees (``xgboost.train``, ``hist``); queried with ``inplace_predict``.

    Defaults per role were chosen on synthetic and real hia-cnn tables (see
    docs/surrogates.md); pass any ``xgboost`` training parameter to override them, plus
    ``n_estimators`` and ``oblique`` (pairwise sum/difference features; on by default for
    the per-epoch means, where it raised held-out R² of ``valid_acc`` on ``digits-hia-cnn``
    from 0.78 to 0.81; off for runtime, where it lowered it).
    """

    kind = "xgb"
    role_defaults = {
        "mean": {"n_estimators": 1000, "max_depth": 5, "learning_rate": 0.02,
                 "subsample": 0.7, "colsample_bytree": 0.8, "min_child_weight": 3.0,
                 "reg_lambda": 1.0, "oblique": True},
        "std": {"n_estimators": 150, "max_depth": 4, "learning_rate": 0.05,
                "subsample": 0.8, "min_child_weight": 10.0},
        "time": {"n_estimators": 600, "max_depth": 4, "learning_rate": 0.03,
                 "subsample": 0.7, "colsample_bytree": 0.8, "min_child_weight": 3.0},
        "static": {"n_estimators": 300, "max_depth": 5, "learning_rate": 0.1},
    }

    def __init__(self, role: str = "mean", scale_lo=None, scale_hi=None, n_jobs: int | None = None,
                 **params: Any):
        super().__init__(role, scale_lo, scale_hi, **params)
        self.n_jobs = n_jobs
        self.booster = None

    def _design(self, F):
        """Model inputs: ``F`` itself, plus (``oblique=True``) the pairwise sums and
        differences of the unit-scaled search inputs. Axis-aligned trees need many splits
        to follow a boundary such as "learning rate too high *for this optimizer and
        depth*"; the pairwise features turn such diagonal boundaries into single splits."""
        F = np.asarray(F, np.float32)
        if not self.params.get("oblique") or self.scale_lo is None:
            return F
        k = F.shape[1] - 1 if self.role in ("mean", "std") else F.shape[1]
        U = self._unit(F[:, :k]).astype(np.float32)
        i, j = np.triu_indices(k, 1)
        return np.hstack([F, U[:, i] + U[:, j], U[:, i] - U[:, j]])

    def fit(self, F, y, seed=0):
        import xgboost as xgb

        p = dict(self.params)
        p.pop("oblique", None)
        n_est = int(p.pop("n_estimators", 300))
        p.update({"objective": "reg:squarederror", "tree_method": "hist", "seed": int(seed),
                  "verbosity": 0})
        if self.n_jobs is not None:
            p["nthread"] = int(self.n_jobs)
        d = xgb.DMatrix(self._design(F), label=np.asarray(y, np.float32),
                        missing=np.nan)
        self.booster = xgb.train(p, d, num_boost_round=n_est)
        return self

    def predict(self, F):
        return self.booster.inplace_predict(self._design(F), missing=np.nan).astype(np.float64, copy=False)

    def save(self, directory, stem):
        """Write ``<stem>.ubj.gz``: XGBoost's UBJSON model, gzip-compressed (about 3x
        smaller; still no pickles, loaded with ``Booster.load_model``)."""
        import gzip

        name = f"{stem}.ubj.gz"
        raw = self.booster.save_raw(raw_format="ubj")
        with open(Path(directory) / name, "wb") as fh:
            fh.write(gzip.compress(bytes(raw), compresslevel=9, mtime=0))
        return [name]

    def meta(self) -> dict[str, Any]:
        m = super().meta()
        if self.params.get("oblique") and self.scale_lo is not None:
            m["scale_lo"], m["scale_hi"] = self.scale_lo.tolist(), self.scale_hi.tolist()
        return m

    @classmethod
    def from_bytes(cls, data, name, meta, n_inputs, where, cap=MAX_FILE_BYTES):
        """The UBJSON is parsed and its trees checked (:func:`~hasbench.surrogates._verify.
        check_xgb_model`) before XGBoost reads it: XGBoost does not validate a model's
        structure, and corrupt trees crash the interpreter."""
        import xgboost as xgb

        params = meta.get("params", {})
        obj = cls(meta.get("role", "mean"), meta.get("scale_lo"), meta.get("scale_hi"),
                  **params)
        raw = gunzip_capped(data, cap, name, where) if name.endswith(".gz") else data
        n_feat = None
        if n_inputs is not None:
            if obj.params.get("oblique") and obj.scale_lo is not None and (
                    obj.scale_lo.shape != (n_inputs,) or obj.scale_hi is None
                    or obj.scale_hi.shape != (n_inputs,)
                    or not np.isfinite(obj.scale_lo).all() or not np.isfinite(obj.scale_hi).all()):
                raise _bad(name, where, f"scale_lo/scale_hi do not give {n_inputs} inputs")
            n_feat = obj._design(np.zeros((1, n_inputs))).shape[1]
        n_est = obj.params.get("n_estimators")
        if n_est is not None and (isinstance(n_est, bool) or not isinstance(n_est, int)):
            raise _bad(name, where, f"params.n_estimators = {n_est!r} is not an integer")
        if n_feat is not None:
            # the same bytes checked against the same structure once per process: loading
            # a shipped surrogate again (tests, notebooks, worker processes of one replay
            # share nothing, so each still checks once) skips the pure-Python walk
            key = (hashlib.sha256(raw).hexdigest(), n_feat, n_est)
            if key not in _CHECKED_XGB:
                check_xgb_model(parse_ubj(raw, name, where), n_feat, n_est, name, where)
                _CHECKED_XGB.add(key)
        else:
            parse_ubj(raw, name, where)  # well-formed, at least
        obj.booster = xgb.Booster()
        try:
            obj.booster.load_model(bytearray(raw))
        except xgb.core.XGBoostError as exc:
            raise _bad(name, where, f"XGBoost refused it: {str(exc).splitlines()[0]}") from None
        return obj


#: (sha256 of the model bytes, features, trees) already checked in this process
_CHECKED_XGB: set[tuple[str, int, int | None]] = set()


class KNNRegressor(Regressor):
    """Distance-weighted k-nearest neighbours in the unit-scaled feature space (baseline).

    The fidelity column is weighted by ``fidelity_weight`` so neighbours at the same epoch
    are preferred. Saved as the training points (npz); the KD-tree is rebuilt on load.
    """

    kind = "knn"
    role_defaults = {"mean": {"n_neighbors": 7, "fidelity_weight": 3.0},
                     "std": {"n_neighbors": 25, "fidelity_weight": 3.0},
                     "time": {"n_neighbors": 5, "fidelity_weight": 1.0},
                     "static": {"n_neighbors": 3, "fidelity_weight": 1.0}}

    def __init__(self, role="mean", scale_lo=None, scale_hi=None, **params):
        super().__init__(role, scale_lo, scale_hi, **params)
        self._model = None
        self._U = None
        self._y = None

    def _prep(self, F):
        U = self._unit(np.asarray(F, float))
        if U.shape[1] and self.role in ("mean", "std"):
            U = U.copy()
            U[:, -1] *= float(self.params["fidelity_weight"])
        return U

    def _build(self):
        from sklearn.neighbors import KNeighborsRegressor

        k = min(int(self.params["n_neighbors"]), self._U.shape[0])
        self._model = KNeighborsRegressor(n_neighbors=k, weights="distance").fit(self._U,
                                                                                 self._y)

    def fit(self, F, y, seed=0):
        self._U = self._prep(F).astype(np.float32)
        self._y = np.asarray(y, np.float64)
        self._build()
        return self

    def predict(self, F):
        return self._model.predict(self._prep(F).astype(np.float32))

    def save(self, directory, stem):
        name = f"{stem}.npz"
        np.savez_compressed(Path(directory) / name, U=self._U, y=self._y,
                            scale_lo=self.scale_lo, scale_hi=self.scale_hi)
        return [name]

    @classmethod
    def from_bytes(cls, data, name, meta, n_inputs, where, cap=MAX_FILE_BYTES):
        z = load_npz_bytes(data, name, cap, where)
        lo, hi = _scales(z, name, where, n_inputs)
        U = _arr(z, "U", name, where, 2)
        y = _arr(z, "y", name, where, 1)
        if U.shape[1] != lo.size or U.shape[0] != y.size or y.size == 0:
            raise _bad(name, where, f"U {U.shape} and y {y.shape} do not match "
                                    f"{lo.size} inputs")
        obj = cls(meta.get("role", "mean"), lo, hi, **meta.get("params", {}))
        k = obj.params.get("n_neighbors")
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise _bad(name, where, f"params.n_neighbors = {k!r} is not a positive integer")
        obj._U, obj._y = U, y
        obj._build()
        return obj


class _CurveModel(Regressor):
    """Shared by the curve models (GP, MLP): rows ``(config, epoch)`` become one row per
    config with one output per fidelity step; categorical inputs are one-hot (``cats``)."""

    def __init__(self, role="mean", scale_lo=None, scale_hi=None, cats=None, **params):
        super().__init__(role, scale_lo, scale_hi, **params)
        self.cats = None if cats is None else np.asarray(cats, dtype=np.int64)
        self.n_steps = 1

    @property
    def _has_fid(self) -> bool:
        return self.role in ("mean", "std")

    def _inputs(self, F):
        F = np.asarray(F, float)
        k = F.shape[1] - 1 if self._has_fid else F.shape[1]
        U = self._unit(F[:, :k])
        cats = self.cats if self.cats is not None else np.zeros(k, np.int64)
        parts = []
        for j in range(k):
            if cats[j] > 0:
                idx = np.where(np.isnan(F[:, j]), -1, F[:, j]).astype(np.int64)
                oh = np.zeros((F.shape[0], int(cats[j])))
                ok = idx >= 0
                oh[np.nonzero(ok)[0], idx[ok]] = 1.0
                parts.append(oh)
            else:
                parts.append(U[:, [j]])
        return np.hstack(parts) if parts else np.zeros((F.shape[0], 0))

    @classmethod
    def _check_layout(cls, z, name, where, meta, n_inputs):
        """Scales, categorical sizes, epochs and the input width of a saved curve model."""
        lo, hi = _scales(z, name, where, n_inputs)
        role = meta.get("role", "mean")
        has_fid = role in ("mean", "std")
        k = lo.size - 1 if has_fid else lo.size
        if k < 0:
            raise _bad(name, where, "no inputs")
        n_steps = _arr(z, "n_steps", name, where, 1, "iu")
        want = int(round(hi[-1] - lo[-1])) + 1 if has_fid else 1
        if n_steps.shape != (1,) or int(n_steps[0]) != want or not 1 <= want <= 100_000:
            raise _bad(name, where, f"n_steps {n_steps.tolist()} does not match the fidelity "
                                    f"range ({want} steps)")
        cats = _arr(z, "cats", name, where, 1, "iu")
        if cats.size not in (0, k) or (cats < 0).any() or (cats > 100_000).any():
            raise _bad(name, where, f"cats has {cats.size} entries for {k} inputs")
        width = int(np.where(cats > 0, cats, 1).sum()) if cats.size else k
        return lo, hi, (cats if cats.size else None), want, width

    def _epoch_index(self, F):
        lo = float(self.scale_lo[-1])
        e = np.round(np.asarray(F, float)[:, -1] - lo).astype(np.int64)
        return np.clip(e, 0, self.n_steps - 1)

    def _curves(self, F: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Inputs ``X (n_configs, p)`` and targets ``Y (n_configs, n_steps)``; missing steps
        are filled from their neighbours along the curve, then by the step mean."""
        from ._hash import row_hash

        F = np.asarray(F, float)
        y = np.asarray(y, float)
        if self._has_fid:
            self.n_steps = int(round(self.scale_hi[-1] - self.scale_lo[-1])) + 1
            h = row_hash(F[:, :-1])
            _, first, inv = np.unique(h, return_index=True, return_inverse=True)
            Y = np.full((first.size, self.n_steps), np.nan)
            Y[inv, self._epoch_index(F)] = y
            import pandas as pd

            Yf = pd.DataFrame(Y).ffill(axis=1).bfill(axis=1).to_numpy()
            colmean = np.nanmean(np.where(np.isfinite(Yf), Yf, np.nan), axis=0)
            Yf = np.where(np.isfinite(Yf), Yf, np.nan_to_num(colmean)[None, :])
            X = self._inputs(F[first])
        else:
            self.n_steps = 1
            Yf = y[:, None]
            X = self._inputs(F)
        return X, Yf


class MLPRegressor(_CurveModel):
    """An ensemble of small fully connected networks over configs, one output per fidelity
    step (a curve model, like the GP); torch to fit, numpy to predict.

    Rows ``(config, epoch)`` are pivoted to ``Y (n_configs, n_epochs)`` as for the GP; each
    network maps a config (numeric inputs scaled to [0, 1], categorical ones one-hot) to its
    whole standardised curve. ``members`` networks from different seeds are averaged: on
    ``digits-hia-cnn`` the average of 5 scores a held-out R² about 0.01-0.03 above a single
    network, whose fit depends on its seed. Defaults (2x256 SiLU, AdamW, batch 32, cosine
    learning rate over 300 epochs) were chosen on that table (docs/surrogates.md); the
    surrogate uses it for the per-epoch means only (runtime, spreads and static metrics are
    XGBoost, which scored better there). Weights are stored as an npz of float32 arrays (no pickles).
    """

    kind = "mlp"
    role_defaults = {
        "mean": {"hidden": [256, 256], "members": 5, "epochs": 300, "batch_size": 32,
                 "lr": 2e-3, "weight_decay": 1e-4},
    }

    def __init__(self, role="mean", scale_lo=None, scale_hi=None, cats=None, **params):
        super().__init__(role, scale_lo, scale_hi, cats=cats, **params)
        self.nets: list[list[tuple[np.ndarray, np.ndarray]]] = []
        self.y_mean = np.zeros(1)
        self.y_std = np.ones(1)

    def fit(self, F, y, seed=0):
        try:
            import torch
        except ImportError:  # pragma: no cover - depends on the install
            raise MissingDependencyError("torch", "fitting the MLP surrogate (model 'mlp'; "
                                         "'xgb', 'knn' and 'gp' need no torch)", "train",
                                         "MLPRegressor.fit") from None
        X, Y = self._curves(np.asarray(F, float), np.asarray(y, float))
        X = X.astype(np.float32)
        self.y_mean = Y.mean(0)
        self.y_std = np.where(Y.std(0) > 0, Y.std(0), 1.0)
        Xt = torch.from_numpy(X)
        Yt = torch.from_numpy(((Y - self.y_mean) / self.y_std).astype(np.float32))
        p = self.params
        sizes = [X.shape[1], *[int(h) for h in p["hidden"]], Y.shape[1]]
        n = X.shape[0]
        bs = max(1, min(int(p["batch_size"]), n))
        epochs = int(p["epochs"])
        self.nets = []
        for member in range(int(p["members"])):
            g = torch.Generator().manual_seed(int(seed) * 1000 + member)
            layers: list[Any] = []
            for i in range(len(sizes) - 1):
                lin = torch.nn.Linear(sizes[i], sizes[i + 1])
                with torch.no_grad():
                    bound = (6.0 / (sizes[i] + sizes[i + 1])) ** 0.5
                    lin.weight.uniform_(-bound, bound, generator=g)
                    lin.bias.zero_()
                layers.append(lin)
                if i < len(sizes) - 2:
                    layers.append(torch.nn.SiLU())
            net = torch.nn.Sequential(*layers)
            opt = torch.optim.AdamW(net.parameters(), lr=float(p["lr"]),
                                    weight_decay=float(p["weight_decay"]))
            sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, epochs))
            for _ in range(epochs):
                perm = torch.randperm(n, generator=g)
                for i in range(0, n, bs):
                    idx = perm[i:i + bs]
                    opt.zero_grad()
                    loss = torch.mean((net(Xt[idx]) - Yt[idx]) ** 2)
                    loss.backward()
                    opt.step()
                sched.step()
            self.nets.append([(m.weight.detach().numpy().T.astype(np.float32).copy(),
                               m.bias.detach().numpy().astype(np.float32).copy())
                              for m in net if isinstance(m, torch.nn.Linear)])
        return self

    def _forward(self, A):
        # row by row (a stack of (1, k) @ (k, m) products): a BLAS matrix product picks
        # kernels and blockings by batch size, so a row's last bits would depend on what
        # else is in the batch; the simulator merges queries of many seeds, and traces must
        # not depend on --processes
        out = 0.0
        for layers in self.nets:
            h = A
            for i, (w, b) in enumerate(layers):
                h = np.matmul(h[:, None, :], w)[:, 0, :] + b
                if i < len(layers) - 1:
                    h = h / (1.0 + np.exp(-h))  # SiLU
            out = out + h
        return out / len(self.nets)

    def predict(self, F):
        F = np.asarray(F, float)
        A = self._inputs(F).astype(np.float32)
        # each distinct config once (a curve query repeats it for every epoch)
        uniq, inv = np.unique(A, axis=0, return_inverse=True)
        H = self._forward(uniq)
        e = self._epoch_index(F) if self._has_fid else np.zeros(F.shape[0], np.int64)
        v = H[inv.reshape(-1), e].astype(np.float64)
        return v * self.y_std[e] + self.y_mean[e]

    def save(self, directory, stem):
        name = f"{stem}.npz"
        arrays = {"scale_lo": self.scale_lo, "scale_hi": self.scale_hi,
                  "y_mean": self.y_mean, "y_std": self.y_std,
                  "n_steps": np.array([self.n_steps]), "n_members": np.array([len(self.nets)]),
                  "cats": self.cats if self.cats is not None else np.zeros(0, np.int64)}
        for k, layers in enumerate(self.nets):
            for i, (w, b) in enumerate(layers):
                arrays[f"m{k}_w{i}"] = w
                arrays[f"m{k}_b{i}"] = b
        np.savez(Path(directory) / name, **arrays)
        return [name]

    @classmethod
    def from_bytes(cls, data, name, meta, n_inputs, where, cap=MAX_FILE_BYTES):
        """Checks every array's shape: the first layer takes the config's input width
        (one-hot categoricals), each layer feeds the next, the last gives one output per
        epoch, and the output scalers have one entry per epoch."""
        z = load_npz_bytes(data, name, cap, where)
        if "n_members" not in z:
            raise SchemaError("MLP model file", name, "an MLP saved by hasbench >= 0.2 "
                              "(curve ensemble)", where,
                              hint="refit it with hasbench fit --model mlp")
        lo, hi, cats, n_steps, width = cls._check_layout(z, name, where, meta, n_inputs)
        nm = _arr(z, "n_members", name, where, 1, "iu")
        if nm.shape != (1,) or not 1 <= int(nm[0]) <= 1000:
            raise _bad(name, where, f"n_members {nm.tolist()}")
        obj = cls(meta.get("role", "mean"), lo, hi, cats=cats, **meta.get("params", {}))
        obj.y_mean = _arr(z, "y_mean", name, where, 1)
        obj.y_std = _arr(z, "y_std", name, where, 1)
        if obj.y_mean.shape != (n_steps,) or obj.y_std.shape != (n_steps,):
            raise _bad(name, where, f"y_mean/y_std have {obj.y_mean.size}/{obj.y_std.size} "
                                    f"entries for {n_steps} epochs")
        obj.n_steps = n_steps
        obj.nets = []
        used = {"scale_lo", "scale_hi", "y_mean", "y_std", "n_steps", "n_members", "cats"}
        for k in range(int(nm[0])):
            n = sum(1 for key in z if key.startswith(f"m{k}_w"))
            if n == 0:
                raise _bad(name, where, f"member {k} has no layers")
            layers, d_in = [], width
            for i in range(n):
                w = _arr(z, f"m{k}_w{i}", name, where, 2)
                b = _arr(z, f"m{k}_b{i}", name, where, 1)
                if w.shape[0] != d_in or b.shape != (w.shape[1],):
                    raise _bad(name, where, f"member {k} layer {i}: weights {w.shape}, bias "
                                            f"{b.shape}, input width {d_in}")
                d_in = w.shape[1]
                layers.append((w, b))
                used |= {f"m{k}_w{i}", f"m{k}_b{i}"}
            if d_in != n_steps:
                raise _bad(name, where, f"member {k} gives {d_in} outputs for {n_steps} epochs")
            obj.nets.append(layers)
        if set(z) - used:
            raise _bad(name, where, f"unexpected arrays {sorted(set(z) - used)[:5]}")
        return obj


class GPRegressor(_CurveModel):
    """Gaussian process on configs, one output per fidelity step (a curve model).

    Rows ``(config, epoch)`` are pivoted to a matrix ``Y (n_configs, n_epochs)`` (missing
    steps filled from their neighbours along the curve, then by the step mean) and one GP
    with a shared kernel -- constant x Matern-5/2 with one length scale per input (ARD) plus
    white noise, hyperparameters by maximum likelihood (scikit-learn) -- is fitted to all
    epochs at once. Inputs: numeric hyperparameters scaled to [0, 1], categorical ones
    one-hot (``cats``). Config-level roles (runtime, static metrics) fit one output.
    Prediction is numpy only: ``k(x, X) @ alpha[:, epoch]``. Cost grows as
    ``n_configs^3`` to fit and ``n_configs`` per query row: meant for tables of up to a few
    thousand configs.
    """

    kind = "gp"
    role_defaults = {r: {"nu": 2.5, "n_restarts": 0} for r in ("mean", "std", "time", "static")}

    def fit(self, F, y, seed=0):
        import warnings

        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

        X, Yf = self._curves(np.asarray(F, float), np.asarray(y, float))
        p = X.shape[1]
        fixed = self.params.get("kernel")
        if fixed is not None:  # hyperparameters found by an earlier fit: no search
            kern = ConstantKernel(float(fixed["const"]), "fixed") * Matern(
                length_scale=np.asarray(fixed["length_scale"], float),
                length_scale_bounds="fixed", nu=float(self.params["nu"])) \
                + WhiteKernel(float(fixed["noise"]), "fixed")
            gp = GaussianProcessRegressor(kern, normalize_y=True, optimizer=None)
        else:
            kern = ConstantKernel(1.0, (1e-3, 1e3)) * Matern(length_scale=np.ones(p),
                                                             length_scale_bounds=(1e-2, 1e4),
                                                             nu=float(self.params["nu"])) \
                + WhiteKernel(1e-2, (1e-6, 1.0))
            gp = GaussianProcessRegressor(kern, normalize_y=True,
                                          n_restarts_optimizer=int(self.params["n_restarts"]),
                                          random_state=int(seed))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gp.fit(X, Yf)
        k = gp.kernel_
        self.noise = float(k.k2.noise_level)
        self.const = float(k.k1.k1.constant_value)
        self.length_scale = np.atleast_1d(np.asarray(k.k1.k2.length_scale, float))
        self.Xtr = X
        self.alpha = np.asarray(gp.alpha_, float).reshape(X.shape[0], -1)
        self.y_mean = np.atleast_1d(np.asarray(gp._y_train_mean, float)).reshape(-1)
        self.y_std = np.atleast_1d(np.asarray(gp._y_train_std, float)).reshape(-1)
        return self

    def kernel_params(self) -> dict[str, Any]:
        """Fitted kernel hyperparameters (JSON-friendly), reusable via ``kernel=``."""
        return {"const": self.const, "length_scale": self.length_scale.tolist(),
                "noise": self.noise}

    def _kernel(self, A):
        Xs = self.Xtr / self.length_scale
        As = A / self.length_scale
        # einsum, not a BLAS product: a row's kernel values must not depend on the batch
        d2 = (As ** 2).sum(1)[:, None] + (Xs ** 2).sum(1)[None, :] \
            - 2.0 * np.einsum("ik,jk->ij", As, Xs)
        r = np.sqrt(np.maximum(d2, 0.0))
        nu = float(self.params["nu"])
        if nu == 0.5:
            return self.const * np.exp(-r)
        if nu == 1.5:
            return self.const * (1 + np.sqrt(3) * r) * np.exp(-np.sqrt(3) * r)
        return self.const * (1 + np.sqrt(5) * r + 5.0 / 3.0 * r ** 2) * np.exp(-np.sqrt(5) * r)

    def predict(self, F):
        F = np.asarray(F, float)
        A = self._inputs(F)
        out = np.empty(F.shape[0])
        e = self._epoch_index(F) if self._has_fid else np.zeros(F.shape[0], np.int64)
        for i in range(0, F.shape[0], 4096):
            K = self._kernel(A[i:i + 4096])
            ei = e[i:i + 4096]
            v = np.einsum("ij,ji->i", K, self.alpha[:, ei])
            out[i:i + 4096] = v * self.y_std[ei] + self.y_mean[ei]
        return out

    def save(self, directory, stem):
        name = f"{stem}.npz"
        np.savez_compressed(Path(directory) / name, Xtr=self.Xtr, alpha=self.alpha,
                            length_scale=self.length_scale, const=np.array([self.const]),
                            y_mean=self.y_mean, y_std=self.y_std, scale_lo=self.scale_lo,
                            scale_hi=self.scale_hi, n_steps=np.array([self.n_steps]),
                            cats=self.cats if self.cats is not None else np.zeros(0, np.int64))
        return [name]

    @classmethod
    def from_bytes(cls, data, name, meta, n_inputs, where, cap=MAX_FILE_BYTES):
        z = load_npz_bytes(data, name, cap, where)
        lo, hi, cats, n_steps, width = cls._check_layout(z, name, where, meta, n_inputs)
        obj = cls(meta.get("role", "mean"), lo, hi, cats=cats, **meta.get("params", {}))
        obj.Xtr = _arr(z, "Xtr", name, where, 2)
        obj.alpha = _arr(z, "alpha", name, where, 2)
        obj.length_scale = _arr(z, "length_scale", name, where, 1)
        const = _arr(z, "const", name, where, 1)
        obj.y_mean = _arr(z, "y_mean", name, where, 1)
        obj.y_std = _arr(z, "y_std", name, where, 1)
        n = obj.Xtr.shape[0]
        if obj.Xtr.shape[1] != width or obj.alpha.shape != (n, n_steps) or \
                obj.length_scale.size not in (1, width) or const.shape != (1,) or \
                obj.y_mean.shape != (n_steps,) or obj.y_std.shape != (n_steps,) or \
                (obj.length_scale <= 0).any() or n == 0:
            raise _bad(name, where, f"Xtr {obj.Xtr.shape}, alpha {obj.alpha.shape}, "
                                    f"length_scale {obj.length_scale.shape} do not match "
                                    f"{width} inputs and {n_steps} epochs")
        if meta.get("params", {}).get("nu", 2.5) not in (0.5, 1.5, 2.5):
            raise _bad(name, where, f"params.nu = {meta['params']['nu']!r}")
        obj.const = float(const[0])
        obj.n_steps = n_steps
        return obj


BACKENDS: dict[str, type[Regressor]] = {"xgb": XGBRegressor, "knn": KNNRegressor,
                                        "mlp": MLPRegressor, "gp": GPRegressor}


def make_regressor(kind: str, role: str, scale_lo, scale_hi, params: dict[str, Any] | None = None,
                   n_jobs: int | None = None, cats: Any = None) -> Regressor:
    """A fresh regressor of backend ``kind`` for ``role`` (mean/std/time/static)."""
    check_choice("model", kind, list(BACKENDS), "make_regressor", unknown=True)
    cls = BACKENDS[kind]
    extra = dict(params or {})
    if kind == "xgb":
        return cls(role, scale_lo, scale_hi, n_jobs=n_jobs, **extra)
    if kind in ("gp", "mlp"):
        return cls(role, scale_lo, scale_hi, cats=cats, **extra)
    return cls(role, scale_lo, scale_hi, **extra)


def load_regressor(directory: Path, stem: str, meta: dict[str, Any], data: bytes | None = None,
                   n_inputs: int | None = None, where: str | None = None,
                   cap: int = MAX_FILE_BYTES) -> Regressor:
    """A saved regressor. ``data``: the bytes of its model file, already verified
    (:meth:`CurveSurrogate.load` passes them after checking the manifest's SHA-256);
    without it the file ``meta["files"][0]`` (default ``<stem>.<ext>``) is read from
    ``directory`` (a plain name inside it, at most ``cap`` bytes), unverified.
    ``n_inputs``: the number of input columns the model will be fed; when given, the model's
    structure is checked against it before it is used."""
    where = where or f"surrogate {directory}"
    kind = meta.get("kind")
    if kind not in BACKENDS:
        raise SchemaError("model kind", kind, list(BACKENDS), where)
    files = meta.get("files") or [f"{stem}.ubj.gz" if kind == "xgb" else f"{stem}.npz"]
    name = files[0]
    if data is None:
        path = member_path(Path(directory), name, "model file", where)
        if path.stat().st_size > cap:
            raise SchemaError(f"size of {name}", path.stat().st_size, f"at most {cap} bytes",
                              where)
        data = path.read_bytes()
    return BACKENDS[kind].from_bytes(data, name, meta, n_inputs, where, cap)
