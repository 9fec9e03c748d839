"""The docs gallery: every figure rebuilt from scratch, ``quick`` (minutes on 2 cores) or full
(publication settings). Each figure is saved as PNG + PDF with its data (JSON) beside it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._progress import progress_bar
from ..simulation import SimulationOptions, simulate
from ..theory import PhaseRetrieval, RegularisedLoss, SpikedMatrixTensor, solve_dmft, thresholds
from ..theory.figures import plot_phase_diagram
from .critical import locate_critical_ratio
from .figures import (
    plot_overlay,
    plot_pr_phase_diagram,
    plot_residuals,
    plot_spiked_phase_diagram,
    plot_success_curves,
    save_figure,
)
from .overlay import overlay
from .points import success_point
from .sweep import sweep

__all__ = ["GALLERY", "GallerySettings", "build_gallery"]

# figure name -> (width, height) in inches; PNGs are written at 150 dpi
GALLERY = {
    "spiked_phase_diagram": (10.4, 4.2),
    "spiked_overlay": (13.0, 3.6),
    "spiked_critical_ratio": (6.0, 4.2),
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
    pr_state_n: int
    pr_state_samples: int

    @classmethod
    def quick(cls) -> GallerySettings:
        return cls(32, 12, 100, 16, (24, 48), 24, 300.0, (50, 100), 12, 100.0,
                   (2.0, 3.0, 4.0, 5.0, 6.0, 8.0), 80, 2)

    @classmethod
    def full(cls) -> GallerySettings:
        return cls(128, 64, 400, 64, (32, 64, 128), 160, 1000.0, (100, 200, 400), 64, 400.0,
                   (2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 10.0), 400, 8)


def _figure(name):
    import matplotlib.pyplot as plt

    return plt.figure(figsize=GALLERY[name], layout="constrained")


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
    """Success curves at several N (p = 3, Delta_p = 1) with the BBP value and the crossing
    estimate. From random starts the curves fall with N at small 1/Delta2 and merge at 1/2
    above (docs/sharp_bits.md, "Random starts at finite N"): the crossing is not resolved."""
    rep = locate_critical_ratio(SpikedMatrixTensor(p=3, delta2=0.5, delta_p=1.0),
                                np.linspace(0.8, 2.8, 6), methods=("bbp", "crossing"),
                                sizes=s.spiked_sizes, n_samples=s.spiked_samples,
                                t_max=s.spiked_t_max, n_boot=200, rng=rng)
    fig = _figure("spiked_critical_ratio")
    plot_success_curves(rep.curves, ax=fig.gca(), report=rep, xlabel="1/Delta2")
    fig.gca().set_title("spiked matrix-tensor p = 3, Delta_p = 1", fontsize=9)
    return save_figure(fig, out / "spiked_critical_ratio", rep.to_dict())


def pr_phase_diagram(out: Path, s: GallerySettings, rng) -> list[Path]:
    """Phase retrieval (l_a, a = 0.01): success against alpha at several N, lines of [P5]
    and alpha_c from signal-projected GF states [P4.5b]."""
    model = PhaseRetrieval(4.0, RegularisedLoss(0.01))
    rep = locate_critical_ratio(model, s.pr_alphas, methods=("bbp", "crossing"),
                                sizes=s.pr_sizes, n_samples=s.pr_samples, t_max=s.pr_t_max,
                                bbp_n=s.pr_state_n, bbp_samples=s.pr_state_samples,
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
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

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
            plt.close("all")
            bar.update(1)
    return written
