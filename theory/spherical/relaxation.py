"""The relaxation-time method for the gradient-flow threshold [S5.1], without the seed bias.

For a seed m0 -> 0 the overlap obeys the linearisation of [S3.1] about m = 0: C, R and mu are
those of the pure-noise dynamics and m(t) = m0 G(t) with G independent of m0. The time to escape
is then t_conv = t_p(x) + ln(1/m0)/r(x, t) with r(x, t) = d ln m/dt, x = 1/Delta2: the inverse
relaxation time. Its limit r_inf(x) = lim_t r(x, t) vanishes at the threshold x_c as
a (x - x_c)^2 (the BBP outlier leaves the bulk edge quadratically) and is 0 below it, where m
grows more slowly than any exponential (the finite-m0 bias of fitting escape times [S5.1]).

:func:`relaxation_time_fit` integrates the linear regime (m0 = 1e-300, stopped at m = 1e-8) by
grid doubling with a step that resolves the growth, measures r(x, t) on log-spaced times and fits
r(x, t) = a (x - x_c)^2 (1 + c (x - x_c)) + (b0 + b1 (x - x_mid)) t^-kappa (aging approach to
the threshold states; kappa = 1/2 is the exponent measured near x_c) to all of them at once.
The interval is the envelope of the 95% intervals of that fit and of its variants (free kappa,
later times only, the farthest x left out, half the window, the step's growth bias), so it
carries the fit-form, finite-t, window and step parts; the seed part is zero by construction.
"""

from __future__ import annotations

import contextlib
import math
import os
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import curve_fit, least_squares

from ... import _io
from ..._progress import progress_bar
from ..._validate import real
from .dmft import DMFTOptions, _solve_doubling, _validate
from .models import SpikedMatrixTensor
from .thresholds import gf_threshold

__all__ = ["RelaxationRateFit", "RelaxationTimeFit", "relaxation_time_fit",
           "fit_relaxation_times"]

# the linear regime: seed and the overlap at which a run stops (relative nonlinearity ~ m)
_SEED = 1e-300
_LINEAR = 1e-8
# a local rate is the slope of ln m over [t / _SPAN, t * _SPAN]
_SPAN = 1.2
# measurement times per decade of t
_PER_DECADE = 8
# relative error of a rate per (r h)^2, r h the growth of ln m in one step (see _variants)
_STEP_BIAS = 0.3


@dataclass(frozen=True)
class RelaxationTimeFit:
    """Fit t_conv = A (x - x_c)^(-gamma) of convergence times, x = 1/Delta2.

    Attributes
    ----------
    x, t_conv : ndarray
        Grid of 1/Delta2 and convergence times (time units of [S2]; inf where m never reached
        the level; those points are left out of the fit).
    x_c, x_c_interval : float, (float, float)
        Fitted critical 1/Delta2 and its 95% interval (normal approximation of the
        least-squares covariance in log t; the fit form's bias is not in it).
    gamma, A : float
    x_bbp : float or None
        Closed-form 1/Delta2^GF [S5.1] (None when the fit is not tied to a model).
    difference : float or None
        x_c - x_bbp.
    by_t_max : dict
        x_c refitted using only the points with t_conv <= t for each t in the keys: how x_c
        depends on the longest time used.
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

    def __repr__(self) -> str:
        lo, hi = self.x_c_interval
        bbp = "" if self.x_bbp is None else (
            f", BBP {self.x_bbp:.6g} (difference {self.difference:+.3g})")
        return (f"RelaxationTimeFit(x_c={self.x_c:.5g} [{lo:.5g}, {hi:.5g}], "
                f"gamma={self.gamma:.3g}{bbp}, {self.x.size} points)")


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
    """Fit t_conv = A (x - x_c)^(-gamma) by least squares in log t (escape times of
    simulations; the DMFT method is :func:`relaxation_time_fit`).

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


@dataclass(frozen=True)
class RelaxationRateFit:
    """The threshold from the divergence of the relaxation time 1/r_inf(x) [S5.1].

    Attributes
    ----------
    x_c, x_c_interval : float, (float, float)
        Critical 1/Delta2 and its interval: the envelope of the 95% intervals of the central
        fit and of every variant in ``budget`` (statistical and systematic parts).
    x : ndarray
        Grid of x = 1/Delta2.
    times : ndarray
        Times at which the local rates were measured.
    rates : ndarray, shape (len(x), len(times))
        r(x, t) = d ln m/dt in the linear regime (NaN where not measured: before ``t_min``,
        after the run stopped at m = 1e-8 or where the step did not resolve the growth).
    rate_inf : ndarray
        The fitted r_inf(x) = a (x - x_c)^2 (1 + c (x - x_c)) at each x (1/r_inf: the
        relaxation time).
    amplitude, kappa : float
        a and the exponent of the t^-kappa approach of the central fit.
    budget : dict
        Per part: x_c of the variant and its shift from the central value; ``"statistical"``
        holds the central fit's 1.96 sigma.
    x_bbp, difference : float
        Closed-form 1/Delta2^GF [S5.1] and x_c - x_bbp.
    p, delta_p, t_max, t_min, window, max_growth : the setting.
    runs : dict
        Per x: statistics of the DMFT runs (wall time, windows, widest window).
    """

    x_c: float
    x_c_interval: tuple[float, float]
    x: np.ndarray
    times: np.ndarray
    rates: np.ndarray
    rate_inf: np.ndarray
    amplitude: float
    kappa: float
    budget: dict
    x_bbp: float
    difference: float
    p: int
    delta_p: float
    t_max: float
    t_min: float
    window: int
    max_growth: float
    runs: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        lo, hi = self.x_c_interval
        return (f"RelaxationRateFit(x_c={self.x_c:.5g} [{lo:.5g}, {hi:.5g}], BBP "
                f"{self.x_bbp:.6g} (difference {self.difference:+.3g}), p={self.p}, "
                f"delta_p={self.delta_p:g}, {self.x.size} x, t <= {self.t_max:g})")


def _run(p, delta_p, x, t_max, window, max_growth, store, cap):
    """t and m of one linear-regime run (cached in ``store``)."""
    ident = {"p": p, "delta_p": delta_p, "x": x, "t_max": t_max, "window": window,
             "max_growth": max_growth, "seed": _SEED, "stop": _LINEAR, "max_widening": cap}

    def compute():
        model = SpikedMatrixTensor(p=p, delta2=1.0 / x, delta_p=delta_p)
        opts = DMFTOptions(scheme="doubling", dt=0.01, window=window, store_two_time=False,
                           error_estimate=False, max_growth=max_growth, max_widening=cap)
        r = _solve_doubling(model, t_max, _SEED, 0.0, opts, False, None, 300.0, stop_m=_LINEAR)
        return ({"t": r.times, "m": r.m},
                {"stats": {k: r.stats[k] for k in ("wall_time_s", "windows", "widest_window",
                                                    "rows")}})

    arrays, meta = _io.cached(store, "rate", ident, compute)
    return arrays["t"], arrays["m"], meta["stats"]


def _local_rates(t, m, times, max_growth):
    """Slope of ln m over [t/_SPAN, t _SPAN] at each of ``times``, and the largest growth of
    ln m in one step there; NaN where the run does not cover the span, m left the linear regime
    or a step grew m by more than 2 max_growth."""
    out = np.full(times.size, np.nan)
    growth = np.full(times.size, np.nan)
    lm = np.log(np.abs(m))
    step_growth = np.abs(np.diff(lm))
    for k, tt in enumerate(times):
        a, b = np.searchsorted(t, tt / _SPAN), np.searchsorted(t, tt * _SPAN)
        if b >= t.size or m[b] <= 0 or np.any(m[a:b + 1] <= 0) or m[b] > _LINEAR:
            continue
        growth[k] = np.max(step_growth[a:b])
        if growth[k] > 2 * max_growth:
            continue
        out[k] = (lm[b] - lm[a]) / (t[b] - t[a])
    return out, growth


def _joint_fit(X, T, R, x_mid, kappa):
    """Least squares, in relative residuals, of
    r = a (x - x_c)^2 (1 + c (x - x_c)) + (b0 + b1 (x - x_mid)) t^-kappa; kappa None: fitted.
    Returns (x_c, sigma(x_c), a, c, kappa)."""
    free = kappa is None

    def residual(q):
        a, xc, c, b0, b1 = q[:5]
        k = q[5] if free else kappa
        d = np.maximum(X - xc, 0.0)
        return (a * d ** 2 * (1.0 + c * d) + (b0 + b1 * (X - x_mid)) * T ** -k - R) / R

    q0 = [0.3, X.min() - 0.1 * np.ptp(X) - 0.05 * X.min(), 0.0, 0.2, 0.0] + (
        [0.5] if free else [])
    lower = [0.0, -np.inf, -np.inf, -np.inf, -np.inf] + ([0.05] if free else [])
    upper = [np.inf, X.min(), np.inf, np.inf, np.inf] + ([3.0] if free else [])
    fit = least_squares(residual, q0, bounds=(lower, upper))
    s2 = float(np.sum(fit.fun ** 2)) / max(1, R.size - len(q0))
    try:
        sigma = float(np.sqrt(max(np.linalg.inv(fit.jac.T @ fit.jac)[1, 1] * s2, 0.0)))
    except np.linalg.LinAlgError:
        sigma = math.inf
    return (float(fit.x[1]), sigma, float(fit.x[0]), float(fit.x[2]),
            float(fit.x[5] if free else kappa))


def relaxation_time_fit(p: int, delta_p: float, inv_delta2=None, *, t_max: float = 5000.0,
                        t_min: float = 300.0, window: int = 256, max_growth: float = 0.2,
                        store: str | os.PathLike | None = None,
                        progress: bool = False) -> RelaxationRateFit:
    """Locate the gradient-flow threshold by the divergence of the relaxation time [S5.1].

    The local growth rate r(x, t) = d ln m/dt of the overlap in the linear regime (the limit
    m0 -> 0 of escape times t_conv = t_p + ln(1/m0)/r) is measured on log-spaced times in
    [t_min, t_max] for each x = 1/Delta2 and fitted as a (x - x_c)^2 (1 + c (x - x_c))
    + b(x) t^-1/2. See the module docstring for the interval and its budget.

    Parameters
    ----------
    p, delta_p : int, float
        The model family ``SpikedMatrixTensor(p, 1/x, delta_p)``.
    inv_delta2 : array_like, optional
        Grid of x = 1/Delta2 above the threshold (at least 4 values, increasing). Default:
        1.04, 1.08, .., 1.2 times the closed-form 1/Delta2^GF (used only to place the grid).
    t_max, t_min : float
        Longest time integrated and earliest measurement time.
    window : int
        Window of the grid-doubling runs. A second set of runs at window/2 measures the
        discretisation part of the budget; both widen to 4 window to resolve the growth, so
        they cost about the same.
    max_growth : float
        Largest relative growth of m per step (:class:`DMFTOptions`); a rate comes out about
        0.3 (r h)^2 too high (measured), which is in the budget.
    store : path, optional
        Directory caching every DMFT run: a rerun computes nothing twice.
    progress : bool
        A progress bar over the runs (needs tqdm).

    Returns
    -------
    RelaxationRateFit
    """
    _validate(SpikedMatrixTensor(p=p, delta2=1.0, delta_p=delta_p), t_max, 0.5, 0.0)
    x_bbp = gf_threshold(p, delta_p)
    xs = (x_bbp * np.array([1.04, 1.08, 1.12, 1.16, 1.2]) if inv_delta2 is None
          else np.asarray(inv_delta2, dtype=float))
    if (xs.ndim != 1 or xs.size < 4 or not np.all(np.isfinite(xs))
            or np.any(np.diff(xs) <= 0) or np.any(xs <= x_bbp)):
        raise ValueError(f"inv_delta2 must hold at least 4 increasing finite values of "
                         f"1/Delta2 above the threshold 1/Delta2^GF = {x_bbp:.6g} (where m grows "
                         f"exponentially), got {inv_delta2!r}")
    real(t_min, "t_min", low=0.0, hint="300.0")
    if not t_max >= 10 * t_min:
        raise ValueError(f"t_min must be > 0 and at most t_max/10 (a decade of times to fit), "
                         f"got t_min={t_min!r}, t_max={t_max!r}")
    if not (isinstance(window, int) and window >= 32 and window % 8 == 0):
        raise ValueError(f"window must be an integer >= 32 divisible by 8, got {window!r}")
    if not 0 < max_growth <= 0.5:
        raise ValueError(f"max_growth must be in (0, 0.5], e.g. 0.2, got {max_growth!r}")
    if store is not None:
        _io.check_writable(store, "store", directory=True)
    n_t = max(4, int(round(_PER_DECADE * math.log10(t_max / (_SPAN * t_min))))) + 1
    times = np.geomspace(t_min, t_max / _SPAN, n_t)
    rates = {w: np.full((xs.size, n_t), np.nan) for w in (window, window // 2)}
    growth = np.full((xs.size, n_t), np.nan)
    runs = {}
    with contextlib.ExitStack() as guard:  # one writer per store directory
        if store is not None:
            guard.enter_context(_io.locked(store, "store"))
        with progress_bar(2 * xs.size, "relaxation rates (DMFT)", progress, unit="run") as bar:
            for i, x in enumerate(xs):
                for w in (window, window // 2):
                    t, m, stats = _run(p, float(delta_p), float(x), float(t_max), w, max_growth,
                                       store, 4 * window // w)
                    rates[w][i], g = _local_rates(t, m, times, max_growth)
                    if w == window:
                        growth[i] = g
                    runs[f"{x:.6g} (window {w})"] = stats
                    bar.update(1)
    (x_c, sigma, a, c, kappa), budget = _variants(xs, times, rates[window], rates[window // 2],
                                                  growth)
    lo = min(v["x_c"] - 1.96 * v["sigma"] for v in budget.values())
    hi = max(v["x_c"] + 1.96 * v["sigma"] for v in budget.values())
    for v in budget.values():
        v["shift"] = v["x_c"] - x_c
    budget["statistical"] = {"x_c": x_c, "sigma": sigma, "half_width": 1.96 * sigma}
    d = np.maximum(xs - x_c, 0.0)
    budget["m0"] = {"shift": 0.0, "why": f"linear regime (m0 = {_SEED:g}, m <= {_LINEAR:g})"}
    return RelaxationRateFit(
        x_c=x_c, x_c_interval=(lo, hi), x=xs, times=times, rates=rates[window],
        rate_inf=a * d ** 2 * (1.0 + c * d), amplitude=a, kappa=kappa,
        budget=budget, x_bbp=x_bbp, difference=x_c - x_bbp, p=p, delta_p=float(delta_p),
        t_max=float(t_max), t_min=float(t_min), window=window, max_growth=max_growth,
        runs=runs)


def _variants(xs, times, rates, coarse, growth):
    """The central joint fit and its variants, each {"x_c", "sigma", "what"}; ``growth`` is
    the largest growth of ln m per step at each rate."""
    X, T = np.meshgrid(xs, times, indexing="ij")
    x_mid = float(np.mean(xs))

    def fit(rr, sel=True, kappa=0.5):
        ok = np.isfinite(rr) & (rr > 0) & sel
        if ok.sum() < 8:
            raise ValueError(
                f"only {int(ok.sum())} growth rates could be measured: raise t_max or move "
                "inv_delta2 closer to the threshold (the runs leave the linear regime early)")
        return _joint_fit(X[ok], T[ok], rr[ok], x_mid, kappa)

    central = fit(rates)
    t_half = float(np.sqrt(times[0] * times[-1]))
    variants = {
        "central": (central, "kappa = 1/2, all x and t"),
        "fit form": (fit(rates, kappa=None), "kappa fitted"),
        "finite t": (fit(rates, sel=T >= t_half), f"only t >= {t_half:.3g}"),
        "x range": (fit(rates, sel=X < xs[-1]), f"x = {xs[-1]:.4g} left out"),
        "window": (fit(coarse), "runs at half the window"),
        # measured: max_growth 0.4 against 0.2 at p = 3, x = 2.32 puts the late rates 4-5%
        # higher (the trapezoid's own (r h)^2/12 is 1% of it): about 0.3 (r h)^2
        "step": (fit(rates * (1.0 - _STEP_BIAS * growth ** 2)),
                 f"each rate lowered by {_STEP_BIAS} (r h)^2, r h its largest growth per step"),
    }
    budget = {k: {"x_c": f[0], "sigma": f[1], "what": what} for k, (f, what) in variants.items()}
    return central, budget
