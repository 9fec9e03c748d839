"""Large-N theory of both models, one subpackage each:

- :mod:`saddlesurf.theory.spherical`: spiked matrix-tensor and mixed spherical models (CHSCK
  DMFT, Kac-Rice complexity, threshold states, BBP and phase-diagram lines) [S1]-[S5];
- :mod:`saddlesurf.theory.phase_retrieval`: phase retrieval (losses, Hessian spectra and BBP,
  thresholds, alpha_c, effective-process DMFT) [P1]-[P6].

Shared here: ``dispatch`` (one ``solve_dmft`` and one ``thresholds`` for both models),
``errors`` (``IntegrationError``, ``AccuracyWarning``), ``quadrature`` (Gaussian rules) and
``figures``. The two subpackages never import each other.

Equation tags ([S3.1], [P2.1], ...) are explained in ``docs/theory.md`` and
``docs/phase_retrieval.md``.
"""

from .dispatch import solve_dmft, thresholds
from .errors import AccuracyWarning, IntegrationError
from .phase_retrieval import (
    BoundedLoss,
    CriticalRatio,
    CustomLoss,
    DMFTConvergenceError,
    GLMSpectrum,
    JointLaw,
    Loss,
    PhaseRetrieval,
    PRDMFTOptions,
    PRDMFTResult,
    PRThresholds,
    RegularisedLoss,
    SquareLoss,
    amp_state_evolution,
    bbp_ratio,
    critical_ratio,
    glm_spectrum,
    initial_law,
    optimal_preprocessing,
    spectral_law,
    spectral_threshold,
    state_law,
)
from .spherical import (
    ComplexityResult,
    DMFTOptions,
    DMFTResult,
    EscapeTimeMap,
    FixedPoint,
    HessianSpectrum,
    MixedSpherical,
    RelaxationRateFit,
    RelaxationTimeFit,
    SphericalModel,
    SpikedMatrixTensor,
    SpikedThresholds,
    ThresholdState,
    TwoTimeFunction,
    complexity,
    escape_time_map,
    fit_relaxation_times,
    gradient_flow_fixed_point,
    hessian_spectrum,
    minimum_mu,
    nishimori_fixed_point,
    relaxation_time_fit,
    threshold_state,
)

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
    "relaxation_time_fit", "fit_relaxation_times", "RelaxationTimeFit", "RelaxationRateFit",
    "escape_time_map", "EscapeTimeMap",
]
