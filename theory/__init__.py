"""Large-N theory: models, DMFT (CHSCK) dynamics, Kac-Rice complexity and thresholds.

Equation tags ([S3.1], ...) refer to ``shared/spec/spiked_matrix_tensor.md``.
"""

from .dmft import DMFTOptions, DMFTResult, IntegrationError, TwoTimeFunction, solve_dmft
from .fixed_points import FixedPoint, gradient_flow_fixed_point, nishimori_fixed_point
from .kac_rice import ComplexityResult, complexity, minimum_mu
from .models import MixedSpherical, SphericalModel, SpikedMatrixTensor
from .spiked_thresholds import SpikedThresholds, thresholds
from .threshold_states import HessianSpectrum, ThresholdState, hessian_spectrum, threshold_state

__all__ = [
    "SpikedMatrixTensor", "MixedSpherical", "SphericalModel",
    "solve_dmft", "DMFTOptions", "DMFTResult", "TwoTimeFunction", "IntegrationError",
    "complexity", "ComplexityResult", "minimum_mu",
    "thresholds", "SpikedThresholds",
    "threshold_state", "ThresholdState", "hessian_spectrum", "HessianSpectrum",
    "gradient_flow_fixed_point", "nishimori_fixed_point", "FixedPoint",
]
