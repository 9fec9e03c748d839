"""Every README snippet runs as written: the Python blocks in a fresh namespace, the command
lines (except the installs) as subprocesses, each in an empty working directory. The ones that
take minutes are in the slow tier."""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
BLOCKS = re.findall(r"```(python|bash)\n(.*?)```", README, re.S)
PYTHON = [code for lang, code in BLOCKS if lang == "python"]
COMMANDS = [line.strip() for lang, code in BLOCKS if lang == "bash"
            for line in code.splitlines() if line.strip().startswith("python3 -m saddlesurf")]
SLOW = not (os.environ.get("SADDLESURF_SLOW") or os.environ.get("CI"))
# a snippet whose comment says it takes minutes ("~5 min") runs in the slow tier
MINUTES = re.compile(r"~\s*\d+\s*min")


def test_readme_has_snippets():
    assert len(PYTHON) >= 4 and len(COMMANDS) >= 6


@pytest.mark.parametrize("code", PYTHON, ids=[f"python{i}" for i in range(len(PYTHON))])
def test_python_snippet_runs(code, tmp_path, monkeypatch):
    if SLOW and MINUTES.search(code):
        pytest.skip("minutes: SADDLESURF_SLOW=1")
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {"__name__": "__readme__"})


@pytest.mark.parametrize("command", COMMANDS, ids=[c.split()[3] + str(i)
                                                   for i, c in enumerate(COMMANDS)])
def test_command_snippet_runs(command, tmp_path):
    if SLOW and MINUTES.search(command):
        pytest.skip("minutes: SADDLESURF_SLOW=1")
    args = shlex.split(command.split("#")[0])
    assert args[:3] == ["python3", "-m", "saddlesurf"]
    proc = subprocess.run([sys.executable, "-m", "saddlesurf", *args[3:]], cwd=tmp_path,
                          capture_output=True, text=True, env={**os.environ, "MPLBACKEND": "Agg"})
    assert proc.returncode == 0, proc.stderr[-2000:]
