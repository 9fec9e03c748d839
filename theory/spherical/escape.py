"""Escape times of gradient flow from a finite overlap, and the finite-N fluctuations of the
overlap, in the large-N theory [S3.1], [S6].

Two maps for one family ``SpikedMatrixTensor(p, 1/x, delta_p)`` at T = 0:

- tau(x, m0): the time at which m(t) of the DMFT started at m(0) = m0 first reaches ``level``
  (grid doubling [S3.4], stopped there; inf when not reached by ``t_max``). Near the threshold
  tau ~ t_plateau(x) + ln(1/m0)/rate(x); ``rate`` is -1/(d tau/d ln m0), read off the map.
- sigma2(x, t): the finite-N correction. At m ~ 0 the derivative of the random energy along x*
  is a Gaussian process independent, to leading order, of the field on the sphere orthogonal
  to x* (their covariance is Q'(C) m). It adds xi(t)/sqrt(N) to dm/dt with
  <xi(t) xi(s)> = Q_n'(C(t, s)), so in the linear regime
  m(t) = G(t, 0) [m0 + zeta(t)/sqrt(N)], zeta ~ N(0, sigma2(t)),
  sigma2(t) = int int G(t, s) G(t, s') Q_n'(C(s, s')) ds ds' / G(t, 0)^2,
  where G(t, s) solves the linearised m-equation of [S3.1] seeded at time s,
  dG/dt = (Q_s''(0) - mu(t)) G + int_s^t R(t, u) Q_n''(C(t, u)) G(u, s) du, G(s, s) = 1,
  on the pure-noise C, R, mu. A run from m0 thus escapes like the deterministic one from the
  effective seed m0 + zeta/sqrt(N); for a random start (m0 = z/sqrt(N)) the effective seed is
  N(0, (1 + sigma2)/N). sigma2 saturates where m grows exponentially (x above 1/Delta2^GF) and
  keeps growing slowly below.

:func:`escape_time_map` computes both on a grid and caches every run in ``store``;
:class:`EscapeTimeMap` interpolates them. The finite-N prediction built on it is
:func:`saddlesurf.comparison.predict_success`.
"""

from __future__ import annotations

import contextlib
import math
import os
import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy.interpolate import PchipInterpolator
from scipy.optimize import brentq

from ... import _io
from ..._progress import progress_bar
from ..errors import AccuracyWarning
from .dmft import DMFTOptions, _solve_doubling, solve_dmft
from .fixed_points import gradient_flow_fixed_point
from .models import SpikedMatrixTensor

__all__ = ["EscapeTimeMap", "escape_time_map"]

# the pure-noise runs behind sigma2: seed (linear regime) and the grids dt and 2 dt
_NOISE_SEED = 1e-12


@dataclass(frozen=True)
class EscapeTimeMap:
    """Escape times tau(x, m0) and overlap fluctuations sigma2(x, t) of one spiked family.

    Attributes
    ----------
    p, delta_p : int, float
        The family ``SpikedMatrixTensor(p, 1/x, delta_p)``.
    level : float
        The overlap whose first passage is the escape (what ``success_point`` calls
        ``escape_level``).
    t_max : float
        Runs stop there; tau is inf beyond it.
    x : ndarray (X,)
        Grid of x = 1/Delta2, increasing.
    m0 : ndarray (M,)
        Grid of initial overlaps, increasing, below ``level``.
    tau : ndarray (X, M)
        Escape times (inf: not reached by ``t_max``).
    tau_error : ndarray (X, M)
        |tau - tau at half the window|: the discretisation part (NaN where either is inf).
    times : ndarray (S,)
        Times of ``sigma2``.
    sigma2 : ndarray (X, S)
        N Var[effective seed - m0] (module docstring); ``sigma2_error``: its change from the
        grid dt to 2 dt.
    growth : ndarray (X, S)
        G(t, 0) = m(t)/m0 in the linear regime.
    window, dt, fluctuation_dt : the numerical setting.
    runs : dict
        Statistics of the DMFT runs.
    versions : dict
    """

    p: int
    delta_p: float
    level: float
    t_max: float
    x: np.ndarray
    m0: np.ndarray
    tau: np.ndarray
    tau_error: np.ndarray
    times: np.ndarray
    sigma2: np.ndarray
    sigma2_error: np.ndarray
    growth: np.ndarray
    window: int
    dt: float
    fluctuation_dt: float
    runs: dict = field(default_factory=dict)
    versions: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        done = np.isfinite(self.tau)
        return (f"EscapeTimeMap(p={self.p}, delta_p={self.delta_p:g}, level={self.level:g}, "
                f"t_max={self.t_max:g}: {self.x.size} x in [{self.x[0]:g}, {self.x[-1]:g}] by "
                f"{self.m0.size} m0 in [{self.m0[0]:.3g}, {self.m0[-1]:.3g}], "
                f"{int(done.sum())} of {done.size} escaped; sigma2 to t = "
                f"{self.times[-1]:g})")

    def _index(self, x: float) -> int:
        k = np.flatnonzero(np.isclose(self.x, x, rtol=1e-12, atol=0.0))
        if k.size == 0:
            raise ValueError(f"x = {x!r} is not on the map's grid {self.x.tolist()}: build the "
                             "map on the grid you need (escape_time_map(inv_delta2=...))")
        return int(k[0])

    def _row(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """ln m0 and tau of row i with the anchor tau(level) = 0, finite entries only."""
        u = np.append(np.log(self.m0), math.log(self.level))
        tau = np.append(self.tau[i], 0.0)
        ok = np.isfinite(tau)
        return u[ok], tau[ok]

    def tau_at(self, x: float, m0) -> np.ndarray:
        """tau at a grid x for any m0 in [m0[0], level] (monotone cubic in ln m0; inf below the
        smallest seed that escaped, 0 from ``level`` on)."""
        i = self._index(x)
        u, tau = self._row(i)
        m0 = np.asarray(m0, dtype=float)
        out = np.full(m0.shape, math.inf)
        if u.size >= 2:
            f = PchipInterpolator(u, tau, extrapolate=False)
            inside = (m0 >= math.exp(u[0])) & (m0 > 0)
            out[inside] = f(np.log(np.minimum(m0[inside], self.level)))
        out[m0 >= self.level] = 0.0
        return out

    def rate(self, x: float) -> np.ndarray:
        """-1/(d tau/d ln m0) at the grid seeds of a grid x (NaN where tau is inf): the
        growth rate that turns a smaller seed into a later escape."""
        i = self._index(x)
        u, tau = self._row(i)
        out = np.full(self.m0.size, math.nan)
        if u.size >= 2:
            d = PchipInterpolator(u, tau).derivative()(np.log(self.m0))
            ok = np.isfinite(self.tau[i])
            out[ok] = -1.0 / d[ok]
        return out

    def seed(self, x: float, t: float) -> tuple[float, float, float]:
        """The smallest seed that escapes by time t at a grid x, with a bracket:
        (value, low, high). Between two grid seeds it inverts the monotone interpolant
        (low = high = value); below the grid it extrapolates the form
        tau = t_plateau + ln(1/m0)/rate of the two smallest seeds (the bracket spans the
        extrapolation and the smallest seed); when the smallest escaping seed is not the
        first one, the root lies between it and the seed below (bracket)."""
        if not 0 < t <= self.t_max:
            raise ValueError(f"t must be in (0, t_max = {self.t_max:g}] of the map, got {t!r}")
        i = self._index(x)
        u, tau = self._row(i)
        if u.size < 2:  # nothing escaped: the seed lies between the largest grid m0 and level
            return math.sqrt(self.m0[-1] * self.level), float(self.m0[-1]), self.level
        if tau[0] < t:
            first = int(np.argmax(np.isfinite(self.tau[i])))
            if first > 0:
                return math.sqrt(self.m0[first - 1] * self.m0[first]), float(
                    self.m0[first - 1]), float(self.m0[first])
            slope = (tau[1] - tau[0]) / (u[1] - u[0])
            val = math.exp(u[0] + (t - tau[0]) / slope)
            return val, val, float(math.exp(u[0]))
        f = PchipInterpolator(u, tau)
        k = int(np.flatnonzero(tau >= t)[-1])
        if tau[k] == t:
            return (float(math.exp(u[k])),) * 3
        val = math.exp(brentq(lambda v: float(f(v)) - t, u[k], u[k + 1], xtol=1e-12))
        return val, val, val

    def variance(self, x: float, t) -> np.ndarray:
        """sigma2 at a grid x and times t (linear in t; held at its last value beyond
        ``times[-1]``)."""
        i = self._index(x)
        return np.interp(np.asarray(t, dtype=float), self.times, self.sigma2[i])

    def to_dict(self) -> dict:
        """JSON-ready metadata (arrays excluded)."""
        return {"p": self.p, "delta_p": self.delta_p, "level": self.level,
                "t_max": self.t_max, "window": self.window, "dt": self.dt,
                "fluctuation_dt": self.fluctuation_dt, "runs": self.runs,
                "versions": self.versions}

    def save(self, path: str | os.PathLike):
        """Save losslessly to ``<path>.npz`` (+ a readable ``.json``)."""
        arrays = {k: getattr(self, k) for k in ("x", "m0", "tau", "tau_error", "times",
                                                  "sigma2", "sigma2_error", "growth")}
        return _io.save_pair(path, arrays, {"kind": "EscapeTimeMap", **self.to_dict()})

    @classmethod
    def load(cls, path: str | os.PathLike) -> EscapeTimeMap:
        arrays, meta = _io.load_pair(path)
        if meta.pop("kind", None) != "EscapeTimeMap":
            raise ValueError(f"{_io.stem_of(path)} does not hold an EscapeTimeMap")
        return cls(**meta, **arrays)


def _escape(p, delta_p, x, m0, level, t_max, window, dt, store):
    """(tau, stats) of one run from m0 (cached)."""
    ident = {"kind": "escape", "p": p, "delta_p": delta_p, "x": x, "m0": m0, "level": level,
             "t_max": t_max, "window": window, "dt": dt}

    def compute():
        model = SpikedMatrixTensor(p=p, delta2=1.0 / x, delta_p=delta_p)
        opts = DMFTOptions(scheme="doubling", dt=dt, window=window, store_two_time=False,
                           error_estimate=False)
        r = _solve_doubling(model, t_max, m0, 0.0, opts, False, None, 300.0, stop_m=level)
        k = np.flatnonzero(r.m >= level)
        tau = math.inf
        if k.size:  # first passage, linear between the two rows around it
            j = int(k[0])
            tau = float(np.interp(level, r.m[j - 1:j + 1], r.times[j - 1:j + 1]))
        stats = {q: r.stats[q] for q in ("wall_time_s", "windows", "widest_window")}
        return {"t": np.array([tau])}, {"stats": stats}

    arrays, meta = _io.cached(store, "escape", ident, compute)
    return float(arrays["t"][0]), meta["stats"]


def _propagator(model, C, R, mu, h):
    """G(t_i, s_j) of the linearised m-equation (module docstring) on the fixed grid of the
    pure-noise run: trapezoid rule in u and implicit trapezoid in t, the discretisation of the
    "trapezoid" scheme (so G(t, 0) equals its m(t)/m0)."""
    n = C.shape[0]
    K = np.tril(R * model.d2Q(C))
    a = model.d2Qs(0.0) - mu
    G = np.zeros((n, n))
    G[0, 0] = 1.0
    F = np.zeros(n)
    F[0] = a[0]
    for i in range(n - 1):
        # trapezoid over u in [s_j, t_{i+1}], known rows k <= i (end weight 1/2 at k = j)
        S = K[i + 1, :i + 1] @ G[:i + 1] - 0.5 * K[i + 1] * np.diag(G)
        diag = a[i + 1] + 0.5 * h * K[i + 1, i + 1]
        g = (G[i] + 0.5 * h * F + 0.5 * h * h * S) / (1.0 - 0.5 * h * diag)
        g[i + 1], g[i + 2:] = 1.0, 0.0
        G[i + 1] = g
        F = diag * g + h * S
        F[i + 1], F[i + 2:] = a[i + 1], 0.0
    return G


def _sigma2_run(model, t_f, h):
    """Times, sigma2(t) and G(t, 0) from a pure-noise run on the grid h."""
    r = solve_dmft(model, t_f, m0=_NOISE_SEED, options=DMFTOptions(
        scheme="trapezoid", dt=h, rtol=1e-2))
    C, R = r.C.dense(), r.R.dense()
    G = _propagator(model, C, R, r.mu, h)
    Qp = model.dQ(np.tril(C) + np.tril(C, -1).T)
    n = C.shape[0]
    sig = np.zeros(n)
    for i in range(1, n):
        g = G[i, :i + 1] * h
        g[[0, i]] *= 0.5
        sig[i] = g @ Qp[:i + 1, :i + 1] @ g / G[i, 0] ** 2
    return r.times, sig, G[:, 0]


def _fluctuations(p, delta_p, x, t_f, h, store):
    ident = {"kind": "fluctuations", "p": p, "delta_p": delta_p, "x": x, "t": t_f, "dt": h}

    def compute():
        model = SpikedMatrixTensor(p=p, delta2=1.0 / x, delta_p=delta_p)
        t, sig, g = _sigma2_run(model, t_f, h)
        with warnings.catch_warnings():  # the companion is only for the error estimate
            warnings.simplefilter("ignore", AccuracyWarning)
            _, coarse, _ = _sigma2_run(model, t_f, 2 * h)
        err = np.abs(sig[::2][:coarse.size] - coarse[:sig[::2].size])
        return {"t": t[::2][:err.size], "sigma2": sig[::2][:err.size], "error": err,
                "growth": g[::2][:err.size]}, {}

    arrays, _ = _io.cached(store, "fluctuations", ident, compute)
    return arrays


def _grid(values, name: str, *, low: float, high: float | None, hint: str) -> np.ndarray:
    a = np.asarray(values, dtype=float) if not isinstance(values, (str, bytes)) else None
    if (a is None or a.ndim != 1 or a.size == 0 or not np.all(np.isfinite(a))
            or np.any(np.diff(a) <= 0) or np.any(a <= low)
            or (high is not None and np.any(a >= high))):
        bounds = f"in ({low:g}, {high:g})" if high is not None else f"above {low:g}"
        raise ValueError(f"{name} must be a non-empty increasing sequence of finite values "
                         f"{bounds}, {hint}; got {values!r}")
    return a


def escape_time_map(p: int, delta_p: float, inv_delta2, m0=(1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3),
                    *, level: float = 0.5, t_max: float = 1000.0, window: int = 256,
                    dt: float = 0.01, fluctuation_t: float = 50.0,
                    fluctuation_dt: float = 0.05, store: str | os.PathLike | None = None,
                    progress: bool = False) -> EscapeTimeMap:
    """Escape times tau(x, m0) and finite-N overlap fluctuations sigma2(x, t) [S3.1], [S6].

    Parameters
    ----------
    p, delta_p : int, float
        The family ``SpikedMatrixTensor(p, 1/x, delta_p)``.
    inv_delta2 : sequence of float
        Grid of x = 1/Delta2, increasing; at each the signal's fixed point m* must lie above
        ``level`` (else nothing escapes to it).
    m0 : sequence of float
        Seeds, increasing, in (0, level).
    level : float
        Escape overlap, in (0, 1): the same as ``success_point``'s ``escape_level``.
    t_max : float
        Longest run; tau is inf beyond it.
    window, dt : int, float
        Grid doubling [S3.4] (window and first step); runs at ``window // 2`` give
        ``tau_error``.
    fluctuation_t, fluctuation_dt : float
        sigma2 is computed on the fixed grid ``fluctuation_dt`` (and twice it, for
        ``sigma2_error``) up to ``fluctuation_t``; cost O((t/dt)^3).
    store : path, optional
        Directory caching every run (same version, checksummed): a rerun computes nothing
        twice.
    progress : bool
        A progress bar over the runs (needs tqdm).

    Returns
    -------
    EscapeTimeMap
    """
    if not (isinstance(p, int) and not isinstance(p, bool) and p >= 3):
        raise ValueError(f"p must be an integer >= 3, got {p!r}")
    if not (isinstance(delta_p, (int, float, np.floating)) and not isinstance(delta_p, bool)
            and 0 < delta_p < math.inf):
        raise ValueError(f"delta_p must be a positive finite number, got {delta_p!r}")
    if not (isinstance(level, (int, float, np.floating)) and not isinstance(level, bool)
            and 0 < level < 1):
        raise ValueError(f"level must be an overlap in (0, 1), e.g. 0.5, got {level!r}")
    level = float(level)
    xs = _grid(inv_delta2, "inv_delta2", low=0.0, high=None, hint="e.g. (1.4, 1.7, 2.0)")
    m0s = _grid(m0, "m0", low=0.0, high=level,
                hint=f"below level = {level:g}, e.g. (1e-3, 0.01, 0.1)")
    for x in xs:
        m_star = gradient_flow_fixed_point(SpikedMatrixTensor(p, 1.0 / x, delta_p)).m
        if not m_star > level:
            raise ValueError(
                f"inv_delta2 = {x:g} lies below the signal's fixed point: there m* = "
                f"{m_star:.4g} <= level = {level:g}, so no run escapes to the signal; raise "
                "inv_delta2 or lower level")
    for name, v in (("t_max", t_max), ("fluctuation_t", fluctuation_t), ("dt", dt),
                    ("fluctuation_dt", fluctuation_dt)):
        if not (isinstance(v, (int, float, np.floating)) and not isinstance(v, bool)
                and 0 < v < math.inf):
            raise ValueError(f"{name} must be a positive finite number, got {v!r}")
    if not fluctuation_t >= 20 * fluctuation_dt:
        raise ValueError(f"fluctuation_t must be at least 20 fluctuation_dt, got "
                         f"{fluctuation_t!r} and {fluctuation_dt!r}")
    if not (isinstance(window, int) and not isinstance(window, bool) and window >= 32
            and window % 8 == 0):
        raise ValueError(f"window must be an integer >= 32 divisible by 8, got {window!r}")
    if store is not None:
        _io.check_writable(store, "store", directory=True)
    tau = np.full((xs.size, m0s.size), math.inf)
    tau_err = np.full_like(tau, math.nan)
    fl = []
    runs = {}
    with contextlib.ExitStack() as guard:
        if store is not None:
            guard.enter_context(_io.locked(store, "store"))
        with progress_bar(xs.size * (2 * m0s.size + 1), "escape-time map (DMFT)", progress,
                          unit="run") as bar:
            for i, x in enumerate(xs):
                for j, s in enumerate(m0s):
                    args = (p, float(delta_p), float(x), float(s), level, float(t_max))
                    tau[i, j], stats = _escape(*args, window, float(dt), store)
                    half, _ = _escape(*args, window // 2, float(dt), store)
                    if math.isfinite(tau[i, j]) and math.isfinite(half):
                        tau_err[i, j] = abs(tau[i, j] - half)
                    runs[f"x={x:.6g}, m0={s:.3g}"] = stats
                    bar.update(2)
                fl.append(_fluctuations(p, float(delta_p), float(x), float(fluctuation_t),
                                        float(fluctuation_dt), store))
                bar.update(1)
    n_t = min(f["t"].size for f in fl)
    return EscapeTimeMap(
        p=p, delta_p=float(delta_p), level=level, t_max=float(t_max), x=xs, m0=m0s, tau=tau,
        tau_error=tau_err, times=fl[0]["t"][:n_t],
        sigma2=np.array([f["sigma2"][:n_t] for f in fl]),
        sigma2_error=np.array([f["error"][:n_t] for f in fl]),
        growth=np.array([f["growth"][:n_t] for f in fl]), window=window, dt=float(dt),
        fluctuation_dt=float(fluctuation_dt), runs=runs, versions=_io.versions())

