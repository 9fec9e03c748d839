"""Large-N theory against finite-N gradient flow, spiked model in the easy phase (p = 3,
Delta2 = 0.4, Delta_p = 1, warm start m0 = 0.3): m(t), e(t) and mu(t) of the DMFT [S3.1] with
the simulated mean and its standard error, and the residuals in SEM units.

    python examples/spiked_overlay.py [output-folder]            # about 20 s
"""

import sys
from pathlib import Path

from matplotlib.figure import Figure

from saddlesurf.comparison import overlay
from saddlesurf.comparison.figures import plot_overlay, plot_residuals, save_figure
from saddlesurf.simulation import SimulationOptions, simulate
from saddlesurf.theory import SpikedMatrixTensor, solve_dmft

out = Path(sys.argv[1] if len(sys.argv) > 1 else "examples-output")
model = SpikedMatrixTensor(p=3, delta2=0.4, delta_p=1.0)
theory = solve_dmft(model, 10.0, m0=0.3)
sim = simulate(model, 60, t_max=10.0, n_samples=8, start="warm", m0=0.3, rng=1,
               options=SimulationOptions(n_times=20, t_min=0.05))
fig = Figure(figsize=(12, 3), layout="constrained")
axes = fig.subplots(1, 4)
ovs = [overlay(theory, sim, name) for name in ("m", "e", "mu")]
for ax, ov in zip(axes, ovs, strict=False):
    plot_overlay(ov, ax=ax)
    print(ov.summary())
plot_residuals(ovs, ax=axes[3])
print(save_figure(fig, out / "spiked_overlay"))
