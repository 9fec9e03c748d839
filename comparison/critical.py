"""The critical ratio of gradient flow by three methods, side by side with uncertainties.

(a) BBP: closed form 1/Delta2^GF [S5.1] for the spiked model; the outlier criterion at
    signal-projected gradient-flow states for phase retrieval [P4.5b], with the
    initial-Hessian value alpha_BBP^init [P4.4] as a reference line.
(b) Relaxation time: t_conv = A (x - x_c)^-gamma from the DMFT (spiked model [S5.1]) or from
    the median escape times of the simulations at the largest N (both models).
(c) Finite-size crossing of success-probability curves at several N [P7], with its 1/N and
    1/ln N extrapolations [P8].
(d) Finite-size onsets (spiked model, whose random-start curves merge instead of crossing):
    x_c(N) where P reaches half its plateau, extrapolated in powers of 1/ln N, beside the
    onsets that the large-N theory predicts for the same N, t_max and escape level
    (``predict_success``).
"""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import _io, _tables
from .._validate import integer, numbers, real
from ..theory.dispatch import thresholds
from ..theory.phase_retrieval.model import PhaseRetrieval
from ..theory.spherical.fixed_points import gradient_flow_fixed_point
from ..theory.spherical.models import SpikedMatrixTensor
from ..theory.spherical.relaxation import fit_relaxation_times, relaxation_time_fit
from ..theory.spherical.thresholds import gf_threshold
from .finite_size import RESOLVED_Z, SuccessCurves, success_curves
from .onsets import onsets
from .points import success_point
from .prediction import predict_success
from .sweep import sweep
from .threshold_states import states_estimate

__all__ = ["Estimate", "CriticalRatioReport", "locate_critical_ratio", "METHODS"]

METHODS = ("bbp", "relaxation", "crossing", "finite_size")


@dataclass(frozen=True)
class Estimate:
    """One estimate of the critical ratio.

    Attributes
    ----------
    method : {"bbp", "relaxation", "crossing", "finite_size"}
    value, low, high : float
        Estimate and its interval (low = high = value for a closed form).
    source : str
        What produced it (closed form, DMFT, simulations at which N, route of alpha_c).
    details : dict
        Method-specific numbers (fit exponents, per-pair crossings, extrapolations).
    """

    method: str
    value: float
    low: float
    high: float
    source: str
    details: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        band = "" if self.low == self.high == self.value else \
            f" [{self.low:.5g}, {self.high:.5g}]"
        return f"{self.method:>10s}: {self.value:.5g}{band}  ({self.source})"


@dataclass
class CriticalRatioReport:
    """The critical ratio of gradient flow by each method requested.

    Attributes
    ----------
    model : str
        The model family (repr).
    quantity : {"1/Delta2", "alpha"}
    estimates : dict method -> Estimate
        Methods that failed (e.g. no crossing inside the grid) are absent and explained in
        ``failures``.
    reference : dict
        Other lines of the phase diagram in the same units (spiked: ml_amp, gf, triv; phase
        retrieval: it, amp, spectral, bbp_init).
    curves : SuccessCurves or None
    failures : dict method -> message
    stats : dict
    """

    model: str
    quantity: str
    estimates: dict
    reference: dict
    curves: SuccessCurves | None = None
    failures: dict = field(default_factory=dict)
    stats: dict = field(default_factory=dict)

    def __getitem__(self, method: str) -> Estimate:
        return self.estimates[method]

    def __repr__(self) -> str:
        lines = [f"CriticalRatioReport({self.model}, critical {self.quantity}:"]
        lines += [f"  {e!r}" for e in self.estimates.values()]
        lines += [f"  {k:>10s}: failed ({v})" for k, v in self.failures.items()]
        ref = ", ".join(f"{k} {v:.4g}" for k, v in self.reference.items())
        return "\n".join([*lines, f"  reference lines: {ref})"])

    def to_dataframe(self):
        """One row per method: value, low, high, source (``pandas.DataFrame``)."""
        return _tables.pandas().DataFrame(
            [{"method": e.method, "value": e.value, "low": e.low, "high": e.high,
              "source": e.source} for e in self.estimates.values()]).set_index("method")

    def to_dict(self) -> dict:
        return {"model": self.model, "quantity": self.quantity,
                "estimates": {k: {"value": e.value, "low": e.low, "high": e.high,
                                  "source": e.source, "details": e.details}
                              for k, e in self.estimates.items()},
                "reference": self.reference, "failures": self.failures,
                "curves": None if self.curves is None else self.curves.to_dict(),
                "stats": self.stats, "versions": _io.versions()}

    def save(self, path: str | os.PathLike) -> Path:
        """``<stem>.json`` (everything) and ``<stem>.csv`` (method, value, low, high, source),
        each written atomically; returns the stem."""
        stem = _io.stem_of(path)
        stem.parent.mkdir(parents=True, exist_ok=True)
        text = _io.json_text(self.to_dict())
        _io.atomic_text(_io.with_ext(stem, ".json"), lambda fh: fh.write(text))

        def rows(fh):
            w = csv.writer(fh)
            w.writerow(["method", "value", "low", "high", "source"])
            for e in self.estimates.values():
                w.writerow([e.method, repr(float(e.value)), repr(float(e.low)),
                            repr(float(e.high)), e.source])

        _io.atomic_text(_io.with_ext(stem, ".csv"), rows)
        return stem


def _loss_kind(loss) -> str | None:
    """The sweep's name of a built-in loss (None for a custom one)."""
    return {"RegularisedLoss": "regularised", "SquareLoss": "square",
            "BoundedLoss": "bounded"}.get(type(loss).__name__)


def _family(model):
    if isinstance(model, SpikedMatrixTensor):
        if not math.isfinite(model.delta_p):
            raise ValueError("the GF threshold needs a tensor part: delta_p must be finite")
        return "spiked", {"p": model.p, "delta_p": model.delta_p}
    if isinstance(model, PhaseRetrieval):
        loss = model.loss
        kind = _loss_kind(loss)
        if kind is None:
            raise ValueError(f"locate_critical_ratio simulates the built-in losses only, got "
                             f"{loss!r}")
        return "pr", {"loss": kind, **({"a": loss.a} if kind == "regularised" else {})}
    raise TypeError(f"model must be SpikedMatrixTensor or PhaseRetrieval, got "
                    f"{type(model).__name__}")


def _bbp(kind, model, family, *, bbp_grid, bbp_sizes, bbp_samples, t_max, rng, n_boot,
         workers, bbp_init):
    if kind == "spiked":
        x = gf_threshold(family["p"], family["delta_p"])
        return Estimate("bbp", x, x, x, "closed form [S5.1]",
                        {"formula": "[1 + sqrt(1 + 4(p-1)/Delta_p)]/2"})
    # route (b): signal-projected gradient flow to stationarity at each N [P4.5b]
    value, low, high, details = states_estimate(
        model.loss, sizes=bbp_sizes, samples=bbp_samples, grid=bbp_grid, t_max=t_max, rng=rng,
        n_boot=n_boot, workers=workers)
    details["alpha_bbp_init"] = bbp_init
    details["routes"] = {
        "simulation": {"value": value, "low": low, "high": high},
        "dmft": ("not run: the DMFT of [P6] does not yet reach long times for stiff losses "
                 "(docs/phase_retrieval.md, 'Limits'); route (a) is critical_ratio(loss, "
                 "dmft=...)")}
    source = (f"outlier of signal-projected GF states [P4.5b] at N = {list(bbp_sizes)} "
              f"({bbp_samples} samples per alpha, t <= {t_max:g}), alpha_c(N) extrapolated "
              "in 1/N; interval: "
              "envelope of the 1/N, 1/sqrt(N) and largest-N fits, widened by the "
              "margin's fit-form error (details: per_n, fits, budget)")
    if value <= bbp_init:
        source += (f"; BELOW alpha_BBP^init = {bbp_init:.4g}, which the threshold-state picture "
                   "forbids: finite-N states are minima, not threshold states")
    return Estimate("bbp", value, low, high, source, details)


def _check_states_route(model, bbp_grid, bbp_sizes, bbp_samples):
    """Refuse, before any run, what route (b) of "bbp" cannot use."""
    if _loss_kind(model.loss) == "square":
        raise ValueError(
            "method 'bbp' needs a loss whose curvature l'' is bounded below, i.e. a finite "
            "lower Hessian edge [P2.1]; the square loss has none (its thresholds drift like "
            "log N): use RegularisedLoss(a) or BoundedLoss(), or leave 'bbp' out of methods")
    if bbp_grid is not None:
        g = np.asarray(numbers(bbp_grid, "bbp_grid"), dtype=float)
        if g.ndim != 1 or g.size < 3 or np.any(np.diff(g) <= 0) or np.any(g <= 0):
            raise ValueError(f"bbp_grid must hold >= 3 increasing alphas > 0 that bracket "
                             f"alpha_c, e.g. (3.0, 3.5, 4.0, 4.5, 5.0), or None (a coarse "
                             f"bracket first), got {np.ravel(g).tolist()}")
    sizes = [integer(n, "bbp_sizes", low=20) for n in np.ravel(bbp_sizes)]
    if not sizes or any(np.diff(sizes) <= 0):
        raise ValueError(f"bbp_sizes must be increasing system sizes N >= 20, e.g. "
                         f"(250, 500, 1000), got {bbp_sizes!r}")
    counts = np.ravel(bbp_samples)
    if counts.size not in (1, len(sizes)):
        raise ValueError(f"bbp_samples must be one count or one per size "
                         f"({len(sizes)}), got {bbp_samples!r}")
    for c in counts:
        integer(c.item() if isinstance(c, np.generic) else c,
                "bbp_samples (the bootstrap resamples samples)", low=2)


def _counts(points, sizes):
    """Successes and trials (sizes x grid) of the sweep's points."""
    return tuple(np.array([[v[q] for p, v in points if p["n"] == n] for n in sizes])
                 for q in ("successes", "trials"))


def _finite_size(model, family, points, grid, sizes, t_max, n_boot, rng, map_store):
    """Onsets x_c(N) of the simulated curves, extrapolated in powers of 1/ln N, beside the
    onsets predicted by the large-N theory (where its escape map exists) [S6]."""
    succ, trials = _counts(points, sizes)
    plateau = 0.5 if family["p"] % 2 else 1.0
    sim = onsets(sizes, grid, succ, trials, plateau=plateau, n_boot=n_boot, rng=rng)
    # the prediction: on the grid points where the signal's fixed point lies above the escape
    # level (the map is defined there), linear interpolation of P to plateau/2
    ok = [x for x in grid if gradient_flow_fixed_point(
        SpikedMatrixTensor(family["p"], 1.0 / x, family["delta_p"])).m > 0.5]
    predicted = {}
    if len(ok) >= 2:
        for n in sizes:
            pr = predict_success(model, ok, n, t_max=t_max, store=map_store)
            d = pr.probability - plateau / 2
            k = np.flatnonzero((d[:-1] < 0) & (d[1:] >= 0))
            if k.size:
                i = int(k[0])
                predicted[n] = float(ok[i] - d[i] * (ok[i + 1] - ok[i]) / (d[i + 1] - d[i]))
            else:
                predicted[n] = (f"<= {ok[0]:g}" if d[0] >= 0 else f"> {ok[-1]:g}")
    lo, hi = sim["low_inf"], sim["high_inf"]
    source = (f"onsets x_c(N) (P = {plateau:g}/2) of the simulated success curves at N = "
              f"{list(sizes)}, t_max = {t_max:g}, extrapolated as x_inf + b (ln N)^-k, "
              "k = 1/2, 1, 2 (interval: envelope); simulation only, except the plateau "
              "(the sign symmetry of random starts). x_c_predicted: the large-N theory "
              "(DMFT escape map + overlap fluctuations), not used in the estimate")
    return Estimate("finite_size", sim["x_inf"], lo, hi, source,
                    {**sim, "width": hi - lo, "x_c_predicted": predicted,
                     "depends_on_theory": ["x_c_predicted"]})


def _relaxation(kind, family, *, source, dmft_grid, dmft_t_max, dmft_store, points, grid,
                sizes, progress):
    if source == "dmft":
        fit = relaxation_time_fit(family["p"], family["delta_p"], dmft_grid, t_max=dmft_t_max,
                                  store=dmft_store, progress=progress)
        lo, hi = fit.x_c_interval
        return Estimate("relaxation", fit.x_c, lo, hi,
                        f"DMFT relaxation rates in the linear regime (m0 -> 0), t <= "
                        f"{fit.t_max:g}, envelope of {len(fit.budget) - 2} fits [S5.1]",
                        {"x": fit.x.tolist(), "rate_inf": fit.rate_inf.tolist(),
                         "kappa": fit.kappa, "budget": fit.budget,
                         "difference_to_bbp": fit.difference, "runs": fit.runs})
    n = max(sizes)
    medians = np.array([v["median_escape"] for p, v in points if p["n"] == n])
    fit = fit_relaxation_times(np.asarray(grid, dtype=float), medians)
    lo, hi = fit.x_c_interval
    return Estimate("relaxation", fit.x_c, lo, hi,
                    f"median escape times of the simulations at N = {n}",
                    {"x": fit.x.tolist(), "median_escape": medians.tolist(),
                     "gamma": fit.gamma})


def locate_critical_ratio(model, grid=None, *, methods=METHODS[:3], sizes=(32, 64, 128),
                          n_samples: int = 64, t_max: float | None = None,
                          relaxation: str | None = None, dmft_grid=None,
                          dmft_t_max: float = 5000.0, bbp_grid=None,
                          bbp_sizes=(250, 500, 1000), bbp_samples: int = 8,
                          bbp_t_max: float = 1000.0, n_boot: int = 400,
                          rng=0, store: str | os.PathLike | None = None, client=None,
                          workers: int | None = 1, progress: bool = False
                          ) -> CriticalRatioReport:
    """Locate the critical ratio of gradient flow by the BBP criterion, the divergence of the
    relaxation time and the finite-size crossing of success probabilities.

    Parameters
    ----------
    model : SpikedMatrixTensor or PhaseRetrieval
        The family: (p, Delta_p) of the spiked model, whose control parameter is
        x = 1/Delta2 (its own Delta2 is ignored); the loss of phase retrieval, whose control
        parameter is alpha (its own alpha is ignored).
    grid : sequence of float
        Values of x at which the simulations run (methods "crossing" and, with
        ``relaxation="simulation"``, "relaxation"). Default: 1.6..2.8 (spiked), 2..10 (phase
        retrieval).
    methods : subset of ("bbp", "relaxation", "crossing", "finite_size")
        Default: the first three. "finite_size" (spiked model) needs a grid that spans the
        onsets of the sizes, which lie far below 1/Delta2^GF at small N, e.g.
        ``grid=(0.9, 1.1, 1.3, 1.5, 1.7)`` for N = 24..192 (docs/sharp_bits.md).
    sizes : sequence of int
        System sizes N of the success curves (increasing).
    n_samples : int
        Samples per (N, x).
    t_max : float, optional
        Time budget of each simulated run (default 1000 spiked, 200 phase retrieval).
    relaxation : {"dmft", "simulation"}, optional
        Source of the relaxation times (default: DMFT for the spiked model, simulation
        escape times for phase retrieval).
    dmft_grid, dmft_t_max
        DMFT relaxation method (spiked): grid of 1/Delta2 above the threshold (default 1.04..1.2
        times the closed-form value) and longest time; see
        :func:`saddlesurf.theory.relaxation_time_fit`. Its runs are cached under
        ``store/relaxation`` when ``store`` is given.
    bbp_grid, bbp_sizes, bbp_samples, bbp_t_max
        Phase retrieval, method "bbp" (route (b) [P4.5b]): the alphas of the signal-projected
        runs at every N (default: a coarse bracket 2..9 at the smallest N, then five points
        0.3 apart around its crossing), the sizes N, the samples per (N, alpha) (an int or
        one per size) and the time budget of each run. Each run goes to a stationary point
        (t <= bbp_t_max: at N = 2000, 24 of 40 runs were still moving at t = 200 and none
        at t = 1000, which moved alpha_c(2000) by only -0.003; converged runs stop early, so
        the longer budget costs ~20%); alpha_c(N) comes
        from the pooled states' edge margin and is extrapolated in 1/N
        (``report["bbp"].details``: per-N values, fits and the error budget). float32
        sensing matrices from N = 1000.
    n_boot : int
        Bootstrap replicas (crossings and the phase-retrieval BBP route).
    rng : int or SeedSequence
        Root seed of every simulation and bootstrap (recorded).
    store : path, optional
        Directory of the sweep's per-point results: a restarted call recomputes nothing
        that was completed.
    client : dask.distributed.Client or str, optional
        Run the simulation points on a Dask cluster (see :func:`sweep`).
    workers : int or None
        Local worker processes of the sweep (1: this process, threads inside ``simulate``).
    progress : bool

    Returns
    -------
    CriticalRatioReport
        ``report["bbp"]``, ``report["relaxation"]``, ``report["crossing"]`` with intervals,
        the reference lines and the success curves.
    """
    kind, family = _family(model)
    methods = tuple(methods)
    if not methods or any(m not in METHODS for m in methods):
        raise ValueError(f"methods must be a non-empty subset of {METHODS}, got {methods!r}")
    relaxation = relaxation or ("dmft" if kind == "spiked" else "simulation")
    if relaxation not in ("dmft", "simulation"):
        raise ValueError(f"relaxation must be 'dmft' or 'simulation', got {relaxation!r}")
    if relaxation == "dmft" and kind != "spiked":
        raise ValueError("relaxation='dmft' is for the spiked model; phase retrieval uses "
                         "relaxation='simulation'")
    if grid is not None:
        numbers(grid, "grid")
    n_samples = integer(n_samples, "n_samples", low=1)
    n_boot = integer(n_boot, "n_boot", low=0, hint="400")
    grid = np.asarray(grid if grid is not None else
                      (np.linspace(1.6, 2.8, 5) if kind == "spiked" else
                       np.array([2.0, 4.0, 6.0, 8.0, 10.0])), dtype=float)
    t_max = float(t_max if t_max is not None else (1000.0 if kind == "spiked" else 200.0))
    sizes = tuple(int(n) for n in sizes)
    # checked before any simulation runs (success_curves would only complain afterwards)
    if (grid.ndim != 1 or grid.size < 3 or not np.all(np.isfinite(grid))
            or np.any(np.diff(grid) <= 0) or np.any(grid <= 0)):
        raise ValueError(f"grid must hold >= 3 increasing positive values of "
                         f"{'1/Delta2' if kind == 'spiked' else 'alpha'}, got {grid.tolist()}")
    if len(sizes) < 2 or sizes[0] < 2 or any(np.diff(sizes) <= 0):
        raise ValueError(f"sizes must be >= 2 increasing system sizes N >= 2, got {sizes}")
    if not (math.isfinite(t_max) and t_max > 0):
        raise ValueError(f"t_max must be a positive finite time, got {t_max!r}")
    report = CriticalRatioReport(repr(model), "1/Delta2" if kind == "spiked" else "alpha", {},
                                 {}, stats={"rng": str(rng), "methods": list(methods)})
    lines = thresholds(model)
    report.reference = ({"ml_amp": lines.ml_amp, "gf": lines.gf, "triv": lines.triv}
                        if kind == "spiked" else
                        {"it": lines.it, "amp": lines.amp, "spectral": lines.spectral,
                         "bbp_init": lines.bbp_init})
    if "bbp" in methods and kind == "pr":
        _check_states_route(model, bbp_grid, bbp_sizes, bbp_samples)
        bbp_t_max = real(bbp_t_max, "bbp_t_max", low=0.0, hint="1000.0")
    if "finite_size" in methods and kind != "spiked":
        raise ValueError("method 'finite_size' is for the spiked model (its random-start curves "
                         "merge); for phase retrieval use 'crossing'")
    need_sims = ("crossing" in methods or "finite_size" in methods
                 or ("relaxation" in methods and relaxation == "simulation"))
    points = []
    if need_sims:
        fixed = {"model": kind, "n_samples": int(n_samples), "t_max": t_max, **family}
        res = sweep(success_point, [{**fixed, "n": n, "x": float(x)} for n in sizes
                                    for x in grid],
                    rng=rng, store=store, client=client, workers=workers, progress=progress)
        points = list(zip(res.points, res.values, strict=True))
        report.stats["sweep"] = res.stats
    for method in methods:
        try:
            if method == "bbp":
                est = _bbp(kind, model, family, bbp_grid=bbp_grid, bbp_sizes=bbp_sizes,
                           bbp_samples=bbp_samples, t_max=bbp_t_max, rng=rng, n_boot=n_boot,
                           workers=None, bbp_init=report.reference.get("bbp_init", math.nan))
            elif method == "relaxation":
                est = _relaxation(
                    kind, family, source=relaxation, dmft_grid=dmft_grid,
                    dmft_t_max=dmft_t_max, points=points, grid=grid, sizes=sizes,
                    dmft_store=None if store is None else Path(store) / "relaxation",
                    progress=progress)
            elif method == "finite_size":
                est = _finite_size(model, family, points, grid, sizes, t_max, n_boot, rng,
                                   None if store is None else Path(store) / "escape_map")
            else:
                succ, trials = _counts(points, sizes)
                curves = success_curves(sizes, grid, succ, trials, n_boot=n_boot, rng=rng)
                report.curves = curves
                e = curves.estimate
                if not math.isfinite(e["value"]):
                    raise ValueError(f"the success curves of N = {sizes[-2]} and {sizes[-1]} "
                                     "do not cross near the grid; widen the grid or add "
                                     "samples")
                source = (f"success curves at N = {list(sizes)}, {n_samples} samples, "
                          f"t_max = {t_max:g}")
                if not e["resolved"]:
                    source += (
                        f"; NOT RESOLVED: P_{sizes[-1]} - P_{sizes[-2]} is "
                        f"{e['z_below']:+.1f} standard errors below this zero and "
                        f"{e['z_above']:+.1f} above (a crossing needs <= -{RESOLVED_Z:g} and "
                        f">= +{RESOLVED_Z:g}): the curves merge or run parallel; add samples, "
                        "or see docs/sharp_bits.md, 'Random starts at finite N'")
                est = Estimate("crossing", e["value"], e["low"], e["high"], source,
                               {"resolved": e["resolved"], "crossings": curves.crossings,
                                "extrapolation": curves.extrapolation})
            report.estimates[method] = est
        except (ValueError, RuntimeError) as exc:
            report.failures[method] = str(exc)
    return report
