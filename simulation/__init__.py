"""Finite-N simulation of both models: seeded ensembles of gradient flow, gradient descent,
persistent SGD and Langevin runs, with Hessian spectra.

Equation tags ([S..], [P..]) are defined in ``docs/equations``.
"""

from .ensemble import simulate
from .options import (
    ArmijoGradientDescent,
    GradientDescent,
    GradientFlow,
    Langevin,
    PersistentSGD,
    SimulationOptions,
)
from .result import SimulationError, SimulationResult, wilson_interval

__all__ = ["simulate", "SimulationResult", "SimulationError", "SimulationOptions",
           "GradientFlow", "GradientDescent", "ArmijoGradientDescent", "PersistentSGD",
           "Langevin", "wilson_interval"]
