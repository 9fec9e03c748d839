"""Theory against simulation: overlays with residuals in SEM units, the critical ratio of
gradient flow by three methods, success-probability curves and their large-N prediction,
parameter sweeps (local or Dask)
and the figures of the docs gallery.

Equation tags ([S..], [P..]) are defined in ``docs/equations``.
"""

from .critical import METHODS, CriticalRatioReport, Estimate, locate_critical_ratio
from .finite_size import SuccessCurves, success_curves
from .overlay import OBSERVABLES, Overlay, overlay
from .points import point_model, success_point
from .prediction import SuccessPrediction, predict_success
from .sweep import SweepResult, sweep

__all__ = ["overlay", "Overlay", "OBSERVABLES",
           "locate_critical_ratio", "CriticalRatioReport", "Estimate", "METHODS",
           "success_curves", "SuccessCurves", "success_point", "point_model",
           "predict_success", "SuccessPrediction",
           "sweep", "SweepResult"]
