"""Phase retrieval: M = alpha N Gaussian measurements y = (a.x*)^2 / N, square-type losses.

Map (module: what it holds, by equation tag; tags resolve in ``docs/phase_retrieval.md``):

- ``model``: ``PhaseRetrieval`` (alpha, loss, normalization of the loss sum) [P1], [P1.4].
- ``losses``: square, regularised and bounded losses and ``CustomLoss`` [P2.1]-[P2.3];
  ``_loss_kernels`` holds their numba triples (l, l', l''), shared with the simulator.
- ``spectrum``: the Hessian spectrum of a state from the joint law of (h, h*), its lower edge and
  the BBP outlier [P4.1]-[P4.4], spectral methods [P4.6]; ``_spectrum_kernels``.
- ``thresholds``: alpha of the information-theoretic, AMP, spectral and BBP-at-initialisation
  lines [P4.4], [P5].
- ``critical``: the critical ratio alpha_c from threshold states, by route (a) or (b) [P4.5].
- ``dmft``: the effective-process DMFT of gradient flow, persistent SGD and Langevin [P6];
  ``_dmft_kernels``.
"""

from .critical import CriticalRatio, critical_ratio
from .dmft import DMFTConvergenceError, PRDMFTOptions, PRDMFTResult, solve_pr_dmft
from .losses import BoundedLoss, CustomLoss, Loss, RegularisedLoss, SquareLoss
from .model import PhaseRetrieval
from .spectrum import GLMSpectrum, JointLaw, bbp_ratio, glm_spectrum, initial_law, state_law
from .thresholds import (
    PRThresholds,
    amp_state_evolution,
    optimal_preprocessing,
    pr_thresholds,
    spectral_law,
    spectral_threshold,
)

__all__ = [
    "PhaseRetrieval", "Loss", "SquareLoss", "RegularisedLoss", "BoundedLoss", "CustomLoss",
    "solve_pr_dmft", "PRDMFTOptions", "PRDMFTResult", "DMFTConvergenceError",
    "pr_thresholds", "PRThresholds",
    "JointLaw", "GLMSpectrum", "glm_spectrum", "bbp_ratio", "initial_law", "state_law",
    "amp_state_evolution", "optimal_preprocessing", "spectral_law", "spectral_threshold",
    "critical_ratio", "CriticalRatio",
]
