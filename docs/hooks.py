"""MkDocs hook: let mkdocstrings find the package ``saddlesurf``, whose source is the
repository root itself (pyproject maps ``saddlesurf`` to ``.``), by pointing it at a temporary
directory holding a ``saddlesurf`` link to the root."""

import shutil
import tempfile
from pathlib import Path

from mkdocs.plugins import event_priority

_TMP = []


@event_priority(100)  # before mkdocstrings reads its handler options
def on_config(config):
    root = Path(config.config_file_path).resolve().parent
    tmp = Path(tempfile.mkdtemp(prefix="saddlesurf-docs-"))
    (tmp / "saddlesurf").symlink_to(root, target_is_directory=True)
    _TMP.append(tmp)
    python = config.plugins["mkdocstrings"].config.handlers.setdefault("python", {})
    python["paths"] = [str(tmp), *python.get("paths", [])]
    return config


def on_shutdown():
    for tmp in _TMP:
        shutil.rmtree(tmp, ignore_errors=True)
