"""matplotlib helpers for theory results (``ax=None`` creates a figure)."""

from __future__ import annotations

import numpy as np

from .spiked_thresholds import SpikedThresholds

__all__ = ["plot_phase_diagram", "plot_dmft"]

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
    from .threshold_states import threshold_state

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
