"""Success-probability curves P(success; x, N) at several N and their finite-size crossings.

Each size gets a binomial maximum-likelihood logistic fit P(x) = 1/(1 + exp(-(x - c_N)/w_N))
(centre and width, for plots and the drift of the centres). Two sizes cross where the difference
of their success fractions D(x) = P_j(x) - P_i(x) changes sign: D is fitted by weighted least
squares with a straight line over the grid (weights 1/var, fractions smoothed as (k + 1/2)/(n + 1)),
which does not assume that the curves go from 0 to 1 (at small N gradient flow escapes by
fluctuations, so P stays well above 0 below the threshold). Intervals come from a bootstrap over
samples (successes redrawn from Binomial(trials, observed fraction) at every point), and the drift
of the crossings with N is extrapolated with a 1/N and a 1/ln N form, both reported since
logarithmic finite-size corrections are expected [P8], [S6].
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, log_expit

from .._seeding import root_seed
from .._validate import integer

__all__ = ["SuccessCurves", "success_curves", "RESOLVED_Z"]

#: A crossing is resolved when the larger size is significantly below the smaller one on the
#: grid points under it and significantly above on those over it: pooled z <= -RESOLVED_Z
#: below and >= +RESOLVED_Z above. Curves that merge (or run parallel) are not crossings.
RESOLVED_Z = 2.0


@dataclass(frozen=True)
class SuccessCurves:
    """Success probabilities on a grid of x (1/Delta2 or alpha) at several sizes N.

    Attributes
    ----------
    sizes : ndarray (K,)
        System sizes N, increasing.
    grid : ndarray (G,)
        Control parameter x (success increases with x).
    successes, trials : ndarray (K, G) of int
    centre, width : ndarray (K,)
        Logistic fit per size: P = 1/2 at x = centre, slope 1/(4 width).
    centre_interval : ndarray (K, 2)
    crossings : list of dict
        For each consecutive pair: n1, n2, n_eff = sqrt(n1 n2), value, low, high: the zero of
        the straight-line fit of P_n2 - P_n1 (NaN when it does not rise with x or its zero lies
        more than one grid span outside the grid); z_below, z_above: the observed P_n2 - P_n1
        in standard errors, pooled (sum z_i / sqrt(count)) over the grid points below and above
        that zero; resolved: z_below <= -RESOLVED_Z and z_above >= RESOLVED_Z. An unresolved
        zero is where a straight line through merging or parallel curves happens to vanish,
        not a crossing.
    estimate : dict
        The crossing of the two largest sizes (its entry of ``crossings``).
    extrapolation : dict
        {"1/N": {...}, "1/log N": {...}}: x_inf, low, high of x_cross(N_eff) = x_inf + b f(N_eff)
        fitted to the crossings (needs >= 3 sizes; exact with 3).
    confidence, n_boot : float, int
    seed_entropy : str
        Root of the bootstrap stream.
    """

    sizes: np.ndarray
    grid: np.ndarray
    successes: np.ndarray
    trials: np.ndarray
    centre: np.ndarray
    width: np.ndarray
    centre_interval: np.ndarray
    crossings: list
    estimate: dict
    extrapolation: dict = field(default_factory=dict)
    confidence: float = 0.95
    n_boot: int = 0
    seed_entropy: str = ""

    def probability(self, k: int, x) -> np.ndarray:
        """Fitted P(success) of size index ``k`` at x."""
        return expit((np.asarray(x, dtype=float) - self.centre[k]) / self.width[k])

    @property
    def fraction(self) -> np.ndarray:
        """Observed success fractions (K, G)."""
        return self.successes / np.maximum(self.trials, 1)

    def __repr__(self) -> str:
        e = self.estimate
        ext = ", ".join(f"{k}: {v['x_inf']:.4g} [{v['low']:.4g}, {v['high']:.4g}]"
                        for k, v in self.extrapolation.items())
        flag = "" if e["resolved"] else " (not resolved: the curves do not cross)"
        return (f"SuccessCurves(N = {self.sizes.tolist()}, {self.grid.size} points in "
                f"[{self.grid.min():g}, {self.grid.max():g}]; crossing of the two largest N: "
                f"{e['value']:.4g} [{e['low']:.4g}, {e['high']:.4g}]{flag}"
                + (f"; extrapolated {ext}" if ext else "") + ")")

    def to_dict(self) -> dict:
        """JSON-ready form (for figure data and reports)."""
        return {"sizes": self.sizes.tolist(), "grid": self.grid.tolist(),
                "successes": self.successes.tolist(), "trials": self.trials.tolist(),
                "centre": self.centre.tolist(), "width": self.width.tolist(),
                "centre_interval": self.centre_interval.tolist(), "crossings": self.crossings,
                "estimate": self.estimate, "extrapolation": self.extrapolation,
                "confidence": self.confidence, "n_boot": self.n_boot,
                "seed_entropy": self.seed_entropy}


def _fit(x: np.ndarray, k: np.ndarray, n: np.ndarray, start) -> tuple[float, float]:
    """Binomial ML logistic fit (centre, width); width kept in [1e-3, 10] grid spans so that
    separable data (all 0 then all 1) give a steep but finite curve."""
    span = float(x.max() - x.min()) or 1.0

    def nll(theta):
        z = (x - theta[0]) / math.exp(theta[1])
        return -float(np.sum(k * log_expit(z) + (n - k) * log_expit(-z)))

    bounds = [(x.min() - span, x.max() + span), (math.log(1e-3 * span), math.log(10 * span))]
    x0 = [min(max(start[0], bounds[0][0]), bounds[0][1]),
          min(max(math.log(start[1]), bounds[1][0]), bounds[1][1])]
    res = minimize(nll, x0, method="L-BFGS-B", bounds=bounds)
    return float(res.x[0]), float(math.exp(res.x[1]))


def _difference(k1, n1, k2, n2) -> tuple[np.ndarray, np.ndarray]:
    """P2 - P1 at each grid point and its standard error (fractions smoothed as
    (k + 1/2)/(n + 1))."""
    p1, p2 = (k1 + 0.5) / (n1 + 1), (k2 + 0.5) / (n2 + 1)
    return p2 - p1, np.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)


def _sides(grid, z, x) -> tuple[float, float]:
    """Pooled z = sum(z_i)/sqrt(count) of the grid points below and above x (NaN if none)."""
    below, above = z[grid < x], z[grid > x]
    return tuple(float(s.sum() / math.sqrt(s.size)) if s.size else math.nan
                 for s in (below, above))


def _crossing(grid, k1, n1, k2, n2) -> float:
    """Zero of the weighted straight-line fit of P2(x) - P1(x); NaN if it does not rise."""
    d, sd = _difference(k1, n1, k2, n2)
    w = 1.0 / sd
    design = np.column_stack([np.ones(grid.size), grid]) * w[:, None]
    (b0, b1), *_ = np.linalg.lstsq(design, d * w, rcond=None)
    span = float(grid[-1] - grid[0])
    x = -b0 / b1 if b1 > 0 else math.nan
    return x if grid[0] - span <= x <= grid[-1] + span else math.nan


def _extrapolate(n_eff: np.ndarray, values: np.ndarray, form: str) -> float:
    """x_inf of a least-squares fit x = x_inf + b f(N), f = 1/N or 1/ln N."""
    ok = np.isfinite(values)
    if ok.sum() < 2:
        return math.nan
    f = 1.0 / n_eff[ok] if form == "1/N" else 1.0 / np.log(n_eff[ok])
    design = np.column_stack([np.ones(f.size), f])
    coef, *_ = np.linalg.lstsq(design, values[ok], rcond=None)
    return float(coef[0])


def _analyse(grid, successes, trials, starts):
    fits = [_fit(grid, k, n, s) for k, n, s in zip(successes, trials, starts, strict=True)]
    c = np.array([f[0] for f in fits])
    w = np.array([f[1] for f in fits])
    cross = np.array([_crossing(grid, successes[i], trials[i], successes[i + 1], trials[i + 1])
                      for i in range(c.size - 1)])
    return c, w, cross


def counts(sizes, grid, successes, trials):
    """The arrays of a set of success curves, checked: sizes (K,) and grid (G,) increasing,
    successes and trials (K, G) integer counts."""
    sizes = np.asarray(sizes, dtype=float)
    grid = np.asarray(grid, dtype=float)
    successes = np.asarray(successes, dtype=np.int64)
    trials = np.asarray(trials, dtype=np.int64)
    if sizes.ndim != 1 or sizes.size < 2 or np.any(np.diff(sizes) <= 0) or sizes[0] < 2:
        raise ValueError(f"sizes must be >= 2 increasing system sizes N >= 2, got "
                         f"{sizes.tolist()}")
    if grid.ndim != 1 or grid.size < 3 or np.any(np.diff(grid) <= 0):
        raise ValueError(f"grid must hold >= 3 increasing values, got {grid.tolist()}")
    shape = (sizes.size, grid.size)
    if successes.shape != shape or trials.shape != shape:
        raise ValueError(f"successes and trials must have shape {shape} (sizes x grid), got "
                         f"{successes.shape} and {trials.shape}")
    if np.any(trials < 1) or np.any(successes < 0) or np.any(successes > trials):
        raise ValueError("every point needs trials >= 1 and 0 <= successes <= trials")
    return sizes, grid, successes, trials


def _interval(samples: np.ndarray, confidence: float) -> tuple[float, float]:
    ok = samples[np.isfinite(samples)]
    if ok.size < 2:
        return math.nan, math.nan
    q = (1 - confidence) / 2
    return float(np.quantile(ok, q)), float(np.quantile(ok, 1 - q))


def success_curves(sizes, grid, successes, trials, *, n_boot: int = 400, confidence: float = 0.95,
                   rng=0) -> SuccessCurves:
    """Fit success-probability curves at several N and locate their crossings.

    Parameters
    ----------
    sizes : sequence of int (K,)
        System sizes N (at least 2).
    grid : sequence of float (G,)
        Control parameter (1/Delta2 for the spiked model, alpha for phase retrieval), at least
        3 values; success must increase with it.
    successes, trials : array-like (K, G) of int
        Number of successful samples and of samples at each (N, x).
    n_boot : int
        Bootstrap replicas for the intervals (0: none, intervals NaN).
    confidence : float
        Level of the percentile intervals.
    rng : int, SeedSequence or Generator
        Bootstrap randomness (recorded).

    Returns
    -------
    SuccessCurves
    """
    sizes, grid, successes, trials = counts(sizes, grid, successes, trials)
    n_boot = integer(n_boot, "n_boot", low=0, hint="400 (0: no intervals)")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence!r}")
    span = float(grid[-1] - grid[0])
    starts = [(float(grid[np.argmin(np.abs(k / n - 0.5))]), span / 4)
              for k, n in zip(successes, trials, strict=True)]
    c, w, cross = _analyse(grid, successes, trials, starts)
    root = root_seed(rng)
    gen = np.random.default_rng(root)
    boot_c = np.full((max(n_boot, 0), sizes.size), math.nan)
    boot_x = np.full((max(n_boot, 0), cross.size), math.nan)
    frac = successes / trials
    warm = list(zip(c, w, strict=True))
    for b in range(max(n_boot, 0)):
        k = gen.binomial(trials, frac)
        boot_c[b], _, boot_x[b] = _analyse(grid, k, trials, warm)
    n_eff = np.sqrt(sizes[:-1] * sizes[1:])
    crossings = []
    for i in range(cross.size):
        lo, hi = _interval(boot_x[:, i], confidence)
        d, sd = _difference(successes[i], trials[i], successes[i + 1], trials[i + 1])
        z_below, z_above = _sides(grid, d / sd, cross[i])
        crossings.append({"n1": int(sizes[i]), "n2": int(sizes[i + 1]), "n_eff": float(n_eff[i]),
                          "value": float(cross[i]), "low": lo, "high": hi,
                          "z_below": z_below, "z_above": z_above,
                          "resolved": bool(z_below <= -RESOLVED_Z and z_above >= RESOLVED_Z)})
    extrapolation = {}
    if cross.size >= 2:
        for form in ("1/N", "1/log N"):
            boot = np.array([_extrapolate(n_eff, bx, form) for bx in boot_x])
            lo, hi = _interval(boot, confidence)
            extrapolation[form] = {"x_inf": _extrapolate(n_eff, cross, form), "low": lo,
                                   "high": hi}
    centre_interval = np.array([_interval(boot_c[:, k], confidence) for k in range(sizes.size)])
    return SuccessCurves(sizes, grid, successes, trials, c, w, centre_interval, crossings,
                         dict(crossings[-1]), extrapolation, float(confidence), int(n_boot),
                         str(root.entropy))
