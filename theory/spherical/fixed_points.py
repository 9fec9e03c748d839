"""Closed-form large-time fixed points of the spiked dynamics [S3.3], [S5.2], [S5.3]."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from .models import SphericalModel

__all__ = ["FixedPoint", "gradient_flow_fixed_point", "nishimori_fixed_point"]


@dataclass(frozen=True)
class FixedPoint:
    """Large-time state: overlap m, susceptibility chi (None where not defined), multiplier mu
    and energy density e = H/N."""

    m: float
    chi: float | None
    mu: float
    e: float


def _largest_fixed_point(g) -> float:
    """Largest fixed point of a map g: [0, 1] -> [0, 1) (vectorised over numpy arrays).

    The last sign change of g(m) - m on a fine grid brackets it; brentq polishes it to
    machine precision. Returns 0 when g(m) < m on the whole grid (only m = 0 is left).
    """
    grid = np.linspace(0.0, 1.0, 20001)[1:]
    f = g(grid) - grid
    pos = np.flatnonzero(f > 0)
    if pos.size == 0:
        return 0.0
    k = pos[-1]
    return brentq(lambda x: g(x) - x, grid[k], grid[k + 1], xtol=1e-16,
                  rtol=4 * np.finfo(float).eps)


def gradient_flow_fixed_point(model: SphericalModel) -> FixedPoint:
    """Easy-phase end point of zero-temperature gradient flow [S3.3] (same as ML-AMP [S5.2]).

    m* = Q_s'(m*)/sqrt(Q_s'(m*)^2 + Q_n'(1)), chi* = 1/sqrt(Q_s'(m*)^2 + Q_n'(1)),
    mu* = sqrt(Q_s'(m*)^2 + Q_n'(1)) + Q_n''(1) chi*, e* = -Q_s(m*) - chi* Q_n'(1);
    the largest solution m* is returned.
    """
    b, c = model.dQ(1.0), model.d2Q(1.0)
    m = _largest_fixed_point(lambda x: model.dQs(x) / np.sqrt(model.dQs(x) ** 2 + b))
    root = math.sqrt(model.dQs(m) ** 2 + b)
    chi = 1.0 / root
    return FixedPoint(m=m, chi=chi, mu=root + c * chi, e=-model.Qs(m) - chi * b)


def nishimori_fixed_point(model: SphericalModel) -> FixedPoint:
    """Langevin at T = 1 in the easy phase [S3.3]: m = Q'(m)/(1 + Q'(m)), e = -Q(1).

    Valid on the Nishimori line (signal part equal to the noise covariance). With the
    equilibrium FDT R(tau) = -dC/dtau and C: 1 -> q = m, [S3.1] gives chi = int R = 1 - m and
    mu = 1 + Q'(m) m + [q Q'(q)]_m^1 = 1 + Q'(1).
    """
    if not model.is_bayes:
        raise ValueError("the Nishimori fixed point needs signal == noise covariance (Bayes)")
    m = _largest_fixed_point(lambda x: model.dQ(x) / (1.0 + model.dQ(x)))
    return FixedPoint(m=m, chi=1.0 - m, mu=1.0 + model.dQ(1.0), e=-model.Q(1.0))
