"""saddlesurf: gradient dynamics in rough high-dimensional landscapes.

Three layers: :mod:`saddlesurf.theory` (exact large-N equations, Kac-Rice complexity,
thresholds), :mod:`saddlesurf.simulation` (finite-N simulator) and
:mod:`saddlesurf.comparison` (theory vs simulation, critical ratios, phase diagrams).
Equation tags such as [S3.1] refer to the model specifications listed in the docs.
"""

__version__ = "0.1.0"
