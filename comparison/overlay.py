"""Theory curves over finite-N ensemble means: residuals in units of the standard error."""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import _io
from ..simulation.result import SimulationResult
from ..theory.phase_retrieval.dmft import PRDMFTResult
from ..theory.spherical.dmft import DMFTResult
from ..theory.spherical.models import SphericalModel
from ..theory.spherical.threshold_states import hessian_spectrum

__all__ = ["Overlay", "overlay", "OBSERVABLES"]

_FLOOR = 1e-12  # absolute floor of the residual's scale

# observable -> (label, simulation field); the Hessian ones are (S, H) slices of the spectra
OBSERVABLES = {
    "m": ("overlap m(t)", "m"),
    "e": ("energy density e(t)", "e"),
    "mu": ("multiplier mu(t) / lambda(t)", "mu"),
    "c0": ("C(t, 0)", "c0"),
    "lowest_eigenvalue": ("lowest Hessian eigenvalue", "hessian_eigenvalues"),
    "outlier_overlap": ("squared overlap of the lowest eigenvector with x*", "hessian_overlaps"),
}


@dataclass(frozen=True)
class Overlay:
    """One observable of a theory and of a finite-N ensemble on the simulation's times.

    Attributes
    ----------
    observable, label : str
    times : ndarray (R,)
        Simulation recording times inside the theory's time range (theory units [S2], [P3.1]).
    theory : ndarray (R,)
        The theory, linearly interpolated to ``times``.
    theory_error : ndarray (R,)
        Its stated absolute error (Monte Carlo error of a phase-retrieval DMFT, or the
        ``theory_error`` argument).
    mean, sem, median, q25, q75, count : ndarray (R,)
        Across-sample statistics (sem = std/sqrt(count), ddof = 1).
    residual : ndarray (R,)
        (mean - theory)/sqrt(sem^2 + theory_error^2 + 1e-24).
    threshold : float
        |residual| above which a time is flagged.
    theory_times, theory_values : ndarray
        The full theory curve (for plots).
    n, n_samples : int
    meta : dict
        Models, algorithm, seeds of the two sides.
    """

    observable: str
    label: str
    times: np.ndarray
    theory: np.ndarray
    theory_error: np.ndarray
    mean: np.ndarray
    sem: np.ndarray
    median: np.ndarray
    q25: np.ndarray
    q75: np.ndarray
    count: np.ndarray
    residual: np.ndarray
    threshold: float
    theory_times: np.ndarray
    theory_values: np.ndarray
    n: int
    n_samples: int
    meta: dict = field(default_factory=dict)

    @property
    def flagged(self) -> np.ndarray:
        """Indices of the times where |residual| > threshold."""
        return np.flatnonzero(np.abs(np.nan_to_num(self.residual)) > self.threshold)

    @property
    def agrees(self) -> bool:
        """True when no recorded time is flagged."""
        return self.flagged.size == 0

    @property
    def max_residual(self) -> float:
        r = np.abs(self.residual[np.isfinite(self.residual)])
        return float(r.max()) if r.size else 0.0

    def summary(self) -> str:
        """One paragraph: agreement, or where (which times, how many SEM) they disagree."""
        head = (f"{self.observable}: theory vs N = {self.n} ({self.n_samples} samples) on "
                f"{self.times.size} times, max |residual| = {self.max_residual:.2f} SEM")
        bad = self.flagged
        if not bad.size:
            return f"{head}: agree (threshold {self.threshold:g} SEM)."
        worst = bad[np.argmax(np.abs(self.residual[bad]))]
        return (f"{head}: DISAGREE at {bad.size} of {self.times.size} times "
                f"(t in [{self.times[bad[0]]:.4g}, {self.times[bad[-1]]:.4g}]; worst t = "
                f"{self.times[worst]:.4g}: simulation {self.mean[worst]:.6g} +- "
                f"{self.sem[worst]:.2g}, theory {self.theory[worst]:.6g}, "
                f"{self.residual[worst]:+.1f} SEM).")

    def __repr__(self) -> str:
        return f"Overlay({self.summary()})"

    _COLUMNS = ("times", "theory", "theory_error", "mean", "sem", "median", "q25", "q75",
                "count", "residual")

    def save(self, path: str | os.PathLike) -> Path:
        """Write ``<stem>.csv`` (one row per time) and ``<stem>.json`` (curve, summary, meta),
        each atomically; returns the stem."""
        stem = _io.stem_of(path)
        stem.parent.mkdir(parents=True, exist_ok=True)

        def write_csv(fh):
            w = csv.writer(fh)
            w.writerow(self._COLUMNS)
            for row in zip(*(getattr(self, c) for c in self._COLUMNS), strict=True):
                w.writerow([repr(float(v)) for v in row])

        meta = {"observable": self.observable, "label": self.label, "n": self.n,
                "n_samples": self.n_samples, "threshold": self.threshold,
                "agrees": self.agrees, "summary": self.summary(),
                "theory_times": self.theory_times.tolist(),
                "theory_values": self.theory_values.tolist(), "meta": self.meta}
        _io.atomic_text(_io.with_ext(stem, ".csv"), write_csv)
        text = _io.json_text(meta)
        _io.atomic_text(_io.with_ext(stem, ".json"), lambda fh: fh.write(text))
        return stem


def _theory_curve(theory, observable: str, sim: SimulationResult):
    """(times, values, abs error) of the theory for ``observable``."""
    if isinstance(theory, PRDMFTResult):
        t = theory.times
        values = {"m": np.abs(theory.m), "e": theory.e, "mu": theory.lam, "c0": theory.C[:, 0]}
        errs = {"m": "m", "e": "e", "mu": "lam", "c0": "C0"}
        if observable not in values:
            raise ValueError(f"observable {observable!r} is not produced by the phase-retrieval "
                             f"DMFT; choose one of {sorted(values)}")
        err = theory.mc_error.get(errs[observable])
        return t, values[observable], (np.zeros_like(t) if err is None else np.asarray(err))
    if not isinstance(theory, DMFTResult):
        raise TypeError(f"theory must be a DMFTResult or PRDMFTResult, got "
                        f"{type(theory).__name__}")
    t = theory.times
    if observable in ("m", "e", "mu"):
        return t, getattr(theory, observable), np.zeros_like(t)
    if observable == "c0":
        if theory.C is not None:
            return t, theory.C.column(0), np.zeros_like(t)
        cols = theory.columns
        if cols is not None and np.any(np.asarray(cols["t_w"]) == 0):
            k = int(np.flatnonzero(np.asarray(cols["t_w"]) == 0)[0])
            return t, np.asarray(cols["C"])[:, k], np.zeros_like(t)
        raise ValueError("C(t, 0) needs the DMFT's two-time output: solve with "
                         "store_two_time=True (fixed grid) or store_two_time=(0.0,) (doubling)")
    # Hessian observables along the trajectory: the stationary-point spectrum [S4.2] at
    # (m(t), mu(t)), i.e. bulk [mu - 2s, mu + 2s] plus the BBP outlier when theta(m) > s
    model = theory.model
    if not isinstance(model, SphericalModel):
        raise TypeError("Hessian observables need a spherical (spiked) model")
    if sim.hessian_times is None:
        raise ValueError(f"observable {observable!r} needs a simulation run with "
                         "SimulationOptions(hessian_times=...)")
    ht = np.where(np.isinf(sim.hessian_times), sim.t_max, sim.hessian_times)
    m = np.interp(ht, t, theory.m)
    mu = np.interp(ht, t, theory.mu)
    spectra = [hessian_spectrum(model, abs(mi), mui) for mi, mui in zip(m, mu, strict=True)]
    if observable == "lowest_eigenvalue":
        vals = [s.bulk_edges[0] if math.isnan(s.outlier) else s.outlier for s in spectra]
    else:
        vals = [s.overlap_signal for s in spectra]
    return ht, np.asarray(vals, dtype=float), np.zeros(ht.size)


def _simulation_data(sim: SimulationResult, observable: str, absolute: bool):
    """(times, (S, R) data) of the simulation for ``observable``."""
    if observable in ("lowest_eigenvalue", "outlier_overlap"):
        if sim.hessian_eigenvalues is None:
            raise ValueError(f"observable {observable!r} needs a simulation run with "
                             "SimulationOptions(hessian_times=...)")
        ht = np.where(np.isinf(sim.hessian_times), sim.t_max, sim.hessian_times)
        src = sim.hessian_eigenvalues if observable == "lowest_eigenvalue" else \
            sim.hessian_overlaps
        return ht, np.asarray(src[:, :, 0], dtype=float)
    data = getattr(sim, OBSERVABLES[observable][1])
    if data is None:
        raise ValueError(f"the simulation result has no {observable!r} (saved before it was "
                         "recorded); rerun it")
    data = np.asarray(data, dtype=float)
    return sim.times, (np.abs(data) if absolute else data)


def _differences(theory, sim: SimulationResult) -> list[str]:
    """What differs between the theory's setting and the simulation's (model, temperature,
    algorithm family, warm-start m0)."""
    out = []
    mt, ms = theory.model.to_dict(), sim.model
    keys = sorted(k for k in set(mt) | set(ms) if mt.get(k) != ms.get(k))
    if keys:
        out.append("model (" + ", ".join(f"{k}: {mt.get(k)!r} vs {ms.get(k)!r}" for k in keys)
                   + ")")
    t_sim = float(sim.algorithm.get("temperature", 0.0))
    if not math.isclose(float(theory.temperature), t_sim, rel_tol=1e-12, abs_tol=1e-12):
        out.append(f"temperature ({float(theory.temperature):g} vs {t_sim:g})")
    psgd_theory = math.isfinite(float(getattr(theory, "persistence", math.nan)))
    if psgd_theory != (sim.algorithm.get("type") == "PersistentSGD"):
        out.append(f"algorithm ({'persistent SGD' if psgd_theory else 'full batch'} vs "
                   f"{sim.algorithm.get('type')})")
    if sim.start == "warm" and not math.isclose(float(theory.m0), float(sim.m0),
                                                rel_tol=1e-12, abs_tol=1e-12):
        out.append(f"m0 ({float(theory.m0):g} vs {float(sim.m0):g})")
    return out


def overlay(theory, simulation: SimulationResult, observable: str = "m", *,
            absolute: bool | None = None, threshold: float = 3.0,
            theory_error: float = 0.0) -> Overlay:
    """Compare a large-N theory curve with a finite-N ensemble, time by time.

    Parameters
    ----------
    theory : DMFTResult or PRDMFTResult
        From :func:`saddlesurf.theory.solve_dmft`, same model, algorithm and start as the
        simulation (e.g. a warm start m0 on both sides).
    simulation : SimulationResult
        From :func:`saddlesurf.simulation.simulate`.
    observable : {"m", "e", "mu", "c0", "lowest_eigenvalue", "outlier_overlap"}
        m = x.x*/N, e = H/N or L/N, mu (spiked [S2]) or lambda (phase retrieval [P3.1]),
        C(t, 0) = x(t).x(0)/N, and (spiked model) the lowest tangent-space Hessian eigenvalue
        and the squared overlap (v.x*)^2/N of its eigenvector; their theory is the
        stationary-point spectrum [S4.2] at (m(t), mu(t)), exact at the fixed points and an
        approximation during the transient.
    absolute : bool, optional
        Compare |m| (default for phase retrieval, where m -> -m is a symmetry [P8]).
    threshold : float
        A time is flagged when |residual| > threshold.
    theory_error : float
        Absolute error of the theory curve (time-step error of the DMFT), added in quadrature
        to the SEM. A phase-retrieval DMFT adds its Monte Carlo error by itself.

    Returns
    -------
    Overlay
        Residuals (mean - theory)/sqrt(SEM^2 + theory_error^2) at every simulation time inside
        the theory's range; ``summary()`` says where they disagree.
    """
    if observable not in OBSERVABLES:
        raise ValueError(f"observable must be one of {sorted(OBSERVABLES)}, got {observable!r}")
    if not (math.isfinite(threshold) and threshold > 0):
        raise ValueError(f"threshold must be a positive number of SEMs, got {threshold!r}")
    if not (math.isfinite(theory_error) and theory_error >= 0):
        raise ValueError(f"theory_error must be >= 0, got {theory_error!r}")
    differ = _differences(theory, simulation)
    if differ:
        raise ValueError(f"theory and simulation differ in {'; '.join(differ)} (theory vs "
                         "simulation): overlay compares one setting; solve or simulate the "
                         "other one again")
    if absolute is None:
        absolute = isinstance(theory, PRDMFTResult)
    t_th, v_th, e_th = _theory_curve(theory, observable, simulation)
    t_sim, data = _simulation_data(simulation, observable, absolute and observable == "m")
    inside = (t_sim >= t_th[0]) & (t_sim <= t_th[-1] * (1 + 1e-12))
    if observable in ("lowest_eigenvalue", "outlier_overlap"):
        theory_at, t_sim, data = v_th[inside], t_sim[inside], data[:, inside]
        err_at = e_th[inside]
    else:
        t_sim, data = t_sim[inside], data[:, inside]
        theory_at = np.interp(t_sim, t_th, v_th)
        err_at = np.interp(t_sim, t_th, e_th) + theory_error
    if not t_sim.size:
        raise ValueError(f"no simulation time lies inside the theory's range [{t_th[0]:g}, "
                         f"{t_th[-1]:g}]; solve the theory to t_max >= {simulation.t_max:g}")
    finite = np.isfinite(data)
    count = finite.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nanmean(np.where(finite, data, np.nan), axis=0)
        sem = np.nanstd(data, axis=0, ddof=1) / np.sqrt(count)
        q25, median, q75 = np.nanquantile(data, (0.25, 0.5, 0.75), axis=0)
        # the 1e-12 floor keeps rounding noise of deterministic entries (m(0) of a warm
        # start) from counting as a disagreement
        scale = np.sqrt(np.nan_to_num(sem) ** 2 + err_at ** 2 + _FLOOR ** 2)
        residual = (mean - theory_at) / scale
    meta = {"theory": {"model": repr(theory.model), "m0": float(theory.m0),
                       "t_max": float(theory.t_max)},
            "simulation": {"model": simulation.model, "algorithm": simulation.algorithm,
                           "start": simulation.start, "m0": simulation.m0,
                           "seed_entropy": simulation.seed_entropy},
            "absolute": bool(absolute)}
    return Overlay(observable, OBSERVABLES[observable][0], t_sim, theory_at, err_at, mean, sem,
                   median, q25, q75, count, residual, float(threshold), t_th, v_th,
                   simulation.n, simulation.n_samples, meta)
