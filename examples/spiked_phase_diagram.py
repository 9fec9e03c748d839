"""Phase diagram of the spiked matrix-tensor model (p = 3): the AMP, ML-AMP, gradient-flow
(BBP on threshold states) and trivialisation lines against Delta_p [S4.4], [S5].

    python examples/spiked_phase_diagram.py [output-folder]      # a few seconds
"""

import sys
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from saddlesurf.comparison.figures import save_figure
from saddlesurf.theory import thresholds
from saddlesurf.theory.figures import plot_phase_diagram

out = Path(sys.argv[1] if len(sys.argv) > 1 else "examples-output")
delta_p = np.geomspace(0.1, 10.0, 30)
lines = thresholds(3, delta_p)
fig = Figure(figsize=(5, 4), layout="constrained")
ax = plot_phase_diagram(lines, ax=fig.gca())
ax.set_xscale("log")
print(save_figure(fig, out / "spiked_phase_diagram", {"delta_p": delta_p,
                                                       "lines": lines.table()}))
