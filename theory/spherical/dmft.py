"""Large-N dynamics of spherical models: the CHSCK / Langevin-state-evolution equations [S3].

``solve_dmft`` integrates the closed equations [S3.1] with the boundary conditions [S3.2] for the
correlation C(t,t') = x(t).x(t')/N, the response R(t,t'), the overlap m(t) = x(t).x*/N, the
Lagrange multiplier mu(t) and the energy density e(t) = H/N, at any temperature T >= 0 (T = 0 is
gradient flow). Time is in the units of dx/dt = -mu x - grad H [S2].
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numba
import numpy as np

from ... import _io
from ..._progress import progress_bar
from ..errors import IntegrationError
from . import _dmft_kernels as _kernels
from . import dmft_doubling as _doubling
from .models import SphericalModel, model_from_dict

__all__ = ["solve_dmft", "DMFTOptions", "DMFTResult", "TwoTimeFunction"]

_SCHEMES = ("euler", "heun", "trapezoid", "doubling")


@dataclass(frozen=True)
class DMFTOptions:
    """Numerical options of :func:`solve_dmft`.

    Parameters
    ----------
    dt : float
        Step h of the fixed grid t_i = i h (time units of [S2]). The explicit schemes are stable
        roughly while h (mu + 2 sqrt(Q''(1))) < 2 [S3.4].
    scheme : {"heun", "trapezoid", "euler", "doubling"}
        The fixed-grid schemes use the trapezoid rule for the memory integrals. "euler":
        explicit Euler, the authors' scheme [S3.4], first order in h, one evaluation per step.
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
        "trapezoid" only: stop the corrector when the largest change of the new row is below.
    max_corrector_iterations : int
        "trapezoid" only: cap on corrector passes per step.
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
    max_widening : int
        "doubling" only: the widest window is ``max_widening * window`` (a power of 2); this
        bounds the memory of a widened run.
    error_estimate : bool
        "doubling" only: run the problem again with ``window // 2`` (about 1/8 of the cost)
        and report the largest difference of m, mu, e in ``stats["error_estimate"]``.
    """

    dt: float = 0.05
    scheme: str = "heun"
    store_two_time: bool | tuple[float, ...] = True
    corrector_tol: float = 1e-10
    max_corrector_iterations: int = 50
    window: int = 512
    near_diagonal: int = 2
    tolerance: float = 1e-3
    max_sweeps: int = 1000
    max_change: float = 0.01
    max_widening: int = 4
    error_estimate: bool = True

    def __post_init__(self):
        if not (isinstance(self.dt, int | float) and math.isfinite(self.dt) and self.dt > 0):
            raise ValueError(f"dt must be a positive finite number, got {self.dt!r}")
        if not isinstance(self.store_two_time, bool):
            tw = tuple(float(t) for t in self.store_two_time)
            if not all(math.isfinite(t) and t >= 0 for t in tw):
                raise ValueError(f"store_two_time: waiting times must be >= 0, got {tw}")
            object.__setattr__(self, "store_two_time", tw)
        if self.scheme not in _SCHEMES:
            raise ValueError(f"scheme must be one of {_SCHEMES}, got {self.scheme!r}")
        if not self.corrector_tol > 0:
            raise ValueError(f"corrector_tol must be > 0, got {self.corrector_tol!r}")
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
        if not self.max_change > 0:
            raise ValueError(f"max_change must be > 0, got {self.max_change!r}")
        if not (isinstance(self.max_widening, int) and self.max_widening >= 1
                and self.max_widening & (self.max_widening - 1) == 0):
            raise ValueError(f"max_widening must be a power of 2 (1 = never widen), got "
                             f"{self.max_widening!r}")
        if not self.tolerance > 0:
            raise ValueError(f"tolerance must be > 0, got {self.tolerance!r}")

    @property
    def order(self) -> int:
        """Nominal convergence order in dt."""
        return 1 if self.scheme == "euler" else 2

    def corrector(self) -> tuple[int, float]:
        """(maximum corrector passes, tolerance) for the kernel."""
        return {"euler": (0, math.inf), "heun": (1, math.inf),
                "trapezoid": (self.max_corrector_iterations, self.corrector_tol)}[self.scheme]


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
        steps, rhs_evaluations, wall_time_s, resumed_from_step, two_time_bytes.
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

    def __repr__(self) -> str:
        n = len(self.times)
        last = (f"m={self.m[-1]:.6g}, mu={self.mu[-1]:.6g}, e={self.e[-1]:.6g}" if n else "empty")
        return (f"DMFTResult({self.status}: {self.model!r}, T={self.temperature:g}, "
                f"m0={self.m0:g}, {self.options.scheme} dt={self.options.dt:g}, "
                f"t=0..{self.times[-1] if n else 0:g} ({n} points), final {last}, "
                f"{self.stats.get('wall_time_s', float('nan')):.3g} s)")

    # ---- storage -------------------------------------------------------------------------
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
    for name, v in (("t_max", t_max), ("m0", m0), ("temperature", temperature)):
        if not isinstance(v, int | float | np.floating | np.integer) or not math.isfinite(v):
            raise ValueError(f"{name} must be a finite real number, got {v!r}")
    if t_max <= 0:
        raise ValueError(f"t_max must be > 0, got {t_max!r}")
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


def solve_dmft(model: SphericalModel, t_max: float, *, m0: float, temperature: float = 0.0,
               dt: float = 0.05, scheme: str = "heun",
               store_two_time: bool | tuple[float, ...] = True,
               options: DMFTOptions | None = None, progress: bool = False,
               checkpoint: str | os.PathLike | None = None,
               checkpoint_every: float = 300.0) -> DMFTResult:
    """Integrate the large-N dynamical equations [S3.1]-[S3.2] on a fixed time grid.

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
    dt : float
        Grid step. Cost O(n^3), memory O(n^2) with n = t_max/dt [S3.4].
    scheme : {"heun", "trapezoid", "euler"}
        See :class:`DMFTOptions`.
    store_two_time : bool or tuple of float
        Keep C and R (True), only their slices at the given waiting times, or neither.
    options : DMFTOptions, optional
        All numerical options at once (then ``dt``, ``scheme`` and ``store_two_time`` are
        ignored).
    progress : bool
        Show a progress bar (needs tqdm).
    checkpoint : path, optional
        Stem of a checkpoint pair (``.npz`` + ``.json``). Written every ``checkpoint_every``
        seconds and at the end; a call with the same arguments resumes from it.
    checkpoint_every : float
        Seconds between checkpoints.

    Returns
    -------
    DMFTResult

    Raises
    ------
    ValueError
        For invalid input, naming the parameter.
    IntegrationError
        When a step produces non-finite values or |C| > 1.5 (a blow-up of the explicit scheme),
        or the implicit corrector does not converge; its ``result`` holds the run up to the
        last good step.
    """
    _validate(model, t_max, m0, temperature)
    opts = options or DMFTOptions(dt=float(dt), scheme=scheme,
                                  store_two_time=store_two_time)
    if opts.scheme == "doubling":
        return _solve_doubling(model, float(t_max), float(m0), float(temperature), opts,
                               progress, checkpoint, checkpoint_every)
    h = opts.dt
    n_steps = max(1, math.ceil(t_max / h - 1e-9))
    n = n_steps + 1
    size = n * (n + 1) // 2
    need = 2 * size * 8
    free = _io.available_memory()
    if free is not None and need > 0.9 * free:
        raise MemoryError(
            f"t_max/dt = {n_steps} steps needs {need / 2**30:.1f} GiB for C and R but about "
            f"{free / 2**30:.1f} GiB is available: increase dt or shorten t_max")

    T = float(temperature)
    qs, qn = model.signal_coeffs, model.noise_coeffs
    Cp = np.zeros(size)
    Rp = np.zeros(size)
    m = np.zeros(n)
    mu = np.zeros(n)
    e = np.zeros(n)
    Cp[0] = 1.0
    Rp[0] = 1.0
    m[0] = float(m0)
    start = 0
    ident = {"model": model.to_dict(), "temperature": T, "m0": float(m0), "n_steps": n_steps,
             "options": asdict(opts)}
    if checkpoint is not None:
        start = _resume(checkpoint, ident, Cp, Rp, m, mu, e)

    nchunks = max(1, numba.get_num_threads())
    ws = _kernels.workspace(n, nchunks)
    dC, dR, dC2, dR2 = (np.zeros(n) for _ in range(4))
    max_corr, tol = opts.corrector()
    n_corr = 0
    wall0 = time.perf_counter()
    last_ckpt = wall0
    status, bad = _kernels.OK, n_steps
    edges = [start] + [b for b in _chunks(n_steps, min(n_steps, 200)) if b > start]
    with progress_bar(n_steps, "DMFT", progress) as bar:
        bar.update(start)
        for a, b in zip(edges[:-1], edges[1:], strict=False):
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
    wall = time.perf_counter() - wall0
    stats = {"steps": last - start, "rhs_evaluations": last - start + n_corr,
             "wall_time_s": wall, "resumed_from_step": start, "two_time_bytes": need}
    if status == _kernels.OK and checkpoint is not None:
        _write_checkpoint(checkpoint, ident, n_steps, Cp, Rp, m, mu, e)

    keep = last + 1
    two = opts.store_two_time is True or status != _kernels.OK
    C = TwoTimeFunction(Cp[:keep * (keep + 1) // 2], keep, True)
    R = TwoTimeFunction(Rp[:keep * (keep + 1) // 2], keep, False)
    columns = None
    if isinstance(opts.store_two_time, tuple):
        idx = np.clip(np.rint(np.array(opts.store_two_time) / h).astype(int), 0, last)
        columns = {"t_w": h * idx, "C": np.column_stack([C.slice(j) for j in idx]),
                   "R": np.column_stack([R.slice(j) for j in idx])}
    result = DMFTResult(
        model=model, temperature=T, m0=float(m0), t_max=float(t_max), options=opts,
        times=h * np.arange(keep), m=m[:keep].copy(), mu=mu[:keep].copy(), e=e[:keep].copy(),
        C=TwoTimeFunction(C.packed.copy(), keep, True) if two else None,
        R=TwoTimeFunction(R.packed.copy(), keep, False) if two else None, columns=columns,
        stats=stats, versions=_io.versions())
    if status != _kernels.OK:
        s = math.sqrt(model.d2Q(1.0))
        where = (f"at t = {bad * h:.6g} (step {bad}); last good time t = {last * h:.6g} with "
                 f"mu = {mu[last]:.6g}")
        if status == _kernels.NOT_CONVERGED:
            result.message = (
                f"the implicit trapezoid corrector did not reach corrector_tol = "
                f"{opts.corrector_tol:g} in max_corrector_iterations = "
                f"{opts.max_corrector_iterations} passes {where}: reduce dt (now {h:g}) or "
                "raise max_corrector_iterations. The partial result is in .result")
        else:
            what = ("non-finite values" if status == _kernels.NONFINITE
                    else "|C| or |m| above 1.5")
            result.message = (
                f"{what} {where}. The explicit scheme is stable roughly while "
                f"dt*(mu + 2 sqrt(Q''(1))) < 2 [S3.4]: reduce dt (now {h:g}; try dt <= "
                f"{1.0 / (abs(mu[last]) + 2 * s):.3g}). The partial result is in .result")
        result.status = "failed"
        raise IntegrationError(result.message, result)
    result.message = f"integrated to t = {n_steps * h:g} in {n_steps} steps"
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
    if opts.error_estimate:
        coarse = _doubling.integrate_doubling(model, t_max, m0, T, opts, stop_m=stop_m,
                                              window=opts.window // 2)
        if coarse["status"] == _kernels.OK:
            stats["error_estimate"] = _doubling.error_estimate(run, coarse, opts.dt)
            result.message += "; " + _doubling.check_accuracy(stats["error_estimate"],
                                                              opts.tolerance)
        else:
            stats["error_estimate"] = None
            result.message += "; no error estimate (the window/2 run failed)"
    return result


def _write_checkpoint(path, ident, step, Cp, Rp, m, mu, e):
    k = step + 1
    _io.save_pair(path, {"C": Cp[:k * (k + 1) // 2], "R": Rp[:k * (k + 1) // 2],
                         "m": m[:k], "mu": mu[:k], "e": e[:k]},
                  {"kind": "DMFTCheckpoint", "ident": ident, "step": step})


def _resume(path, ident, Cp, Rp, m, mu, e) -> int:
    """Load a matching checkpoint into the arrays; return the step to continue from."""
    stem = _io.stem_of(path)
    if not stem.with_suffix(".json").exists():
        return 0
    arrays, meta = _io.load_pair(stem)
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
