"""`python -m saddlesurf figures` (quick) builds every gallery figure; the docs build cleanly."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from saddlesurf.cli import main
from saddlesurf.comparison.gallery import GALLERY

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def gallery(tmp_path_factory):
    from unittest import mock

    out = tmp_path_factory.mktemp("gallery")
    # library code never switches the backend (it would break notebooks)
    with mock.patch("matplotlib.use", side_effect=AssertionError("backend switched")):
        assert main(["figures", "--out", str(out), "--quiet"]) == 0
    return out


def test_figure_pdf_bytes_are_reproducible(tmp_path):
    from matplotlib.figure import Figure

    from saddlesurf.comparison.figures import save_figure

    blobs = []
    for k in range(2):
        fig = Figure(figsize=(2, 2))
        fig.gca().plot([0, 1], [1, 0])
        save_figure(fig, tmp_path / f"f{k}")
        blobs.append((tmp_path / f"f{k}.pdf").read_bytes())
    assert blobs[0] == blobs[1]
    assert b"CreationDate" not in blobs[0]  # equal bytes are not a same-second accident


@pytest.mark.parametrize("name", list(GALLERY))
def test_gallery_figure(gallery, name):
    import matplotlib.image as mpimg

    png = gallery / f"{name}.png"
    img = mpimg.imread(png)
    width, height = GALLERY[name]
    assert img.shape[:2] == (round(height * 150), round(width * 150))
    assert img[..., :3].std() > 0.05  # not blank
    assert (gallery / f"{name}.pdf").stat().st_size > 5000
    data = json.loads((gallery / f"{name}.json").read_text())
    assert data


def test_gallery_critical_ratio_data(gallery):
    spiked = json.loads((gallery / "spiked_critical_ratio.json").read_text())
    assert spiked["estimates"]["bbp"]["value"] == 2.0
    fs = spiked["estimates"]["finite_size"]
    assert fs["low"] <= fs["value"] <= fs["high"]
    for pred in spiked["predicted"]:  # one predicted curve per simulated size
        assert all(lo <= p <= hi for p, (lo, hi) in zip(pred["probability"], pred["interval"],
                                                      strict=True))
    assert [p["n"] for p in spiked["predicted"]] == spiked["curves"]["sizes"]
    pr = json.loads((gallery / "pr_phase_diagram.json").read_text())
    assert np.isclose(pr["reference"]["bbp_init"], 2.85075, atol=1e-4)
    assert pr["estimates"]["bbp"]["low"] < pr["estimates"]["bbp"]["value"]


def test_docs_build_without_warnings(tmp_path):
    pytest.importorskip("mkdocstrings")
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f",
                           str(ROOT / "mkdocs.yml"), "-d", str(tmp_path / "site")],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "WARNING" not in proc.stderr, proc.stderr[-3000:]
    api = (tmp_path / "site" / "api" / "index.html").read_text()
    for name in ("solve_dmft", "simulate", "locate_critical_ratio", "sweep", "overlay"):
        assert name in api
    assert (tmp_path / "site" / "gallery" / "index.html").exists()


@pytest.mark.parametrize("layer", ["saddlesurf.theory", "saddlesurf.theory.spherical",
                                   "saddlesurf.theory.phase_retrieval", "saddlesurf.simulation",
                                   "saddlesurf.comparison"])
def test_api_reference_covers_every_public_name(layer):
    """Every name in a layer's __all__ has an entry (``::: ...name``) or, for constants, a
    backticked mention in docs/api.md."""
    import importlib
    import re

    api = (ROOT / "docs" / "api.md").read_text()
    entries = {e.rsplit(".", 1)[-1] for e in re.findall(r"^::: (saddlesurf[\w.]+)", api, re.M)}
    missing = [n for n in importlib.import_module(layer).__all__
               if n not in entries and f"`{n}`" not in api]
    assert not missing, f"docs/api.md lacks {missing}"


def test_every_cited_equation_tag_is_defined_in_the_docs():
    """Code comments cite [S3.1], [P4.5b], ...: each tag (its letter suffix dropped) must be
    defined in docs/equations, so a user without the specification can look it up."""
    import re

    tag = re.compile(r"\[([SP]\d(?:\.\d)?)[a-z]?\]")
    cited = set()
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT).parts
        if not any(p.startswith(".") or p in ("site", "site-packages", "build") for p in rel):
            cited |= set(tag.findall(path.read_text(encoding="utf-8")))
    text = "".join(p.read_text(encoding="utf-8") for p in (ROOT / "docs/equations").glob("*.md"))
    # a definition is the tag in a heading or in bold: "## [S4] ..." or "**[S4.2] ..."
    defined = set(re.findall(r"(?:^#+ |\*\*)\[([SP]\d(?:\.\d)?)\]", text, flags=re.M))
    assert len(cited) > 30
    assert not cited - defined, sorted(cited - defined)
