"""The layer's model-generic verbs: one ``solve_dmft`` and one ``thresholds`` for both models.

Each forwards to the implementation for the model's type; see the linked functions for the
full parameter lists.
"""

from __future__ import annotations

from .phase_retrieval.dmft import solve_pr_dmft
from .phase_retrieval.losses import Loss
from .phase_retrieval.model import PhaseRetrieval
from .phase_retrieval.thresholds import pr_thresholds
from .spherical.dmft import solve_dmft as solve_spherical_dmft
from .spherical.thresholds import thresholds as spiked_thresholds

__all__ = ["solve_dmft", "thresholds"]


def solve_dmft(model, t_max: float, **kwargs):
    """Large-N dynamics of either model.

    Parameters
    ----------
    model : SpikedMatrixTensor, MixedSpherical or PhaseRetrieval
    t_max : float
        Final time (units of dx/dt = -grad L - lambda x).
    **kwargs
        Spherical models: see :func:`saddlesurf.theory.spherical.solve_dmft` (fixed-grid
        CHSCK equations [S3.1]-[S3.2]; ``m0`` in (0, 1) required). Phase retrieval: see
        :func:`saddlesurf.theory.phase_retrieval.solve_pr_dmft` (effective-process DMFT [P6];
        ``m0`` in [0, 1), ``temperature``, ``batch_fraction``/``persistence``, ``options``,
        ``rng``).

    Returns
    -------
    DMFTResult or PRDMFTResult
    """
    if isinstance(model, PhaseRetrieval):
        return solve_pr_dmft(model, t_max, **kwargs)
    return solve_spherical_dmft(model, t_max, **kwargs)


def thresholds(model_or_p, *args, **kwargs):
    """Thresholds of either model.

    Parameters
    ----------
    model_or_p : SpikedMatrixTensor, int, PhaseRetrieval or Loss
        Spiked matrix-tensor model or its order p (then ``delta_p``): lines of 1/Delta2, see
        :func:`saddlesurf.theory.spherical.thresholds.thresholds`. Phase retrieval or a loss:
        values of alpha (it, amp_weak, amp, spectral, bbp_init), see
        :func:`saddlesurf.theory.phase_retrieval.thresholds.pr_thresholds`.

    Returns
    -------
    SpikedThresholds or PRThresholds
    """
    if isinstance(model_or_p, PhaseRetrieval | Loss):
        return pr_thresholds(model_or_p, *args, **kwargs)
    return spiked_thresholds(model_or_p, *args, **kwargs)
