"""Hessian spectra of generalised-linear losses: bulk, edges, BBP outlier [P4.1]-[P4.3].

On the sphere |x|^2 = N the Riemannian Hessian of L = sum_mu l(h_mu; y_mu) is P[W - nu I]P with
W = (1/N) sum_mu g_mu a_mu a_mu^T, g = l''(h; y) and nu = (1/N) sum_mu l'_mu h_mu = alpha E[l' h]
[P4.1]. With u = (h* - m h)/sqrt(1 - m^2) the component of a along the unit tangent e toward x*,
the large-N spectrum of W on the tangent space depends only on the joint law of (g, u) [P4.2]:

- bulk: 1/s = -z + alpha E[g/(1+gs)], z(s) = -1/s + alpha E[g/(1+gs)];
- edges: z(s_edge) with z'(s) = 1/s^2 - alpha E[g^2/(1+gs)^2] = 0, lower edge on s > 0, upper
  edge on s < 0 (s^2 E[g^2/(1+gs)^2] is monotone on each branch, so the zero is unique);
- outlier in direction e: F(s) = 1/s + alpha E[g(u^2-1)/(1+gs)] = 0, which is 1/G_ee(z(s)); a
  detached eigenvalue below the bulk exists iff F(s_-) < 0 (above: iff F(s_+) > 0); its
  eigenvector has squared overlap -z'(s_o)/F'(s_o) with e (residue of G_ee);
- BBP ratio: F(s_edge(alpha); alpha) = 0. Eliminating alpha = 1/(s^2 E[g^2/(1+gs)^2]) turns it
  into the one-variable equation s E[g^2/(1+gs)^2] + E[g(u^2-1)/(1+gs)] = 0.

Laws are :class:`JointLaw` objects: atoms (g, u^2) with weights, either a deterministic
quadrature of a continuous law [P4.3] or empirical atoms from states (trimmed at the low end of
g, which otherwise pins a spurious edge at s = 1/|g_min|).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from ..quadrature import gaussian_grid
from . import _spectrum_kernels as _k
from .losses import Loss

__all__ = ["JointLaw", "GLMSpectrum", "glm_spectrum", "bbp_ratio", "initial_law", "state_law"]

_XTOL = 1e-14     # relative tolerance of every root in s
_POLE_GAP = 1e-12  # closest approach to a pole 1 + g s = 0, relative


@dataclass(frozen=True, eq=False)
class JointLaw:
    """Joint law of (g, u) as weighted atoms [P4.2].

    Attributes
    ----------
    g : ndarray
        Curvatures g = l''(h; y) (or T(y) for spectral methods [P4.6]).
    u2 : ndarray
        u^2, the squared component of the measurement vector along the tangent direction toward
        the signal.
    weights : ndarray
        Non-negative, summing to 1.
    nu : float
        E[l'(h; y) h] (NaN when unknown): the Hessian is W - alpha nu on the tangent space.
    kind : {"quadrature", "empirical"}
    description : str
    """

    g: np.ndarray
    u2: np.ndarray
    weights: np.ndarray
    nu: float = math.nan
    kind: str = "quadrature"
    description: str = ""

    def __post_init__(self):
        g, u2, w = (np.ascontiguousarray(np.ravel(a), dtype=np.float64)
                    for a in (self.g, self.u2, self.weights))
        if not g.size or g.shape != u2.shape or g.shape != w.shape:
            raise ValueError(f"g, u2 and weights must be non-empty and of one length, got sizes "
                             f"{g.size}, {u2.size}, {w.size}")
        for name, a in (("g", g), ("u2", u2), ("weights", w)):
            if not np.isfinite(a).all():
                raise ValueError(f"the law's {name} contains non-finite values "
                                 f"({int(np.sum(~np.isfinite(a)))} of {a.size}); check the loss")
        if (w < 0).any() or (u2 < 0).any():
            raise ValueError("weights and u2 must be non-negative")
        w = w / w.sum()
        for name, a in (("g", g), ("u2", u2), ("weights", w)):
            a.flags.writeable = False
            object.__setattr__(self, name, a)
        object.__setattr__(self, "_v", u2 - 1.0)

    def __repr__(self) -> str:
        return (f"JointLaw({self.kind}, {self.g.size} atoms, g in [{self.g_min:.4g}, "
                f"{self.g_max:.4g}], E[u^2] = {self.weights @ self.u2:.6g}"
                + (f", {self.description}" if self.description else "") + ")")

    @property
    def g_min(self) -> float:
        return float(self.g.min())

    @property
    def g_max(self) -> float:
        return float(self.g.max())

    @classmethod
    def from_gaussians(cls, fn: Callable, dim: int, *, order: int = 8, description: str = ""
                       ) -> JointLaw:
        """A continuous law given as a function of ``dim`` (1 or 2) iid N(0,1) variables.

        ``fn(*xi)`` returns ``(g, u, nu_integrand)`` arrays (``nu_integrand`` = l' h, or None);
        expectations use the composite Gauss-Legendre rule of
        :func:`~saddlesurf.theory.quadrature.gaussian_grid` (deterministic, ~1e-12).
        """
        xs, w = gaussian_grid(dim, order)
        g, u, nu = fn(*xs)
        nu = math.nan if nu is None else float(w @ np.broadcast_to(nu, w.shape) / w.sum())
        g, u = (np.broadcast_to(np.asarray(a, dtype=float), w.shape) for a in (g, u))
        return cls(g, u * u, w, nu, "quadrature", description)

    @classmethod
    def from_atoms(cls, g, u, weights=None, *, trim: float = 1e-3, nu: float = math.nan,
                   description: str = "") -> JointLaw:
        """Empirical law from atoms (e.g. pooled (h_mu, h*_mu) of simulated states) [P4.3].

        Parameters
        ----------
        g, u : array_like
            Curvatures and tangent components, one per measurement.
        weights : array_like, optional
            Default equal weights.
        trim : float
            Fraction of the weight at the low end of g that is winsorised (set to the
            ``trim``-quantile of g). Atoms are a finite sample: the smallest g alone makes
            E[g^2/(1+gs)^2] diverge at s = 1/|g_min|, a spurious lower edge; trimming removes it
            while changing every moment by O(trim). Use 0 to keep the atoms as they are.
        """
        g = np.asarray(g, dtype=float).ravel()
        u = np.asarray(u, dtype=float).ravel()
        w = np.ones_like(g) if weights is None else np.asarray(weights, dtype=float).ravel()
        if not 0 <= trim < 0.5:
            raise ValueError(f"trim must lie in [0, 0.5), got {trim!r}")
        if trim > 0 and g.size:
            order = np.argsort(g)
            cw = np.cumsum(w[order]) / w.sum()
            floor = g[order][min(np.searchsorted(cw, trim), g.size - 1)]
            g = np.maximum(g, floor)
        return cls(g, u * u, w, nu, "empirical", description)

    def moments(self, s: float) -> np.ndarray:
        """(E[g/(1+gs)], E[g^2/(1+gs)^2], E[g(u^2-1)/(1+gs)], E[g^2(u^2-1)/(1+gs)^2])."""
        return _k.moments(self.g, self._v, self.weights, float(s))

    def pole(self, side: int) -> float:
        """Distance t > 0 of the first pole of 1/(1 + g s) along s = side * t (inf if none)."""
        gm = -side * (self.g_min if side > 0 else self.g_max)
        return 1.0 / gm if gm > 0 else math.inf

    def resample(self, rng: np.random.Generator, groups: np.ndarray | None = None) -> JointLaw:
        """Bootstrap copy: atoms (or whole ``groups`` of atoms, e.g. samples) drawn with
        replacement; weights are multiplied by the draw counts."""
        if groups is None:
            counts = rng.multinomial(self.g.size, np.full(self.g.size, 1.0 / self.g.size))
        else:
            labels, inverse = np.unique(groups, return_inverse=True)
            counts = rng.multinomial(labels.size, np.full(labels.size, 1.0 / labels.size))[inverse]
        w = self.weights * counts
        keep = w > 0
        return JointLaw(self.g[keep], self.u2[keep], w[keep], self.nu, self.kind,
                        self.description)


def initial_law(loss: Loss, *, order: int = 8) -> JointLaw:
    """Law of (g, u) at a random start [P4.4]: m = 0, h and h* iid N(0,1), u = h*, y = u^2."""
    loss.check()

    def fn(h, u):
        y = u * u
        return loss.d2(h, y), u, loss.d1(h, y) * h

    return JointLaw.from_gaussians(fn, 2, order=order, description=f"random start, {loss!r}")


def state_law(loss: Loss, h, h_star, *, m=0.0, y=None, trim: float = 1e-3,
              description: str = "") -> JointLaw:
    """Empirical law of (g, u) at states with pre-activations ``h`` and teacher ``h_star``.

    u = (h* - m h)/sqrt(1 - m^2) [P4.2], g = l''(h; y) with y = h*^2 unless given. ``m`` may be
    an array broadcast against ``h`` (pooled samples with different overlaps). nu = mean l' h.
    """
    h = np.asarray(h, dtype=float)
    hs = np.asarray(h_star, dtype=float)
    m = np.broadcast_to(np.asarray(m, dtype=float), h.shape)
    if (np.abs(m) >= 1).any():
        raise ValueError("|m| must be < 1 (at m = 1 there is no tangent direction toward x*)")
    y = hs * hs if y is None else np.asarray(y, dtype=float)
    u = (hs - m * h) / np.sqrt(1 - m * m)
    nu = float(np.mean(loss.d1(h, y) * h))
    return JointLaw.from_atoms(loss.d2(h, y), u, trim=trim, nu=nu, description=description)


def _edge(law: JointLaw, alpha: float, side: int) -> tuple[float, bool]:
    """t > 0 with s = side * t at the bulk edge: alpha s^2 E[g^2/(1+gs)^2] = 1 (monotone in t).

    Returns (t, hard): ``hard`` when the equation has no root before the pole of 1/(1+gs), so the
    edge sits at the end of the support of g (only for continuous laws whose density of g
    vanishes fast at g_min).
    """
    def f(t):
        return alpha * t * t * law.moments(side * t)[1] - 1.0

    pole = law.pole(side)
    if math.isfinite(pole):
        hi = pole * (1 - _POLE_GAP)
        if f(hi) < 0:
            return hi, True
    else:
        hi = 1.0
        while f(hi) < 0:
            hi *= 4.0
            if hi > 1e15:
                raise ValueError(
                    f"the {'lower' if side > 0 else 'upper'} bulk edge does not exist at alpha = "
                    f"{alpha:g}: alpha P(g != 0) <= 1, so W has a zero eigenvalue of extensive "
                    "multiplicity; use alpha > 1/P(g != 0)")
    return brentq(f, 0.0, hi, xtol=1e-300, rtol=_XTOL, maxiter=500), False


@dataclass(frozen=True)
class GLMSpectrum:
    """Large-N spectrum of W (and of the tangent Hessian W - alpha nu) at one alpha [P4.2].

    Attributes
    ----------
    alpha : float
    side : {"lower", "upper"}
        Which edge the outlier analysis refers to (Hessians: "lower"; spectral methods with a
        top eigenvector: "upper").
    edges : (float, float)
        Lower and upper bulk edges of W.
    hard_edges : (bool, bool)
        Whether each edge is the end of the support of g (no zero of z'(s) before the pole).
        For a quadrature law whose g is unbounded that end is set by the |xi| <= 10 cutoff
        (e.g. the upper edge of l_a, or the lower edge of the square loss [P2.1]).
    margin : float
        F(s_edge) (sign convention of [P4.2]); an outlier exists iff margin < 0 (lower) or
        margin > 0 (upper).
    outlier : float
        Outlier eigenvalue of W (NaN if none).
    overlap : float
        Squared overlap of its eigenvector with the tangent direction e toward x* (0 if none).
    shift : float
        alpha nu: Hessian eigenvalues are eigenvalues of W minus ``shift`` (NaN if nu unknown).
    """

    alpha: float
    side: str
    edges: tuple[float, float]
    hard_edges: tuple[bool, bool]
    margin: float
    outlier: float
    overlap: float
    shift: float
    law: JointLaw

    def __repr__(self) -> str:
        out = (f"outlier={self.outlier:.8g}, overlap={self.overlap:.6g}"
               if self.has_outlier else "no outlier")
        return (f"GLMSpectrum(alpha={self.alpha:g}, edges=({self.edges[0]:.8g}, "
                f"{self.edges[1]:.8g}), {self.side} margin={self.margin:.6g}, {out}, "
                f"shift={self.shift:.6g})")

    @property
    def has_outlier(self) -> bool:
        return math.isfinite(self.outlier)

    @property
    def hessian_edges(self) -> tuple[float, float]:
        """Bulk edges of the tangent Hessian, W edges minus alpha nu."""
        return (self.edges[0] - self.shift, self.edges[1] - self.shift)

    @property
    def hessian_outlier(self) -> float:
        """Outlier of the tangent Hessian (NaN if none or nu unknown)."""
        return self.outlier - self.shift

    def density(self, x, *, bins: int = 4096) -> np.ndarray:
        """Bulk density of W at eigenvalue(s) ``x`` by Stieltjes inversion, rho = Im s(x+i0)/pi.

        Only the law of g enters; laws with more than ``bins`` atoms are first reduced to
        ``bins`` weight-quantile atoms (exact mean of g, error second order in the bin width).
        Normalised to the fraction of non-zero eigenvalues (min(1, alpha P(g != 0))).
        """
        return spectral_density(self.law, self.alpha, x, bins=bins)


def _z(law: JointLaw, alpha: float, s: float) -> float:
    return -1.0 / s + alpha * law.moments(s)[0]


def _f(law: JointLaw, alpha: float, s: float) -> float:
    return 1.0 / s + alpha * law.moments(s)[2]


def glm_spectrum(law: JointLaw, alpha: float, *, side: str = "lower") -> GLMSpectrum:
    """Edges, BBP outlier and its eigenvector overlap for the law ``law`` at ratio ``alpha``.

    Parameters
    ----------
    law : JointLaw
        E.g. :func:`initial_law` (random start [P4.4]) or :func:`state_law` (states).
    alpha : float
        M/N > 0.
    side : {"lower", "upper"}
        Edge next to which the outlier is sought.

    Returns
    -------
    GLMSpectrum
    """
    alpha = _check_alpha(alpha)
    sgn = _side(side)
    edges = []
    for sd in (+1, -1):
        try:
            t, hard = _edge(law, alpha, sd)
        except ValueError:
            if sd == sgn:
                raise
            edges.append((math.nan, True))
            continue
        edges.append((t, hard))
    t_e = edges[0][0] if sgn > 0 else edges[1][0]
    zs = [(_z(law, alpha, sd * t) if math.isfinite(t) else math.nan)
          for sd, (t, _) in zip((1, -1), edges, strict=True)]
    margin = _f(law, alpha, sgn * t_e)
    outlier, overlap = math.nan, 0.0
    if sgn * margin < 0:
        t_o = brentq(lambda t: sgn * _f(law, alpha, sgn * t), t_e * 1e-12, t_e, xtol=1e-300,
                     rtol=_XTOL, maxiter=500)
        s_o = sgn * t_o
        mo = law.moments(s_o)
        outlier = -1.0 / s_o + alpha * mo[0]
        overlap = -(1 / s_o**2 - alpha * mo[1]) / (-1 / s_o**2 - alpha * mo[3])
    shift = alpha * law.nu
    return GLMSpectrum(alpha, "lower" if sgn > 0 else "upper", (zs[0], zs[1]),
                       (edges[0][1], edges[1][1]), margin,
                       outlier, overlap, shift, law)


def bbp_ratio(law: JointLaw | Callable[[float], JointLaw], *, side: str = "lower",
              bracket: tuple[float, float] = (0.1, 100.0)) -> float:
    """Critical ratio alpha where an outlier detaches from the ``side`` edge [P4.2].

    Parameters
    ----------
    law : JointLaw
        A law independent of alpha. (The law of states depends on alpha; see
        :func:`~saddlesurf.theory.critical_ratio` for the threshold-state ratio [P4.5].)
    side : {"lower", "upper"}
    bracket : (float, float)
        Range of alpha searched; a ValueError names the margins at both ends when F(s_edge) does
        not change sign in it.

    Returns
    -------
    float
        alpha_BBP, to ~1e-12 relative (the accuracy of the quadrature of the law).
    """
    sgn = _side(side)
    lo, hi = (_check_alpha(a) for a in bracket)
    if not lo < hi:
        raise ValueError(f"bracket must be increasing, got {bracket!r}")
    # alpha(t) = 1/(t^2 B(sgn t)) decreases with t: the bracket ends are edges at alpha = hi, lo
    t_hi, _ = _edge(law, hi, sgn)
    t_lo, hard_lo = _edge(law, lo, sgn)
    f_hi, f_lo = _f(law, hi, sgn * t_hi), _f(law, lo, sgn * t_lo)
    if f_hi * f_lo > 0:
        raise ValueError(
            f"no BBP transition for alpha in [{lo:g}, {hi:g}]: the edge margin F(s_edge) has one "
            f"sign at both ends ({f_lo:.4g} at alpha = {lo:g}, {f_hi:.4g} at alpha = {hi:g}); "
            "widen the bracket")

    def phi(t):  # F(s_edge) s^2 B(s) = s B(s) + D(s) with alpha eliminated: the sign of F
        mo = law.moments(sgn * t)
        return sgn * t * mo[1] + mo[2]

    if phi(t_hi) * phi(t_lo) > 0:
        # the sign change lies where the edge is hard (s_edge at the pole, independent of
        # alpha): there F = 1/s + alpha D(s) is linear in alpha
        s_p = sgn * t_lo
        return -1.0 / (s_p * law.moments(s_p)[2])
    t_c = brentq(phi, t_hi, t_lo, xtol=1e-300, rtol=_XTOL, maxiter=500)
    return 1.0 / (t_c * t_c * law.moments(sgn * t_c)[1])


def spectral_density(law: JointLaw, alpha: float, x, *, bins: int = 4096) -> np.ndarray:
    """Bulk density of W at ``x`` (see :meth:`GLMSpectrum.density`)."""
    alpha = _check_alpha(alpha)
    x = np.asarray(x, dtype=float)
    g, w = _reduce(law, bins)
    scale = max(1.0, float(np.max(np.abs(g))) * max(1.0, alpha))
    z = x.ravel().astype(complex)
    s = -1.0 / (z + 1j * scale)
    for eta in scale * 10.0 ** -np.arange(0, 11):  # continuation toward the real axis
        zk = z + 1j * eta
        _k.stieltjes(g, w, alpha, zk, s, 200, 1e-13)
    return (np.maximum(s.imag, 0.0) / math.pi).reshape(x.shape)


def _reduce(law: JointLaw, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Law of g alone, reduced to at most ``bins`` weight-quantile atoms (exact E[g])."""
    if law.g.size <= bins:
        return law.g, law.weights
    order = np.argsort(law.g, kind="stable")
    g, w = law.g[order], law.weights[order]
    cut = np.searchsorted(np.cumsum(w), np.linspace(0, 1, bins + 1)[1:-1])
    idx = np.unique(np.concatenate([[0], cut, [g.size]]))
    wb = np.add.reduceat(w, idx[:-1])
    gb = np.add.reduceat(w * g, idx[:-1]) / np.where(wb > 0, wb, 1)
    keep = wb > 0
    return np.ascontiguousarray(gb[keep]), np.ascontiguousarray(wb[keep])


def _check_alpha(alpha) -> float:
    a = float(alpha)
    if not math.isfinite(a) or a <= 0:
        raise ValueError(f"alpha = M/N must be a positive finite number, got {alpha!r}")
    return a


def _side(side: str) -> int:
    if side not in ("lower", "upper"):
        raise ValueError(f"side must be 'lower' or 'upper', got {side!r}")
    return 1 if side == "lower" else -1
