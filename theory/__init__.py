"""Large-N theory: models, DMFT (CHSCK) dynamics, Kac-Rice complexity and thresholds."""

from .dmft import DMFTOptions, DMFTResult, IntegrationError, TwoTimeFunction, solve_dmft
from .models import MixedSpherical, SphericalModel, SpikedMatrixTensor

__all__ = [
    "SpikedMatrixTensor", "MixedSpherical", "SphericalModel",
    "solve_dmft", "DMFTOptions", "DMFTResult", "TwoTimeFunction", "IntegrationError",
]
