"""Spherical models: the spiked matrix-tensor model and mixed spherical models.

Map (module: what it holds, by equation tag; tags resolve in ``docs/theory.md``):

- ``models``: ``SpikedMatrixTensor``, ``MixedSpherical``; the covariance Q(q) and its
  derivatives [S1.1].
- ``dmft``: ``solve_dmft`` on a fixed grid, the CHSCK equations [S3.1] with [S3.2];
  ``_dmft_kernels`` holds its numba loops.
- ``dmft_doubling``: the grid-doubling integrator for long times [S3.4]; ``_doubling_kernels``.
- ``fixed_points``: closed-form gradient-flow and Nishimori fixed points [S3.3], ML-AMP and
  Bayes-AMP iterations [S5.2]-[S5.3].
- ``kac_rice``: annealed complexity Sigma(m, eps, mu) and Sigma_min(m) [S4.1]-[S4.2].
- ``threshold_states``: threshold energy and Hessian spectrum with its BBP outlier
  [S4.2]-[S4.3].
- ``thresholds``: phase-diagram lines: 1/Delta2 of AMP, ML-AMP, gradient flow (BBP on threshold
  states) [S5.1], trivialisation [S4.4], information-theoretic [S5.3].
- ``escape``: ``escape_time_map``: DMFT escape times tau(x, m0) from a finite overlap and the
  finite-N overlap fluctuations of the linearised dynamics [S3.1], [S6].
- ``relaxation``: convergence times from the DMFT and the fit t_conv ~ (x - x_c)^-gamma [S5.1].
"""

from .dmft import DMFTOptions, DMFTResult, TwoTimeFunction, solve_dmft
from .escape import EscapeTimeMap, escape_time_map
from .fixed_points import FixedPoint, gradient_flow_fixed_point, nishimori_fixed_point
from .kac_rice import ComplexityResult, complexity, minimum_mu
from .models import MixedSpherical, SphericalModel, SpikedMatrixTensor
from .relaxation import (
    RelaxationRateFit,
    RelaxationTimeFit,
    fit_relaxation_times,
    relaxation_time_fit,
)
from .threshold_states import HessianSpectrum, ThresholdState, hessian_spectrum, threshold_state
from .thresholds import SpikedThresholds, thresholds

__all__ = [
    "SpikedMatrixTensor", "MixedSpherical", "SphericalModel",
    "solve_dmft", "DMFTOptions", "DMFTResult", "TwoTimeFunction",
    "complexity", "ComplexityResult", "minimum_mu",
    "thresholds", "SpikedThresholds",
    "threshold_state", "ThresholdState", "hessian_spectrum", "HessianSpectrum",
    "gradient_flow_fixed_point", "nishimori_fixed_point", "FixedPoint",
    "relaxation_time_fit", "fit_relaxation_times", "RelaxationTimeFit", "RelaxationRateFit",
    "escape_time_map", "EscapeTimeMap",
]
