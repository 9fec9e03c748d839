"""The main job: ``python -m saddlesurf phase-diagram`` and ``dmft`` write their files."""

import csv
import subprocess
import sys

import numpy as np


def _png_size(path):
    with open(path, "rb") as fh:
        head = fh.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def test_phase_diagram_command(tmp_path):
    out = tmp_path / "pd"
    subprocess.run([sys.executable, "-m", "saddlesurf", "phase-diagram", "--points", "12",
                    "--out", str(out), "--quiet"], check=True)
    with open(out.with_suffix(".csv")) as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 24 and {r["p"] for r in rows} == {"3", "4"}
    for r in rows:
        dp = float(r["delta_p"])
        assert float(r["gf"]) == np.float64(0.5 * (1 + np.sqrt(1 + 4 * (int(r["p"]) - 1) / dp)))
        assert float(r["ml_amp"]) < float(r["gf"]) < float(r["triv"])
    w, h = _png_size(out.with_suffix(".png"))
    assert w > 1000 and h > 500
    assert out.with_suffix(".pdf").stat().st_size > 5000


def test_dmft_command_and_bad_input(tmp_path):
    out = tmp_path / "run"
    subprocess.run([sys.executable, "-m", "saddlesurf", "dmft", "--t-max", "5", "--dt", "0.1",
                    "--m0", "0.1", "--out", str(out), "--quiet"], check=True)
    from saddlesurf.theory import DMFTResult

    res = DMFTResult.load(out)
    assert res.times[-1] == 5.0 and res.status == "success"
    assert _png_size(out.with_suffix(".png"))[0] > 1000
    bad = subprocess.run([sys.executable, "-m", "saddlesurf", "dmft", "--delta2", "-1",
                          "--out", str(out)], capture_output=True, text=True)
    assert bad.returncode == 2 and "delta2" in bad.stderr


def test_simulate_command_for_both_models(tmp_path):
    from saddlesurf.simulation import SimulationResult

    for model, extra in (("pr", ["--alpha", "5", "--hessian"]),
                         ("spiked", ["--start", "warm", "--m0", "0.3", "--t-max", "3"])):
        out = tmp_path / model
        subprocess.run([sys.executable, "-m", "saddlesurf", "simulate", model, "--n", "40",
                        "--samples", "3", "--out", str(out), "--quiet", *extra], check=True)
        res = SimulationResult.load(out)
        assert res.n == 40 and res.n_samples == 3
        w, h = _png_size(out.with_suffix(".png"))
        assert w > 1000 and h > 300
    assert np.allclose(res.m[:, 0], 0.3)
    bad = subprocess.run([sys.executable, "-m", "saddlesurf", "simulate", "pr", "--alpha", "-1"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "alpha" in bad.stderr


def test_phase_retrieval_command(tmp_path):
    import json

    out = tmp_path / "pr"
    subprocess.run([sys.executable, "-m", "saddlesurf", "phase-retrieval", "--alphas", "2", "4",
                    "6", "--n", "100", "--samples", "3", "--t-max", "40", "--out", str(out),
                    "--quiet"], check=True)
    table = json.loads(out.with_suffix(".json").read_text())
    assert table["amp_weak"] == np.float64(table["amp_weak"]) and abs(table["amp"] - 1.13) < 0.01
    assert abs(table["bbp_init"]["RegularisedLoss(a=0.01)"] - 2.8507519913) < 1e-8
    sim = table["alpha_c"]["simulation"]
    assert 2 < sim["alpha_c"] < 6 and sim["route"] == "simulation" and sim["error"] > 0
    w, h = _png_size(out.with_suffix(".png"))
    assert w > 1000 and h > 400
    bad = subprocess.run([sys.executable, "-m", "saddlesurf", "phase-retrieval", "--a", "-1",
                          "--out", str(out), "--quiet"], capture_output=True, text=True)
    assert bad.returncode == 2 and "a must be a positive" in bad.stderr


def test_outputs_are_not_replaced_without_force(tmp_path):
    from saddlesurf import __version__
    from saddlesurf.cli import main

    out = tmp_path / "pd"
    args = ["phase-diagram", "--points", "3", "--p", "3", "--out", str(out), "--quiet"]
    assert main(args) == 0
    before = out.with_suffix(".csv").stat().st_mtime_ns
    assert main(args) == 2  # refused: pd.csv is there
    assert out.with_suffix(".csv").stat().st_mtime_ns == before
    assert main([*args, "--force"]) == 0
    assert out.with_suffix(".csv").stat().st_mtime_ns > before
    dotted = [a if a != str(out) else str(tmp_path / "d_0.4") for a in args]
    assert main(dotted) == 0
    # another run's dotted name does not count as an earlier output of d_0
    assert main([a if a != str(out) else str(tmp_path / "d_0") for a in args]) == 0
    version = subprocess.run([sys.executable, "-m", "saddlesurf", "--version"],
                             capture_output=True, text=True, check=True)
    assert version.stdout.strip() == f"saddlesurf {__version__}"


def test_dmft_scheme_choices_are_the_solvers():
    from saddlesurf import cli
    from saddlesurf.theory.spherical import dmft

    assert tuple(cli.DMFT_SCHEMES) == dmft._SCHEMES


def test_critical_method_choices_are_the_reports():
    from saddlesurf import cli
    from saddlesurf.comparison import METHODS

    assert tuple(cli.CRITICAL_METHODS) == METHODS
