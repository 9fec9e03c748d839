"""Every script in examples/ runs as written, in an empty folder, and writes its figure.
The ones that take more than ~10 s are in the slow tier."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted((ROOT / "examples").glob("*.py"))
SLOW = {"pr_critical_ratio.py"}


def test_there_is_one_example_per_figure_kind():
    assert {p.stem for p in SCRIPTS} >= {"spiked_phase_diagram", "spiked_overlay",
                                         "pr_hessian_spectrum", "pr_critical_ratio"}


@pytest.mark.parametrize("script", [pytest.param(p, marks=pytest.mark.slow) if p.name in SLOW
                                    else p for p in SCRIPTS], ids=lambda p: p.stem)
def test_example_runs(script, tmp_path):
    proc = subprocess.run([sys.executable, str(script), str(tmp_path / "out")], cwd=tmp_path,
                          capture_output=True, text=True, env={**os.environ, "MPLBACKEND": "Agg"},
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / "out" / f"{script.stem}.png").stat().st_size > 10_000
