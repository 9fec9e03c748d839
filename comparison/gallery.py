"""The docs gallery: every figure rebuilt from scratch, ``quick`` (minutes on 2 cores) or full
(publication settings). Each figure is saved as PNG + PDF with its data (JSON) beside it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._progress import progress_bar
from ..simulation import SimulationOptions, simulate
from ..theory import (
    PhaseRetrieval,
    RegularisedLoss,
    SpikedMatrixTensor,
    escape_time_map,
    solve_dmft,
    thresholds,
)
from ..theory.figures import plot_phase_diagram
from .critical import locate_critical_ratio
from .figures import (
    plot_onsets,
    plot_overlay,
    plot_pr_phase_diagram,
    plot_residuals,
    plot_spiked_phase_diagram,
    plot_success_prediction,
    save_figure,
)
from .overlay import overlay
from .points import success_point
from .prediction import predict_success
from .sweep import sweep

__all__ = ["GALLERY", "GallerySettings", "build_gallery"]

# the spiked critical-ratio figure: simulated x = 1/Delta2 (spanning the onsets of N = 24..128)
# and the grid of the prediction (where the signal's fixed point lies above the escape level)
SPIKED_GRID = (0.9, 1.2, 1.5, 1.8, 2.1, 2.4)
PREDICTION_GRID = (1.3, 1.5, 1.8, 2.1, 2.4)
SPIKED_SEEDS = (1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3)  # predict_success's, so the runs are shared

# figure name -> (width, height) in inches; PNGs are written at 150 dpi
GALLERY = {
    "spiked_phase_diagram": (10.4, 4.2),
    "spiked_overlay": (13.0, 3.6),
    "spiked_critical_ratio": (10.4, 4.2),
    "pr_phase_diagram": (6.4, 4.4),
}


@dataclass(frozen=True)
class GallerySettings:
    """Sizes and sample counts of the gallery (``quick()`` or ``full()``)."""

    marker_n: int
    marker_samples: int
    overlay_n: int
    overlay_samples: int
    spiked_sizes: tuple
    spiked_samples: int
    spiked_t_max: float
    pr_sizes: tuple
    pr_samples: int
    pr_t_max: float
    pr_alphas: tuple
    pr_state_sizes: tuple
    pr_state_samples: int
    predict_n_max: float

    @classmethod
    def quick(cls) -> GallerySettings:
        return cls(32, 12, 100, 16, (24, 48), 48, 300.0, (50, 100), 12, 100.0,
                   (2.0, 3.0, 4.0, 5.0, 6.0, 8.0), (60, 120), 3, 1e4)

    @classmethod
    def full(cls) -> GallerySettings:
        return cls(128, 64, 400, 64, (24, 48, 96, 192), 192, 1000.0, (100, 200, 400), 64, 400.0,
                   (2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 10.0), (250, 500, 1000), 8, 1e5)


def _figure(name):
    """A figure outside pyplot: no backend is chosen or switched (safe in notebooks)."""
    from matplotlib.figure import Figure

    return Figure(figsize=GALLERY[name], layout="constrained")


def spiked_phase_diagram(out: Path, s: GallerySettings, rng) -> list[Path]:
    """p = 3 and 4 lines; p = 3 with GF success markers at N = marker_n."""
    delta_p = np.geomspace(0.1, 10.0, 40)
    fig = _figure("spiked_phase_diagram")
    axes = fig.subplots(1, 2)
    marker_dp = np.array([0.3, 1.0, 3.0])
    grid = [{"delta_p": float(dp), "x": float(f * thresholds(3, dp).gf)}
            for dp in marker_dp for f in (0.8, 1.25)]
    res = sweep(success_point, [{**g, "model": "spiked", "n": s.marker_n, "p": 3,
                                 "n_samples": s.marker_samples, "t_max": 300.0} for g in grid],
                rng=rng)
    frac = res.column("successes") / res.column("trials")
    markers = {"delta_p": res.column("delta_p"), "x": res.column("x"), "success": frac,
               "n": s.marker_n}
    lines3 = thresholds(3, delta_p)
    plot_spiked_phase_diagram(lines3, ax=axes[0], markers=markers)
    plot_phase_diagram(thresholds(4, delta_p), ax=axes[1])
    for ax in axes:
        ax.set_xscale("log")
    data = {"delta_p": delta_p, "p3": lines3.table(), "p4": thresholds(4, delta_p).table(),
            "markers": markers, "seeds": res.seeds}
    return save_figure(fig, out / "spiked_phase_diagram", data)


def spiked_overlay(out: Path, s: GallerySettings, rng) -> list[Path]:
    """DMFT against N = overlay_n gradient flow in the easy phase (warm start m0 = 0.3)."""
    model = SpikedMatrixTensor(p=3, delta2=0.4, delta_p=1.0)
    theory = solve_dmft(model, 10.0, m0=0.3, dt=0.05)
    sim = simulate(model, s.overlay_n, t_max=10.0, n_samples=s.overlay_samples, start="warm",
                   m0=0.3, rng=rng, options=SimulationOptions(n_times=20, t_min=0.05))
    fig = _figure("spiked_overlay")
    axes = fig.subplots(1, 4)
    ovs = [overlay(theory, sim, name) for name in ("m", "e", "mu")]
    for ax, ov in zip(axes, ovs, strict=False):
        plot_overlay(ov, ax=ax)
    plot_residuals(ovs, ax=axes[3])
    fig.suptitle(f"{model!r}: DMFT vs N = {s.overlay_n}", fontsize=9)
    data = {ov.observable: {"times": ov.times, "theory": ov.theory, "mean": ov.mean,
                            "sem": ov.sem, "residual": ov.residual, "summary": ov.summary()}
            for ov in ovs}
    return save_figure(fig, out / "spiked_overlay", data)


def spiked_critical_ratio(out: Path, s: GallerySettings, rng) -> list[Path]:
    """p = 3, Delta_p = 1 from random starts. Left: simulated success at each N with the
    curves that the large-N theory predicts for the same N and t_max (``predict_success``).
    Right: the onsets x_c(N) against 1/ln N, simulated and predicted (also at N beyond
    simulation), extrapolating toward the BBP line (docs/sharp_bits.md, "Random starts at
    finite N")."""
    import tempfile

    family = SpikedMatrixTensor(p=3, delta2=0.5, delta_p=1.0)
    with tempfile.TemporaryDirectory() as store:  # the escape map is built once
        rep = locate_critical_ratio(family, SPIKED_GRID, methods=("bbp", "crossing", "finite_size"),
                                    sizes=s.spiked_sizes, n_samples=s.spiked_samples,
                                    t_max=s.spiked_t_max, n_boot=200, rng=rng, store=store)
        emap = escape_time_map(3, 1.0, PREDICTION_GRID, SPIKED_SEEDS, t_max=s.spiked_t_max,
                               store=Path(store) / "escape_map")
    preds = [predict_success(family, PREDICTION_GRID, n, t_max=s.spiked_t_max,
                             escape_map=emap) for n in s.spiked_sizes]
    onset = {}
    for n in np.geomspace(s.spiked_sizes[0], s.predict_n_max, 10):
        p = predict_success(family, PREDICTION_GRID, int(n), t_max=s.spiked_t_max,
                            escape_map=emap).probability - 0.25
        k = np.flatnonzero((p[:-1] < 0) & (p[1:] >= 0))
        if k.size:
            i = int(k[0])
            g = PREDICTION_GRID
            onset[int(n)] = float(g[i] - p[i] * (g[i + 1] - g[i]) / (p[i + 1] - p[i]))
    fig = _figure("spiked_critical_ratio")
    left, right = fig.subplots(1, 2)
    plot_success_prediction(rep.curves, preds, ax=left)
    plot_onsets(rep["finite_size"], ax=right, predicted=onset, bbp=rep["bbp"].value)
    fig.suptitle(rf"spiked matrix-tensor $p = 3$, $\Delta_p = 1$, gradient flow from random "
                 rf"starts, $t_{{\max}} = {s.spiked_t_max:g}$", fontsize=9)
    data = {**rep.to_dict(), "predicted": [{"n": pr.n, "grid": pr.grid,
                                            "probability": pr.probability,
                                            "interval": pr.probability_interval}
                                           for pr in preds],
            "predicted_onsets": onset, "escape_map": emap.to_dict()}
    return save_figure(fig, out / "spiked_critical_ratio", data)


def pr_phase_diagram(out: Path, s: GallerySettings, rng) -> list[Path]:
    """Phase retrieval (l_a, a = 0.01): success against alpha at several N, lines of [P5]
    and alpha_c from signal-projected GF states [P4.5b]."""
    model = PhaseRetrieval(4.0, RegularisedLoss(0.01))
    rep = locate_critical_ratio(model, s.pr_alphas, methods=("bbp", "crossing"),
                                sizes=s.pr_sizes, n_samples=s.pr_samples, t_max=s.pr_t_max,
                                bbp_sizes=s.pr_state_sizes, bbp_samples=s.pr_state_samples,
                                n_boot=200, rng=rng)
    fig = _figure("pr_phase_diagram")
    alpha_c = rep.estimates["bbp"].value if "bbp" in rep.estimates else None
    plot_pr_phase_diagram(rep.curves, rep.reference, ax=fig.gca(), alpha_c=alpha_c)
    fig.gca().set_title("phase retrieval, l_a (a = 0.01), gradient flow", fontsize=9)
    return save_figure(fig, out / "pr_phase_diagram", rep.to_dict())


_BUILDERS = {"spiked_phase_diagram": spiked_phase_diagram, "spiked_overlay": spiked_overlay,
             "spiked_critical_ratio": spiked_critical_ratio, "pr_phase_diagram": pr_phase_diagram}


def build_gallery(out: str | os.PathLike, *, full: bool = False, only=None, rng: int = 0,
                  progress: bool = False) -> dict[str, list[Path]]:
    """Rebuild the gallery figures into ``out``.

    Parameters
    ----------
    out : path
        Directory of ``<name>.png``, ``<name>.pdf`` and ``<name>.json`` (the plotted data).
    full : bool
        Publication settings (:meth:`GallerySettings.full`, hours) instead of the quick ones
        (a few minutes on 2 cores).
    only : sequence of str, optional
        Names from :data:`GALLERY` to build (default: all).
    rng : int
        Root seed of every simulation.
    progress : bool

    Returns
    -------
    dict name -> list of written paths
    """
    names = list(only) if only else list(GALLERY)
    unknown = sorted(set(names) - set(GALLERY))
    if unknown:
        raise ValueError(f"unknown gallery figures {unknown}; choose from {list(GALLERY)}")
    settings = GallerySettings.full() if full else GallerySettings.quick()
    out = Path(out)
    written = {}
    with progress_bar(len(names), "figures", progress, unit="figure") as bar:
        for name in names:
            written[name] = _BUILDERS[name](out, settings, rng)
            bar.update(1)
    return written
