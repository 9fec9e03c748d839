"""Threshold (marginal) states and their Hessian spectrum [S4.2]-[S4.3], [S5.1].

The tangent Hessian at a stationary point of overlap m and multiplier mu is
GOE(radius 2s) + mu I - theta(m) v v^T with s = sqrt(Q_n''(1)), theta(m) = Q_s''(m)(1 - m^2) and
v the unit tangent vector toward x*. Spiked-Wigner (BBP) facts used below: for theta > s an
eigenvalue leaves the bulk at mu - theta - s^2/theta and its eigenvector has squared overlap
1 - s^2/theta^2 with v.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .models import SphericalModel, _check_overlaps

__all__ = ["HessianSpectrum", "ThresholdState", "hessian_spectrum", "threshold_state"]


@dataclass(frozen=True)
class HessianSpectrum:
    """Large-N spectrum of the tangent Hessian at (m, mu).

    Attributes
    ----------
    m, mu : float
        Overlap and radial multiplier of the stationary point.
    s, theta : float
        Bulk half-radius parameter sqrt(Q_n''(1)) and rank-one strength Q_s''(m)(1 - m^2).
    bulk_edges : (float, float)
        (mu - 2s, mu + 2s).
    outlier : float
        mu - theta - s^2/theta if theta > s, else NaN (no outlier).
    overlap_direction : float
        Squared overlap of the outlier eigenvector with v (1 - s^2/theta^2, 0 without outlier).
    overlap_signal : float
        Squared overlap with x*/|x*|: (1 - m^2) overlap_direction.
    """

    m: float
    mu: float
    s: float
    theta: float
    bulk_edges: tuple[float, float]
    outlier: float
    overlap_direction: float
    overlap_signal: float

    @property
    def lowest(self) -> float:
        """Lowest eigenvalue: the outlier if present, else the lower bulk edge."""
        return self.outlier if math.isfinite(self.outlier) else self.bulk_edges[0]

    @property
    def is_minimum(self) -> bool:
        """True when no eigenvalue is negative (local minimum, [S4.2])."""
        return self.lowest >= 0

    def density(self, lam) -> np.ndarray:
        """Semicircle bulk density at eigenvalue(s) ``lam`` (the outlier carries weight 1/N)."""
        x = np.asarray(lam, dtype=float) - self.mu
        r2 = 4 * self.s**2 - x**2
        return np.where(r2 > 0, np.sqrt(np.clip(r2, 0, None)) / (2 * np.pi * self.s**2), 0.0)


@dataclass(frozen=True)
class ThresholdState:
    """Threshold states reached by gradient flow from a random start [S4.3].

    Attributes
    ----------
    mu : float
        mu_th = 2 sqrt(Q_n''(1)) (marginal: bulk edge at 0).
    energy_aging : float
        e_th = -[b^2 + a(c - b)]/(b s): the large-time gradient-flow energy (one-step aging
        solution, chi = 1/s).
    energy_marginal_kac_rice : float
        eps(0, 2s) = -2 s b/(b + c) - Q_s(0): energy of the most numerous marginal points. Equal
        to ``energy_aging`` for a pure p-spin, different for mixtures.
    hessian : HessianSpectrum
        At m = 0, mu = mu_th; ``hessian.outlier < 0`` iff gradient flow escapes (BBP, [S5.1]).
    """

    mu: float
    energy_aging: float
    energy_marginal_kac_rice: float
    hessian: HessianSpectrum


def hessian_spectrum(model: SphericalModel, m: float = 0.0, mu: float | None = None
                     ) -> HessianSpectrum:
    """Hessian spectrum of stationary points at overlap ``m`` and multiplier ``mu`` [S4.2].

    Parameters
    ----------
    model : SphericalModel
    m : float
        Overlap in [0, 1).
    mu : float, optional
        Radial multiplier; default the threshold value 2 sqrt(Q_n''(1)).
    """
    m = float(_check_overlaps(m))
    s = math.sqrt(model.d2Q(1.0))
    mu = 2 * s if mu is None else float(mu)
    if not math.isfinite(mu):
        raise ValueError(f"mu must be finite, got {mu!r}")
    theta = model.d2Qs(m) * (1 - m * m)
    if theta > s:
        outlier = mu - theta - s * s / theta
        ov = 1 - (s / theta) ** 2
    else:
        outlier, ov = math.nan, 0.0
    return HessianSpectrum(m=float(m), mu=mu, s=s, theta=theta, bulk_edges=(mu - 2 * s, mu + 2 * s),
                           outlier=outlier, overlap_direction=ov, overlap_signal=(1 - m * m) * ov)


def threshold_state(model: SphericalModel) -> ThresholdState:
    """Threshold energy and multiplier of the marginal states at m = 0 [S4.3]."""
    a, b, c = model.Q(1.0), model.dQ(1.0), model.d2Q(1.0)
    s = math.sqrt(c)
    return ThresholdState(mu=2 * s, energy_aging=-(b * b + a * (c - b)) / (b * s),
                          energy_marginal_kac_rice=-2 * s * b / (b + c) - model.Qs(0.0),
                          hessian=hessian_spectrum(model, 0.0))
