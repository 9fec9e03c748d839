"""Finite-size onsets x_c(N) of success curves that merge instead of crossing, and their
extrapolation to N -> inf.

From random starts the spiked success curves rise to a plateau A (1/2 for odd p: the starts
with m(0) < 0 end in spurious minima; 1 for even p) and do not cross (docs/sharp_bits.md). The
onset x_c(N) is where P reaches A/2: the centre c of the binomial maximum-likelihood fit
P(x) = A expit((x - c)/w) at each N, with a parametric bootstrap interval (successes redrawn
from Binomial(trials, observed fraction)). The escape time grows like ln N, so the onsets
approach the large-N threshold like a power of 1/ln N [S6]: x_c(N) = x_inf + b (ln N)^-k is
fitted for k = 1/2, 1 and 2, each with its bootstrap interval, and the interval of x_inf is
the envelope of the three (the fit form is its largest part).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit

from .._seeding import root_seed
from .finite_size import _interval, counts

__all__ = ["onsets", "FORMS"]

#: exponents k of the extrapolation forms x_inf + b (ln N)^-k; the first is the central one
FORMS = (1.0, 0.5, 2.0)


def _fit_centre(x, k, n, plateau, start):
    """(c, w) of P = plateau expit((x - c)/w) by binomial maximum likelihood (w within
    [1e-3, 10] grid spans, c within one span of the grid)."""
    span = float(x.max() - x.min()) or 1.0
    eps = 1e-12

    def nll(theta):
        p = np.clip(plateau * expit((x - theta[0]) / math.exp(theta[1])), eps, 1 - eps)
        return -float(np.sum(k * np.log(p) + (n - k) * np.log1p(-p)))

    bounds = [(x.min() - span, x.max() + span), (math.log(1e-3 * span), math.log(10 * span))]
    x0 = [min(max(start[0], bounds[0][0]), bounds[0][1]),
          min(max(math.log(start[1]), bounds[1][0]), bounds[1][1])]
    res = minimize(nll, x0, method="L-BFGS-B", bounds=bounds)
    return float(res.x[0]), float(math.exp(res.x[1]))


def _extrapolate(sizes, values, weights, k):
    """(x_inf, b) of the weighted least-squares fit values = x_inf + b (ln N)^-k (NaN if < 2
    finite values)."""
    ok = np.isfinite(values) & np.isfinite(weights)
    if ok.sum() < 2:
        return math.nan, math.nan
    f = np.log(sizes[ok]) ** -k
    w = np.sqrt(weights[ok])
    design = np.column_stack([np.ones(f.size), f]) * w[:, None]
    coef, *_ = np.linalg.lstsq(design, values[ok] * w, rcond=None)
    return float(coef[0]), float(coef[1])


def onsets(sizes, grid, successes, trials, *, plateau: float, n_boot: int = 400,
           confidence: float = 0.95, rng=0) -> dict:
    """Onsets x_c(N) (where P reaches plateau/2) and their extrapolation to N -> inf.

    Parameters
    ----------
    sizes : sequence of int (K,), K >= 2, increasing
    grid : sequence of float (G,), G >= 3, increasing
    successes, trials : array-like (K, G) of int
    plateau : float
        The large-x success probability A in (0, 1] (1/2 for odd p from random starts).
    n_boot : int
        Bootstrap replicas (>= 20).
    confidence : float
    rng : int or SeedSequence

    Returns
    -------
    dict
        sizes, x_c (K,), low, high (K,), sigma (K,) (bootstrap standard deviation);
        forms {k: {"x_inf", "b", "low", "high"}} for each exponent of ``FORMS``; x_inf, low, high:
        the central form with the envelope of all; seed_entropy.
    """
    sizes, grid, successes, trials = counts(sizes, grid, successes, trials)
    if not 0 < plateau <= 1:
        raise ValueError(f"plateau must be a probability in (0, 1], got {plateau!r}")
    if not (isinstance(n_boot, int) and n_boot >= 20):
        raise ValueError(f"n_boot must be an integer >= 20 (the intervals are bootstrap "
                         f"percentiles), got {n_boot!r}")
    span = float(grid[-1] - grid[0])
    starts = [(float(grid[np.argmin(np.abs(k / n - plateau / 2))]), span / 4)
              for k, n in zip(successes, trials, strict=True)]
    x_c = np.array([_fit_centre(grid, k, n, plateau, s)[0]
                    for k, n, s in zip(successes, trials, starts, strict=True)])
    root = root_seed(rng)
    gen = np.random.default_rng(root)
    boot = np.empty((n_boot, sizes.size))
    frac = successes / trials
    for b in range(n_boot):
        k = gen.binomial(trials, frac)
        boot[b] = [_fit_centre(grid, kk, n, plateau, (c, span / 4))[0]
                   for kk, n, c in zip(k, trials, x_c, strict=True)]
    sigma = np.std(boot, axis=0, ddof=1)
    weights = 1.0 / np.maximum(sigma, 1e-3 * span) ** 2
    intervals = np.array([_interval(boot[:, i], confidence) for i in range(sizes.size)])
    forms = {}
    for k in FORMS:
        reps = np.array([_extrapolate(sizes, row, weights, k)[0] for row in boot])
        lo, hi = _interval(reps, confidence)
        x_inf, b = _extrapolate(sizes, x_c, weights, k)
        forms[k] = {"x_inf": x_inf, "b": b, "low": lo, "high": hi}
    central = forms[FORMS[0]]
    return {"sizes": sizes.astype(int).tolist(), "x_c": x_c.tolist(),
            "low": intervals[:, 0].tolist(), "high": intervals[:, 1].tolist(),
            "sigma": sigma.tolist(), "plateau": float(plateau), "forms": forms,
            "x_inf": central["x_inf"],
            "low_inf": min(f["low"] for f in forms.values()),
            "high_inf": max(f["high"] for f in forms.values()),
            "confidence": float(confidence), "n_boot": n_boot,
            "seed_entropy": str(root.entropy)}
