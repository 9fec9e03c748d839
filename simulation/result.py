"""The result of an ensemble simulation: per-sample trajectories, summaries, storage."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np

from .. import _io, _tables

__all__ = ["SimulationResult", "SimulationError", "wilson_interval"]

# per-sample arrays every run produces, then the optional ones
REQUIRED_FIELDS = ("m", "e", "mu", "escape_time", "final_m", "final_e", "success", "stop_reason",
                   "stop_time", "n_steps", "n_evaluations")
SAMPLE_FIELDS = (*REQUIRED_FIELDS, "c0", "grad", "hessian_eigenvalues", "hessian_overlaps",
                 "final_h", "final_h_star")


class SimulationError(ArithmeticError):
    """A sample failed. ``sample`` is its index, ``time`` the last good time and ``result``
    the samples completed before the failure (also on disk when a checkpoint was given)."""

    def __init__(self, message: str, sample: int, time: float, result=None):
        super().__init__(message)
        self.sample = sample
        self.time = time
        self.result = result


def wilson_interval(successes: int, trials: int, z: float = 1.959963984540054):
    """Wilson score interval (default 95%) for a binomial proportion: (p_hat, low, high)."""
    if trials == 0:
        return math.nan, 0.0, 1.0
    p = successes / trials
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    return p, max(0.0, centre - half), min(1.0, centre + half)


def _describe(d: dict) -> str:
    """``{"type": "X", "a": 1}`` -> ``X(a=1)``, keys sorted, nested dicts alike."""
    args = ", ".join(f"{k}={_describe(v) if isinstance(v, dict) else v}"
                     for k, v in sorted(d.items()) if k != "type")
    return f"{d.get('type', '')}({args})"


@dataclass
class SimulationResult:
    """Finite-N ensemble of ``n_samples`` runs at size ``n``.

    Attributes
    ----------
    times : (R,) array
        Recording times (theory units [S2], [P3.1]); t = 0 first.
    m, e, mu : (S, R) arrays
        Overlap x.x*/N (signed), energy density H/N or L/N, and the Lagrange multiplier: mu
        [S2] for the spiked model, lambda [P3.1] for phase retrieval (alias ``lam``). After a
        phase-retrieval run stops at success or stationarity its fixed point is held; after
        a stop on ``max_steps`` the entries are NaN.
    c0 : (S, R) array or None
        C(t, 0) = x(t).x(0)/N (None in results saved before it was recorded).
    grad : (S, R) array or None
        Phase retrieval: |grad_sphere L|/sqrt(N).
    escape_time : (S,) array
        First time |m| >= options.escape_level (inf if never).
    success : (S,) bool array
        Phase retrieval: final |m| >= model.success_overlap [P1]. Spiked model: |m| reached
        options.escape_level, and for odd p the final m is positive (odd p breaks x -> -x
        [S3.2]: the minima at negative m are spurious, not the signal).
    final_m, final_e, stop_reason, stop_time, n_steps, n_evaluations : (S,) arrays
        Per-sample end state and cost (stop_reason names: ``stop_reasons``).
    hessian_times, hessian_eigenvalues (S, H, N-1), hessian_overlaps (S, H, k)
        Tangent-space Hessian spectra when requested; overlaps (v.x*)^2/N of the k lowest
        eigenvectors.
    final_h, final_h_star : (S, M) arrays or None
        Phase retrieval with ``keep_final_state``: the final (h_mu, h*_mu).
    seed_entropy, spawn_keys
        Sample i used ``SeedSequence(seed_entropy, spawn_key=spawn_keys[i])``.
    model, algorithm, options : dict
        Their ``to_dict()``; also n, n_samples, start, m0, t_max.
    status, message, stats, versions
        "ok"/"failed", a sentence, run statistics (wall time, workers, resumed samples) and
        package versions.
    """

    model: dict
    algorithm: dict
    options: dict
    n: int
    n_samples: int
    start: str
    m0: float | None
    t_max: float
    times: np.ndarray
    m: np.ndarray
    e: np.ndarray
    mu: np.ndarray
    escape_time: np.ndarray
    final_m: np.ndarray
    final_e: np.ndarray
    success: np.ndarray
    stop_reason: np.ndarray
    stop_time: np.ndarray
    n_steps: np.ndarray
    n_evaluations: np.ndarray
    seed_entropy: str
    spawn_keys: np.ndarray
    c0: np.ndarray | None = None
    grad: np.ndarray | None = None
    hessian_times: np.ndarray | None = None
    hessian_eigenvalues: np.ndarray | None = None
    hessian_overlaps: np.ndarray | None = None
    final_h: np.ndarray | None = None
    final_h_star: np.ndarray | None = None
    status: str = "ok"
    message: str = ""
    stats: dict = field(default_factory=dict)
    versions: dict = field(default_factory=dict)
    stop_reasons: ClassVar[tuple[str, ...]] = ("t_max", "success", "stationary", "max_steps")

    @property
    def lam(self) -> np.ndarray:
        """Phase-retrieval name of ``mu``: lambda(t) [P3.1]."""
        return self.mu

    def summary(self, name: str = "m", *, absolute: bool = False,
                quantiles=(0.1, 0.25, 0.75, 0.9)) -> dict:
        """Across-sample statistics of a (S, R) trajectory or (S,) per-sample field.

        Returns a dict with ``mean``, ``sem`` (std/sqrt(count), ddof=1), ``median``, ``count``
        (samples with a finite value) and ``q<percent>`` for each quantile. ``absolute`` uses
        |value| (e.g. |m| for phase retrieval [P1]).
        """
        data = np.asarray(getattr(self, name), dtype=float)
        if absolute:
            data = np.abs(data)
        finite = np.isfinite(data)
        count = finite.sum(axis=0)
        masked = np.where(finite, data, np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = {"mean": np.nanmean(masked, axis=0) if masked.size else masked,
                   "sem": np.nanstd(masked, axis=0, ddof=1) / np.sqrt(count),
                   "median": np.nanmedian(masked, axis=0), "count": count}
            for q in quantiles:
                out[f"q{round(100 * q)}"] = np.nanquantile(masked, q, axis=0)
        return out

    def escape_time_summary(self, quantiles=(0.1, 0.25, 0.5, 0.75, 0.9)) -> dict:
        """Median and quantiles of the escape time, counting samples that never escaped as
        +inf (so a quantile is inf when more than that fraction never escaped) [S6], [P7]."""
        t = np.sort(self.escape_time)
        out = {f"q{round(100 * q)}": float(np.quantile(t, q, method="inverted_cdf"))
               for q in quantiles}
        out["median"] = out.get("q50", float(np.quantile(t, 0.5, method="inverted_cdf")))
        out["escaped"] = int(np.isfinite(t).sum())
        return out

    def success_probability(self, z: float = 1.959963984540054) -> tuple[float, float, float]:
        """(p, low, high): fraction of successful samples with its Wilson interval."""
        return wilson_interval(int(np.sum(self.success)), int(self.success.size), z)

    def to_dataframe(self, per: str = "time"):
        """A ``pandas.DataFrame``: ``per="time"`` one row per (sample, t) with the recorded
        series; ``per="sample"`` one row per sample with its escape time, success and end
        state."""
        pd = _tables.pandas()
        if per == "sample":
            return pd.DataFrame({
                "escape_time": self.escape_time, "success": self.success,
                "final_m": self.final_m, "final_e": self.final_e,
                "stop_reason": np.asarray(self.stop_reason), "stop_time": self.stop_time},
                index=pd.Index(np.arange(self.n_samples), name="sample"))
        if per != "time":
            raise ValueError(f"per must be 'time' or 'sample', got {per!r}")
        s, r = self.m.shape
        cols = {q: getattr(self, q).ravel() for q in ("m", "e", "mu", "c0")
                if getattr(self, q, None) is not None}
        index = pd.MultiIndex.from_arrays([np.repeat(np.arange(s), r), np.tile(self.times, s)],
                                          names=["sample", "t"])
        return pd.DataFrame(cols, index=index)

    def __repr__(self) -> str:
        p, lo, hi = self.success_probability()
        return (f"SimulationResult({_describe(self.model)}, N={self.n}, "
                f"{self.n_samples} samples, {_describe(self.algorithm)}, start={self.start!r}, "
                f"t <= {self.t_max:g}, {self.times.size} times; success {p:.3f} "
                f"[{lo:.3f}, {hi:.3f}]; status={self.status!r})")

    _ARRAYS: ClassVar = ("times", "spawn_keys", "hessian_times", *SAMPLE_FIELDS)
    _META: ClassVar = ("model", "algorithm", "options", "n", "n_samples", "start", "m0", "t_max",
             "seed_entropy", "status", "message", "stats", "versions")

    def save(self, path: str | os.PathLike) -> Path:
        """Write ``<stem>.npz`` + ``<stem>.json`` atomically; returns the stem."""
        arrays = {k: getattr(self, k) for k in self._ARRAYS if getattr(self, k) is not None}
        meta = {"kind": "SimulationResult", **{k: getattr(self, k) for k in self._META}}
        return _io.save_pair(path, arrays, json.loads(json.dumps(meta, default=float)))

    @classmethod
    def load(cls, path: str | os.PathLike) -> SimulationResult:
        """Read a result written by :meth:`save` (bit-identical arrays)."""
        arrays, meta = _io.load_pair(path)
        if meta.pop("kind", None) != "SimulationResult":
            raise ValueError(f"{path} does not hold a SimulationResult")
        return cls(**meta, **arrays)
