"""matplotlib helpers of the comparison layer (``ax=None`` creates a figure) and figure saving
with the plotted data beside the image."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .. import _io
from ..theory.figures import _axes, plot_phase_diagram
from .critical import CriticalRatioReport
from .finite_size import SuccessCurves
from .overlay import Overlay

__all__ = ["plot_overlay", "plot_residuals", "plot_success_curves", "plot_spiked_phase_diagram",
           "plot_pr_phase_diagram", "plot_success_prediction", "plot_onsets", "save_figure"]

_PR_LINES = {"it": ("alpha_IT", "k", ":"), "amp": ("AMP", "tab:blue", "-"),
             "spectral": ("spectral", "tab:cyan", ":"),
             "bbp_init": ("alpha_BBP^init", "tab:green", "--")}


def save_figure(fig, path: str | os.PathLike, data: dict | None = None) -> list[Path]:
    """Save ``fig`` as ``<stem>.png`` (150 dpi, so the PNG is exactly figsize x 150 pixels)
    and ``<stem>.pdf``, and ``data`` (what was plotted) as ``<stem>.json``; every file is
    written atomically. The PDF carries no creation date, so a rebuild gives the same bytes.
    Returns the paths."""
    stem = _io.stem_of(path)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = []
    for suffix in (".png", ".pdf"):
        target = _io.with_ext(stem, suffix)
        meta = {"CreationDate": None} if suffix == ".pdf" else {}
        _io._atomic_write(target, lambda fh, s=suffix, m=meta: fig.savefig(
            fh, format=s[1:], dpi=150, metadata=m))
        paths.append(target)
    if data is not None:
        text = _io.json_text(data)
        _io.atomic_text(_io.with_ext(stem, ".json"), lambda fh: fh.write(text))
        paths.append(_io.with_ext(stem, ".json"))
    return paths


def plot_overlay(ov: Overlay, ax=None, *, band: str = "sem", logx: bool = True):
    """Theory curve over the simulation's ensemble mean with a band.

    Parameters
    ----------
    ov : Overlay
    ax : matplotlib Axes, optional
    band : {"sem", "quantiles"}
        Mean +- SEM (2 SEM lighter), or the median with the interquartile range (for broad
        per-sample distributions, e.g. around escapes [S6], [P7]).
    logx : bool
        Logarithmic time axis (t = 0 left out).
    """
    ax = _axes(ax)
    t = np.where(ov.times > 0, ov.times, np.nan) if logx else ov.times
    tt = np.where(ov.theory_times > 0, ov.theory_times, np.nan) if logx else ov.theory_times
    ax.plot(tt, ov.theory_values, color="k", lw=1.4, label="theory (N = inf)")
    if band == "sem":
        for k, alpha in ((2, 0.15), (1, 0.35)):
            ax.fill_between(t, ov.mean - k * ov.sem, ov.mean + k * ov.sem, color="tab:red",
                            alpha=alpha, lw=0, label=f"+- {k} SEM")
        ax.plot(t, ov.mean, "o", ms=3, color="tab:red",
                label=f"mean, N = {ov.n} ({ov.n_samples} samples)")
    elif band == "quantiles":
        ax.fill_between(t, ov.q25, ov.q75, color="tab:orange", alpha=0.3, lw=0,
                        label="interquartile range")
        ax.plot(t, ov.median, "s", ms=3, color="tab:orange", label=f"median, N = {ov.n}")
    else:
        raise ValueError(f"band must be 'sem' or 'quantiles', got {band!r}")
    bad = ov.flagged
    if bad.size:
        ax.plot(t[bad], ov.mean[bad], "x", color="k", ms=6,
                label=f"|residual| > {ov.threshold:g} SEM")
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel("t")
    ax.set_ylabel(ov.label)
    ax.legend(fontsize=7, frameon=False)
    return ax


def plot_residuals(overlays, ax=None):
    """Residuals (mean - theory)/SEM against t for one or several overlays, with the
    +-threshold band."""
    ax = _axes(ax)
    overlays = [overlays] if isinstance(overlays, Overlay) else list(overlays)
    for ov in overlays:
        ax.plot(np.where(ov.times > 0, ov.times, np.nan), ov.residual, "o-", ms=3, lw=0.8,
                label=ov.observable)
    thr = overlays[0].threshold
    ax.axhspan(-thr, thr, color="0.9", zorder=0)
    ax.axhline(0, color="0.5", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("t")
    ax.set_ylabel("(simulation - theory) / SEM")
    ax.legend(fontsize=7, frameon=False)
    return ax


def plot_success_curves(curves: SuccessCurves, ax=None, *, report: CriticalRatioReport | None
                        = None, xlabel: str = "x"):
    """P(success) against x at each N (Wilson 95% intervals) with the logistic fits, the
    crossing of the two largest N and, from a report, the other estimates and lines."""
    from ..simulation.result import wilson_interval

    ax = _axes(ax)
    xf = np.linspace(curves.grid.min(), curves.grid.max(), 200)
    for k, n in enumerate(curves.sizes):
        ci = np.array([wilson_interval(int(s), int(t)) for s, t in
                       zip(curves.successes[k], curves.trials[k], strict=True)])
        color = f"C{k}"
        ax.errorbar(curves.grid, ci[:, 0], yerr=[ci[:, 0] - ci[:, 1], ci[:, 2] - ci[:, 0]],
                    fmt="o", ms=4, color=color, capsize=2, label=f"N = {int(n)}")
        ax.plot(xf, curves.probability(k, xf), color=color, lw=1)
    e = curves.estimate
    if np.isfinite(e["value"]):
        flag = "" if e["resolved"] else " (not resolved)"
        ax.axvline(e["value"], color="k", lw=1.2, label=f"crossing {e['value']:.3g}{flag}")
        if np.isfinite(e["low"]):
            ax.axvspan(e["low"], e["high"], color="k", alpha=0.08, lw=0)
    if report is not None:
        styles = {"bbp": ("tab:red", "-"), "relaxation": ("tab:orange", "--")}
        for name, est in report.estimates.items():
            if name in styles:
                ax.axvline(est.value, color=styles[name][0], ls=styles[name][1],
                           label=f"{name} {est.value:.3g}")
        for k, v in report.reference.items():
            if k in ("ml_amp", "triv", "bbp_init") and np.isfinite(v):
                ax.axvline(v, color="0.5", ls=":", lw=1)
                ax.annotate(k, (v, 0.02), rotation=90, fontsize=7, color="0.4")
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("P(success)")
    ax.legend(fontsize=7, frameon=False, loc="upper left")
    return ax


def plot_success_prediction(curves: SuccessCurves, predictions, ax=None, *,
                            xlabel: str = r"$1/\Delta_2$"):
    """Simulated P(success) at each N (Wilson 95% intervals) with the curves and bands that
    ``predict_success`` gives for the same N (``predictions``: one per size, in order)."""
    from ..simulation.result import wilson_interval

    ax = _axes(ax)
    for k, (n, pr) in enumerate(zip(curves.sizes, predictions, strict=True)):
        ci = np.array([wilson_interval(int(a), int(b)) for a, b in
                       zip(curves.successes[k], curves.trials[k], strict=True)])
        color = f"C{k}"
        ax.errorbar(curves.grid, ci[:, 0], yerr=[ci[:, 0] - ci[:, 1], ci[:, 2] - ci[:, 0]],
                    fmt="o", ms=4, color=color, capsize=2, label=f"$N = {int(n)}$ simulated")
        ax.plot(pr.grid, pr.probability, color=color, lw=1.2, label=f"$N = {int(n)}$ predicted")
        ax.fill_between(pr.grid, *pr.probability_interval.T, color=color, alpha=0.15, lw=0)
    ax.set_ylim(-0.03, 0.8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("P(success)")
    ax.legend(fontsize=7, frameon=False, loc="upper left", ncol=2)
    return ax


def plot_onsets(estimate, ax=None, *, predicted=None, bbp: float | None = None,
                ylabel: str = r"onset $x_c(N)$"):
    """Onsets x_c(N) of the simulated success curves against 1/ln N, the central
    extrapolation x_inf + b/ln N with the interval of the "finite_size" ``estimate``, the
    predicted onsets (``predicted``: {N: x_c}) and the BBP line."""
    ax = _axes(ax)
    d = estimate.details
    inv = 1.0 / np.log(np.asarray(d["sizes"], dtype=float))
    xc = np.asarray(d["x_c"])
    ax.errorbar(inv, xc, yerr=[xc - np.asarray(d["low"]), np.asarray(d["high"]) - xc],
                fmt="o", color="k", capsize=2, label="simulated")
    central = d["forms"][min(d["forms"], key=lambda k: abs(float(k) - 1.0))]
    f = np.linspace(0.0, inv.max() * 1.05, 50)
    ax.plot(f, central["x_inf"] + central["b"] * f, color="k", lw=0.8, ls="--",
            label=r"$x_\infty + b/\ln N$")
    ax.errorbar([0.0], [estimate.value], yerr=[[estimate.value - estimate.low],
                                               [estimate.high - estimate.value]],
                fmt="s", color="tab:purple", capsize=3,
                label=f"finite size {estimate.value:.3g} [{estimate.low:.3g}, "
                      f"{estimate.high:.3g}]")
    if predicted:
        pn = sorted((int(n), v) for n, v in predicted.items() if isinstance(v, float))
        if pn:
            ax.plot([1.0 / np.log(n) for n, _ in pn], [v for _, v in pn], "-", color="tab:blue",
                    lw=1.2, label="predicted (large-$N$ theory)")
    if bbp is not None:
        ax.axhline(bbp, color="tab:red", lw=1, label=f"BBP {bbp:.3g}")
    ax.set_xlim(left=-0.01)
    # onsets of small samples can lie far off; the BBP line and the data stay in view
    ax.set_ylim(0.5, 3.5)
    ax.set_xlabel(r"$1/\ln N$")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=7, frameon=False, loc="lower left")
    return ax


def plot_spiked_phase_diagram(lines, ax=None, *, markers=None):
    """Spiked phase diagram (AMP, ML-AMP, GF, trivialisation, IT lines) with finite-N
    gradient-flow success markers.

    Parameters
    ----------
    lines : SpikedThresholds
        On an array of Delta_p.
    markers : dict, optional
        {"delta_p": (k,), "x": (k,), "success": (k,) fractions, "n": N}: simulation points
        coloured by their success fraction.
    """
    ax = plot_phase_diagram(lines, ax=ax)
    if markers is not None:
        sc = ax.scatter(markers["delta_p"], markers["x"], c=markers["success"], cmap="RdYlGn",
                        vmin=0, vmax=1, edgecolors="k", linewidths=0.5, s=36, zorder=5)
        ax.figure.colorbar(sc, ax=ax, label=f"GF success, N = {markers.get('n', '?')}")
    return ax


def plot_pr_phase_diagram(curves: SuccessCurves, lines: dict, ax=None, *,
                          alpha_c: float | None = None):
    """Phase retrieval: P(success) against alpha at several N with alpha_IT, AMP, spectral,
    alpha_BBP^init and alpha_c marked [P5]."""
    ax = plot_success_curves(curves, ax=ax, xlabel="alpha = M/N")
    for k, (label, color, ls) in _PR_LINES.items():
        if k in lines and np.isfinite(lines[k]):
            ax.axvline(lines[k], color=color, ls=ls, lw=1.2, label=f"{label} {lines[k]:.3g}")
    if alpha_c is not None and np.isfinite(alpha_c):
        ax.axvline(alpha_c, color="tab:red", lw=1.6, label=f"alpha_c {alpha_c:.3g}")
    ax.set_xlim(0, curves.grid.max() * 1.05)
    ax.legend(fontsize=7, frameon=False, loc="center right")
    return ax
