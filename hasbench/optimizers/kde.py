"""Product-kernel density estimates (numpy only) for BOHB and TPE.

Re-implements what BOHB's reference code takes from ``statsmodels.KDEMultivariate``:
Gaussian kernels for continuous columns (data in the unit interval), Aitchison-Aitken
kernels for categorical columns (data = choice index), and the ``normal_reference``
bandwidth rule ``1.06 * std(column) * n**(-1 / (4 + d))`` (population std, applied to every
column as statsmodels does), clipped below at ``min_bandwidth``.
"""

from __future__ import annotations

import numpy as np

from ..errors import InvalidValueError

__all__ = ["ProductKDE", "normal_reference_bandwidth", "kde_split_sizes"]

_SQRT2PI = np.sqrt(2.0 * np.pi)


def normal_reference_bandwidth(data: np.ndarray) -> np.ndarray:
    """Bandwidth per column, shape ``(d,)``, of ``data`` ``(n, d)`` (statsmodels rule)."""
    data = np.asarray(data, dtype=float)
    n, d = data.shape
    return 1.06 * np.std(data, axis=0) * n ** (-1.0 / (4.0 + d))


def kde_split_sizes(n_obs: int, min_points: int, top_n_percent: float = 15.0) -> tuple[int, int]:
    """BOHB's good/bad split sizes (HpBandSter ``new_result``):
    ``n_good = max(min_points, (top_n_percent * n_obs) // 100)``,
    ``n_bad = max(min_points, ((100 - top_n_percent) * n_obs) // 100)``.

    Examples
    --------
    >>> kde_split_sizes(20, 3)
    (3, 17)
    """
    n_good = max(int(min_points), int((top_n_percent * n_obs) // 100))
    n_bad = max(int(min_points), int(((100 - top_n_percent) * n_obs) // 100))
    return n_good, n_bad


class ProductKDE:
    """Product-kernel KDE.

    Parameters
    ----------
    data : ndarray, shape (n, d)
        Continuous columns in [0, 1]; categorical columns hold the choice index.
    vartypes : ndarray of int, shape (d,)
        0 for a continuous column, the number of choices for a categorical one.
    min_bandwidth : float
        Lower clip of every bandwidth.
    bandwidth : ndarray, shape (d,), optional
        Explicit bandwidths (default: :func:`normal_reference_bandwidth`).
    """

    def __init__(self, data: np.ndarray, vartypes: np.ndarray, min_bandwidth: float = 1e-3,
                 bandwidth: np.ndarray | None = None):
        data = np.asarray(data, dtype=float)
        vartypes = np.asarray(vartypes, dtype=int)
        if data.ndim != 2 or data.shape[0] < 1 or data.shape[1] != vartypes.shape[0]:
            raise InvalidValueError("data.shape", data.shape,
                                    f"(n >= 1, {vartypes.shape[0]})", "ProductKDE")
        self.data = data
        self.vartypes = vartypes
        bw = normal_reference_bandwidth(data) if bandwidth is None else np.asarray(bandwidth,
                                                                                   float)
        self.bw = np.maximum(bw, min_bandwidth)
        self._cont = vartypes == 0
        self._cat = ~self._cont

    def pdf(self, X: np.ndarray) -> np.ndarray:
        """Density at each row of ``X`` ``(m, d)``; returns ``(m,)``."""
        X = np.atleast_2d(np.asarray(X, dtype=float))
        m = X.shape[0]
        logk = np.zeros((m, self.data.shape[0]))
        if self._cont.any():
            h = self.bw[self._cont]
            z = (X[:, None, self._cont] - self.data[None, :, self._cont]) / h
            logk += (-0.5 * z * z - np.log(_SQRT2PI * h)).sum(axis=2)
        if self._cat.any():
            lam = self.bw[self._cat]
            c = self.vartypes[self._cat].astype(float)
            same = X[:, None, self._cat] == self.data[None, :, self._cat]
            with np.errstate(divide="ignore"):
                k = np.where(same, 1.0 - lam, lam / np.maximum(c - 1.0, 1.0))
                logk += np.log(np.maximum(k, 0.0)).sum(axis=2)
        return np.exp(logk).mean(axis=1)
