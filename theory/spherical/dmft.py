"""Large-N dynamics of spherical models: the CHSCK / Langevin-state-evolution equations [S3].

``solve_dmft`` integrates the closed equations [S3.1] with the boundary conditions [S3.2] for the
correlation C(t,t') = x(t).x(t')/N, the response R(t,t'), the overlap m(t) = x(t).x*/N, the
Lagrange multiplier mu(t) and the energy density e(t) = H/N, at any temperature T >= 0 (T = 0 is
gradient flow). Time is in the units of dx/dt = -mu x - grad H [S2].
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import time
import warnings
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numba
import numpy as np

from ... import _io, _tables
from ..._progress import progress_bar
from ..._validate import is_number, real
from ..errors import AccuracyWarning, IntegrationError
from . import _dmft_kernels as _kernels
from . import dmft_doubling as _doubling
from .models import SphericalModel, model_from_dict

__all__ = ["solve_dmft", "DMFTOptions", "DMFTResult", "TwoTimeFunction"]

_SCHEMES = ("extrapolated", "gregory", "heun", "trapezoid", "euler", "doubling")
# nominal orders of the single-grid schemes ("gregory": measured 3.2-3.7, see DMFTOptions)
_ORDER = {"euler": 1, "heun": 2, "trapezoid": 2, "gregory": 3}


@dataclass(frozen=True)
class DMFTOptions:
    """Numerical options of :func:`solve_dmft`.

    Parameters
    ----------
    dt : float or None
        Step h of the fixed grid t_i = i h (time units of [S2]); None: chosen from the model
        (see :func:`solve_dmft`). The explicit schemes are stable roughly while
        h (mu + 2 sqrt(Q''(1))) < 2 [S3.4]. A result records the step it used.
    scheme : {"extrapolated", "gregory", "heun", "trapezoid", "euler", "doubling"}
        The fixed-grid schemes other than "gregory" use the trapezoid rule for the memory
        integrals.
        "extrapolated" (default): the implicit trapezoid rule on the grids h, h/2, ..., h/2^L
        and Richardson extrapolation to order 2L on the grid h; levels are added until the
        error estimate meets ``rtol``. Its stationary state converges to the continuous fixed
        point at the same order. "gregory": one grid, third order: the -mu(t) X decay of
        every column (and of m) is integrated exactly (integrating factor), the rest by
        Adams-Moulton (4 points, 2 and 3 next to the diagonal) iterated to ``corrector_tol``
        from an Adams-Bashforth predictor, and the memory integrals by the trapezoid rule with
        Gregory's end corrections (error O(h^4)), split at s = t' where C(s, t') has a kink at
        T > 0. The trapezoid step off the diagonal sets the order 3 (measured 3.2-3.7 on the
        easy, hard, p = 4 and Langevin cases). It is an independent discretisation to check
        "extrapolated" against, not a faster one: R(t, s) decays in t - s on the scale
        1/(mu + 2 sqrt(Q''(1))) ~ 0.09, which a polynomial rule resolves only for h << 0.1
        (easy case, largest error over t <= 10: 3.8e-4 at h = 0.025 in 0.3 s, 4.7e-6 at
        h = 0.00625 in 12 s, where "extrapolated" gives 5.3e-6 in 0.3 s). "euler":
        explicit Euler, first order in h, one evaluation per step, in the convention of the
        authors' code [S3.4]: R(t, t) = 0 inside the memory sums and R(t + h, t) = 1, so its
        stationary state is the continuous fixed point [S3.3] at every h (the stored diagonal of
        R is 0).
        "heun":
        predictor-corrector (Euler predictor, one trapezoid corrector; two evaluations per
        step), second order. "trapezoid": the corrector iterated to ``corrector_tol`` (implicit
        trapezoid rule), second order with an error constant about ten times smaller than
        Heun's; 3-10 evaluations per step. "doubling": the long-time grid-doubling scheme of
        [S3.4] (see ``window``); ``dt`` is then the initial step (0.01 is a good choice) and
        memory stays bounded whatever ``t_max``.
    store_two_time : bool or tuple of float
        True: keep C and R in the result (packed lower triangle, n(n+1)/2 doubles each).
        A tuple of waiting times t_w: keep only the slices C(t, t_w), R(t, t_w) for all t
        (``DMFTResult.columns``). False: keep neither.
    corrector_tol : float
        "trapezoid" and "gregory": stop the corrector when the largest change of the new row
        is below.
    max_corrector_iterations : int
        "trapezoid" and "gregory": cap on corrector passes per step.
    window : int
        "doubling" only: the window holds ``window + 1`` grid points; when it is full every
        other point is dropped and the step doubles. This sets the accuracy (the step at time
        t is about 2 t/window; error ~ window^-2 early, ~ window^-1/2 deep in the aging regime)
        and the cost (O(window^3) per doubling of t).
    near_diagonal : int
        "doubling" only: once the step exceeds the fast relaxation time the lags
        1..near_diagonal, and the interval quantities between them and the diagonal, are
        copied from the previous row (time-translation invariance next to the diagonal,
        Kim-Latz). 2 (the default) or more: escape times near the threshold agree within
        about 2% between 2, 3 and 4; 1 is biased (see docs, sharp bits).
    rtol : float
        Fixed-grid accuracy target for m, mu and e, as error / max(1, |value|): "extrapolated"
        adds levels until its estimate meets it; the single-grid schemes estimate their error
        from a companion run on the grid 2h (1/8 of the cost) and warn
        (:class:`AccuracyWarning`) above it.
    max_levels : int
        "extrapolated" only: the finest grid is h/2^max_levels.
    threads : int or None
        numba threads of the fixed-grid sweeps. None: one thread below ``PARALLEL_ROWS`` grid
        rows (the parallel sweep does not pay there, and numba's busy-waiting threads run up
        to 1000x slower when another process shares the cores), numba's default above.
    tolerance : float
        "doubling" only: a warning (:class:`AccuracyWarning`) is raised when the a-posteriori
        error estimate of m, mu or e exceeds it.
    max_sweeps : int
        "doubling" only: cap on the (under-relaxed Jacobi) sweeps that solve one row to
        ``corrector_tol``.
    max_change : float
        "doubling" only: when a full window's newest half has m or e changing by more than
        this per step (an escape that a doubled step would not resolve), the window is widened
        instead of decimated, keeping the step; it shrinks back once the change is small.
    max_growth : float
        "doubling" only: the same for the relative change |dm|/|m| per step, which bounds the
        error of an exponential growth m ~ m0 e^(r t) from a small seed (its rate comes out
        about 0.3 (r h)^2 high, measured at 1/Delta2 = 2.32, and a step with r h > 2 would flip
        the sign of m).
    max_widening : int
        "doubling" only: the widest window is ``max_widening * window`` (a power of 2); this
        bounds the memory of a widened run.
    error_estimate : bool
        "doubling" only: run the problem again with ``window // 2`` (about 1/8 of the cost:
        the window's error) and with ``dt / 2`` (about the cost of the run: the initial
        step's error, which the window/2 run cannot see), and report the sum of the two
        largest differences of m, mu, e in ``stats["error_estimate"]``, the parts in
        ``stats["error_budget"]``.
    """

    dt: float | None = None
    scheme: str = "extrapolated"
    store_two_time: bool | tuple[float, ...] = True
    corrector_tol: float = 1e-10
    max_corrector_iterations: int = 200
    window: int = 512
    near_diagonal: int = 2
    tolerance: float = 1e-3
    max_sweeps: int = 1000
    max_change: float = 0.01
    max_growth: float = 0.1
    max_widening: int = 4
    error_estimate: bool = True
    rtol: float = 1e-5
    max_levels: int = 4
    threads: int | None = None

    def __post_init__(self):
        if self.dt is not None:
            if not (is_number(self.dt) and math.isfinite(self.dt) and self.dt > 0):
                raise ValueError(f"dt must be a positive finite number (or None: chosen from "
                                 f"the model), got {self.dt!r}")
            object.__setattr__(self, "dt", float(self.dt))
        if not (is_number(self.rtol) and 0 < self.rtol < 1):
            raise ValueError(f"rtol must be a number in (0, 1), e.g. 1e-6, got {self.rtol!r}")
        if not (isinstance(self.max_levels, int) and not isinstance(self.max_levels, bool)
                and 1 <= self.max_levels <= 6):
            raise ValueError(f"max_levels must be an integer in [1, 6], got "
                             f"{self.max_levels!r}")
        if self.threads is not None and not (
                isinstance(self.threads, int) and not isinstance(self.threads, bool)
                and 1 <= self.threads <= numba.config.NUMBA_NUM_THREADS):
            raise ValueError(f"threads must be None or an integer in [1, "
                             f"{numba.config.NUMBA_NUM_THREADS}], got {self.threads!r}")
        if not isinstance(self.scheme, str):
            raise TypeError(f"scheme must be a string, one of {_SCHEMES}, got {self.scheme!r}")
        if not isinstance(self.store_two_time, bool):
            tw = tuple(float(t) for t in self.store_two_time)
            if not all(math.isfinite(t) and t >= 0 for t in tw):
                raise ValueError(f"store_two_time: waiting times must be >= 0, got {tw}")
            object.__setattr__(self, "store_two_time", tw)
        if self.scheme not in _SCHEMES:
            raise ValueError(f"scheme must be one of {_SCHEMES}, got {self.scheme!r}")
        if not (isinstance(self.max_corrector_iterations, int)
                and self.max_corrector_iterations >= 1):
            raise ValueError("max_corrector_iterations must be an integer >= 1, got "
                             f"{self.max_corrector_iterations!r}")
        if not (isinstance(self.window, int) and self.window >= 16 and self.window % 4 == 0):
            raise ValueError(f"window must be an integer >= 16 divisible by 4, got "
                             f"{self.window!r}")
        if not (isinstance(self.near_diagonal, int)
                and 1 <= self.near_diagonal <= self.window // 8):
            raise ValueError(f"near_diagonal must be an integer in [1, window/8], got "
                             f"{self.near_diagonal!r}")
        if not (isinstance(self.max_sweeps, int) and self.max_sweeps >= 1):
            raise ValueError(f"max_sweeps must be an integer >= 1, got {self.max_sweeps!r}")
        real(self.max_change, "max_change", low=0.0, hint="0.01")
        real(self.max_growth, "max_growth", low=0.0, high=1.0, high_open=False, hint="0.1")
        real(self.corrector_tol, "corrector_tol", low=0.0, hint="1e-10")
        if not (isinstance(self.max_widening, int) and self.max_widening >= 1
                and self.max_widening & (self.max_widening - 1) == 0):
            raise ValueError(f"max_widening must be a power of 2 (1 = never widen), got "
                             f"{self.max_widening!r}")
        real(self.tolerance, "tolerance", low=0.0, hint="1e-3")

    @property
    def order(self) -> int | None:
        """Nominal convergence order in dt of a single-grid scheme (None: "extrapolated", whose
        order 2L depends on the levels used, and "doubling")."""
        return _ORDER.get(self.scheme)

    def corrector(self) -> tuple[int, float]:
        """(maximum corrector passes, tolerance) for the kernel."""
        if self.scheme in ("trapezoid", "gregory"):  # implicit: iterated to corrector_tol
            return self.max_corrector_iterations, self.corrector_tol
        return {"euler": (0, math.inf), "heun": (1, math.inf)}[self.scheme]


class TwoTimeFunction:
    """A two-time function on the grid t_i = i h, stored as a packed lower triangle.

    ``F[i, j]`` is F(t_i, t_j); for j > i it is F(t_j, t_i) when ``symmetric`` (C) and 0
    otherwise (R, by causality [S3.2]).
    """

    def __init__(self, packed: np.ndarray, n: int, symmetric: bool):
        if packed.shape != (n * (n + 1) // 2,):
            raise ValueError("packed array does not match the grid size")
        self.packed = packed
        self.n = n
        self.symmetric = symmetric

    def __getitem__(self, ij):
        i, j = ij
        if j > i:
            if not self.symmetric:
                return 0.0
            i, j = j, i
        return self.packed[i * (i + 1) // 2 + j]

    def row(self, i: int) -> np.ndarray:
        """F(t_i, t_j) for j = 0..i."""
        b = i * (i + 1) // 2
        return self.packed[b:b + i + 1]

    def column(self, j: int) -> np.ndarray:
        """F(t_i, t_j) for i = j..n-1, e.g. C(t_w + tau, t_w) at t_w = t_j (aging curves)."""
        i = np.arange(j, self.n)
        return self.packed[i * (i + 1) // 2 + j]

    def slice(self, j: int) -> np.ndarray:
        """F(t_i, t_j) for every i = 0..n-1 (symmetry or causality for i < j)."""
        out = np.zeros(self.n)
        if self.symmetric:
            out[:j] = self.row(j)[:j]
        out[j:] = self.column(j)
        return out

    def dense(self) -> np.ndarray:
        """The full n x n array (n^2 doubles: mind the memory for long runs)."""
        out = np.zeros((self.n, self.n))
        rows, cols = np.tril_indices(self.n)
        out[rows, cols] = self.packed
        if self.symmetric:
            out[cols, rows] = self.packed
        return out

    def __repr__(self) -> str:
        kind = "symmetric" if self.symmetric else "causal"
        return f"TwoTimeFunction({kind}, {self.n}x{self.n} grid)"


@dataclass
class DMFTResult:
    """Solution of the large-N equations on a time grid.

    Attributes
    ----------
    model : SphericalModel
    temperature, m0, t_max : float
        The problem solved (T = 0: gradient flow).
    options : DMFTOptions
    times : ndarray, shape (n,)
        t_i = i dt (fixed grid); for "doubling" every time computed, the step doubling with
        each window.
    m, mu, e : ndarray, shape (n,)
        Overlap x.x*/N, Lagrange multiplier, energy density H/N [S3.1].
    C, R : TwoTimeFunction or None
        Correlation and response (None unless ``store_two_time`` is True).
    columns : dict or None
        With waiting times in ``store_two_time``: {"t_w": grid times, "C": C(t_i, t_w),
        "R": R(t_i, t_w)}, arrays of shape (k,), (n, k), (n, k). For "doubling" the slices are
        "C" and "chi" = int_{t_w}^{t} R(t, s) ds (the integrated response), interpolated
        linearly along each row and NaN for t < t_w.
    window : dict or None
        "doubling" with ``store_two_time=True``: the final window, {"times": (w,), "C": (w, w),
        "chi": (w, w)} (lower triangles; chi(t, t') = int_{t'}^t R(t, s) ds).
    status : str
        "success", or "failed" for a partial result carried by an :class:`IntegrationError`.
    message : str
    stats : dict
        steps, rhs_evaluations, wall_time_s, resumed_from_step, two_time_bytes,
        error_estimate ({"m", "mu", "e"}: largest estimated error over the run, or None);
        "extrapolated": levels, finest_two_time_bytes (C and R of the finest grid, the peak).
    versions : dict
    """

    model: SphericalModel
    temperature: float
    m0: float
    t_max: float
    options: DMFTOptions
    times: np.ndarray
    m: np.ndarray
    mu: np.ndarray
    e: np.ndarray
    C: TwoTimeFunction | None
    R: TwoTimeFunction | None
    columns: dict | None = None
    window: dict | None = None
    status: str = "success"
    message: str = ""
    stats: dict = field(default_factory=dict)
    versions: dict = field(default_factory=dict)

    @property
    def error_estimate(self) -> dict | None:
        """Largest estimated error of m, mu and e over the run ({"m", "mu", "e"}), or None."""
        return self.stats.get("error_estimate")

    def __repr__(self) -> str:
        n = len(self.times)
        last = (f"m={self.m[-1]:.6g}, mu={self.mu[-1]:.6g}, e={self.e[-1]:.6g}" if n else "empty")
        return (f"DMFTResult({self.status}: {self.model!r}, T={self.temperature:g}, "
                f"m0={self.m0:g}, {self.options.scheme} dt={self.options.dt:g}, "
                f"t=0..{self.times[-1] if n else 0:g} ({n} points), final {last}, "
                f"{self.stats.get('wall_time_s', float('nan')):.3g} s)")

    # ---- storage -------------------------------------------------------------------------
    def to_dataframe(self):
        """m, mu and e against t as a ``pandas.DataFrame`` (index ``t``)."""
        pd = _tables.pandas()
        return pd.DataFrame({"m": self.m, "mu": self.mu, "e": self.e},
                            index=pd.Index(self.times, name="t"))

    def to_xarray(self):
        """An ``xarray.Dataset``: m, mu, e on ``t`` and, when stored, C and R on
        (``t``, ``t_prime``) (R = 0 for t' > t), with the model and options as attributes."""
        xr = _tables.xarray()
        data = {q: ("t", getattr(self, q)) for q in ("m", "mu", "e")}
        coords = {"t": self.times}
        if self.C is not None:
            coords["t_prime"] = self.times
            data["C"] = (("t", "t_prime"), self.C.dense())
            data["R"] = (("t", "t_prime"), self.R.dense())
        return xr.Dataset(data, coords=coords, attrs={
            "model": json.dumps(self.model.to_dict()), "temperature": self.temperature,
            "m0": self.m0, "status": self.status})

    def _meta(self) -> dict:
        return {"kind": "DMFTResult", "model": self.model.to_dict(),
                "temperature": self.temperature, "m0": self.m0, "t_max": self.t_max,
                "options": asdict(self.options), "status": self.status, "message": self.message,
                "stats": self.stats, "versions": self.versions}

    def save(self, path: str | os.PathLike) -> Path:
        """Save to ``<path>.npz`` + ``<path>.json`` atomically; returns the stem."""
        arrays = {"times": self.times, "m": self.m, "mu": self.mu, "e": self.e}
        if self.C is not None:
            arrays["C"] = self.C.packed
            arrays["R"] = self.R.packed
        if self.columns is not None:
            arrays.update({f"columns_{k}": v for k, v in self.columns.items()})
        if self.window is not None:
            arrays.update({f"window_{k}": v for k, v in self.window.items()})
        return _io.save_pair(path, arrays, self._meta())

    @classmethod
    def load(cls, path: str | os.PathLike) -> DMFTResult:
        """Load a result written by :meth:`save` (bit-identical arrays)."""
        arrays, meta = _io.load_pair(path)
        if meta.get("kind") != "DMFTResult":
            raise ValueError(f"{path} does not hold a DMFTResult")
        n = len(arrays["times"])
        two = "C" in arrays
        return cls(model=model_from_dict(meta["model"]), temperature=meta["temperature"],
                   m0=meta["m0"], t_max=meta["t_max"], options=DMFTOptions(**meta["options"]),
                   times=arrays["times"], m=arrays["m"], mu=arrays["mu"], e=arrays["e"],
                   C=TwoTimeFunction(arrays["C"], n, True) if two else None,
                   R=TwoTimeFunction(arrays["R"], n, False) if two else None,
                   columns={k[8:]: v for k, v in arrays.items() if k.startswith("columns_")}
                   or None,
                   window={k[7:]: v for k, v in arrays.items() if k.startswith("window_")}
                   or None,
                   status=meta["status"], message=meta["message"], stats=meta["stats"],
                   versions=meta["versions"])


def _validate(model, t_max, m0, temperature):
    if not isinstance(model, SphericalModel):
        raise TypeError(f"model must be a SphericalModel (e.g. SpikedMatrixTensor), got "
                        f"{type(model).__name__}")
    real(t_max, "t_max", low=0.0)
    real(m0, "m0", hint="1e-10")
    real(temperature, "temperature", low=0.0, low_open=False)
    if not 0 < m0 < 1:
        raise ValueError(
            f"m0 must lie in (0, 1), got {m0!r}: m = 0 is an exact fixed point of the large-N "
            "dynamics, so a small positive seed (e.g. 1e-10) is needed [S3.2]")
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature!r}")


def _chunks(n_steps: int, n_chunks: int) -> list[int]:
    """Step boundaries with about equal work per chunk (step i costs ~ i^2)."""
    edges = {0, n_steps}
    edges.update(int(round(n_steps * (k / n_chunks) ** (1 / 3))) for k in range(1, n_chunks))
    return sorted(edges)


# below this many grid rows the fixed grid runs on one thread (see DMFTOptions.threads)
PARALLEL_ROWS = 2000


@contextlib.contextmanager
def _numba_threads(n_rows: int, threads: int | None):
    old = numba.get_num_threads()
    numba.set_num_threads(threads or (1 if n_rows < PARALLEL_ROWS else old))
    try:
        yield
    finally:
        numba.set_num_threads(old)


_UNSET = None  # keyword not given: the value comes from ``options`` or DMFTOptions' default


def solve_dmft(model: SphericalModel, t_max: float, *, m0: float, temperature: float = 0.0,
               dt: float | None = _UNSET, scheme: str | None = _UNSET,
               rtol: float | None = _UNSET,
               store_two_time: bool | tuple[float, ...] | None = _UNSET,
               options: DMFTOptions | None = None, progress: bool = False,
               checkpoint: str | os.PathLike | None = None,
               checkpoint_every: float = 300.0) -> DMFTResult:
    """Integrate the large-N dynamical equations [S3.1]-[S3.2].

    Parameters
    ----------
    model : SphericalModel
        E.g. ``SpikedMatrixTensor(p=3, delta2=0.25, delta_p=1.0)`` or a ``MixedSpherical``.
    t_max : float
        Final time (units of dx/dt = -mu x - grad H); the grid ends at ceil(t_max/dt) dt.
    m0 : float
        Initial overlap m(0) in (0, 1) (warm start x(0) = m0 x* + sqrt(1-m0^2) z [S2]).
        A seed is mandatory: m = 0 is an exact fixed point.
    temperature : float
        T >= 0; T = 0 is gradient flow, T = 1 samples the Bayes posterior [S2].
    dt : float, optional
        Grid step (for "extrapolated", the coarsest level's step, which is the output grid).
        Default: chosen from the model's fast scale, h = min(0.1, 1/ceil(Lambda)) with
        Lambda = T + Q_s'(1) + 2 sqrt(Q_n''(1)) (mu + the semicircle's edge); a quarter of
        that for "gregory". Cost O(n^3),
        memory O(n^2) with n = t_max/dt [S3.4].
    scheme : {"extrapolated", "gregory", "heun", "trapezoid", "euler", "doubling"}, optional
        See :class:`DMFTOptions`; default "extrapolated".
    rtol : float, optional
        Accuracy target for m, mu and e (error / max(1, |value|)); default 1e-5. See
        :class:`DMFTOptions`.
    store_two_time : bool or tuple of float, optional
        Keep C and R (True, the default), only their slices at the given waiting times, or
        neither.
    options : DMFTOptions, optional
        All numerical options at once. Then ``dt``, ``scheme``, ``rtol`` and
        ``store_two_time`` must not be given as keywords too (ValueError).
    progress : bool
        Show a progress bar (needs tqdm).
    checkpoint : path, optional
        Stem of a checkpoint pair (``.npz`` + ``.json``). Written every ``checkpoint_every``
        seconds and at the end; a call with the same arguments resumes from it.
        "extrapolated" keeps one per level (``<stem>_level<k>``).
    checkpoint_every : float
        Seconds between checkpoints.

    Returns
    -------
    DMFTResult
        ``result.error_estimate`` holds the estimated error of m, mu and e.

    Raises
    ------
    ValueError
        For invalid or conflicting input, naming the parameter.
    IntegrationError
        When a step breaks an invariant (non-finite values, |m| or |C| above 1 + 1e-2, R < -1e-2
        at T = 0: the explicit scheme is unstable or the step too large), or the implicit
        corrector does not converge; its ``result`` holds the run up to the last good step.

    Warns
    -----
    AccuracyWarning
        When the error estimate exceeds ``rtol`` (or ``tolerance`` for "doubling").
    """
    _validate(model, t_max, m0, temperature)
    given = {k: v for k, v in (("dt", dt), ("scheme", scheme), ("rtol", rtol),
                               ("store_two_time", store_two_time)) if v is not _UNSET}
    if options is not None:
        if not isinstance(options, DMFTOptions):
            raise TypeError(f"options must be a DMFTOptions, got {type(options).__name__}")
        if given:
            raise ValueError(
                f"{', '.join(sorted(given))} given both as keyword and in options: set "
                f"{'it' if len(given) == 1 else 'them'} in DMFTOptions only")
        opts = options
    else:
        opts = DMFTOptions(**given)
    T = float(temperature)
    if checkpoint is None:
        return _solve(model, float(t_max), float(m0), T, opts, progress, None, checkpoint_every)
    _io.check_writable(_io.stem_of(checkpoint), "checkpoint")
    with _io.locked(_io.stem_of(checkpoint), "checkpoint"):
        return _solve(model, float(t_max), float(m0), T, opts, progress, checkpoint,
                      checkpoint_every)


def _solve(model, t_max, m0, T, opts, progress, checkpoint, checkpoint_every) -> DMFTResult:
    """:func:`solve_dmft` after its options are resolved (and its checkpoint locked)."""
    if opts.scheme == "doubling":
        opts = replace(opts, dt=opts.dt or 0.05)
        return _solve_doubling(model, float(t_max), float(m0), T, opts,
                               progress, checkpoint, checkpoint_every)
    h = opts.dt or default_step(model, T, opts.scheme)
    n_steps = max(1, math.ceil(t_max / h - 1e-9))
    # before any work: the grid h (extrapolated: also h/2, the least it needs; finer levels are
    # checked as they come)
    _check_memory(2 * n_steps if opts.scheme == "extrapolated" else n_steps)
    ident = {"model": model.to_dict(), "temperature": T, "m0": float(m0), "n_steps": n_steps,
             "options": asdict(opts)}
    if opts.scheme == "extrapolated":
        return _solve_extrapolated(model, float(t_max), float(m0), T, h, n_steps, opts, ident,
                                   progress, checkpoint, checkpoint_every)
    max_corr, tol = opts.corrector()
    gregory = opts.scheme == "gregory"
    run = _grid_run(model, T, float(m0), h, n_steps, max_corr, tol, progress, checkpoint,
                    checkpoint_every, ident, opts.threads, gregory)
    result = _grid_result(model, T, float(m0), float(t_max), opts, h, run)
    if run["status"] != _kernels.OK:
        raise IntegrationError(_failure(model, opts, h, run), _failed(result, model, opts, h, run))
    # Richardson companion on the grid 2h (about 1/8 of the cost): err_h ~ (y_h - y_2h)/(2^p - 1)
    if n_steps >= 4:
        coarse = _grid_run(model, T, float(m0), 2 * h, n_steps // 2, max_corr, tol, False,
                           None, checkpoint_every, ident, opts.threads, gregory)
        p = _ORDER[opts.scheme]
        if coarse["status"] == _kernels.OK:
            diff = {q: np.abs(run[q][:2 * coarse["last"] + 1:2] - coarse[q][:coarse["last"] + 1])
                    for q in ("m", "mu", "e")}
            _attach_estimate(result, {q: d / (2 ** p - 1) for q, d in diff.items()}, opts.rtol,
                             f"{opts.scheme} dt vs 2 dt, order {p}")
        else:
            _attach_estimate(result, None, opts.rtol, "the 2 dt companion run failed")
    result.message = f"integrated to t = {n_steps * h:g} in {n_steps} steps; " + result.message
    return result


def default_step(model: SphericalModel, temperature: float, scheme: str = "extrapolated"
                 ) -> float:
    """Grid step from the model's fast scale: h = min(0.1, 1/ceil(Lambda)) (see solve_dmft);
    a quarter of it for "gregory", whose Adams steps are stable only to h Lambda ~ 0.9
    (measured, easy case), so that its 2h companion runs too."""
    lam = temperature + float(model.dQs(1.0)) + 2.0 * math.sqrt(float(model.d2Q(1.0)))
    return min(0.1, 1.0 / math.ceil(lam)) / (4 if scheme == "gregory" else 1)


def _check_memory(n_steps: int) -> None:
    n = n_steps + 1
    need = n * (n + 1) * 8
    free = _io.available_memory()
    if free is not None and need > 0.9 * free:
        raise MemoryError(
            f"{n_steps} steps need {need / 2**30:.1f} GiB for C and R but about "
            f"{free / 2**30:.1f} GiB is available: increase dt or shorten t_max")


def _grid_run(model, T, m0, h, n_steps, max_corr, tol, progress, checkpoint, checkpoint_every,
              ident, threads=None, gregory=False) -> dict:
    """Integrate on the fixed grid t_i = i h; returns the arrays, the status and the stats.
    gregory: the integrating-factor Adams stepper with Gregory quadrature (else Euler, Heun or
    the trapezoid rule, by ``max_corr``: see :func:`_dmft_kernels.advance`)."""
    with _numba_threads(n_steps + 1, threads):
        return _grid_run_threads(model, T, m0, h, n_steps, max_corr, tol, progress, checkpoint,
                                 checkpoint_every, ident, gregory)


def _grid_run_threads(model, T, m0, h, n_steps, max_corr, tol, progress, checkpoint,
                      checkpoint_every, ident, gregory) -> dict:
    n = n_steps + 1
    size = n * (n + 1) // 2
    qs, qn = model.signal_coeffs, model.noise_coeffs
    Cp, Rp = _kernels.aligned_zeros(size), _kernels.aligned_zeros(size)
    m, mu, e = (_kernels.aligned_zeros(n) for _ in range(3))
    Cp[0] = 1.0
    Rp[0] = 0.0 if max_corr == 0 else 1.0  # Euler: R(t, t) = 0 (see _dmft_kernels.advance)
    m[0] = m0
    ident = dict(ident, n_steps=n_steps, step=h)
    start = _resume(checkpoint, ident, Cp, Rp, m, mu, e) if checkpoint is not None else 0
    nchunks = max(1, numba.get_num_threads())
    ws = _kernels.workspace(n, nchunks, _kernels.GREGORY_RULE if gregory else
                            _kernels.TRAPEZOID_RULE)
    dC, dR, dC2, dR2 = (_kernels.aligned_zeros(n) for _ in range(4))
    if gregory:  # the last three rows' right-hand sides, M = int mu, the corrector's explicit part
        FC, FR = _kernels.aligned_zeros((3, n)), _kernels.aligned_zeros((3, n))
        Fm, M = _kernels.aligned_zeros((3, 1)), _kernels.aligned_zeros(n)
        _kernels.gregory_resume(start, h, T, qs, qn, Cp, Rp, m, mu, e, ws, dC, dR, FC, FR, Fm, M)
    n_corr = 0
    wall0 = last_ckpt = time.perf_counter()
    status, bad = _kernels.OK, n_steps
    edges = [start] + [b for b in _chunks(n_steps, min(n_steps, 200)) if b > start]
    with progress_bar(n_steps, "DMFT", progress) as bar:
        bar.update(start)
        for a, b in zip(edges[:-1], edges[1:], strict=False):
            if gregory:
                status, bad, k = _kernels.advance_gregory(a, b, max_corr, tol, h, T, qs, qn, Cp,
                                                          Rp, m, mu, e, ws, dC, dR, FC, FR, Fm,
                                                          M, dC2, dR2)
            else:
                status, bad, k = _kernels.advance(a, b, max_corr, tol, h, T, qs, qn, Cp, Rp, m,
                                                  mu, e, ws, dC, dR, dC2, dR2)
            n_corr += k
            if status != _kernels.OK:
                break
            bar.update(b - a)
            bar.set_postfix_str(f"m={m[b]:.4f}")
            if checkpoint is not None and time.perf_counter() - last_ckpt > checkpoint_every:
                _write_checkpoint(checkpoint, ident, b, Cp, Rp, m, mu, e)
                last_ckpt = time.perf_counter()
    last = n_steps if status == _kernels.OK else bad - 1
    mu[last], e[last] = _kernels.observables(last, h, T, qs, qn, Cp, Rp, m, ws, dC, dR)
    if status == _kernels.OK and checkpoint is not None:
        _write_checkpoint(checkpoint, ident, n_steps, Cp, Rp, m, mu, e)
    keep = last + 1
    stats = {"steps": last - start, "rhs_evaluations": last - start + n_corr,
             "wall_time_s": time.perf_counter() - wall0, "resumed_from_step": start,
             "two_time_bytes": 2 * size * 8}
    return {"C": Cp[:keep * (keep + 1) // 2], "R": Rp[:keep * (keep + 1) // 2], "m": m[:keep],
            "mu": mu[:keep], "e": e[:keep], "status": status, "bad": bad, "last": last,
            "tol": tol, "stats": stats}


def _grid_result(model, T, m0, t_max, opts, h, run) -> DMFTResult:
    """The result of a fixed-grid run; ``run["C"]`` is None when no two-time data was kept."""
    keep = run["last"] + 1
    stored = run["C"] is not None
    C = TwoTimeFunction(run["C"], keep, True) if stored else None
    R = TwoTimeFunction(run["R"], keep, False) if stored else None
    columns = None
    if stored and isinstance(opts.store_two_time, tuple):
        idx = np.clip(np.rint(np.array(opts.store_two_time) / h).astype(int), 0, run["last"])
        columns = {"t_w": h * idx, "C": np.column_stack([C.slice(j) for j in idx]),
                   "R": np.column_stack([R.slice(j) for j in idx])}
    two = stored and (opts.store_two_time is True or run["status"] != _kernels.OK)
    return DMFTResult(
        model=model, temperature=T, m0=m0, t_max=t_max, options=replace(opts, dt=h),
        times=h * np.arange(keep), m=run["m"].copy(), mu=run["mu"].copy(), e=run["e"].copy(),
        C=C if two else None, R=R if two else None, columns=columns, stats=dict(run["stats"]),
        versions=_io.versions())


def _failure(model, opts, h, run) -> str:
    """The message of a failed fixed-grid run: what broke, where, and the fix."""
    bad, last, status = run["bad"], run["last"], run["status"]
    where = (f"at t = {bad * h:.6g} (step {bad}); last good time t = {last * h:.6g} with "
             f"mu = {run['mu'][last]:.6g}")
    if status == _kernels.NOT_CONVERGED:
        return (f"the implicit trapezoid corrector did not reach its tolerance "
                f"{run['tol']:g} in max_corrector_iterations = "
                f"{opts.max_corrector_iterations} passes {where}: reduce dt (now {h:g}) or "
                "raise max_corrector_iterations. The partial result is in .result")
    what = {_kernels.NONFINITE: "non-finite values",
            _kernels.BLOWUP: f"|C| or |m| above 1 + {_kernels.INVARIANT_SLACK:g}",
            _kernels.NEGATIVE_RESPONSE: f"R below -{_kernels.INVARIANT_SLACK:g} at T = 0"}[status]
    s = math.sqrt(model.d2Q(1.0))
    return (f"{what} (an invariant of [S3.2] broken) {where}. The explicit schemes are stable "
            f"roughly while dt*(mu + 2 sqrt(Q''(1))) < 2 [S3.4]: reduce dt (now {h:g}; try "
            f"dt <= {1.0 / (abs(run['mu'][last]) + 2 * s):.3g}). The partial result is in "
            ".result")


def _failed(result, model, opts, h, run) -> DMFTResult:
    result.status = "failed"
    result.message = _failure(model, opts, h, run)
    return result


def _attach_estimate(result, errors, rtol, how) -> None:
    """Store the largest estimated error of m, mu, e; warn (AccuracyWarning) above rtol."""
    if errors is None:
        result.stats["error_estimate"] = None
        result.message = f"no error estimate ({how})"
        warnings.warn(f"{result.message}: the accuracy of this run is unknown", AccuracyWarning,
                      stacklevel=5)
        return
    est = {q: float(np.max(errors[q])) for q in ("m", "mu", "e")}
    scale = {q: max(1.0, float(np.max(np.abs(getattr(result, q))))) for q in ("m", "mu", "e")}
    result.stats["error_estimate"] = est
    text = ("estimated error (" + how + "): " +
            ", ".join(f"{q} {v:.2g}" for q, v in est.items()))
    result.message = text
    worst = max(est[q] / scale[q] for q in est)
    if worst > rtol:
        warnings.warn(f"{text} exceeds rtol = {rtol:g}: lower dt or use the default scheme "
                      '"extrapolated"', AccuracyWarning, stacklevel=5)


def _coarse_index(n_steps: int, factor: int) -> np.ndarray:
    """Packed indices, on a grid ``factor`` times finer, of the coarse grid's lower triangle."""
    i, j = np.tril_indices(n_steps + 1)
    fi, fj = factor * i, factor * j
    return fi * (fi + 1) // 2 + fj


def _richardson(lo, hi, ell):
    """One tableau step: removes the h^(2 ell) term of the trapezoid rule's error expansion."""
    return hi + (hi - lo) / (4 ** ell - 1)


def _solve_extrapolated(model, t_max, m0, T, h, n_steps, opts, ident, progress, checkpoint,
                        checkpoint_every) -> DMFTResult:
    """Richardson extrapolation of the implicit trapezoid rule on grids h, h/2, ..., h/2^L.

    The trapezoid rule in time and in the memory integrals is symmetric, so its error expands
    in even powers of h (measured: successive differences fall by 4.000, then 16.0 after one
    extrapolation). Tableau: T[k][l] = T[k][l-1] + (T[k][l-1] - T[k-1][l-1])/(4^l - 1). The
    result is T[L][L-1] (order 2L) and its error estimate |T[L][L] - T[L][L-1]|; levels are
    added until the estimate meets rtol or ``max_levels`` is reached.
    """
    max_corr = opts.max_corrector_iterations
    two = opts.store_two_time is not False
    keys = ("m", "mu", "e") + (("C", "R") if two else ())
    table: list[list[dict]] = []
    stats = {"levels": 0, "steps": 0, "rhs_evaluations": 0, "wall_time_s": 0.0,
             "resumed_from_step": 0}
    level_ckpt = None
    for k in range(opts.max_levels + 1):
        factor = 2 ** k
        if k >= 1:
            try:
                _check_memory(n_steps * factor)
            except MemoryError:
                break
        if checkpoint is not None:
            level_ckpt = Path(f"{_io.stem_of(checkpoint)}_level{k}")
        # the corrector's residual is not smooth in h, so extrapolation cannot remove it: keep
        # its sum over the level's steps two decades below rtol (floor: rounding)
        tol = max(1e-13, min(opts.corrector_tol, 0.01 * opts.rtol / (n_steps * factor)))
        run = _grid_run(model, T, m0, h / factor, n_steps * factor, max_corr, tol, progress,
                        level_ckpt, checkpoint_every, ident, opts.threads)
        for key in ("steps", "rhs_evaluations", "wall_time_s", "resumed_from_step"):
            stats[key] += run["stats"][key]
        stats["finest_two_time_bytes"] = run["stats"]["two_time_bytes"]
        if run["status"] != _kernels.OK:
            if k == 0:
                result = _grid_result(model, T, m0, t_max, opts, h, run)
                raise IntegrationError(_failure(model, opts, h, run),
                                       _failed(result, model, opts, h, run))
            break
        row = {q: run[q][::factor].copy() for q in ("m", "mu", "e")}
        if two:
            idx = _coarse_index(n_steps, factor)
            row["C"], row["R"] = run["C"][idx], run["R"][idx]
        new = [row]
        for ell in range(1, k + 1):
            lo, hi = table[k - 1][ell - 1], new[ell - 1]
            new.append({q: _richardson(lo[q], hi[q], ell) for q in keys})
        table.append(new)
        stats["levels"] = k
        if k >= 1:
            err = {q: np.abs(new[k][q] - new[k - 1][q]) for q in ("m", "mu", "e")}
            worst = max(float(np.max(err[q])) / max(1.0, float(np.max(np.abs(new[k - 1][q]))))
                        for q in err)
            if worst <= opts.rtol:
                break
    L = len(table) - 1
    if L == 0:
        raise IntegrationError(
            f"the grid h/2 = {h / 2:g} failed or does not fit in memory, so no extrapolation "
            f"and no error estimate exist: choose dt (now {h:g}) so that t_max/dt is smaller",
            None)
    best = table[L][L - 1]
    keep = n_steps + 1
    run = {"m": best["m"], "mu": best["mu"], "e": best["e"], "C": best.get("C"),
           "R": best.get("R"), "status": _kernels.OK, "last": n_steps, "bad": n_steps,
           "stats": dict(stats, two_time_bytes=(keep * (keep + 1) * 8 if two else 0))}
    result = _grid_result(model, T, m0, t_max, opts, h, run)
    err = {q: np.abs(table[L][L][q] - best[q]) for q in ("m", "mu", "e")}
    _attach_estimate(result, err, opts.rtol,
                     f"Richardson, {L + 1} trapezoid levels h..h/{2 ** L}, order {2 * L}")
    result.message = (f"integrated to t = {n_steps * h:g} on {L + 1} grids (h = {h:g} .. "
                      f"{h / 2 ** L:g}); " + result.message)
    return result


def _solve_doubling(model, t_max, m0, T, opts, progress, checkpoint, checkpoint_every,
                    stop_m=None) -> DMFTResult:
    """The grid-doubling scheme [S3.4] behind :func:`solve_dmft` (``scheme="doubling"``)."""
    waits = opts.store_two_time if isinstance(opts.store_two_time, tuple) else ()
    run = _doubling.integrate_doubling(model, t_max, m0, T, opts, waits=waits,
                                       progress=progress, checkpoint=checkpoint,
                                       checkpoint_every=checkpoint_every, stop_m=stop_m)
    stats = run["stats"]
    result = DMFTResult(
        model=model, temperature=T, m0=m0, t_max=t_max, options=opts, times=run["t"],
        m=run["m"], mu=run["mu"], e=run["e"], C=None, R=None, columns=run.get("columns"),
        window=run["window"] if opts.store_two_time is True else None, stats=stats,
        versions=_io.versions())
    if run["status"] != _kernels.OK:
        result.status = "failed"
        result.message = _doubling.failure_message(run["status"], run["bad_time"], opts)
        raise IntegrationError(result.message, result)
    result.message = (f"integrated to t = {result.times[-1]:g} in {stats['windows']} windows "
                      f"of {opts.window} steps")
    if stats["unresolved_from_t"] is not None:
        note = (f"from t = {stats['unresolved_from_t']:.4g} the widest window "
                f"({opts.window * opts.max_widening}) did not keep the change per step within "
                f"max_change / max_growth: raise max_widening or window")
        warnings.warn(note, AccuracyWarning, stacklevel=5)
        result.message += "; " + note
    if opts.error_estimate:
        # two companions: window/2 (1/8 of the cost) sees the window's error; dt/2 (about the
        # cost of the run: the step at time t is ~2t/window whatever dt) sees the initial
        # step's, which the window/2 run shares [S3.4]
        coarse = _doubling.integrate_doubling(model, t_max, m0, T, opts, stop_m=stop_m,
                                              window=opts.window // 2)
        half = _doubling.integrate_doubling(model, t_max, m0, T, replace(opts, dt=opts.dt / 2),
                                            stop_m=stop_m)
        if coarse["status"] == _kernels.OK and half["status"] == _kernels.OK:
            parts = {"window": _doubling.error_estimate(run, coarse, opts.dt),
                     "initial_step": _doubling.error_estimate(run, half, opts.dt / 2,
                                                              factor=4 / 3)}
            stats["error_budget"] = parts
            stats["error_estimate"] = {q: parts["window"][q] + parts["initial_step"][q]
                                       for q in ("m", "mu", "e")}
            result.message += "; " + _doubling.check_accuracy(stats["error_estimate"],
                                                              opts.tolerance)
        else:
            stats["error_estimate"] = None
            note = "no error estimate (the window/2 or dt/2 run failed)"
            warnings.warn(f"{note}: the accuracy of this run is unknown", AccuracyWarning,
                          stacklevel=5)
            result.message += "; " + note
    return result


def _write_checkpoint(path, ident, step, Cp, Rp, m, mu, e):
    k = step + 1
    _io.save_pair(path, {"C": Cp[:k * (k + 1) // 2], "R": Rp[:k * (k + 1) // 2],
                         "m": m[:k], "mu": mu[:k], "e": e[:k]},
                  {"kind": "DMFTCheckpoint", "ident": ident, "step": step})


def _resume(path, ident, Cp, Rp, m, mu, e) -> int:
    """Load a matching checkpoint into the arrays; return the step to continue from."""
    stem = _io.stem_of(path)
    if not _io.saved(stem):
        return 0
    arrays, meta = _io.load_pair(stem, same_version=True)
    if meta.get("kind") != "DMFTCheckpoint" or meta["ident"] != json.loads(json.dumps(ident)):
        raise ValueError(
            f"checkpoint {stem} belongs to a different run ({meta.get('ident')}); "
            "pass another checkpoint path or delete it")
    step = int(meta["step"])
    k = step + 1
    Cp[:k * (k + 1) // 2] = arrays["C"]
    Rp[:k * (k + 1) // 2] = arrays["R"]
    for dst, key in ((m, "m"), (mu, "mu"), (e, "e")):
        dst[:k] = arrays[key]
    return step
