"""matplotlib helpers for simulation results (``axes=None`` creates a figure)."""

from __future__ import annotations

import numpy as np

from .result import SimulationResult

__all__ = ["plot_simulation"]


def plot_simulation(result: SimulationResult, axes=None):
    """Ensemble mean +- SEM of |m|(t) (phase retrieval) or m(t), e(t) and mu(t), with the
    individual samples faint behind. Returns the three axes."""
    import matplotlib.pyplot as plt

    if axes is None:
        _, axes = plt.subplots(1, 3, figsize=(12.6, 3.6))
    pr = result.model["type"] == "PhaseRetrieval"
    t = result.times
    tplot = np.where(t > 0, t, np.nan)
    names = (("m", "|m|" if pr else "m"), ("e", "e = energy / N"),
             ("mu", "lambda" if pr else "mu"))
    for ax, (name, label) in zip(axes, names, strict=True):
        data = np.abs(getattr(result, name)) if (pr and name == "m") else getattr(result, name)
        s = result.summary(name, absolute=pr and name == "m")
        ax.plot(tplot, data.T, color="0.75", lw=0.5)
        ax.plot(tplot, s["mean"], color="tab:red", lw=1.6, label=f"mean of {result.n_samples}")
        ax.fill_between(tplot, s["mean"] - s["sem"], s["mean"] + s["sem"], color="tab:red",
                        alpha=0.3, lw=0, label="+- SEM")
        ax.set_xscale("log")
        ax.set_xlabel("t")
        ax.set_ylabel(label)
    axes[0].legend(frameon=False, fontsize=8)
    axes[0].set_title(f"N = {result.n}, {result.algorithm['type']}", fontsize=9)
    return axes
