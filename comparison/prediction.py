"""Finite-N success of gradient flow predicted from the large-N theory (spiked model).

A run of size N started at overlap m(0) escapes like the DMFT started from the effective seed
m_eff = m(0) + zeta/sqrt(N), zeta ~ N(0, sigma2): the overlap fluctuations that the disorder
drives in the linear regime (``theory.spherical.escape``). For a random start m(0) = z/sqrt(N),
z ~ N(0, 1) [S2], so sqrt(N) m_eff ~ N(0, 1 + sigma2). A run succeeds by ``t_max`` iff
m_eff >= m_c(x, t_max), the smallest seed whose DMFT escape time tau(x, m_c) is t_max, on the
signal's side for odd p (the sign rule of ``success_point``) and at either sign for even p.
Its escape time is tau(x, m_eff).

sigma2 grows with time (it saturates only where m grows exponentially), so it is read at half
the escape time of the run in question (roughly the end of its linear regime): at
tau(m_c)/2 for P(success), whose interval spans reading it from min(tau/4, 1) to tau together
with the bracket of m_c and the map's discretisation error; at tau(u)/2 for a run escaping
from the effective seed u in the quantiles (with the same range).
``fluctuations=False`` gives the plain m0 = z/sqrt(N) picture.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import brentq
from scipy.stats import norm

from .. import _tables
from ..theory.spherical.escape import EscapeTimeMap, escape_time_map
from ..theory.spherical.models import SpikedMatrixTensor

__all__ = ["SuccessPrediction", "predict_success"]

#: the earliest time at which sigma2 is read: the initial relaxation (1/mu ~ 0.2-0.5), after
#: which the nonlinear drift can take over
T_EARLY = 1.0


def _decision_times(tau: float) -> tuple[float, float, float]:
    """Where sigma2 is read for a run escaping at tau: the central tau/2 and the range
    [min(tau/4, T_EARLY), tau]. Measured (benchmarks/spherical/finite_n.py): tau/2 matches warm
    starts at 1/Delta2 = 1.7-1.9; slow escapes below the threshold (1.3) are closer to the
    early end, since sigma2 keeps growing there while G saturates."""
    return min(tau / 4, T_EARLY), tau / 2, tau


@dataclass(frozen=True)
class SuccessPrediction:
    """P(success; x, N, t_max) and escape-time quantiles predicted from the large-N theory.

    Attributes
    ----------
    grid : ndarray (G,)
        x = 1/Delta2.
    n : int
        System size N.
    t_max : float
    start : str
        "random" (m(0) = z/sqrt(N)) or "warm" (m(0) = ``m0``).
    m0 : float or None
    probability : ndarray (G,)
        Predicted P(success).
    probability_interval : ndarray (G, 2)
        Its range over the decision time, the bracket of the critical seed and the map's
        window error.
    critical_seed : ndarray (G, 3)
        m_c(x, t_max): value, low, high.
    sigma2 : ndarray (G,)
        sigma2 at the decision time (0 with ``fluctuations=False``).
    quantile_levels : tuple of float
    quantiles : ndarray (G, Q)
        Escape-time quantiles among the successful runs (NaN where P = 0).
    quantile_interval : ndarray (G, Q, 2)
        Their range over the decision time (sigma2 read from min(tau/4, 1) to tau instead of
        at tau/2).
    fluctuations : bool
    escape_map : EscapeTimeMap
        The theory the prediction rests on.
    """

    grid: np.ndarray
    n: int
    t_max: float
    start: str
    m0: float | None
    probability: np.ndarray
    probability_interval: np.ndarray
    critical_seed: np.ndarray
    sigma2: np.ndarray
    quantile_levels: tuple
    quantiles: np.ndarray
    quantile_interval: np.ndarray
    fluctuations: bool
    escape_map: EscapeTimeMap = field(repr=False)

    def __repr__(self) -> str:
        cells = ", ".join(f"{x:g}: {p:.3f} [{lo:.3f}, {hi:.3f}]" for x, p, (lo, hi) in zip(
            self.grid, self.probability, self.probability_interval, strict=True))
        return (f"SuccessPrediction(N={self.n}, t_max={self.t_max:g}, {self.start} start"
                f"{'' if self.fluctuations else ', no fluctuations'}; P(success) at {cells})")

    def to_dataframe(self):
        """One row per grid point: probability and its interval, the critical seed, sigma2 and
        the escape-time quantiles (``pandas.DataFrame``, index ``x``)."""
        pd = _tables.pandas()
        cols = {"probability": self.probability, "low": self.probability_interval[:, 0],
                "high": self.probability_interval[:, 1], "critical_seed": self.critical_seed[:, 0],
                "sigma2": self.sigma2}
        cols.update({f"escape_q{q:g}": self.quantiles[:, k]
                     for k, q in enumerate(self.quantile_levels)})
        return pd.DataFrame(cols, index=pd.Index(self.grid, name="x"))

    def residuals(self, successes, trials) -> np.ndarray:
        """(observed - predicted)/binomial standard error at each grid point; the standard
        error uses the predicted P, widened to the end of its interval nearest the
        observation (a point inside the interval has residual 0)."""
        k = np.asarray(successes, dtype=float)
        n = np.asarray(trials, dtype=float)
        obs = k / n
        lo, hi = self.probability_interval.T
        ref = np.clip(obs, lo, hi)
        se = np.sqrt(np.maximum(ref * (1 - ref), 1.0 / n) / n)
        return (obs - ref) / se


def _survival(u, mean, sd, even):
    """P(m_eff >= u) (+ P(m_eff <= -u) for even p), m_eff ~ N(mean, sd^2)."""
    s = norm.sf((u - mean) / sd)
    return s + norm.cdf((-u - mean) / sd) if even else s


def _point(emap, x, n, t_max, mean, even, fluctuations, levels, start):
    """probability, its interval, seed, sigma2 and quantiles at one grid x."""
    seed = emap.seed(x, t_max)
    tau_c = float(emap.tau_at(x, seed[0])) if seed[0] < emap.level else 0.0
    if not math.isfinite(tau_c):
        tau_c = t_max
    base = 1.0 if start == "random" else 0.0
    fr = _decision_times(max(tau_c, emap.times[1]))
    s2 = emap.variance(x, fr) if fluctuations else np.zeros(len(fr))
    sds = np.sqrt((base + s2) / n)
    # the map's window error moves the critical seed like a change of t_max
    i = emap._index(x)
    err = np.nanmax(np.append(emap.tau_error[i], 0.0))
    seeds = [seed[1], seed[2], emap.seed(x, min(t_max + err, emap.t_max))[1],
             emap.seed(x, t_max - err)[2] if t_max > err else emap.level]
    sd = sds[1]
    prob = float(_survival(seed[0], mean, sd, even)) if sd > 0 else float(mean >= seed[0])
    ends = [float(_survival(c, mean, s, even)) for c in seeds for s in sds if s > 0] or [prob]
    quant = np.full((len(fr), len(levels)), math.nan)
    if sd > 0 and prob > 0:
        def spread(u, f):  # sd of the effective seed of a run that escapes from u
            t_u = _decision_times(max(float(emap.tau_at(x, min(u, emap.level))),
                                      emap.times[1]))[f]
            s2_u = float(emap.variance(x, t_u)) if fluctuations else 0.0
            return math.sqrt((base + s2_u) / n)

        top = max(emap.level, mean) + 12 * sd
        for f in range(len(fr)):
            p_f = _survival(seed[0], mean, spread(seed[0], f), even)
            for k, q in enumerate(levels):
                # the effective seed u above which a fraction q of the successes escape
                target = q * p_f
                if _survival(top, mean, spread(top, f), even) >= target:
                    quant[f, k] = 0.0
                    continue
                u = brentq(lambda v, t=target, f=f: _survival(v, mean, spread(v, f), even) - t,
                           seed[0], top)
                quant[f, k] = float(emap.tau_at(x, min(u, emap.level)))
    bounds = np.stack([quant.min(axis=0), quant.max(axis=0)], axis=-1)
    return prob, (min(ends), max(ends)), seed, float(s2[1]), quant[1], bounds


def predict_success(model, grid, n: int, *, t_max: float, start: str = "random",
                    m0: float | None = None, level: float = 0.5, fluctuations: bool = True,
                    quantiles=(0.25, 0.5, 0.75), escape_map: EscapeTimeMap | None = None,
                    seeds=(1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3),
                    store: str | os.PathLike | None = None,
                    progress: bool = False) -> SuccessPrediction:
    """Predict finite-N success of gradient flow from the large-N theory (module docstring).

    Parameters
    ----------
    model : SpikedMatrixTensor
        The family (p, Delta_p); its own Delta2 is ignored, as in ``locate_critical_ratio``.
    grid : sequence of float
        x = 1/Delta2, increasing, where the signal's fixed point lies above ``level``.
    n : int
        System size N >= 2.
    t_max : float
        Time budget of each run (what ``success_point`` is given); at most the map's t_max.
    start : {"random", "warm"}
        m(0) = z/sqrt(N), or m(0) = ``m0`` (``simulate(start="warm")``).
    m0 : float, optional
        Initial overlap of a warm start, in (0, level).
    level : float
        Escape overlap (``success_point``'s ``escape_level``).
    fluctuations : bool
        Include the disorder's overlap fluctuations (sigma2); False: the plain m0 picture.
    quantiles : sequence of float
        Levels in (0, 1) of the escape-time quantiles among successful runs.
    escape_map : EscapeTimeMap, optional
        A map to reuse (its grid must contain ``grid``, its level equal ``level``); default:
        built by :func:`~saddlesurf.theory.spherical.escape_time_map` on ``grid`` with
        ``seeds`` and ``t_max``, cached in ``store``.
    seeds : sequence of float
        The map's m0 grid when it is built here.
    store : path, optional
        Cache of the map's DMFT runs.
    progress : bool

    Returns
    -------
    SuccessPrediction
    """
    if not isinstance(model, SpikedMatrixTensor):
        raise TypeError(f"model must be a SpikedMatrixTensor (the family p, delta_p), got "
                        f"{type(model).__name__}")
    if not (isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 2):
        raise ValueError(f"n must be an integer system size >= 2, got {n!r}")
    if start not in ("random", "warm"):
        raise ValueError(f"start must be 'random' or 'warm', got {start!r}")
    if start == "warm":
        if not (isinstance(m0, (int, float, np.floating)) and not isinstance(m0, bool)
                and 0 < m0 < level):
            raise ValueError(f"m0 must be an overlap in (0, level = {level:g}) for a warm "
                             f"start, got {m0!r}")
    elif m0 is not None:
        raise ValueError("m0 is only for start='warm' (a random start has m(0) = z/sqrt(N))")
    if not (isinstance(t_max, (int, float, np.floating)) and not isinstance(t_max, bool)
            and 0 < t_max < math.inf):
        raise ValueError(f"t_max must be a positive finite time, got {t_max!r}")
    levels = tuple(float(q) for q in quantiles)
    if not levels or not all(0 < q < 1 for q in levels):
        raise ValueError(f"quantiles must be levels in (0, 1), e.g. (0.25, 0.5, 0.75), got "
                         f"{quantiles!r}")
    if escape_map is None:
        escape_map = escape_time_map(model.p, model.delta_p, grid, seeds, level=level,
                                     t_max=t_max, store=store, progress=progress)
    elif not isinstance(escape_map, EscapeTimeMap):
        raise TypeError(f"escape_map must be an EscapeTimeMap, got {type(escape_map).__name__}")
    elif (escape_map.p, escape_map.delta_p, escape_map.level) != (
            model.p, model.delta_p, level) or escape_map.t_max < t_max:
        raise ValueError(
            f"escape_map is for p={escape_map.p}, delta_p={escape_map.delta_p:g}, level="
            f"{escape_map.level:g}, t_max={escape_map.t_max:g}; the prediction needs p="
            f"{model.p}, delta_p={model.delta_p:g}, level={level:g} and t_max >= {t_max:g}")
    xs = np.asarray(grid, dtype=float)
    for x in xs:
        escape_map._index(float(x))  # every point on the map's grid
    mean = 0.0 if start == "random" else float(m0)
    even = model.p % 2 == 0
    rows = [_point(escape_map, float(x), int(n), float(t_max), mean, even, fluctuations, levels,
                   start) for x in xs]
    return SuccessPrediction(
        grid=xs, n=int(n), t_max=float(t_max), start=start,
        m0=None if m0 is None else float(m0),
        probability=np.array([r[0] for r in rows]),
        probability_interval=np.array([r[1] for r in rows]),
        critical_seed=np.array([r[2] for r in rows]), sigma2=np.array([r[3] for r in rows]),
        quantile_levels=levels, quantiles=np.array([r[4] for r in rows]),
        quantile_interval=np.array([r[5] for r in rows]),
        fluctuations=bool(fluctuations), escape_map=escape_map)
