"""Algorithms and options of the finite-N simulator, as frozen dataclasses.

Time is in the units of the large-N theory: dx/dt = -grad H - mu x for the spiked model [S2] and
dx/dt = -grad L - lambda x for phase retrieval [P3.1], so a step of size dt advances t by dt.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

__all__ = ["GradientFlow", "GradientDescent", "ArmijoGradientDescent", "PersistentSGD",
           "Langevin", "SimulationOptions", "algorithm_from_dict"]
from .._validate import integer, real

# the error-controlled gradient-flow schemes (phase retrieval)
ADAPTIVE_SCHEMES = ("adaptive", "dopri5", "auto")


def _positive(owner: str, name: str, value, *, allow_none: bool = False):
    if value is None and allow_none:
        return None
    return real(value, f"{owner}.{name}", low=0.0)


class _Algorithm:
    def to_dict(self) -> dict:
        return {"type": type(self).__name__, **asdict(self)}


@dataclass(frozen=True)
class GradientFlow(_Algorithm):
    """Spherical gradient flow [S2], [P3.1], integrated to a stated accuracy.

    Parameters
    ----------
    scheme : {"heun", "euler", "adaptive", "dopri5", "auto"} or None
        Fixed steps: "euler", x <- R(x + dt v) with R the renormalisation to |x|^2 = N (first
        order, the authors' scheme [S6]); "heun", predictor-corrector, second order.
        Error-controlled (phase retrieval only) [P3.2]: "adaptive", Heun with an embedded Euler
        estimate; "dopri5", Dormand-Prince 5(4), stages evaluated at retracted points and the
        5th-order solution kept; "auto", dopri5 while accuracy limits the step, switching to
        the stabilised RKC2 (Runge-Kutta-Chebyshev, s stages stable up to dt rho ~ 0.65 s^2,
        rho from a power iteration) when Hairer's stiffness test dt rho > 3.25 keeps firing,
        and back once RKC needs only two stages. None: "heun" for the spiked model, "auto"
        for phase retrieval.
    dt : float or None
        Fixed step (euler, heun; default 0.01) or initial step (error-controlled schemes;
        default 1e-4).
    tol : float
        Error-controlled schemes: the local error per step, |x_heun - x_euler|/sqrt(N) <= tol
        (adaptive), |x_5 - x_4|/sqrt(N) <= tol (dopri5) and RKC's embedded estimate <= tol
        on its stretches (auto). Stated (and tested) bound on the path:
        |m_tol(t) - m(t)| <= 10 tol (measured up to ~4.5 tol through an escape, which amplifies
        local errors). "auto" needs ~1/10 of Heun's evaluations at the same tol (the fast
        start of l_a(0.01) limits Heun's step by accuracy, not stability).
    """

    scheme: str | None = None
    dt: float | None = None
    tol: float = 1e-6

    def __post_init__(self):
        if self.scheme not in (None, "heun", "euler", *ADAPTIVE_SCHEMES):
            raise ValueError(f"GradientFlow.scheme must be one of 'heun', 'euler', "
                             f"{', '.join(map(repr, ADAPTIVE_SCHEMES))}, got {self.scheme!r}")
        object.__setattr__(self, "dt", _positive("GradientFlow", "dt", self.dt, allow_none=True))
        object.__setattr__(self, "tol", _positive("GradientFlow", "tol", self.tol))


@dataclass(frozen=True)
class GradientDescent(_Algorithm):
    """Fixed-step gradient descent x <- R(x - eta grad L) [P3.2]; t = k eta."""

    step: float = 1e-3

    def __post_init__(self):
        object.__setattr__(self, "step", _positive("GradientDescent", "step", self.step))


@dataclass(frozen=True)
class ArmijoGradientDescent(_Algorithm):
    """Gradient descent with Armijo backtracking line search [P3.2] (not gradient flow).

    Each iteration tries eta (starting from ``grow`` times the last accepted one, capped by
    ``max_step``) and multiplies it by ``shrink`` until L(R(x - eta g)) <= L(x) - c eta |g|^2.
    The recorded "time" is the sum of accepted steps; each recording is taken at the first
    accepted step at or past its grid time.
    """

    step: float = 1e-3
    shrink: float = 0.5
    c: float = 1e-4
    grow: float = 2.0
    max_step: float = 1.0

    def __post_init__(self):
        for name in ("step", "shrink", "c", "grow", "max_step"):
            object.__setattr__(self, name, _positive("ArmijoGradientDescent", name,
                                                     getattr(self, name)))
        if self.shrink >= 1 or self.c >= 1 or self.grow < 1:
            raise ValueError("ArmijoGradientDescent needs 0 < shrink < 1, 0 < c < 1, grow >= 1")


@dataclass(frozen=True)
class PersistentSGD(_Algorithm):
    """Persistent SGD [P3.4]: sample mu enters the gradient while its s_mu(t) = 1.

    s_mu is a Markov chain updated every step with P(0 -> 1) = step/tau and
    P(1 -> 0) = (1 - b) step/(b tau), stationary P(s = 1) = b; tau = step/b is plain multi-pass SGD
    with batch fraction b. The energy e = L/N is recorded on all samples.
    """

    step: float = 1e-3
    batch_fraction: float = 0.5
    persistence: float = 0.01

    def __post_init__(self):
        for name in ("step", "batch_fraction", "persistence"):
            object.__setattr__(self, name, _positive("PersistentSGD", name, getattr(self, name)))
        b, tau, eta = self.batch_fraction, self.persistence, self.step
        if b > 1:
            raise ValueError(f"PersistentSGD.batch_fraction must lie in (0, 1], got {b!r}")
        if eta / tau > 1 or (1 - b) * eta / (b * tau) > 1:
            raise ValueError(
                f"PersistentSGD: step/persistence = {eta / tau:g} and (1-b) step/(b persistence) "
                f"= {(1 - b) * eta / (b * tau):g} are probabilities and must be <= 1; raise "
                f"persistence to at least step/b = {eta / b:g}")


@dataclass(frozen=True)
class Langevin(_Algorithm):
    """Langevin dynamics at temperature T > 0 (Euler-Maruyama, noise sqrt(2 T dt) per component
    [S2], [S6], then renormalisation). dt default 0.005."""

    temperature: float = 1.0
    dt: float = 0.005

    def __post_init__(self):
        object.__setattr__(self, "temperature", _positive("Langevin", "temperature",
                                                          self.temperature))
        object.__setattr__(self, "dt", _positive("Langevin", "dt", self.dt))


_ALGORITHMS = {c.__name__: c for c in (GradientFlow, GradientDescent, ArmijoGradientDescent,
                                       PersistentSGD, Langevin)}


def algorithm_from_dict(d: dict):
    """Rebuild an algorithm from its ``to_dict``."""
    d = dict(d)
    return _ALGORITHMS[d.pop("type")](**d)


@dataclass(frozen=True)
class SimulationOptions:
    """What a simulation records and when phase-retrieval runs stop [P7], [S6].

    Parameters
    ----------
    n_times : int
        Recording grid: t = 0 and ``n_times`` log-spaced times from ``t_min`` to t_max (rounded
        to whole steps for fixed-step algorithms). Ignored when ``times`` is given.
    t_min : float
        First positive recording time.
    times : tuple of float, optional
        Explicit recording times (sorted, > 0; t = 0 is always recorded).
    hessian_times : tuple of float
        Times at which to record the tangent-space Hessian spectrum (N - 1 eigenvalues), the
        squared overlaps (v.x*)^2/N of its ``n_eigenvectors`` lowest eigenvectors with the
        signal, and the largest eigenvalue. ``inf`` means the end of the run.
    n_eigenvectors : int
        How many lowest eigenvectors' overlaps to keep.
    convention : {"all", "distinct"}
        Spiked model: the all-index convention (default: covariance exactly N Q(x.y/N) at
        every N) or the distinct-index one of the papers [S1.2].
    escape_level : float
        The escape time is the first time |m| >= escape_level (interpolated between steps).
    stop_at_escape : bool
        Spiked model: stop a sample as soon as |m| reaches ``escape_level``; its later
        recordings are NaN and ``final_m``/``final_e`` are taken at the stop (for success
        probabilities, where only the escape matters).
    stop_at_success : bool
        Phase retrieval: stop when |m| >= success_overlap of the model and e/alpha <=
        ``loss_tol`` [P7].
    loss_tol : float
        See ``stop_at_success``.
    grad_tol : float
        Phase retrieval: stop at a stationary point, |grad_sphere L|/sqrt(N) <= grad_tol.
    keep_final_state : bool
        Phase retrieval: keep each sample's final (h_mu, h*_mu) (for [P4.5b]).
    dtype : {"float64", "float32"}
        Storage of the phase-retrieval sensing matrix (float32 halves memory and traffic;
        accumulations stay in float64).
    max_steps : int
        Budget of steps per sample (besides t_max).
    """

    n_times: int = 60
    t_min: float = 0.01
    times: tuple[float, ...] | None = None
    hessian_times: tuple[float, ...] = ()
    n_eigenvectors: int = 3
    convention: str = "all"
    escape_level: float = 0.5
    stop_at_escape: bool = False
    stop_at_success: bool = True
    loss_tol: float = 1e-6
    grad_tol: float = 1e-7
    keep_final_state: bool = False
    dtype: str = "float64"
    max_steps: int = 100_000_000

    def __post_init__(self):
        if self.convention not in ("all", "distinct"):
            raise ValueError(f"convention must be 'all' or 'distinct', got {self.convention!r}")
        if self.dtype not in ("float64", "float32"):
            raise ValueError(f"dtype must be 'float64' or 'float32', got {self.dtype!r}")
        object.__setattr__(self, "n_times", integer(self.n_times, "n_times", low=1))
        _positive("SimulationOptions", "t_min", self.t_min)
        if self.times is not None:
            ts = tuple(float(t) for t in self.times)
            if not ts or any(not math.isfinite(t) or t <= 0 for t in ts) or list(ts) != sorted(ts):
                raise ValueError(
                    f"times must be sorted positive finite numbers, got {self.times!r}")
            object.__setattr__(self, "times", ts)
        ht = tuple(float(t) for t in self.hessian_times)
        if any(math.isnan(t) or t < 0 for t in ht):
            raise ValueError(f"hessian_times must be >= 0 (inf = end), got {self.hessian_times!r}")
        object.__setattr__(self, "hessian_times", tuple(sorted(set(ht))))
        real(self.escape_level, "escape_level", low=0.0, high=1.0, hint="0.5")
        for name in ("loss_tol", "grad_tol"):
            _positive("SimulationOptions", name, getattr(self, name))
        object.__setattr__(self, "max_steps", integer(self.max_steps, "max_steps", low=1))

    def to_dict(self) -> dict:
        return asdict(self)
