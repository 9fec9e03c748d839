"""Phase retrieval's critical ratio alpha_c from signal-projected gradient flow [P4.5b]: the
edge margin F(s_-) of the pooled states against alpha at each N, the zero alpha_c(N), and its
extrapolation in N with the error budget. Sizes are small so that it runs in under a minute;
the report's defaults (N = 250, 500, 1000, 8 samples) take a few minutes.

    python examples/pr_critical_ratio.py [output-folder]         # about 30 s
"""

import sys
from pathlib import Path

from matplotlib.figure import Figure

from saddlesurf.comparison import locate_critical_ratio
from saddlesurf.comparison.figures import save_figure
from saddlesurf.theory import PhaseRetrieval, RegularisedLoss

out = Path(sys.argv[1] if len(sys.argv) > 1 else "examples-output")
rep = locate_critical_ratio(PhaseRetrieval(4.0, RegularisedLoss(0.01)), methods=("bbp",),
                            bbp_sizes=(80, 160), bbp_samples=4, n_boot=100, rng=0)
print(rep)
est = rep["bbp"]
print("error budget:", est.details["budget"])
fig = Figure(figsize=(5, 4), layout="constrained")
ax = fig.gca()
for p in est.details["per_n"]:
    ax.errorbar(p["alphas"], p["margins"], yerr=p["margin_errors"], fmt="o-",
                label=rf"$N = {p['n']}$: $\alpha_c(N) = {p['alpha_c']:.3f}$")
ax.axhline(0, color="0.5", lw=0.8)
ax.axvspan(est.low, est.high, color="C3", alpha=0.15,
           label=rf"$\alpha_c = {est.value:.3f}$ [{est.low:.3f}, {est.high:.3f}]")
ax.axvline(rep.reference["bbp_init"], color="tab:green", ls="--",
           label=r"$\alpha_{BBP}^{init}$")
ax.set_xlabel(r"$\alpha$")
ax.set_ylabel(r"edge margin $F(s_-)$ (outlier iff $< 0$)")
ax.legend(fontsize=7)
print(save_figure(fig, out / "pr_critical_ratio", rep.to_dict()))
