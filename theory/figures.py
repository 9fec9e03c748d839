"""matplotlib helpers for theory results (``ax=None`` creates a figure)."""

from __future__ import annotations

import numpy as np

from .spherical.thresholds import SpikedThresholds

__all__ = ["plot_phase_diagram", "plot_dmft", "plot_glm_spectrum", "plot_critical_ratio"]

_STYLE = {
    "it": ("information-theoretic", "k", ":"),
    "amp": ("AMP (Bayes)", "tab:blue", "-"),
    "amp_spinodal": ("AMP spinodal", "tab:cyan", ":"),
    "ml_amp": ("ML-AMP", "tab:green", "--"),
    "gf": ("gradient flow (BBP)", "tab:red", "-"),
    "triv": ("trivialisation", "tab:purple", "-."),
}


def _axes(ax, ncols=1, size=(5.0, 4.0)):
    import matplotlib.pyplot as plt

    if ax is not None:
        return ax
    _, ax = plt.subplots(1, ncols, figsize=(size[0] * ncols, size[1]), squeeze=False)
    return ax[0] if ncols > 1 else ax[0, 0]


def plot_phase_diagram(lines: SpikedThresholds, ax=None):
    """Spiked matrix-tensor phase diagram: 1/Delta2 (vertical) against Delta_p [S1].

    Parameters
    ----------
    lines : SpikedThresholds
        From :func:`saddlesurf.theory.thresholds` on an array of Delta_p.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
    """
    ax = _axes(ax)
    x = np.atleast_1d(lines.delta_p)
    for key, (label, color, ls) in _STYLE.items():
        ax.plot(x, np.clip(np.atleast_1d(getattr(lines, key)), 0, None), ls, color=color,
                label=label, lw=1.6)
    ax.fill_between(x, np.atleast_1d(lines.gf), np.atleast_1d(lines.triv), color="tab:red",
                    alpha=0.12, lw=0, label="GF succeeds, spurious minima remain")
    ax.set_xlabel(r"$\Delta_p$")
    ax.set_ylabel(r"$1/\Delta_2$")
    ax.set_title(f"spiked matrix-tensor, p = {lines.p}")
    ax.set_xlim(x.min(), x.max())
    ax.set_ylim(0, min(float(np.max(lines.triv)) * 1.05, 6.0))
    ax.legend(fontsize=8, loc="upper right")
    return ax


def plot_dmft(result, axes=None):
    """m(t), e(t) and mu(t) of a :class:`~saddlesurf.theory.DMFTResult` on three axes.

    Threshold values of [S4.3] are drawn for reference (mu_th, e_th).

    Returns
    -------
    array of three matplotlib Axes
    """
    from .spherical.threshold_states import threshold_state

    axes = _axes(axes, ncols=3, size=(4.2, 3.4))
    ts = threshold_state(result.model)
    t = result.times
    axes[0].plot(t, result.m, color="tab:blue")
    axes[0].set_ylabel("m(t)")
    axes[1].plot(t, result.e, color="tab:red")
    axes[1].axhline(ts.energy_aging, color="gray", ls=":", label=r"$e_{th}$")
    axes[1].set_ylabel("e(t)")
    axes[2].plot(t, result.mu, color="tab:green")
    axes[2].axhline(ts.mu, color="gray", ls=":", label=r"$\mu_{th}$")
    axes[2].set_ylabel(r"$\mu(t)$")
    for ax in axes:
        ax.set_xlabel("t")
    for ax in axes[1:]:
        ax.legend(fontsize=8)
    axes[0].set_title(f"{result.model!r}, T={result.temperature:g}", fontsize=8, loc="left")
    axes[0].figure.tight_layout()
    return axes


def plot_glm_spectrum(spectrum, *, ax=None, hessian: bool = True, points: int = 400):
    """Bulk density and BBP outlier of a :class:`~saddlesurf.theory.GLMSpectrum` [P4.2].

    Parameters
    ----------
    spectrum : GLMSpectrum
    ax : matplotlib Axes, optional
    hessian : bool
        Plot Hessian eigenvalues (W minus alpha nu) when nu is known, else eigenvalues of W.
    points : int
        Density evaluation points between the edges (the upper edge is clipped at 4x the
        distance between the lower edge and the bulk mean, for unbounded g).
    """
    ax = _axes(ax)
    shift = spectrum.shift if hessian and np.isfinite(spectrum.shift) else 0.0
    lo, hi = spectrum.edges
    mean = spectrum.alpha * float(spectrum.law.weights @ spectrum.law.g)
    hi = min(hi, lo + 4 * max(mean - lo, 1e-12)) if np.isfinite(hi) else lo + 4 * (mean - lo)
    x = np.linspace(lo, hi, points)
    ax.plot(x - shift, spectrum.density(x), color="C0", label="bulk density")
    if spectrum.has_outlier:
        ax.axvline(spectrum.outlier - shift, color="C3", ls="--",
                   label=f"outlier, overlap$^2$ = {spectrum.overlap:.3f}")
    ax.axvline(lo - shift, color="0.5", lw=0.8, label="lower edge")
    ax.set_xlabel("Hessian eigenvalue" if shift else "eigenvalue of W")
    ax.set_ylabel("density")
    ax.set_title(f"alpha = {spectrum.alpha:g}")
    ax.legend(fontsize=8)
    return ax


def plot_critical_ratio(cr, *, ax=None):
    """Edge margin F(s_-) against alpha with its bootstrap errors and alpha_c [P4.5]."""
    ax = _axes(ax)
    ax.errorbar(cr.alphas, cr.margins, yerr=np.nan_to_num(cr.margin_errors), fmt="o-",
                label=f"{cr.route} states")
    ax.axhline(0, color="0.5", lw=0.8)
    ax.axvline(cr.alpha_c, color="C3", ls="--",
               label=f"alpha_c = {cr.alpha_c:.3g} +- {cr.error:.2g}")
    ax.set_xlabel("alpha")
    ax.set_ylabel("F(s_-)  (outlier iff < 0)")
    ax.legend(fontsize=8)
    return ax
