"""Large-N theory: models, DMFT (CHSCK) dynamics, Kac-Rice complexity and thresholds.

Equation tags refer to ``shared/spec/spiked_matrix_tensor.md`` ([S3.1], ...) and
``shared/spec/phase_retrieval.md`` ([P2.1], ...).
"""

from .dmft import DMFTOptions, DMFTResult, IntegrationError, TwoTimeFunction, solve_dmft
from .fixed_points import FixedPoint, gradient_flow_fixed_point, nishimori_fixed_point
from .kac_rice import ComplexityResult, complexity, minimum_mu
from .losses import BoundedLoss, CustomLoss, Loss, RegularisedLoss, SquareLoss
from .models import MixedSpherical, SphericalModel, SpikedMatrixTensor
from .phase_retrieval import PhaseRetrieval
from .spiked_thresholds import SpikedThresholds, thresholds
from .threshold_states import HessianSpectrum, ThresholdState, hessian_spectrum, threshold_state

__all__ = [
    "SpikedMatrixTensor", "MixedSpherical", "SphericalModel",
    "PhaseRetrieval", "Loss", "SquareLoss", "RegularisedLoss", "BoundedLoss", "CustomLoss",
    "solve_dmft", "DMFTOptions", "DMFTResult", "TwoTimeFunction", "IntegrationError",
    "complexity", "ComplexityResult", "minimum_mu",
    "thresholds", "SpikedThresholds",
    "threshold_state", "ThresholdState", "hessian_spectrum", "HessianSpectrum",
    "gradient_flow_fixed_point", "nishimori_fixed_point", "FixedPoint",
]
