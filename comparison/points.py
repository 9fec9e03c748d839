"""Sweep-ready point functions: one (N, x) point of a success-probability curve."""

from __future__ import annotations

import math

import numpy as np

from ..simulation import GradientFlow, SimulationOptions, simulate
from ..theory.phase_retrieval.losses import BoundedLoss, RegularisedLoss, SquareLoss
from ..theory.phase_retrieval.model import PhaseRetrieval
from ..theory.spherical.models import SpikedMatrixTensor

__all__ = ["success_point", "point_model"]


def point_model(model: str, x: float, *, p: int = 3, delta_p: float = 1.0,
                loss: str = "regularised", a: float = 0.01):
    """The model at control parameter x: ``SpikedMatrixTensor(p, delta2=1/x, delta_p)`` for
    ``model="spiked"`` (x = 1/Delta2), ``PhaseRetrieval(alpha=x, loss)`` for ``model="pr"``."""
    if model == "spiked":
        if not x > 0:
            raise ValueError(f"x = 1/Delta2 must be positive, got {x!r}")
        return SpikedMatrixTensor(p=p, delta2=1.0 / x, delta_p=delta_p)
    if model == "pr":
        losses = {"regularised": lambda: RegularisedLoss(a), "square": SquareLoss,
                  "bounded": BoundedLoss}
        if loss not in losses:
            raise ValueError(f"loss must be one of {sorted(losses)}, got {loss!r}")
        return PhaseRetrieval(x, losses[loss]())
    raise ValueError(f"model must be 'spiked' or 'pr', got {model!r}")


def success_point(*, model: str, n: int, x: float, n_samples: int, t_max: float, rng,
                  p: int = 3, delta_p: float = 1.0, loss: str = "regularised", a: float = 0.01,
                  dt: float = 0.05, escape_level: float = 0.5, start: str = "random",
                  m0: float | None = None, workers: int | None = None) -> dict:
    """Gradient flow from random (or warm) starts at one (N, x): successes and escape times.

    Spiked model [S6]: Heun steps of ``dt``, each sample stopped when |m| reaches
    ``escape_level`` (success: it escaped the m = 0 threshold states within ``t_max`` toward
    the signal, i.e. with m > 0 for odd p, where the minima at negative m are spurious).
    Phase retrieval [P7]: the error-controlled flow (default "auto"), success
    |m| >= model.success_overlap at the end.

    Parameters
    ----------
    model : {"spiked", "pr"}
    n : int
        System size N.
    x : float
        1/Delta2 (spiked) or alpha = M/N (phase retrieval).
    n_samples : int
    t_max : float
        Time budget (theory units).
    rng : int, SeedSequence or Generator
        Root of the samples' streams.
    p, delta_p : spiked model; loss, a : phase-retrieval loss [P2].
    dt : float
        Spiked model: Heun step.
    escape_level : float
        |m| defining the escape time.
    start, m0 : str, float, optional
        ``simulate``'s start: "random" (default), or "warm" at overlap ``m0``.
    workers : int, optional
        Threads of :func:`~saddlesurf.simulation.simulate`.

    Returns
    -------
    dict
        successes, trials, success (S,) of bool, escape_time (S,), final_m (S,),
        median_escape (inf when fewer than half escaped).
    """
    mdl = point_model(model, x, p=p, delta_p=delta_p, loss=loss, a=a)
    if model == "spiked":
        algorithm = GradientFlow(dt=dt)
        options = SimulationOptions(n_times=2, stop_at_escape=True, escape_level=escape_level)
    else:
        algorithm = GradientFlow()
        options = SimulationOptions(n_times=2, escape_level=escape_level)
    res = simulate(mdl, int(n), t_max=float(t_max), n_samples=int(n_samples),
                   algorithm=algorithm, options=options, start=start, m0=m0, rng=rng,
                   workers=workers)
    esc = np.sort(res.escape_time)
    median = float(np.quantile(esc, 0.5, method="inverted_cdf"))
    return {"successes": int(np.sum(res.success)), "trials": int(res.n_samples),
            "success": np.asarray(res.success, dtype=bool), "escape_time": res.escape_time,
            "final_m": res.final_m,
            "median_escape": median if math.isfinite(median) else math.inf}
