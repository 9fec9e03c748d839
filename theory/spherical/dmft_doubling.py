"""Long-time integration of the CHSCK equations [S3.1] by grid doubling (Kim-Latz) [S3.4].

A window of W + 1 grid points t_k = k h, k = 0..W, holds C, the integrated response
chi(t, t') = int_{t'}^t R(t, s) ds and the interval quantities of ``_doubling_kernels`` (means of
C and chi, response integrals and their first moments over each grid interval). When the window
is full the even points are kept as 0..W/2, the interval quantities of each pair of intervals are
combined exactly, and the step doubles, so a run to t_max costs O(log(t_max/(W h0))) windows of
O(W^3) work and the two-time memory is 9 (W+1)^2 doubles whatever t_max.

Once the step exceeds the fast relaxation time, h (|mu| + 2 sqrt(Q''(1))) > 1, the lags
1..``near_diagonal`` (and the interval quantities between them and the diagonal) are taken from the
previous row (time-translation invariance next to the diagonal) instead of being solved on a grid
that cannot resolve them; at T = 0 in a gapped minimum, h (mu - 2 sqrt(Q''(1))) > 5, they come from
the closed-form strip response instead (copies would keep the fast response of the time copying
began, before the escape). An escape (m leaving the threshold states) is fast on the scale of a
late step: when m or e change by more than ``max_change`` per step, or a small m grows by more than
``max_growth`` relatively (an exponential escape from m0 << 1), the last decimation is undone
and the window widened instead (up to ``max_widening`` W points), and it shrinks back once the
dynamics is slow again. The a-posteriori error estimate is the largest difference of m, mu, e
between the run and a run with window W/2 at the times both computed.
"""

from __future__ import annotations

import json
import math
import time
import warnings
from dataclasses import asdict

import numpy as np

from ... import _io
from ..._progress import progress_bar
from ..errors import AccuracyWarning
from . import _doubling_kernels as _k
from ._dmft_kernels import NONFINITE, NOT_CONVERGED

__all__ = ["integrate_doubling"]

# copy the near-diagonal lags once h (|mu| + 2 sqrt(Q''(1))) exceeds this (stiff window)
_STIFF = 1.0
# at T = 0, replace the copies by the closed-form strip once h (mu - 2 sqrt(Q''(1))) exceeds this
# (a gapped minimum: the fast response has decayed by e^-5 within one step)
_GAPPED = 5.0
# snapshots kept to undo decimations (each holds one active window)
_SNAPSHOTS = 3


class _Window:
    """The state of a run: the current window and the one-time history recorded so far."""

    def __init__(self, W: int):
        self.C = np.zeros((W + 1, W + 1))
        self.X = np.zeros((W + 1, W + 1))
        self.S = np.zeros((_k.N_INTERVAL, W + 1, W + 1))
        self.m = np.zeros(W + 1)
        self.mu = np.zeros(W + 1)
        self.e = np.zeros(W + 1)
        self.h = 0.0
        self.width = W        # current capacity of the window (W .. cap)
        self.row = 1          # next row to solve
        self.windows = 0      # decimations done
        self.widenings = 0    # a doubled step that would not resolve the dynamics, undone
        self.widest = W
        self.sweeps = 0
        self.copy_from = math.inf
        self.strip_from = math.inf
        self.unresolved_from = math.inf  # the widest window could not keep the change bounded
        self.history: dict[str, list[np.ndarray]] = {k: [] for k in ("t", "m", "mu", "e")}
        self.col_C: list[np.ndarray] = []
        self.col_chi: list[np.ndarray] = []

    def widen(self) -> None:
        """Double the capacity, keeping the step (storage grows on first use)."""
        self.width *= 2
        self.widenings += 1
        self.widest = max(self.widest, self.width)
        n = self.width + 1
        if self.C.shape[0] < n:
            old = self.C.shape[0]
            for k in ("C", "X", "S", "m", "mu", "e"):
                a = getattr(self, k)
                b = np.zeros(a.shape[:-2] + (n, n) if a.ndim > 1 else (n,))
                b[(...,) + (slice(old),) * min(a.ndim, 2)] = a
                setattr(self, k, b)

    def snapshot(self) -> dict:
        """Copy of the active window, to undo a decimation whose new step proves too long."""
        n = self.width + 1
        return {"C": self.C[:n, :n].copy(), "X": self.X[:n, :n].copy(),
                "S": self.S[:, :n, :n].copy(), "m": self.m[:n].copy(),
                "mu": self.mu[:n].copy(), "e": self.e[:n].copy(), "h": self.h,
                "row": self.row, "width": self.width, "windows": self.windows,
                "history": sum(v.size for v in self.history["t"])}

    def rollback(self, snap: dict) -> None:
        n = snap["C"].shape[0]
        self.C[:n, :n], self.X[:n, :n], self.S[:, :n, :n] = snap["C"], snap["X"], snap["S"]
        self.m[:n], self.mu[:n], self.e[:n] = snap["m"], snap["mu"], snap["e"]
        self.h, self.row, self.width = snap["h"], snap["row"], snap["width"]
        self.windows = snap["windows"]
        rows = snap["history"]  # rows recorded before the snapshot
        for k, v in self.history.items():
            self.history[k] = [np.concatenate(v)[:rows]]
        if self.col_C:
            self.col_C = [np.concatenate(self.col_C)[:rows]]
            self.col_chi = [np.concatenate(self.col_chi)[:rows]]

    def arrays(self) -> dict[str, np.ndarray]:
        out = {"C": self.C, "X": self.X, "S": self.S, "m": self.m, "mu": self.mu, "e": self.e}
        for k, v in self.history.items():
            out[f"history_{k}"] = np.concatenate(v) if v else np.zeros(0)
        for name, cols in (("col_C", self.col_C), ("col_chi", self.col_chi)):
            out[name] = np.concatenate(cols) if cols else np.zeros((0, 0))
        return out

    def scalars(self) -> dict:
        return {"h": self.h, "row": self.row, "windows": self.windows, "sweeps": self.sweeps,
                "width": self.width, "widenings": self.widenings, "widest": self.widest,
                "copy_from": None if math.isinf(self.copy_from) else self.copy_from,
                "strip_from": None if math.isinf(self.strip_from) else self.strip_from,
                "unresolved_from": (None if math.isinf(self.unresolved_from)
                                    else self.unresolved_from)}

    def restore(self, arrays: dict, meta: dict) -> None:
        for k in ("C", "X", "S", "m", "mu", "e"):
            setattr(self, k, arrays[k].copy())
        self.h, self.row = meta["h"], meta["row"]
        self.windows, self.sweeps = meta["windows"], meta["sweeps"]
        self.width, self.widenings = meta["width"], meta["widenings"]
        self.widest = meta["widest"]
        self.copy_from = math.inf if meta["copy_from"] is None else meta["copy_from"]
        strip = meta.get("strip_from")  # absent in checkpoints written before the strip
        self.strip_from = math.inf if strip is None else strip
        unresolved = meta.get("unresolved_from")
        self.unresolved_from = math.inf if unresolved is None else unresolved
        self.history = {k: [arrays[f"history_{k}"]] for k in self.history}
        self.col_C = [arrays["col_C"]] if arrays["col_C"].size else []
        self.col_chi = [arrays["col_chi"]] if arrays["col_chi"].size else []


def _record(state: _Window, lo: int, hi: int, waits: np.ndarray) -> None:
    """Append rows lo..hi of the window to the history; C(t, t_w) and chi(t, t_w) by linear
    interpolation along each row (NaN while t < t_w)."""
    h = state.h
    rows = np.arange(lo, hi + 1)
    t = h * rows
    for k, v in (("t", t), ("m", state.m[rows]), ("mu", state.mu[rows]), ("e", state.e[rows])):
        state.history[k].append(v.copy())
    if waits.size:
        pos = waits / h
        j = np.minimum(np.floor(pos).astype(int), hi)
        frac = pos - j
        for mat, out in ((state.C, state.col_C), (state.X, state.col_chi)):
            jn = np.minimum(j + 1, rows[:, None])
            vals = ((1 - frac) * mat[rows[:, None], np.minimum(j, rows[:, None])]
                    + frac * mat[rows[:, None], jn])
            vals[t[:, None] < waits[None, :] - 1e-12 * h] = np.nan
            out.append(vals)


def integrate_doubling(model, t_max: float, m0: float, T: float, opts, *, waits=(),
                       progress: bool = False, checkpoint=None, checkpoint_every: float = 300.0,
                       stop_m: float | None = None, window: int | None = None) -> dict:
    """Run the grid-doubling scheme; returns the raw arrays and statistics.

    ``opts`` is a :class:`~saddlesurf.theory.DMFTOptions` (``dt`` is the initial step,
    ``window``, ``near_diagonal``, ``corrector_tol``, ``max_sweeps``, ``max_change`` and
    ``max_widening`` are used); ``window`` overrides ``opts.window`` (the error-estimate run).
    ``stop_m`` ends the run at the first row where m reaches it.
    """
    W = int(window or opts.window)
    cap = W * opts.max_widening
    qs, qn = model.signal_coeffs, model.noise_coeffs
    s = math.sqrt(model.d2Q(1.0))
    waits = np.asarray(waits, dtype=float)
    state = _Window(W)
    state.h = float(opts.dt)
    state.C[0, 0] = 1.0
    state.m[0] = m0
    state.mu[0], state.e[0], _, _ = _k.row_observables(0, T, qs, state.S, state.m)
    _record(state, 0, 0, waits)
    ident = {"model": model.to_dict(), "temperature": T, "m0": m0, "t_max": t_max,
             "window": W, "options": asdict(opts), "waits": waits.tolist(), "stop_m": stop_m}
    ident = json.loads(json.dumps(ident))
    snaps: list[dict] = []  # the windows before the latest decimations (finer steps)
    if checkpoint is not None:
        snaps = _resume(checkpoint, ident, state)
    resumed_from = state.h * (state.row - 1)
    n_windows = max(1, math.ceil(math.log2(max(t_max / (W * opts.dt), 1.0))) + 1)
    wall0 = time.perf_counter()
    last_ckpt = wall0
    status, bad = 0, 0
    m_stop = math.inf if stop_m is None else float(stop_m)
    with progress_bar(n_windows, "DMFT (grid doubling)", progress, unit="window") as bar:
        bar.update(state.windows)
        while True:
            h, width = state.h, state.width
            last = min(width, math.ceil(t_max / h - 1e-9))
            i = state.row
            stiff = h * (abs(state.mu[i - 1]) + 2 * s) > _STIFF
            n_copy = opts.near_diagonal if stiff else 0
            if stiff:
                state.copy_from = min(state.copy_from, h * i)
            # a minimum whose fast response decays within a step: closed-form strip
            gapped = stiff and T == 0 and h * (state.mu[i - 1] - 2 * s) > _GAPPED
            if gapped:
                state.strip_from = min(state.strip_from, h * i)
            if last >= i:
                work = [np.zeros(width + 1) for _ in range(3)]
                status, bad, sweeps = _k.advance(
                    i, last + 1, h, T, qs, qn, state.C, state.X, state.S, state.m, state.mu,
                    state.e, n_copy, gapped, opts.corrector_tol, opts.max_sweeps, m_stop, *work)
                state.sweeps += sweeps
                top = bad - 1
                if status != 0 or _change(state, i - 1, top, opts) > 1.0:
                    # the step does not resolve the dynamics: undo the latest decimation to a
                    # finer step and widen the window there instead
                    finer = [k for k, sn in enumerate(snaps) if sn["h"] < h
                             and 2 * sn["width"] <= cap]
                    if finer:
                        del snaps[finer[-1] + 1:]
                        state.rollback(snaps[-1])
                        state.widen()
                        snaps[-1]["width"] = state.width
                        status = 0
                        continue
                    if status == 0 and h > opts.dt:  # a doubled step that cannot be undone
                        state.unresolved_from = min(state.unresolved_from, h * i)
                if top >= i:
                    _record(state, i, top, waits)
                state.row = top + 1
                if status != 0:
                    break
            done = state.row <= last or last < width
            bar.update(1)
            bar.set_postfix_str(f"t={h * (state.row - 1):.4g} m={state.m[state.row - 1]:.4f}")
            if done:
                break
            if checkpoint is not None and time.perf_counter() - last_ckpt > checkpoint_every:
                _write_checkpoint(checkpoint, ident, state, snaps)
                last_ckpt = time.perf_counter()
            snap = _next_window(state, W, cap, opts)
            if snap is not None:
                snaps = (snaps + [snap])[-_SNAPSHOTS:]
    if status == 0 and checkpoint is not None:
        _write_checkpoint(checkpoint, ident, state, snaps)
    out = {k: np.concatenate(v) for k, v in state.history.items()}
    if waits.size:
        out["columns"] = {"t_w": waits, "C": np.concatenate(state.col_C),
                          "chi": np.concatenate(state.col_chi)}
    n_win = state.row
    out["window"] = {"times": state.h * np.arange(n_win),
                     "C": np.tril(state.C[:n_win, :n_win]),
                     "chi": np.tril(state.X[:n_win, :n_win])}
    out["status"], out["bad_time"] = status, state.h * bad
    out["stats"] = {"windows": state.windows + 1, "widenings": state.widenings,
                    "widest_window": state.widest, "rows": int(out["t"].size),
                    "jacobi_sweeps": state.sweeps, "wall_time_s": time.perf_counter() - wall0,
                    "window_points": W + 1, "resumed_from_t": resumed_from, "final_step": state.h,
                    "two_time_bytes": int(state.C.nbytes + state.X.nbytes + state.S.nbytes),
                    "near_diagonal_copied_from_t": (None if math.isinf(state.copy_from)
                                                    else state.copy_from),
                    "gapped_strip_from_t": (None if math.isinf(state.strip_from)
                                            else state.strip_from),
                    "unresolved_from_t": (None if math.isinf(state.unresolved_from)
                                          else state.unresolved_from)}
    return out


def _change(state: _Window, lo: int, hi: int, opts) -> float:
    """Largest change per step between rows lo..hi, in units of its bound: of m or e over
    ``opts.max_change``, and of ln|m| over ``opts.max_growth`` (a small m growing exponentially,
    r h per step, which the trapezoid rule amplifies by (1 + r h/2)/(1 - r h/2): its rate is
    off by (r h)^2/12 and its sign flips once r h > 2)."""
    if hi <= lo:
        return 0.0
    rows = slice(lo, hi + 1)
    m = state.m[rows]
    size = np.maximum(np.abs(m[1:]), np.abs(m[:-1]))
    growth = np.abs(np.diff(m)) / np.where(size > 0, size, 1.0)
    return float(max(np.max(np.abs(np.diff(m))) / opts.max_change,
                     np.max(np.abs(np.diff(state.e[rows]))) / opts.max_change,
                     np.max(growth) / opts.max_growth))


def _next_window(state: _Window, W: int, cap: int, opts) -> dict | None:
    """Make room in a full window; returns the snapshot that undoes a decimation.

    Normally the even points are kept and the step doubles [S3.4]. While m or e change by more
    than ``max_change`` per step in the newest half (an escape that a doubled step would not
    resolve) the window is widened instead, up to ``cap``; when rows at a later step break that
    bound (or fail) the caller undoes the latest decimation to a finer step and widens there. A
    widened window shrinks back one level per fill (two decimations) once the change is small.
    """
    width = state.width
    if _change(state, width // 2, width, opts) > 1.0:
        if width < cap:
            state.widen()
            return None
        state.unresolved_from = min(state.unresolved_from, state.h * width)
    snap = state.snapshot()
    _k.decimate(width, state.C, state.X, state.S, state.m, state.mu, state.e)
    state.h *= 2.0
    state.windows += 1
    if width > W:  # the halved capacity is full: decimate once more
        state.width = width // 2
        _k.decimate(state.width, state.C, state.X, state.S, state.m, state.mu, state.e)
        state.h *= 2.0
        state.windows += 1
    state.row = state.width // 2 + 1
    return snap


def error_estimate(run: dict, other: dict, dt0: float, factor: float = 1.0
                   ) -> dict[str, float]:
    """Largest |difference| of m, mu, e at the times both runs computed (grid doubling), times
    ``factor`` (4/3 against a run at dt/2: the Richardson error of a second-order step)."""
    key_f = np.rint(run["t"] / dt0).astype(np.int64)
    key_c = np.rint(other["t"] / dt0).astype(np.int64)
    _, a, b = np.intersect1d(key_f, key_c, return_indices=True)
    return {q: factor * float(np.max(np.abs(run[q][a] - other[q][b]))) if a.size else math.nan
            for q in ("m", "mu", "e")}


def failure_message(status: int, bad_time: float, opts) -> str:
    if status == NOT_CONVERGED:
        return (f"the self-consistent row iteration did not reach corrector_tol = "
                f"{opts.corrector_tol:g} in max_sweeps = {opts.max_sweeps} sweeps at "
                f"t = {bad_time:.6g}: raise max_sweeps, or lower dt or raise window. The "
                "partial result is in .result")
    what = "non-finite values" if status == NONFINITE else "|C| or |m| above 1.5"
    return (f"{what} at t = {bad_time:.6g}: lower dt (the initial step) or raise window. The "
            "partial result is in .result")


def check_accuracy(estimate: dict[str, float], tolerance: float) -> str:
    """Message for the result; warns with :class:`AccuracyWarning` above ``tolerance``."""
    worst = max(estimate.values())
    text = ("a-posteriori error (window W vs W/2, plus dt vs dt/2): " +
            ", ".join(f"{k} {v:.2g}" for k, v in estimate.items()))
    if worst > tolerance:
        warnings.warn(f"{text} exceeds tolerance = {tolerance:g}: raise window or lower dt",
                      AccuracyWarning, stacklevel=3)
    return text


_SNAP_ARRAYS = ("C", "X", "S", "m", "mu", "e")


def _write_checkpoint(path, ident, state: _Window, snaps: list[dict]) -> None:
    """The state and the rollback snapshots, so that a resumed run can still undo a
    decimation exactly as the uninterrupted run would."""
    arrays = state.arrays()
    for k, sn in enumerate(snaps):
        arrays.update({f"snap{k}_{a}": sn[a] for a in _SNAP_ARRAYS})
    scalars = [{a: v for a, v in sn.items() if a not in _SNAP_ARRAYS} for sn in snaps]
    _io.save_pair(path, arrays, {"kind": "DMFTDoublingCheckpoint", "ident": ident,
                                 **state.scalars(), "snapshots": scalars})


def _resume(path, ident, state: _Window) -> list[dict]:
    """Restore ``state`` from the checkpoint at ``path`` (if any); returns the snapshots."""
    stem = _io.stem_of(path)
    if not _io.saved(stem):
        return []
    arrays, meta = _io.load_pair(stem, same_version=True)
    if meta.get("kind") != "DMFTDoublingCheckpoint" or meta["ident"] != ident:
        raise ValueError(f"checkpoint {stem} belongs to a different run ({meta.get('ident')}); "
                         "pass another checkpoint path or delete it")
    state.restore(arrays, meta)
    return [{**sc, **{a: arrays[f"snap{k}_{a}"] for a in _SNAP_ARRAYS}}
            for k, sc in enumerate(meta.get("snapshots", []))]
