"""Critical ratio alpha_c of gradient flow in phase retrieval from threshold states [P4.5].

alpha_c is where the states that gradient flow reaches from a random start (m = 0, bulk edge at
0) acquire a BBP outlier toward the signal: F(s_-) = 0 [P4.2] with the law of (h, h*) at those
states. The law depends on alpha, so the criterion is evaluated on a grid of alpha, each point
with its own states, and alpha_c is where the edge margin F(s_-) changes sign (linear
interpolation between the two bracketing grid points). Two sources of states [P4.5]:

(a) ``dmft``: DMFT solutions at m0 = 0 (the law of (h(t), h*) of the effective process at the
    stored ``law_times``; alpha_c is reported at every stored time, to show its trend in t);
(b) ``states``: end points of finite-N gradient flow with the signal projected out [P3.3]
    (the simulator's ``final_h``/``final_h_star``), pooled over samples and trimmed [P4.3].

Uncertainty: a bootstrap over paths (a) or samples (b), recomputing the crossing each time.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from .losses import Loss
from .model import PhaseRetrieval
from .spectrum import JointLaw, glm_spectrum, state_law

__all__ = ["CriticalRatio", "critical_ratio"]


@dataclass(frozen=True)
class CriticalRatio:
    """alpha_c of gradient flow [P4.5] with its uncertainty and provenance.

    Attributes
    ----------
    alpha_c : float
        Crossing of the edge margin F(s_-) through 0 (at the latest time for ``route="dmft"``).
    error : float
        Bootstrap standard error (NaN with ``n_boot = 0``).
    route : {"dmft", "simulation"}
    alphas, margins, margin_errors : ndarray
        The grid, F(s_-) there (outlier iff < 0) and its bootstrap error.
    trend : dict
        ``route="dmft"``: {"times": t, "alpha_c": alpha_c(t)}; empty otherwise.
    message : str
    """

    alpha_c: float
    error: float
    route: str
    alphas: np.ndarray
    margins: np.ndarray
    margin_errors: np.ndarray
    trend: dict = field(default_factory=dict)
    message: str = ""

    def __repr__(self) -> str:
        return (f"CriticalRatio(alpha_c={self.alpha_c:.5g} +- {self.error:.2g}, route="
                f"{self.route!r}, {self.alphas.size} alphas in [{self.alphas.min():g}, "
                f"{self.alphas.max():g}])")


def _crossing(alphas: np.ndarray, margins: np.ndarray) -> float:
    """alpha where the margin first turns negative (linear interpolation); NaN if never."""
    neg = np.flatnonzero(margins < 0)
    if not neg.size or neg[0] == 0:
        return math.nan
    i = neg[0]
    a0, a1, f0, f1 = alphas[i - 1], alphas[i], margins[i - 1], margins[i]
    return float(a0 + (a1 - a0) * f0 / (f0 - f1))


def _margin(law: JointLaw, alpha: float) -> float:
    return glm_spectrum(law, alpha).margin


def _analyse(alphas, laws, groups, n_boot, rng):
    """Margins, their bootstrap errors and the bootstrap crossings for laws on an alpha grid."""
    margins = np.array([_margin(law, a) for a, law in zip(alphas, laws, strict=True)])
    if n_boot <= 0:
        return margins, np.full(margins.shape, math.nan), np.array([])
    boot = np.array([[_margin(law.resample(rng, g), a)
                      for a, law, g in zip(alphas, laws, groups, strict=True)]
                     for _ in range(n_boot)])
    return margins, boot.std(axis=0, ddof=1), np.array([_crossing(alphas, b) for b in boot])


def critical_ratio(model: PhaseRetrieval | Loss, *, dmft: Sequence | None = None,
                   states: Mapping | None = None, route: str = "auto", trim: float = 1e-3,
                   n_boot: int = 100, rng=0) -> CriticalRatio:
    """Critical ratio alpha_c of gradient flow from threshold-like states [P4.5].

    Parameters
    ----------
    model : PhaseRetrieval or Loss
        The loss (alpha of a model is ignored: each state carries its own alpha).
    dmft : sequence of PRDMFTResult
        Route (a): DMFT solutions at m0 = 0 on a grid of alpha, solved with
        ``options.law_times``; the law at each stored time gives alpha_c(t).
    states : mapping alpha -> result or list of (h, h_star[, m])
        Route (b): end points of signal-projected gradient flow at each alpha, e.g. a
        ``SimulationResult`` run with ``start="projected"`` and ``keep_final_state=True``.
    route : {"auto", "dmft", "simulation"}
        "auto" uses the DMFT when given, else the states.
    trim : float
        Low-end trimming of g for empirical laws [P4.3].
    n_boot : int
        Bootstrap replicas for the error bar (0: none).
    rng : int, SeedSequence or Generator
        Bootstrap randomness.

    Returns
    -------
    CriticalRatio

    Raises
    ------
    ValueError
        When the margin does not change sign on the grid (the message lists the margins).
    """
    loss = model.loss if isinstance(model, PhaseRetrieval) else model
    if route == "auto":
        route = "dmft" if dmft else "simulation"
    if route not in ("dmft", "simulation"):
        raise ValueError(f"route must be 'auto', 'dmft' or 'simulation', got {route!r}")
    gen = np.random.default_rng(rng)
    if route == "dmft":
        if not dmft:
            raise ValueError("route 'dmft' needs DMFT results (m0 = 0, with options.law_times)")
        runs = sorted(dmft, key=lambda r: r.model.alpha)
        alphas = np.array([r.model.alpha for r in runs])
        if any(r.m0 != 0 for r in runs):
            raise ValueError("threshold states need DMFT runs from m0 = 0 [P4.5a]")
        times = runs[0].law_times
        if not len(times) or any(not np.array_equal(r.law_times, times) for r in runs):
            raise ValueError("every DMFT run needs the same non-empty options.law_times")
        pairs = [np.arange(r.h_star.size) // 2 for r in runs]  # antithetic pairs together
        trend = []
        for i, t in enumerate(times):  # bootstrap at the latest time only
            laws = [r.law(t, trim=trim) for r in runs]
            last = i == len(times) - 1
            margins, errors, boot = _analyse(alphas, laws, pairs, n_boot if last else 0, gen)
            trend.append(_crossing(alphas, margins))
        trend_d = {"times": np.asarray(times, dtype=float), "alpha_c": np.array(trend)}
    else:
        if not states:
            raise ValueError("route 'simulation' needs states: {alpha: SimulationResult or "
                             "[(h, h_star), ...]} from signal-projected gradient flow")
        items = sorted(states.items(), key=lambda kv: float(kv[0]))
        alphas = np.array([float(a) for a, _ in items])
        laws, groups = [], []
        for a, entry in zip(alphas, (e for _, e in items), strict=True):
            h, hs, m, grp = _pool(entry)
            laws.append(state_law(loss, h, hs, m=m, trim=trim,
                                  description=f"projected GF states, alpha = {a:g}"))
            groups.append(grp)
        margins, errors, boot = _analyse(alphas, laws, groups, n_boot, gen)
        trend_d = {}
    alpha_c = _crossing(alphas, margins)
    if not math.isfinite(alpha_c):
        raise ValueError(
            "the edge margin F(s_-) does not turn negative inside the alpha grid "
            f"(margins {np.array2string(margins, precision=4)} at alphas {alphas}); extend the "
            "grid to bracket alpha_c")
    ok = boot[np.isfinite(boot)] if boot.size else boot
    error = float(np.std(ok, ddof=1)) if ok.size > 1 else math.nan
    msg = (f"alpha_c from {route} states on {alphas.size} alphas, linear interpolation of "
           f"F(s_-); bootstrap of {n_boot} replicas ({boot.size - ok.size} without a crossing)")
    return CriticalRatio(alpha_c, error, route, alphas, margins, errors, trend_d, msg)


def _pool(entry):
    """(h, h*, m, sample label) pooled over samples from a SimulationResult or a list."""
    if hasattr(entry, "final_h"):
        if entry.final_h is None:
            raise ValueError("the simulation result has no final states: run with "
                             "SimulationOptions(keep_final_state=True)")
        items = [(entry.final_h[i], entry.final_h_star[i], entry.final_m[i])
                 for i in range(entry.final_h.shape[0])]
    else:
        items = [tuple(it) + ((0.0,) if len(it) == 2 else ()) for it in entry]
    h = np.concatenate([np.ravel(it[0]) for it in items])
    hs = np.concatenate([np.ravel(it[1]) for it in items])
    m = np.concatenate([np.full(np.size(it[0]), float(it[2])) for it in items])
    grp = np.concatenate([np.full(np.size(it[0]), i) for i, it in enumerate(items)])
    return h, hs, m, grp
