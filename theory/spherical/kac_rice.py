"""Annealed Kac-Rice complexity of stationary points and minima [S4.1]-[S4.2].

Notation of [S4]: a = Q_n(1), b = Q_n'(1), c = Q_n''(1), s = sqrt(c), D = a(b+c) - b^2 and
theta(m) = Q_s''(m)(1 - m^2). A stationary point has overlap m, energy density eps = H/N and
radial multiplier mu; its tangent Hessian is GOE(radius 2s) + mu I - theta(m) v v^T.

Every function takes ``precision="double"`` (floats, scipy root finding) or ``"mpmath"``
(``dps`` significant digits, mpmath root finding) for reference values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import mpmath
import numpy as np
from scipy.optimize import brentq

from .models import SphericalModel, _check_overlaps

__all__ = ["complexity", "ComplexityResult", "minimum_mu"]


class _Lib:
    """Scalar arithmetic in double precision or in mpmath at ``dps`` digits."""

    def __init__(self, precision: str, dps: int):
        if precision not in ("double", "mpmath"):
            raise ValueError(f"precision must be 'double' or 'mpmath', got {precision!r}")
        self.mp = precision == "mpmath"
        self.dps = int(dps)
        if self.mp:
            self.ctx = mpmath.mp.clone()
            self.ctx.dps = self.dps
            self.sqrt, self.log, self.num = self.ctx.sqrt, self.ctx.log, self.ctx.mpf
        else:
            self.sqrt, self.log, self.num = math.sqrt, math.log, float

    def root(self, f, lo, hi, what: str):
        """Root of f in [lo, hi] with f(lo), f(hi) of opposite signs."""
        flo, fhi = f(lo), f(hi)
        if flo == 0:
            return lo
        if fhi == 0:
            return hi
        if (flo > 0) == (fhi > 0):
            raise ArithmeticError(f"{what}: no sign change in [{float(lo):g}, {float(hi):g}]")
        if self.mp:
            # plain bisection to the working precision: the functions here can be O(1e-25)
            # near their roots, where mpmath's own solvers stop early or refuse to converge
            for _ in range(self.ctx.prec + 20):
                mid = (lo + hi) / 2
                fmid = f(mid)
                if fmid == 0 or abs(hi - lo) <= abs(mid) * self.ctx.eps:
                    return mid
                if (fmid > 0) == (flo > 0):
                    lo, flo = mid, fmid
                else:
                    hi = mid
            return (lo + hi) / 2
        return brentq(f, lo, hi, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=500)


def _constants(model: SphericalModel, lib: _Lib):
    one = lib.num(1)
    a, b, c = model.Q(one), model.dQ(one), model.d2Q(one)
    return a, b, c, lib.sqrt(c)


def _phi(mu, s, lib: _Lib):
    """Phi_s(mu) = int ln|lambda + mu| d rho_sc(lambda), semicircle of radius 2s [S4.1]."""
    mu = abs(mu)
    out = mu * mu / (4 * s * s) - lib.num(1) / 2 + lib.log(s)
    if mu > 2 * s:
        r = lib.sqrt(mu * mu - 4 * s * s)
        out += -mu * r / (4 * s * s) + lib.log((mu + r) / (2 * s))
    return out


def _dphi(mu, s, lib: _Lib):
    """Phi_s'(mu): the semicircle Stieltjes transform at -mu (continuous at |mu| = 2s)."""
    if abs(mu) <= 2 * s:
        return mu / (2 * s * s)
    r = lib.sqrt(mu * mu - 4 * s * s)
    return (mu - r) / (2 * s * s) if mu > 0 else (mu + r) / (2 * s * s)


def _sigma_common(model, m, mu, lib):
    """The terms of [S4.1] that do not depend on the energy: gradient density and Hessian."""
    _, b, _, s = _constants(model, lib)
    dqs = model.dQs(m)
    half = lib.num(1) / 2
    return (half + half * lib.log(1 - m * m) - half * lib.log(b) - dqs * dqs * (1 - m * m) / (2 * b)
            + _phi(mu, s, lib))


def _sigma_m_mu(model, m, mu, lib):
    """Sigma(m, mu): [S4.1] maximised over the energy."""
    _, b, c, _ = _constants(model, lib)
    return _sigma_common(model, m, mu, lib) - (mu - m * model.dQs(m)) ** 2 / (2 * (b + c))


def _sigma_full(model, m, eps, mu, lib):
    """Sigma(m, eps, mu) [S4.1]."""
    a, b, c, _ = _constants(model, lib)
    u = eps + model.Qs(m)
    w = m * model.dQs(m) - mu
    D = a * (b + c) - b * b
    return (_sigma_common(model, m, mu, lib)
            - ((b + c) * u * u - 2 * b * u * w + a * w * w) / (2 * D))


def _energy(model, m, mu, lib):
    """eps(m, mu) = b(m Q_s'(m) - mu)/(b + c) - Q_s(m), the maximiser over eps [S4.1]."""
    _, b, c, _ = _constants(model, lib)
    return b * (m * model.dQs(m) - mu) / (b + c) - model.Qs(m)


def minimum_mu(model: SphericalModel, m, *, precision: str = "double", dps: int = 50):
    """Smallest multiplier mu for which a stationary point at overlap m is a minimum [S4.2].

    mu >= 2s (bulk), and mu >= theta + s^2/theta when theta(m) = Q_s''(m)(1 - m^2) > s (the BBP
    outlier of the Hessian must be non-negative).
    """
    lib = _Lib(precision, dps)
    return _minimum_mu(model, lib.num(float(_check_overlaps(m))), lib)


def _minimum_mu(model, m, lib):
    _, _, _, s = _constants(model, lib)
    theta = model.d2Qs(m) * (1 - m * m)
    lo = 2 * s
    if theta > s:
        lo = max(lo, theta + s * s / theta)
    return lo


def _best_mu(model, m, lo, lib):
    """argmax over mu >= lo (lo = None: over all mu) of Sigma(m, mu).

    dSigma/dmu = -(mu - m Q_s'(m))/(b + c) + Phi_s'(mu) decreases in mu when c >= b (always for
    Q_n without a linear term), so the maximiser is a root or the lower end.
    """
    _, b, c, s = _constants(model, lib)
    w0 = m * model.dQs(m)

    def slope(mu):
        return -(mu - w0) / (b + c) + _dphi(mu, s, lib)

    if lo is not None and slope(lo) <= 0:
        return lo
    left = lo if lo is not None else -(abs(w0) + 4 * s + 1)
    while lo is None and slope(left) <= 0:
        left = 2 * left
    right = max(abs(left), abs(w0)) + 4 * s + 1
    while slope(right) >= 0:
        right = 2 * right
    return lib.root(slope, left, right, "complexity: maximising over mu")


@dataclass(frozen=True)
class ComplexityResult:
    """Annealed complexity on a grid of overlaps.

    Attributes
    ----------
    m : ndarray
        Overlaps with the signal.
    sigma : ndarray
        Complexity (1/N) ln E[number of points], per degree of freedom.
    mu : ndarray
        Radial multiplier of the dominant points (given or maximising).
    energy : ndarray
        Energy density H/N of the dominant points (given or maximising).
    kind : str
        "fixed (m, eps, mu)", "fixed (m, mu)", "minima" or "stationary points".
    """

    m: np.ndarray
    sigma: np.ndarray
    mu: np.ndarray
    energy: np.ndarray
    kind: str

    def __repr__(self) -> str:
        i = int(np.nanargmax(self.sigma)) if np.any(np.isfinite(self.sigma)) else 0
        return (f"ComplexityResult({self.kind}, {self.m.size} overlaps, max sigma="
                f"{self.sigma.flat[i]:.6g} at m={self.m.flat[i]:.4g})")


def complexity(model: SphericalModel, m=0.0, *, mu=None, energy=None, minima: bool = True,
               precision: str = "double", dps: int = 50) -> ComplexityResult:
    """Annealed Kac-Rice complexity [S4.1]-[S4.2].

    Parameters
    ----------
    model : SphericalModel
    m : float or array_like
        Overlap(s) with the signal, in [0, 1).
    mu : float, optional
        Radial Lagrange multiplier (the Hessian is GOE(2s) + mu I - theta v v^T). Given: no
        maximisation over mu.
    energy : float, optional
        Energy density eps = H/N; only together with ``mu``: Sigma(m, eps, mu).
    minima : bool
        Without ``mu``: True maximises over the multipliers of local minima,
        mu >= :func:`minimum_mu` (Sigma_min, with the BBP outlier condition [S4.2]); False over
        all mu (total complexity of stationary points).
    precision : {"double", "mpmath"}
    dps : int
        mpmath digits.

    Returns
    -------
    ComplexityResult
        ``sigma`` per degree of freedom; float64 arrays (mpmath values are rounded at the end).
    """
    if not isinstance(model, SphericalModel):
        raise TypeError("model must be a SphericalModel")
    if energy is not None and mu is None:
        raise ValueError("energy needs mu: Sigma(m, eps, mu) is defined at fixed multiplier")
    ms = np.atleast_1d(_check_overlaps(m))
    lib = _Lib(precision, dps)
    _, b, c, _ = _constants(model, lib)
    if c < b and mu is None:
        raise ValueError("complexity maximisation needs Q''(1) >= Q'(1) (Q_n without a strong "
                         "linear term)")
    out = np.empty((3, ms.size))
    for k, mk in enumerate(ms.flat):
        mm = lib.num(mk)
        if mu is not None:
            mu_k = lib.num(mu)
            if energy is not None:
                eps = lib.num(energy)
                sig = _sigma_full(model, mm, eps, mu_k, lib)
            else:
                eps = _energy(model, mm, mu_k, lib)
                sig = _sigma_m_mu(model, mm, mu_k, lib)
        else:
            lo = _minimum_mu(model, mm, lib) if minima else None
            mu_k = _best_mu(model, mm, lo, lib)
            eps = _energy(model, mm, mu_k, lib)
            sig = _sigma_m_mu(model, mm, mu_k, lib)
        out[:, k] = float(sig), float(mu_k), float(eps)
    kind = ("fixed (m, eps, mu)" if energy is not None else "fixed (m, mu)" if mu is not None
            else "minima" if minima else "stationary points")
    shape = np.shape(m)
    return ComplexityResult(m=ms.reshape(shape), sigma=out[0].reshape(shape),
                            mu=out[1].reshape(shape), energy=out[2].reshape(shape), kind=kind)
