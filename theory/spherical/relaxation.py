"""The relaxation-time method for the gradient-flow threshold [S5.1].

For the spiked matrix-tensor model at fixed (p, Delta_p), the time t_conv(x) at which m(t) first
reaches ``level`` times the easy-phase m* [S3.3] is computed on a grid of x = 1/Delta2 above the
threshold and fitted by t_conv = A (x - x_c)^(-gamma). The fitted x_c is reported next to the
closed-form 1/Delta2^GF; finite m0 and finite times bias x_c below it [S5.1].
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import curve_fit

from .dmft import DMFTOptions, _solve_doubling, _validate
from .fixed_points import gradient_flow_fixed_point
from .models import SpikedMatrixTensor
from .thresholds import gf_threshold

__all__ = ["RelaxationTimeFit", "relaxation_time_fit", "fit_relaxation_times"]


@dataclass(frozen=True)
class RelaxationTimeFit:
    """Fit t_conv = A (x - x_c)^(-gamma) of convergence times, x = 1/Delta2.

    Attributes
    ----------
    x, t_conv : ndarray
        Grid of 1/Delta2 and convergence times (time units of [S2]; inf where m never reached
        the level before t_max; those points are left out of the fit).
    x_c, x_c_interval : float, (float, float)
        Fitted critical 1/Delta2 and its 95% interval (normal approximation of the
        least-squares covariance in log t).
    gamma, A : float
    x_bbp : float or None
        Closed-form 1/Delta2^GF [S5.1] (None when the fit is not tied to a model).
    difference : float or None
        x_c - x_bbp.
    by_t_max : dict
        x_c refitted using only the points with t_conv <= t for each t in the keys: how x_c
        depends on the longest time used (NaN with fewer than 4 points).
    m0, level, t_max : float
    """

    x: np.ndarray
    t_conv: np.ndarray
    x_c: float
    x_c_interval: tuple[float, float]
    gamma: float
    A: float
    x_bbp: float | None = None
    difference: float | None = None
    by_t_max: dict = field(default_factory=dict)
    m0: float = math.nan
    level: float = math.nan
    t_max: float = math.nan

    def __repr__(self) -> str:
        lo, hi = self.x_c_interval
        bbp = "" if self.x_bbp is None else (
            f", BBP {self.x_bbp:.6g} (difference {self.difference:+.3g})")
        return (f"RelaxationTimeFit(x_c={self.x_c:.5g} [{lo:.5g}, {hi:.5g}], "
                f"gamma={self.gamma:.3g}{bbp}, m0={self.m0:g}, {self.x.size} points)")


def _fit(x, t):
    keep = np.isfinite(t)
    x, t = x[keep], t[keep]
    if x.size < 4:
        raise ValueError(f"the fit needs at least 4 finite convergence times, got {x.size}: "
                         "raise t_max or move the grid of 1/Delta2 away from the threshold")

    def model(xx, log_a, x_c, gamma):
        return log_a - gamma * np.log(xx - x_c)

    upper = x.min() - 1e-9 * max(1.0, abs(x.min()))
    p, cov = curve_fit(model, x, np.log(t), p0=(np.log(t.min()), x.min() - 0.1 * np.ptp(x),
                                               1.0),
                       bounds=([-np.inf, -np.inf, 1e-3], [np.inf, upper, 50.0]))
    return p, float(np.sqrt(cov[1, 1]))


def fit_relaxation_times(x, t_conv, *, x_bbp: float | None = None) -> RelaxationTimeFit:
    """Fit t_conv = A (x - x_c)^(-gamma) by least squares in log t.

    Parameters
    ----------
    x, t_conv : array_like
        1/Delta2 values and convergence times (non-finite times are ignored).
    x_bbp : float, optional
        Closed-form threshold to report the difference against.

    Returns
    -------
    RelaxationTimeFit
    """
    x = np.asarray(x, dtype=float)
    t = np.asarray(t_conv, dtype=float)
    if x.shape != t.shape or x.ndim != 1:
        raise ValueError("x and t_conv must be 1-d arrays of the same length")
    (log_a, x_c, gamma), err = _fit(x, t)
    by_t = {}
    for cut in np.unique(t[np.isfinite(t)])[3:]:
        sel = t <= cut
        by_t[float(cut)] = float(_fit(x[sel], t[sel])[0][1])
    return RelaxationTimeFit(
        x=x, t_conv=t, x_c=float(x_c), x_c_interval=(x_c - 1.96 * err, x_c + 1.96 * err),
        gamma=float(gamma), A=float(math.exp(log_a)), x_bbp=x_bbp,
        difference=None if x_bbp is None else float(x_c - x_bbp), by_t_max=by_t)


def relaxation_time_fit(p: int, delta_p: float, inv_delta2, *, m0: float = 1e-10,
                        level: float = 0.5, t_max: float = 1e4,
                        options: DMFTOptions | None = None,
                        progress: bool = False) -> RelaxationTimeFit:
    """Locate the gradient-flow threshold by the divergence of the convergence time [S5.1].

    Parameters
    ----------
    p, delta_p : int, float
        The model family ``SpikedMatrixTensor(p, 1/x, delta_p)``.
    inv_delta2 : array_like
        Grid of x = 1/Delta2, all above the closed-form threshold (at least 4 values).
    m0 : float
        Initial overlap of every run (a seed is mandatory, [S3.2]).
    level : float
        t_conv is the first time m(t) reaches ``level`` m*, m* the easy-phase fixed point.
    t_max : float
        Longest time integrated; points that do not converge by then are left out.
    options : DMFTOptions, optional
        Options of the grid-doubling runs (default: dt 0.01, window 256, no error estimate).
    progress : bool
        One progress bar per run (needs tqdm).

    Returns
    -------
    RelaxationTimeFit
    """
    xs = np.asarray(inv_delta2, dtype=float)
    # validates p, delta_p, m0 and t_max with the solver's messages before any run
    _validate(SpikedMatrixTensor(p=p, delta2=1.0, delta_p=delta_p), t_max, m0, 0.0)
    x_bbp = gf_threshold(p, delta_p)
    if xs.ndim != 1 or xs.size < 4 or np.any(xs <= x_bbp):
        raise ValueError(f"inv_delta2 must hold at least 4 values above 1/Delta2^GF = "
                         f"{x_bbp:.6g}, got {inv_delta2!r}")
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1), got {level!r}")
    opts = options or DMFTOptions(scheme="doubling", dt=0.01, window=256,
                                  store_two_time=False, error_estimate=False)
    if opts.scheme != "doubling":
        raise ValueError("options.scheme must be 'doubling'")
    t_conv = np.full(xs.size, np.inf)
    for k, x in enumerate(xs):
        model = SpikedMatrixTensor(p=p, delta2=1.0 / x, delta_p=delta_p)
        target = level * gradient_flow_fixed_point(model).m
        r = _solve_doubling(model, t_max, m0, 0.0, opts, progress, None, 300.0,
                            stop_m=target)
        hit = np.flatnonzero(r.m >= target)
        if hit.size:
            j = hit[0]
            t_conv[k] = np.interp(target, r.m[j - 1:j + 1], r.times[j - 1:j + 1])
    fit = fit_relaxation_times(xs, t_conv, x_bbp=x_bbp)
    return RelaxationTimeFit(**{**fit.__dict__, "m0": m0, "level": level, "t_max": t_max})
