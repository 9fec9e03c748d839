"""Algorithmic and information-theoretic lines of the spiked matrix-tensor model [S4.4], [S5].

Every line is a value of the signal-to-noise ratio 1/Delta2 at fixed (p, Delta_p):

- ``amp``: Bayes-optimal AMP, m = 0 unstable for 1/Delta2 > 1 [S5.3];
- ``amp_spinodal``: smallest 1/Delta2 >= 1 above which Bayes-AMP state evolution from m -> 0+
  reaches the highest-overlap fixed point. Equal to 1 for p = 3; for p >= 4 and small Delta_p a
  low-overlap branch survives slightly above 1 (a first-order, "hard" region);
- ``ml_amp``: maximum-likelihood AMP, [1 + sqrt(1 + 4/Delta_p)]/2 [S5.2];
- ``gf``: gradient flow (BBP on threshold states), [1 + sqrt(1 + 4(p-1)/Delta_p)]/2 [S5.1];
- ``triv``: trivialisation, Sigma_min(0) = 0 with the outlier active [S4.4];
- ``it``: information-theoretic, where the global maximiser of the replica free entropy
  Phi(m) = 1/2[m + ln(1-m) + m^2/(2 Delta2) + m^p/(p Delta_p)] leaves m = 0 [S5.3]; 0 when the
  tensor alone suffices (recovery is information-theoretically possible at every Delta2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar

from ..._validate import integer, numbers
from .kac_rice import _best_mu, _Lib, _minimum_mu, _sigma_m_mu
from .models import SphericalModel, SpikedMatrixTensor, _check_positive

__all__ = ["SpikedThresholds", "thresholds", "LINES"]

LINES = ("amp", "amp_spinodal", "ml_amp", "gf", "triv", "it")


@dataclass(frozen=True)
class SpikedThresholds:
    """Lines of the spiked matrix-tensor phase diagram, as values of 1/Delta2.

    Attributes
    ----------
    p : int
    delta_p : ndarray
        Tensor noise(s) at which the lines were computed.
    amp, amp_spinodal, ml_amp, gf, triv, it : ndarray
        1/Delta2 of each line (see the module docstring), same shape as ``delta_p``. Expected
        ordering: amp <= amp_spinodal < ml_amp < gf < triv, all -> 1 as Delta_p -> inf;
        it <= amp.
    """

    p: int
    delta_p: np.ndarray
    amp: np.ndarray
    amp_spinodal: np.ndarray
    ml_amp: np.ndarray
    gf: np.ndarray
    triv: np.ndarray
    it: np.ndarray

    def __repr__(self) -> str:
        if np.ndim(self.delta_p) == 0:
            vals = ", ".join(f"{k}={float(getattr(self, k)):.6g}" for k in LINES)
            return f"SpikedThresholds(p={self.p}, delta_p={float(self.delta_p):g}: {vals})"
        return (f"SpikedThresholds(p={self.p}, {np.size(self.delta_p)} values of delta_p in "
                f"[{np.min(self.delta_p):g}, {np.max(self.delta_p):g}])")

    def table(self) -> dict[str, np.ndarray]:
        """Columns ``delta_p`` and one per line (1/Delta2), for CSV output."""
        return {"delta_p": np.atleast_1d(self.delta_p),
                **{k: np.atleast_1d(getattr(self, k)) for k in LINES}}


def gf_threshold(p: int, delta_p: float) -> float:
    """1/Delta2^GF = [1 + sqrt(1 + 4(p-1)/Delta_p)]/2: theta(0) = 1/Delta2 equals s [S5.1]."""
    return 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * (p - 1) / delta_p))


def ml_amp_threshold(delta_p: float) -> float:
    """1/Delta2^ML-AMP = [1 + sqrt(1 + 4/Delta_p)]/2: linear instability of m = 0 [S5.2]."""
    return 0.5 * (1.0 + math.sqrt(1.0 + 4.0 / delta_p))


def it_threshold(p: int, delta_p: float, lib: _Lib) -> float:
    """Smallest 1/Delta2 at which max_{0<m<1} Phi(m) > 0 [S5.3].

    Phi is linear in x = 1/Delta2 with slope m^2/4 > 0, so Phi(m) > 0 iff x > x(m) =
    2[-m - ln(1-m) - m^p/(p Delta_p)]/m^2, and the line is min(1, min_m x(m)) (x(m) -> 1 as m -> 0).
    """
    def x_of(m):
        return 2.0 * (-m - np.log1p(-m) - m**p / (p * delta_p)) / (m * m)

    grid = np.linspace(1e-3, 1 - 1e-9, 4001)
    vals = x_of(grid)
    k = int(np.argmin(vals))
    if vals[k] >= 1.0:
        return 1.0
    if vals[k] <= 0.0:  # Phi(m) > 0 already without the matrix channel
        return 0.0
    lo, hi = grid[max(k - 1, 0)], grid[min(k + 1, grid.size - 1)]
    res = minimize_scalar(x_of, bounds=(lo, hi), method="bounded",
                          options={"xatol": 1e-13})
    m_star = res.x
    if lib.mp:
        ctx = lib.ctx
        dp = ctx.mpf(delta_p)

        def x_mp(m):
            return 2 * (-m - ctx.log(1 - m) - m**p / (p * dp)) / (m * m)

        m_star = ctx.findroot(lambda m: ctx.diff(x_mp, m), ctx.mpf(m_star))
        return max(0, x_mp(m_star))
    return max(0.0, float(x_of(m_star)))


def _amp_fixed_points(p: int, x: float, delta_p: float) -> np.ndarray:
    """Fixed points m in (0, 1) of m = Q'(m)/(1 + Q'(m)) [S5.3] at 1/Delta2 = x.

    Dividing m + (m - 1) Q'(m) = 0 by m leaves the polynomial
    (1 - x) + x m + (m^(p-1) - m^(p-2))/Delta_p.
    """
    c = np.zeros(p)  # numpy.roots order: highest power first
    c[0] += 1 / delta_p
    c[1] -= 1 / delta_p
    c[-2] += x
    c[-1] += 1 - x
    r = np.roots(c)
    r = r[np.abs(r.imag) < 1e-12].real
    return np.sort(r[(r > 0) & (r < 1)])


def amp_spinodal(p: int, delta_p: float) -> float:
    """Smallest 1/Delta2 >= 1 above which AMP from m -> 0+ reaches the largest fixed point.

    The state-evolution map is increasing, so from 0+ it stops at the smallest fixed point;
    AMP succeeds iff only one fixed point is left in (0, 1). Bisection on that count.
    """
    def single(x):
        return len(_amp_fixed_points(p, x, delta_p)) <= 1

    lo, hi = 1.0 + 1e-12, ml_amp_threshold(delta_p)
    if single(lo):
        return 1.0
    while not single(hi):
        hi *= 2
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if single(mid) else (mid, hi)
    return hi


def triv_threshold(p: int, delta_p: float, lib: _Lib):
    """1/Delta2 where Sigma_min(m = 0) crosses zero (outlier condition included) [S4.4].

    At the GF line Sigma_min(0) = f(u) = -u/(2+u) + ln(1+u)/2 = O(u^3) with u = Q''(1)/Q'(1) - 1
    = O(1/Delta_p): for large Delta_p double precision cannot resolve its sign, and the root is
    then computed in mpmath (50 digits) whatever ``lib`` says.
    """
    def sigma_min0(x, lib):
        model = _Family(p, x, delta_p)
        zero = lib.num(0)
        mu = _best_mu(model, zero, _minimum_mu(model, zero, lib), lib)
        return _sigma_m_mu(model, zero, mu, lib)

    lo = gf_threshold(p, delta_p)
    if not lib.mp and sigma_min0(lo, lib) < 1e-9:
        lib = _Lib("mpmath", 50)
    lo = lib.num(lo)
    if not sigma_min0(lo, lib) > 0:
        raise ArithmeticError(f"trivialisation: Sigma_min(0) <= 0 at the GF line (p={p}, "
                              f"delta_p={delta_p}); the bracket [GF, inf) does not apply")
    hi = lo * lib.num(1.05)
    for _ in range(200):
        if sigma_min0(hi, lib) < 0:
            break
        lo, hi = hi, hi * lib.num(1.5)
    else:
        raise ArithmeticError(f"trivialisation: Sigma_min(0) stays > 0 up to 1/Delta2 = {hi}")
    return lib.root(lambda x: sigma_min0(x, lib), lo, hi, "trivialisation threshold")


class _Family(SphericalModel):
    """Q(q) = x q^2/2 + q^p/(p Delta_p) with x = 1/Delta2 kept in the working precision."""

    def __init__(self, p, x, delta_p):
        c = [0 * x] * (p + 1)
        c[2] = x / 2
        c[p] = 1 / (p * (0 * x + delta_p))
        self.noise = self.signal = tuple(c)


def thresholds(model_or_p, delta_p=None, *, precision: str = "double", dps: int = 50
               ) -> SpikedThresholds:
    """All lines of the spiked matrix-tensor phase diagram at given p and Delta_p.

    Parameters
    ----------
    model_or_p : SpikedMatrixTensor or int
        A model (its p and Delta_p are used; its Delta2 is ignored) or the tensor order p >= 3.
    delta_p : float or array_like, optional
        Tensor noise(s) Delta_p > 0 (required with an integer p).
    precision : {"double", "mpmath"}
        "mpmath" computes the numerical lines (triv, it) at ``dps`` digits; closed forms are
        exact either way.
    dps : int

    Returns
    -------
    SpikedThresholds
        Values of 1/Delta2, shaped like ``delta_p``.
    """
    if isinstance(model_or_p, SpikedMatrixTensor):
        p = model_or_p.p
        delta_p = model_or_p.delta_p if delta_p is None else delta_p
    else:
        p = model_or_p
        p = integer(p, "p", low=3)
        if delta_p is None:
            raise ValueError("delta_p is required when the first argument is p")
    dps_arr = np.asarray(numbers(delta_p, "delta_p"), dtype=float)
    for v in dps_arr.flat:
        _check_positive("delta_p", v)
    lib = _Lib(precision, dps)
    rows = []
    for dp in dps_arr.flat:
        rows.append((1.0, amp_spinodal(p, dp), ml_amp_threshold(dp), gf_threshold(p, dp),
                     float(triv_threshold(p, dp, lib)), float(it_threshold(p, dp, lib))))
    cols = np.array(rows).T.reshape((len(LINES),) + dps_arr.shape)
    return SpikedThresholds(p, dps_arr, *cols)
