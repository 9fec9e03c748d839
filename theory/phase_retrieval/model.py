"""The phase-retrieval model [P1]: M = alpha N Gaussian measurements of a spherical signal.

Reference normalization [P1]: |x*|^2 = N, a_mu ~ N(0, I_N), h*_mu = a_mu.x*/sqrt(N), labels
y_mu = (h*_mu)^2 (+ optional Gaussian label noise of variance ``label_noise``), student on the
sphere |x|^2 = N with h_mu = a_mu.x/sqrt(N); energy L(x) = sum_mu l(h_mu; y_mu), e = L/N, time in
units of dx/dt = -grad L - lambda x [P3.1]. A paper writing kappa sum_mu l has t_ref = t/kappa
[P1.4].
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..._validate import real
from .losses import Loss, RegularisedLoss, loss_from_dict

__all__ = ["PhaseRetrieval"]


@dataclass(frozen=True)
class PhaseRetrieval:
    """Real phase retrieval from M = alpha N random Gaussian measurements [P1].

    Parameters
    ----------
    alpha : float
        Sample ratio M/N > 0.
    loss : Loss
        l(h; y) [P2]; default the regularised loss l_a with a = 0.01 [P2.2].
    label_noise : float
        Variance Delta >= 0 of additive Gaussian noise on the labels (0: noiseless [P1]).
    success_overlap : float
        |m| at or above which a run counts as a success [P1] (default 0.95).
    """

    alpha: float
    loss: Loss = field(default_factory=RegularisedLoss)
    label_noise: float = 0.0
    success_overlap: float = 0.95

    def __post_init__(self):
        object.__setattr__(self, "alpha", real(self.alpha, "alpha = M/N", low=0.0, hint="4.0"))
        if not isinstance(self.loss, Loss):
            raise TypeError(f"loss must be a saddlesurf Loss (e.g. RegularisedLoss(a=0.01)), "
                            f"got {type(self.loss).__name__}")
        noise = float(self.label_noise)
        if not math.isfinite(noise) or noise < 0:
            raise ValueError(
                f"label_noise must be a finite variance >= 0, got {self.label_noise!r}")
        object.__setattr__(self, "label_noise", noise)
        level = float(self.success_overlap)
        if not 0 < level <= 1:
            raise ValueError(f"success_overlap must lie in (0, 1], got {self.success_overlap!r}")
        object.__setattr__(self, "success_overlap", level)

    def n_measurements(self, n: int) -> int:
        """M = round(alpha N) for a system of size N (at least 1)."""
        return max(1, int(round(self.alpha * n)))

    def to_dict(self) -> dict:
        return {"type": "PhaseRetrieval", "alpha": self.alpha, "loss": self.loss.to_dict(),
                "label_noise": self.label_noise, "success_overlap": self.success_overlap}

    @classmethod
    def from_dict(cls, d: dict) -> PhaseRetrieval:
        """Rebuild from :meth:`to_dict` (a custom loss must be passed again by the caller)."""
        loss = loss_from_dict(d["loss"])
        if isinstance(loss, dict):
            raise ValueError(f"the loss {loss.get('name')!r} is user-defined: rebuild it and "
                             "pass PhaseRetrieval(alpha, loss=...) yourself")
        return cls(d["alpha"], loss, d.get("label_noise", 0.0), d.get("success_overlap", 0.95))
