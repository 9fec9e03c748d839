"""Large-N theory: models, DMFT (CHSCK and effective-process) dynamics, Kac-Rice complexity,
Hessian spectra and thresholds of both models.

Equation tags refer to ``shared/spec/spiked_matrix_tensor.md`` ([S3.1], ...) and
``shared/spec/phase_retrieval.md`` ([P2.1], ...).
"""

from .dispatch import solve_dmft, thresholds
from .dmft import AccuracyWarning, DMFTOptions, DMFTResult, IntegrationError, TwoTimeFunction
from .fixed_points import FixedPoint, gradient_flow_fixed_point, nishimori_fixed_point
from .glm_spectrum import GLMSpectrum, JointLaw, bbp_ratio, glm_spectrum, initial_law, state_law
from .kac_rice import ComplexityResult, complexity, minimum_mu
from .losses import BoundedLoss, CustomLoss, Loss, RegularisedLoss, SquareLoss
from .models import MixedSpherical, SphericalModel, SpikedMatrixTensor
from .phase_retrieval import PhaseRetrieval
from .pr_critical import CriticalRatio, critical_ratio
from .pr_dmft import DMFTConvergenceError, PRDMFTOptions, PRDMFTResult
from .pr_thresholds import (
    PRThresholds,
    amp_state_evolution,
    optimal_preprocessing,
    spectral_law,
    spectral_threshold,
)
from .relaxation import RelaxationTimeFit, fit_relaxation_times, relaxation_time_fit
from .spiked_thresholds import SpikedThresholds
from .threshold_states import HessianSpectrum, ThresholdState, hessian_spectrum, threshold_state

__all__ = [
    "SpikedMatrixTensor", "MixedSpherical", "SphericalModel",
    "PhaseRetrieval", "Loss", "SquareLoss", "RegularisedLoss", "BoundedLoss", "CustomLoss",
    "solve_dmft", "DMFTOptions", "DMFTResult", "TwoTimeFunction", "IntegrationError",
    "AccuracyWarning",
    "PRDMFTOptions", "PRDMFTResult", "DMFTConvergenceError",
    "complexity", "ComplexityResult", "minimum_mu",
    "thresholds", "SpikedThresholds", "PRThresholds",
    "threshold_state", "ThresholdState", "hessian_spectrum", "HessianSpectrum",
    "gradient_flow_fixed_point", "nishimori_fixed_point", "FixedPoint",
    "JointLaw", "GLMSpectrum", "glm_spectrum", "bbp_ratio", "initial_law", "state_law",
    "amp_state_evolution", "optimal_preprocessing", "spectral_law", "spectral_threshold",
    "critical_ratio", "CriticalRatio",
    "relaxation_time_fit", "fit_relaxation_times", "RelaxationTimeFit",
]
