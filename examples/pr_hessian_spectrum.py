"""Phase retrieval with the regularised loss l_a (a = 0.01): the Hessian spectrum at a random
start, its bulk and BBP outlier [P4.2], [P4.4], and alpha_BBP^init.

    python examples/pr_hessian_spectrum.py [output-folder]       # a few seconds
"""

import sys
from pathlib import Path

from matplotlib.figure import Figure

from saddlesurf.comparison.figures import save_figure
from saddlesurf.theory import RegularisedLoss, glm_spectrum, initial_law, thresholds
from saddlesurf.theory.figures import plot_glm_spectrum

out = Path(sys.argv[1] if len(sys.argv) > 1 else "examples-output")
loss = RegularisedLoss(0.01)
print(thresholds(loss))  # alpha_IT, AMP, spectral and alpha_BBP^init = 2.851
fig = Figure(figsize=(9, 3.5), layout="constrained")
for ax, alpha in zip(fig.subplots(1, 2), (2.0, 4.0), strict=True):
    spectrum = glm_spectrum(initial_law(loss), alpha)
    print(spectrum)
    plot_glm_spectrum(spectrum, ax=ax)
print(save_figure(fig, out / "pr_hessian_spectrum"))
