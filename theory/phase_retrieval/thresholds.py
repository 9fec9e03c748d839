"""Reference thresholds of real phase retrieval [P4.4], [P4.6], [P5].

All values are sample ratios alpha = M/N in the normalization of [P1] (real signal). Every
expectation is a deterministic Gaussian quadrature (:mod:`.quadrature`), not Monte Carlo.

- ``it``: information-theoretic perfect recovery, alpha_IT = 1 (real; 2 for complex data) [P5].
- ``amp_weak``: Bayes-AMP weak recovery, the linear instability of q = 0, alpha = 1/2 [P5].
- ``amp``: Bayes-AMP perfect recovery from q0: state evolution q_{t+1} = f(q_t) reaches q -> 1 iff
  alpha > sup_{q0 <= q < 1} q / ((1 - q) E[g_out^2](q)) (f(q) > q <=> alpha E[g_out^2] > q/(1-q)).
- ``spectral``: top-outlier threshold of (1/M) sum T(y) a a^T, with the optimal preprocessing
  T(y) = (y - 1)/(y - 1 + sqrt(2 delta)) [P4.6].
- ``bbp_init``: initial-Hessian threshold of the loss [P4.4].
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar

from ..quadrature import gaussian_grid, gaussian_nodes
from .losses import Loss
from .model import PhaseRetrieval
from .spectrum import JointLaw, bbp_ratio, initial_law

__all__ = ["PRThresholds", "pr_thresholds", "amp_state_evolution", "amp_mse_rhs",
           "optimal_preprocessing", "spectral_law", "spectral_threshold", "PR_LINES"]

PR_LINES = ("it", "amp_weak", "amp", "spectral", "bbp_init")
ALPHA_IT_REAL = 1.0  # [P5]


def amp_mse_rhs(q: float, *, order: int = 8) -> float:
    """E[g_out^2] of Bayes-AMP state evolution at overlap q in [0, 1) [P5].

    g_out = (sqrt(y) tanh(sqrt(y) w/V) - w)/V, V = 1 - q, w = sqrt(q) xi0,
    y = (w + sqrt(V) xi1)^2 with xi0, xi1 iid N(0,1).
    """
    if not 0 <= q < 1:
        raise ValueError(f"q must lie in [0, 1), got {q!r}")
    (x0, x1), w = gaussian_grid(2, order)
    v = 1.0 - q
    om = math.sqrt(q) * x0
    sy = np.abs(om + math.sqrt(v) * x1)
    g_out = (sy * np.tanh(sy * om / v) - om) / v
    return float(w @ (g_out * g_out))


def amp_state_evolution(alpha: float, q0: float = 1e-3, *, n_iter: int = 1000,
                        tol: float = 1e-12) -> np.ndarray:
    """Iterates q_0 = q0, q_{t+1} = qhat/(1 + qhat), qhat = alpha E[g_out^2] evaluated at q_t [P5].

    Stops after ``n_iter`` steps, when |q_{t+1} - q_t| < tol, or when q > 1 - 1e-9 (perfect
    recovery; the quadrature is not meant for V = 1 - q below that). Returns all iterates.
    """
    alpha = _positive("alpha", alpha)
    if not 0 <= q0 < 1:
        raise ValueError(f"q0 must lie in [0, 1), got {q0!r}")
    qs = [float(q0)]
    for _ in range(n_iter):
        qhat = alpha * amp_mse_rhs(qs[-1])
        qs.append(qhat / (1.0 + qhat))
        if abs(qs[-1] - qs[-2]) < tol or qs[-1] > 1 - 1e-9:
            break
    return np.array(qs)


def _amp_lines(q0: float) -> tuple[float, float]:
    """(weak recovery, perfect recovery from q0) thresholds of Bayes-AMP."""
    def ratio(q):
        return q / ((1 - q) * amp_mse_rhs(q))

    weak = ratio(1e-9)  # lim_{q->0}: the linearisation q_{t+1} = 2 alpha q_t
    grid = np.linspace(q0, 0.99, 50)
    vals = [ratio(q) for q in grid]
    i = int(np.argmax(vals))
    if i in (0, grid.size - 1):
        return weak, vals[i]
    opt = minimize_scalar(lambda q: -ratio(q), bounds=(grid[i - 1], grid[i + 1]),
                          method="bounded", options={"xatol": 1e-10})
    return weak, max(-opt.fun, vals[i])


def optimal_preprocessing(delta: float = 0.5005) -> Callable[[np.ndarray], np.ndarray]:
    """T(y) = (y - 1)/(y - 1 + sqrt(2 delta)), delta > 1/2 [P4.6] (bounded for delta > 1/2)."""
    delta = _positive("delta", delta)
    if delta <= 0.5:
        raise ValueError(f"delta must be > 1/2 (T is unbounded at delta = 1/2), got {delta!r}")
    c = math.sqrt(2 * delta)
    return lambda y: (y - 1) / (y - 1 + c)


def spectral_law(preprocessing: Callable, *, order: int = 8) -> JointLaw:
    """Law of (g, u) = (T(y), h*) of the spectral matrix (1/M) sum T(y_mu) a_mu a_mu^T [P4.6].

    The matrix is (1/alpha) W with g = T: the 1/alpha rescales eigenvalues, not the outlier.
    """
    def fn(u):
        return preprocessing(u * u), u, None

    return JointLaw.from_gaussians(fn, 1, order=order, description="spectral method")


def spectral_threshold(preprocessing: Callable | None = None, *, delta: float = 0.5005,
                       bracket: tuple[float, float] = (0.05, 50.0)) -> float:
    """alpha above which the spectral matrix has a top outlier, F(s_+) > 0 [P4.6].

    Parameters
    ----------
    preprocessing : callable, optional
        T(y) on arrays; default :func:`optimal_preprocessing` ``(delta)``. T must be bounded
        above for the top edge to be finite.
    """
    T = optimal_preprocessing(delta) if preprocessing is None else preprocessing
    return bbp_ratio(spectral_law(T), side="upper", bracket=bracket)


@dataclass(frozen=True)
class PRThresholds:
    """Thresholds of real phase retrieval (values of alpha = M/N); see the module docstring.

    Attributes
    ----------
    it, amp_weak, amp, spectral, bbp_init : float
        ``bbp_init`` is NaN when the loss has no initial-Hessian transition in the searched
        range, or when its curvature is unbounded below (square loss [P2.1]: no finite lower
        edge at N = inf).
    loss : str
        repr of the loss ``bbp_init`` refers to.
    q0 : float
        Initial overlap of the AMP perfect-recovery line.
    """

    it: float
    amp_weak: float
    amp: float
    spectral: float
    bbp_init: float
    loss: str
    q0: float

    def __repr__(self) -> str:
        vals = ", ".join(f"{k}={getattr(self, k):.6g}" for k in PR_LINES)
        return f"PRThresholds({vals}; loss={self.loss}, q0={self.q0:g})"

    def table(self) -> dict[str, float]:
        """Name -> alpha, for CSV/JSON output."""
        return {k: getattr(self, k) for k in PR_LINES}


def pr_thresholds(model: PhaseRetrieval | Loss, *, q0: float = 1e-3, delta: float = 0.5005,
                  bracket: tuple[float, float] = (0.1, 100.0)) -> PRThresholds:
    """Thresholds of real phase retrieval for a loss (each a deterministic quadrature, < 1 s).

    Parameters
    ----------
    model : PhaseRetrieval or Loss
        Only the loss matters (for ``bbp_init``); alpha of a model is ignored.
    q0 : float
        Initial overlap of AMP state evolution for the perfect-recovery line.
    delta : float
        Parameter of the optimal spectral preprocessing (> 1/2).
    bracket : (float, float)
        alpha range searched for ``bbp_init``.
    """
    loss = model.loss if isinstance(model, PhaseRetrieval) else model
    if not isinstance(loss, Loss):
        raise TypeError(f"expected a PhaseRetrieval model or a Loss, got {type(model).__name__}")
    if not 0 < q0 < 0.99:
        raise ValueError(f"q0 must lie in (0, 0.99), got {q0!r}")
    weak, amp = _amp_lines(q0)
    init = math.nan
    if not _curvature_unbounded_below(loss):
        try:
            init = bbp_ratio(initial_law(loss), bracket=bracket)
        except ValueError:
            pass
    return PRThresholds(ALPHA_IT_REAL, weak, amp, spectral_threshold(delta=delta), init,
                        repr(loss), q0)


def _curvature_unbounded_below(loss: Loss) -> bool:
    """True when min l''(h; y) at a random start keeps falling toward the quadrature cutoff
    (e.g. the square loss [P2.1]): the large-N lower edge is then at -inf and a finite-N
    threshold drifts with log N, so no alpha_BBP^init is reported."""
    x, _ = gaussian_nodes()
    h, u = np.meshgrid(x, x)
    g = loss.d2(h, u * u)
    inner = g[(np.abs(h) <= 8) & (np.abs(u) <= 8)].min()
    return g.min() < inner - 0.1 * (1 + abs(inner))


def _positive(name: str, v) -> float:
    x = float(v)
    if not math.isfinite(x) or x <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {v!r}")
    return x
