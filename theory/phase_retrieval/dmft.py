"""Large-N dynamics of phase retrieval: DMFT of gradient flow, persistent SGD, Langevin [P6].

The closure of [P6] is solved as a damped fixed point over the whole time window:

1. draw the Gaussian process chi (covariance C - m m^T, its symmetric square root from the
   eigendecomposition, tiny negative eigenvalues clipped) for S paths, with common random
   numbers across iterations: pseudo-random normals, or (``sampling="qmc"``) scrambled Sobol'
   points whose first coordinates drive the principal axes of the window's seed covariance,
   where nearly all the variance of the smooth process chi lies;
2. run the effective single-sample process h(t) = m(t) h* + chi(t) - int R(t,s) s(s) l'(h(s)) ds and
   its response r(t, u) path by path (numba, trapezoid rule, implicit at the current time);
3. average: lambda, dm/dt, X(t,t') = alpha E[s l'(h(t)) h(t')], G = alpha E[s l''], and the memory
   kernel alpha E[g(t) r(t,u) g(u)] (g = s l''; the spec's -alpha M~ with r~ = -r g);
4. integrate m, C and R on the grid; mix with the previous iterate (``damping`` = weight of the old
   one) and stop when the largest change of (C, R, m) is below ``tol``;
5. do this on growing windows [0, t_w], each seeded by the previous one: the map is causal, and
   Picard iteration over a window first amplifies errors like (L dt)^n / n! (L the largest
   rate, dt the unsolved length) before converging. A window twice as long in time is tried
   first; when its iteration diverges the extension is halved (down to one grid point) and the
   growth factor reduced, and it recovers after successes.

S paths behave like a finite system of M ~ S measurements; the Monte Carlo error is reported from
``n_batches`` independent batches, each iterated to its own fixed point from the full solution
(spread / sqrt(n_batches)); with "qmc" each batch is an independently scrambled Sobol' set (the
replicates of randomised quasi-Monte Carlo), so the estimate keeps its meaning.
"""

from __future__ import annotations

import json
import math
import os
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numba as nb
import numpy as np
from scipy.stats import norm, qmc

from ... import _io
from ..._progress import progress_bar
from ..._seeding import root_seed
from ..errors import IntegrationError
from . import _dmft_kernels as _k
from . import _loss_kernels
from .model import PhaseRetrieval
from .spectrum import JointLaw, state_law

_SOBOL_MAX_DIM = 21201  # scipy's Sobol' direction numbers

__all__ = ["PRDMFTOptions", "PRDMFTResult", "DMFTConvergenceError", "solve_pr_dmft"]


class DMFTConvergenceError(IntegrationError):
    """The damped iteration diverged or did not reach ``tol``; ``result`` holds the last iterate
    (also on disk when a checkpoint was given)."""


@dataclass(frozen=True)
class PRDMFTOptions:
    """Numerical options of the phase-retrieval DMFT [P6].

    Parameters
    ----------
    n_times : int
        Grid points K (cost O(S K^3) per iteration, memory O(S K)).
    grid : {"uniform", "log"}
        Uniform on [0, t_max], or 0 followed by a geometric grid from ``t_first`` (for stiff
        losses such as l_a with small a, whose start has curvature ~ 12 h^2/a).
    t_first : float
        First positive time of the log grid.
    times : tuple of float, optional
        An explicit increasing grid starting at 0 (overrides the three above).
    n_paths : int
        Monte Carlo paths S per iteration (S ~ 2e4 recommended [P6]).
    sampling : {"mc", "qmc"}
        "mc": pseudo-random normals. "qmc": randomised quasi-Monte Carlo, scrambled Sobol'
        points on the principal axes of C - m m^T (h* on the first coordinate), one
        independent scrambling per error batch; at the validation point of [P6] it gives 2-3x
        smaller errors of m and C(t, 0) at the same S, not of lambda. Its iteration does not
        converge from m0 = 0 with the bounded loss (S <= 8000, t = 2): use "mc" there.
    damping : float
        Initial weight of the previous iterate in [0, 1); raised automatically (up to 0.95)
        when the iteration stops improving.
    tol : float
        Stop when max |change| of (C, R, m) over the window is below ``tol``.
    max_iter : int
        Iteration cap per window.
    n_batches : int
        Independent batches for the Monte Carlo error (0 or 1: no error estimate).
    batch_iter : int
        Iteration cap of each batch.
    law_times : tuple of float
        Times (nearest grid point) at which the paths' (h(t), h*) are kept, for [P4.5a].
    first_window : int
        Grid points of the first window (see step 5 of the module docstring for the growth).
    """

    n_times: int = 120
    grid: str = "uniform"
    t_first: float = 1e-3
    times: tuple[float, ...] | None = None
    n_paths: int = 20_000
    sampling: str = "mc"
    damping: float = 0.5
    tol: float = 1e-6
    max_iter: int = 300
    n_batches: int = 8
    batch_iter: int = 40
    law_times: tuple[float, ...] = ()
    first_window: int = 16

    def __post_init__(self):
        if self.times is not None:
            object.__setattr__(self, "times", tuple(float(t) for t in self.times))
        object.__setattr__(self, "law_times", tuple(float(t) for t in self.law_times))
        if int(self.n_times) != self.n_times or self.n_times < 3:
            raise ValueError(f"n_times must be an integer >= 3, got {self.n_times!r}")
        if self.grid not in ("uniform", "log"):
            raise ValueError(f"grid must be 'uniform' or 'log', got {self.grid!r}")
        if not self.t_first > 0:
            raise ValueError(f"t_first must be > 0, got {self.t_first!r}")
        if int(self.n_paths) != self.n_paths or self.n_paths < 100 or self.n_paths % 2:
            raise ValueError(f"n_paths must be an even integer >= 100 (antithetic pairs; use "
                             f"~2e4), got {self.n_paths!r}")
        if self.sampling not in ("qmc", "mc"):
            raise ValueError(f"sampling must be 'qmc' or 'mc', got {self.sampling!r}")
        if not 0 <= self.damping < 1:
            raise ValueError(f"damping must lie in [0, 1), got {self.damping!r}")
        if self.first_window < 2:
            raise ValueError(f"first_window must be >= 2, got {self.first_window!r}")
        if not self.tol > 0 or self.max_iter < 1 or self.batch_iter < 1:
            raise ValueError("tol must be > 0 and max_iter, batch_iter >= 1")
        if self.n_batches < 0 or self.n_batches > self.n_paths // 100:
            raise ValueError(f"n_batches must lie in [0, n_paths/100], got {self.n_batches!r}")

    def grid_for(self, t_max: float) -> np.ndarray:
        if self.times is not None:
            t = np.array(self.times)
            if t[0] != 0 or np.any(np.diff(t) <= 0):
                raise ValueError("times must start at 0 and increase strictly")
            return t
        if self.grid == "uniform":
            return np.linspace(0.0, t_max, self.n_times)
        if self.t_first >= t_max:
            raise ValueError(f"t_first = {self.t_first:g} must be < t_max = {t_max:g}")
        return np.concatenate([[0.0], np.geomspace(self.t_first, t_max, self.n_times - 1)])


@dataclass
class PRDMFTResult:
    """Large-N trajectory of phase retrieval [P6].

    Attributes
    ----------
    model : PhaseRetrieval
    m0, t_max, temperature, batch_fraction, persistence : float
        The dynamics solved (persistence NaN: full-batch gradient flow / Langevin).
    options : PRDMFTOptions
    times : ndarray (K,)
    m, lam, e, test_error : ndarray (K,)
        Overlap x.x*/N, multiplier lambda [P3.1], energy density e = L/N = alpha E[l], and test
        error E[(h^2 - h*^2)^2] = 4 (1 - m^2).
    C, R : ndarray (K, K)
        C(t_i, t_j) (symmetric, C(t,t) = 1) and R(t_i, t_j) (zero for j > i, R(t,t) = 1).
    mc_error : dict of ndarray
        Monte Carlo standard errors of "m", "lam", "e", "C0" (= C(t, 0)) from independent
        batches (empty without batches).
    law_times : ndarray
        Grid times at which the paths' law is stored.
    law_h : ndarray (S, len(law_times)) or None
        h(t) of every path; with ``h_star`` and ``y`` it is the law of (h(t), h*) of [P4.5a].
    h_star, y : ndarray (S,) or None
    status : {"success", "failed"}
    message : str
    stats : dict
        iterations, final_change, wall_time_s, n_paths, resumed_from, batch_iterations.
    seed_entropy : str
    versions : dict
    """

    model: PhaseRetrieval
    m0: float
    t_max: float
    temperature: float
    batch_fraction: float
    persistence: float
    options: PRDMFTOptions
    times: np.ndarray
    m: np.ndarray
    lam: np.ndarray
    e: np.ndarray
    C: np.ndarray
    R: np.ndarray
    mc_error: dict = field(default_factory=dict)
    law_times: np.ndarray = field(default_factory=lambda: np.zeros(0))
    law_h: np.ndarray | None = None
    h_star: np.ndarray | None = None
    y: np.ndarray | None = None
    status: str = "success"
    message: str = ""
    stats: dict = field(default_factory=dict)
    seed_entropy: str = ""
    versions: dict = field(default_factory=dict)

    @property
    def test_error(self) -> np.ndarray:
        return 4.0 * (1.0 - self.m * self.m)

    @property
    def mu(self) -> np.ndarray:
        """Alias of ``lam`` (the spiked model's name for the multiplier)."""
        return self.lam

    @property
    def C0(self) -> np.ndarray:
        """C(t, 0)."""
        return self.C[:, 0]

    def law(self, t: float, *, trim: float = 0.0) -> JointLaw:
        """Law of (g, u) at the stored time nearest ``t`` [P4.2] (requires ``law_times``)."""
        if self.law_h is None or not len(self.law_times):
            raise ValueError("no law stored: solve with options.law_times=(t, ...)")
        i = int(np.argmin(np.abs(self.law_times - t)))
        ti = self.law_times[i]
        m = float(np.interp(ti, self.times, self.m))
        return state_law(self.model.loss, self.law_h[:, i], self.h_star, m=m, y=self.y,
                         trim=trim, description=f"DMFT paths at t = {ti:g}")

    def __repr__(self) -> str:
        err = self.mc_error.get("m")
        e = f" +- {err[-1]:.2g}" if err is not None else ""
        return (f"PRDMFTResult({self.status}: alpha={self.model.alpha:g}, {self.model.loss!r}, "
                f"m0={self.m0:g}, T={self.temperature:g}, t=0..{self.times[-1]:g} "
                f"({self.times.size} points), S={self.options.n_paths}, final m={self.m[-1]:.6g}"
                f"{e}, lam={self.lam[-1]:.6g}, e={self.e[-1]:.6g}, "
                f"{self.stats.get('iterations', 0)} iterations, "
                f"{self.stats.get('wall_time_s', math.nan):.3g} s)")

    def _meta(self) -> dict:
        return {"kind": "PRDMFTResult", "model": self.model.to_dict(), "m0": self.m0,
                "t_max": self.t_max, "temperature": self.temperature,
                "batch_fraction": self.batch_fraction, "persistence": self.persistence,
                "options": asdict(self.options), "status": self.status, "message": self.message,
                "stats": self.stats, "seed_entropy": self.seed_entropy,
                "versions": self.versions}

    def save(self, path: str | os.PathLike) -> Path:
        """Save to ``<path>.npz`` + ``<path>.json`` atomically; returns the stem."""
        arrays = {k: getattr(self, k) for k in ("times", "m", "lam", "e", "C", "R", "law_times")}
        arrays.update({f"mc_error_{k}": v for k, v in self.mc_error.items()})
        for k in ("law_h", "h_star", "y"):
            if getattr(self, k) is not None:
                arrays[k] = getattr(self, k)
        return _io.save_pair(path, arrays, self._meta())

    @classmethod
    def load(cls, path: str | os.PathLike, *, loss=None) -> PRDMFTResult:
        """Load a result written by :meth:`save` (pass ``loss`` again for a user-defined one)."""
        a, meta = _io.load_pair(path)
        if meta.get("kind") != "PRDMFTResult":
            raise ValueError(f"{path} does not hold a PRDMFTResult")
        md = meta["model"]
        model = (PhaseRetrieval(md["alpha"], loss, md["label_noise"], md["success_overlap"])
                 if loss is not None else PhaseRetrieval.from_dict(md))
        opts = meta["options"]
        for k in ("times", "law_times"):
            if opts[k] is not None:
                opts[k] = tuple(opts[k])
        return cls(model=model, m0=meta["m0"], t_max=meta["t_max"],
                   temperature=meta["temperature"], batch_fraction=meta["batch_fraction"],
                   persistence=meta["persistence"], options=PRDMFTOptions(**opts),
                   times=a["times"], m=a["m"], lam=a["lam"], e=a["e"], C=a["C"], R=a["R"],
                   mc_error={k[9:]: v for k, v in a.items() if k.startswith("mc_error_")},
                   law_times=a["law_times"], law_h=a.get("law_h"), h_star=a.get("h_star"),
                   y=a.get("y"), status=meta["status"], message=meta["message"],
                   stats=meta["stats"], seed_entropy=meta["seed_entropy"],
                   versions=meta["versions"])


class _Paths:
    """The fixed random numbers of one run (common across iterations) and its kernels.

    ``u`` (pairs, 1 + K [+ 1]) holds standard normals: h* in column 0, the coefficients of chi
    on the basis of ``_evaluate`` in columns 1..K, the label noise last. Every path appears
    twice, as the antithetic pair (h*, chi), (-h*, chi): at m = 0 the noise of E[l'(h) h*], the
    source of the overlap, cancels exactly within a pair (l depends on h^2 and y only). With
    ``sampling="qmc"`` the pairs come in ``blocks`` groups, each an independently scrambled
    Sobol' set (the independent replicates of the error estimate), the last taking the rest.
    """

    def __init__(self, model, times, n_paths, batch_fraction, persistence, seed, *,
                 sampling="mc", blocks=1):
        rng = np.random.Generator(np.random.PCG64(seed))
        k, half = times.size, n_paths // 2
        dim = k + 1 + (model.label_noise > 0)
        if sampling == "mc":
            u = rng.standard_normal((half, dim))
        else:
            if dim > _SOBOL_MAX_DIM:
                raise ValueError(f"sampling='qmc' supports at most {_SOBOL_MAX_DIM - 2} time "
                                 f"points, got {k}; use sampling='mc'")
            n_sets = max(blocks, 1)
            size = half // n_sets
            counts = [size] * (n_sets - 1) + [half - size * (n_sets - 1)]
            with warnings.catch_warnings():  # balance is best at powers of 2, not required
                warnings.simplefilter("ignore", UserWarning)
                u = np.concatenate([qmc.Sobol(dim, seed=rng).random(c) for c in counts])
            u = norm.ppf(np.clip(u, 2.0**-53, 1.0 - 2.0**-53))
        self.z = np.repeat(u[:, 1:k + 1], 2, axis=0)
        self.hs = np.repeat(u[:, 0], 2)
        self.hs[1::2] *= -1
        self.y = self.hs * self.hs
        if model.label_noise > 0:
            self.y = self.y + math.sqrt(model.label_noise) * np.repeat(u[:, -1], 2)
        self.act = np.ones((n_paths, k), dtype=np.float64)
        if persistence is not None:  # two-state chains of [P3.4], stationary start
            b, tau = batch_fraction, persistence
            s = rng.random(half) < b
            self.act[:, 0] = np.repeat(s, 2)
            for i in range(1, k):
                dt = times[i] - times[i - 1]
                r = rng.random(half)
                on = r < -math.expm1(-dt / tau)
                off = r < -math.expm1(-dt * (1 - b) / (b * tau))
                s = np.where(s, ~off, on)
                self.act[:, i] = np.repeat(s, 2)
        self.run = _loss_kernels.kernel(_k, "paths", model.loss.ev)
        self.n_chunks = 4 * nb.get_num_threads()


def _chi_eigh(C, m):
    """Eigenvalues (ascending) and eigenvectors of the covariance C - m m^T of chi [P6]."""
    cov = C - np.outer(m, m)
    return np.linalg.eigh(0.5 * (cov + cov.T))


def _basis(state, sampling):
    """Fixed orthogonal basis Q of one window: the principal axes of C - m m^T at the window's
    seed, by decreasing variance ("qmc"), or None for the identity ("mc")."""
    C, _, m = state
    if sampling == "mc":
        return None
    return np.ascontiguousarray(_chi_eigh(C, m)[1][:, ::-1])


def _evaluate(model, temperature, lo, hi, P: _Paths, sel: slice, basis, C, R, m,
              keep: list[int] | None = None):
    """One application of the DMFT map on the paths ``sel``: returns (C, R, m), observables.

    chi = u Q^T S with S the symmetric square root of C - m m^T and Q = ``basis`` (None: the
    identity) fixed for the window: S is continuous in the covariance (an eigenvector basis is
    not: signs and order flip), so common random numbers give a smooth map, and with Q the
    principal axes the first coordinates of u carry most of the variance (what quasi-Monte
    Carlo needs).
    """
    alpha = model.alpha
    w, v = _chi_eigh(C, m)
    k = m.size
    root = (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T
    chi = P.z[sel, :k] @ (root if basis is None else basis.T @ root)
    n = chi.shape[0]
    hs, y, act = P.hs[sel], P.y[sel], np.ascontiguousarray(P.act[sel, :k])
    RW = R * (lo + hi)[None, :]
    h, l0, l1, l2 = (np.empty((n, k)) for _ in range(4))
    kacc = np.zeros((P.n_chunks, k, k))
    fails = P.run(lo, hi, m, RW, R, chi, hs, y, act, model.loss.params, P.n_chunks,
                  h, l0, l1, l2, kacc)
    if fails:
        raise DMFTConvergenceError(
            f"the implicit step h + c l'(h) = b of the effective process failed on {fails} "
            "(path, time) pairs: the loss is too stiff for this grid; use more time points or "
            "grid='log'")
    lam = -alpha * np.mean(l1 * h, axis=0) + temperature
    bm = alpha * (hs @ l1) / n
    X = alpha * (l1.T @ h) / n
    G = alpha * np.mean(l2, axis=0)
    Kr = alpha * kacc.sum(axis=0) / n
    Cn, Rn, mn = np.empty((k, k)), np.empty((k, k)), np.empty(k)
    _k.integrate(lo, hi, m[0], lam, bm, X, G, Kr, Cn, Rn, mn)
    obs = {"lam": lam, "e": alpha * np.mean(l0, axis=0)}
    if keep:
        obs["law_h"] = h[:, keep].copy()
    return (Cn, Rn, mn), obs


def _iterate(state, step, tol, max_iter, control, start=0, on_iter=None):
    """Damped fixed point: state <- d state + (1 - d) step(state).

    ``control`` = (d, best, since): when the change has not improved on ``best`` for 8
    iterations (a cycle, e.g. through the clipped near-null directions of C - m m^T), d moves
    halfway to 1 (at most 0.95). Returns (state, observables, iterations, last change,
    "converged" | "diverged" | "max_iter", control).
    """
    change, obs = math.inf, None
    d, best, since = control
    for it in range(start, max_iter):
        new, obs = step(state)
        change = max(float(np.max(np.abs(a - b))) for a, b in zip(new, state, strict=True))
        if not math.isfinite(change) or change > 1e3:
            return state, obs, it + 1, change, "diverged", (d, best, since)
        state = tuple(d * b + (1 - d) * a for a, b in zip(new, state, strict=True))
        best, since = (change, 0) if change < 0.7 * best else (best, since + 1)
        if since >= 8 and d < 0.95:
            d, best, since = min(0.95, 0.5 * (1 + d)), change, 0
        if on_iter is not None:
            on_iter(it + 1, state, change, (d, best, since))
        if change < tol:
            return state, obs, it + 1, change, "converged", (d, best, since)
    return state, obs, max_iter, change, "max_iter", (d, best, since)


def solve_pr_dmft(model: PhaseRetrieval, t_max: float, *, m0: float = 0.0,
                  temperature: float = 0.0, batch_fraction: float = 1.0,
                  persistence: float | None = None, options: PRDMFTOptions | None = None,
                  rng=0, progress: bool = False,
                  checkpoint: str | os.PathLike | None = None) -> PRDMFTResult:
    """DMFT of phase retrieval for 0 <= t <= t_max [P6]; see the module docstring for the scheme.

    Parameters
    ----------
    model : PhaseRetrieval
        alpha, loss and label noise [P1], [P2].
    t_max : float
        Final time in the units of dx/dt = -grad L - lambda x [P3.1].
    m0 : float
        Initial overlap in [0, 1): warm start [P3.3]. m = 0 is an exact fixed point [P6].
    temperature : float
        Langevin temperature T >= 0 (lambda gains +T [P3.1]).
    batch_fraction, persistence : float
        Persistent SGD [P3.4]: fraction b of active samples and persistence time tau (None:
        full-batch dynamics, s = 1).
    options : PRDMFTOptions
    rng : int, SeedSequence or Generator
        Seed of the common random numbers (recorded in the result).
    progress : bool
        Progress bar over iterations (needs tqdm).
    checkpoint : path, optional
        Stem of a checkpoint pair written after every iteration; a call with the same arguments
        resumes from it (same numbers as an uninterrupted run), and a failed iteration leaves its
        last state there.

    Returns
    -------
    PRDMFTResult

    Raises
    ------
    DMFTConvergenceError
        If the iteration diverges or does not reach ``options.tol`` in ``options.max_iter``.
    """
    opts = options or PRDMFTOptions()
    _validate(model, t_max, m0, temperature, batch_fraction, persistence)
    t0 = time.perf_counter()
    times = opts.grid_for(float(t_max))
    k = times.size
    lo = np.zeros(k)
    hi = np.zeros(k)
    lo[:-1] = hi[1:] = 0.5 * np.diff(times)
    keep = sorted({int(np.argmin(np.abs(times - t))) for t in opts.law_times})
    root = root_seed(rng)
    P = _Paths(model, times, opts.n_paths, batch_fraction, persistence, root,
               sampling=opts.sampling, blocks=opts.n_batches)
    ident = {"model": model.to_dict(), "t_max": float(t_max), "m0": float(m0),
             "temperature": float(temperature), "batch_fraction": float(batch_fraction),
             "persistence": persistence, "entropy": str(root.entropy),
             # the iteration caps do not change the iterates (the error batches do with
             # "qmc": they are the scrambled blocks)
             "options": {k: v for k, v in asdict(opts).items()
                         if k not in ("max_iter", "batch_iter", "law_times")},
             "spawn_key": list(root.spawn_key)}
    ident = json.loads(json.dumps(ident))  # as it reads back from the checkpoint
    state = _extend((np.ones((1, 1)), np.ones((1, 1)), np.full(1, float(m0))), times)
    basis = None
    # progress: [window end kw, iterations done in it, converged points, growth factor]
    pos, history, control = [min(opts.first_window, k), 0, 1, 2.0], [], (
        opts.damping, math.inf, 0)
    if checkpoint is not None and _io.saved(checkpoint):
        arrays, meta = _io.load_pair(checkpoint, same_version=True)
        if meta.get("ident") != ident:
            raise ValueError(f"checkpoint {checkpoint} belongs to a different run; remove it or "
                             "choose another path")
        state = (arrays["C"], arrays["R"], arrays["m"])
        pos, history = list(meta["position"]), [float(v) for v in arrays["history"]]
        control = tuple(meta["control"])
        basis = arrays.get("basis")
    resumed_from = list(pos)

    def step(s, kw, sel=slice(0, opts.n_paths), keep_=None):
        return _evaluate(model, temperature, lo[:kw], hi[:kw], P, sel, basis, *s,
                         keep=keep_)

    def save(s, ctl):
        if checkpoint is not None:
            C, R, m = _extend(s, times)
            out = {"C": C, "R": R, "m": m, "history": np.array(history)}
            if basis is not None:
                out["basis"] = basis
            _io.save_pair(checkpoint, out,
                          {"ident": ident, "position": pos, "control": list(ctl)})

    bar = progress_bar(k, "DMFT grid points", progress, unit="pt")
    bar.update(pos[2])
    its, windows, dampings = 0, [], []
    try:
        while True:
            kw = pos[0]

            def on_iter(it, s, change, ctl, kw=kw):
                history.append(change)
                bar.set_postfix_str(f"t <= {times[kw - 1]:.3g}, change={change:.2e}")
                pos[1] = it
                save(s, ctl)

            sub = tuple(a[:kw, :kw] if a.ndim == 2 else a[:kw] for a in state)
            first = pos[1]
            if first == 0:  # a new window (a resumed one keeps its basis)
                basis = _basis(sub, opts.sampling)
            new, obs, it, change, how, ctl = _iterate(
                sub, lambda s_, kw=kw: step(s_, kw), opts.tol, opts.max_iter, control, first,
                on_iter)
            its += it - first
            if how == "diverged" and kw - pos[2] > 1:
                # Picard transient too large: retry a shorter extension of the solved part
                pos[3] = max(1.05, math.sqrt(pos[3]))
                pos[0] = pos[2] + max(1, (kw - pos[2]) // 2)
                pos[1], control = 0, (opts.damping, math.inf, 0)
                continue
            state = _extend(new, times)
            windows.append(kw)
            dampings.append(ctl[0])
            if how != "converged" or kw == k:
                break
            bar.update(kw - pos[2])
            target = times[kw - 1] * pos[3] if pos[3] > 1.05 else times[kw]
            nxt = min(k, max(kw + 1, int(np.searchsorted(times, target, "right"))))
            pos[:] = [nxt, 0, kw, min(2.0, pos[3] ** 1.5)]
            control = (opts.damping, math.inf, 0)
            save(new, control)
    finally:
        bar.close()
    result = PRDMFTResult(
        model=model, m0=float(m0), t_max=float(times[-1]), temperature=float(temperature),
        batch_fraction=float(batch_fraction),
        persistence=math.nan if persistence is None else float(persistence), options=opts,
        times=times, m=state[2], lam=_pad(obs["lam"], k), e=_pad(obs["e"], k), C=state[0],
        R=state[1], seed_entropy=str(root.entropy), versions=_io.versions(),
        stats={"iterations": its, "final_change": change, "windows": windows,
               "damping": dampings,
               "resumed_from": resumed_from, "n_paths": opts.n_paths,
               "history": [float(h) for h in history]})
    if how != "converged":
        result.status = "failed"
        result.message = (
            f"the DMFT iteration {how} on the window t <= {times[kw - 1]:g} after {it} "
            f"iterations (last max change {change:.3g}, tol {opts.tol:g}); "
            + (f"raise damping (now {opts.damping:g}) or use more time points"
               if how == "diverged" else "raise max_iter or damping, or loosen tol")
            + ("; the last state is in the checkpoint" if checkpoint is not None else ""))
        result.stats["wall_time_s"] = time.perf_counter() - t0
        raise DMFTConvergenceError(result.message, result)
    # law of (h(t), h*) and the final observables at the converged state
    _, obs = step(state, k, keep_=keep)
    result.lam, result.e = obs["lam"], obs["e"]
    if keep:
        result.law_times, result.law_h = times[keep], obs["law_h"]
        result.h_star, result.y = P.hs, P.y
    result.mc_error, result.stats["batch_iterations"] = _batch_errors(
        state, lambda s_, sel: step(s_, k, sel), opts)
    result.message = (f"converged to max change {change:.2g} ({its} iterations over "
                      f"{len(windows)} windows)")
    result.stats["wall_time_s"] = time.perf_counter() - t0
    return result


def _extend(state, times):
    """Seed for a longer window: the solved part kept, later times continued flat in t and
    relaxing as e^{-|t - t'|} among themselves (the iteration corrects it)."""
    C, R, m = state
    kw, k = m.size, times.size
    if kw == k:
        return state
    tau = np.abs(times[:, None] - times[None, :])
    mm = np.concatenate([m, np.full(k - kw, m[-1])])
    Cx = mm[-1] ** 2 + (1 - mm[-1] ** 2) * np.exp(-tau)
    Rx = np.tril(np.exp(-tau))
    Cx[:kw, :kw], Rx[:kw, :kw] = C, R
    Cx[kw:, :kw] = C[kw - 1]
    Cx[:kw, kw:] = C[kw - 1][:, None]
    Rx[kw:, :kw] = R[kw - 1]
    return Cx, Rx, mm


def _pad(a: np.ndarray, k: int) -> np.ndarray:
    return np.concatenate([a, np.full(k - a.size, np.nan)])


def _batch_errors(state, step, opts) -> tuple[dict, list[int]]:
    """Standard errors from independent path batches, each iterated to its own fixed point."""
    nb_ = opts.n_batches
    if nb_ < 2:
        return {}, []
    size = opts.n_paths // nb_ // 2 * 2  # whole antithetic pairs
    vals, its = {"m": [], "lam": [], "e": [], "C0": []}, []
    for b in range(nb_):
        sel = slice(b * size, (b + 1) * size)
        s, obs, it, _, _, _ = _iterate(state, lambda s_, sel=sel: step(s_, sel), opts.tol,
                                       opts.batch_iter, (opts.damping, math.inf, 0))
        its.append(it)
        for key, v in (("m", s[2]), ("lam", obs["lam"]), ("e", obs["e"]), ("C0", s[0][:, 0])):
            vals[key].append(v)
    # a batch of S/B paths fluctuates sqrt(B) times more than the full set
    return {k: np.std(v, axis=0, ddof=1) / math.sqrt(nb_) for k, v in vals.items()}, its


def _validate(model, t_max, m0, temperature, batch_fraction, persistence):
    if not isinstance(model, PhaseRetrieval):
        raise TypeError(f"model must be a PhaseRetrieval, got {type(model).__name__}")
    model.loss.check()
    for name, v in (("t_max", t_max), ("m0", m0), ("temperature", temperature),
                    ("batch_fraction", batch_fraction)):
        if not isinstance(v, int | float | np.floating | np.integer) or not math.isfinite(v):
            raise ValueError(f"{name} must be a finite real number, got {v!r}")
    if t_max <= 0:
        raise ValueError(f"t_max must be > 0, got {t_max!r}")
    if not 0 <= m0 < 1:
        raise ValueError(f"m0 must lie in [0, 1) (warm start overlap [P3.3]), got {m0!r}")
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature!r}")
    if not 0 < batch_fraction <= 1:
        raise ValueError(f"batch_fraction must lie in (0, 1], got {batch_fraction!r}")
    if persistence is not None and not (math.isfinite(persistence) and persistence > 0):
        raise ValueError(f"persistence must be a positive time (or None for full batch), got "
                         f"{persistence!r}")
    if persistence is None and batch_fraction != 1:
        raise ValueError("batch_fraction < 1 needs a persistence time (persistent SGD [P3.4])")
