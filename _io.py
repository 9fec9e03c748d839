"""Atomic, lossless storage of result objects: ``<stem>.npz`` (arrays) + ``<stem>.json`` (metadata).

Both files carry the same random token, so a pair torn by a crash between the two renames is
detected on load instead of being read as one result.
"""

from __future__ import annotations

import io
import json
import os
import platform
import secrets
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["save_pair", "load_pair", "atomic_text", "versions", "stem_of", "available_memory"]

_TOKEN = "__token__"


def stem_of(path: str | os.PathLike) -> Path:
    """``run.npz``, ``run.json`` and ``run`` all name the pair ``run.{npz,json}``."""
    p = Path(path)
    return p.with_suffix("") if p.suffix in (".npz", ".json") else p


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_MODE = 0o666 & ~_umask()  # what open() would give; mkstemp makes 0600 files


def _atomic_write(target: Path, write) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.chmod(tmp, _MODE)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_text(target: str | os.PathLike, write) -> None:
    """Write a text file atomically: ``write(fh)`` fills a UTF-8 text handle (newline="")."""

    def binary(fh):
        text = io.TextIOWrapper(fh, encoding="utf-8", newline="")
        write(text)
        text.flush()
        text.detach()

    _atomic_write(Path(target), binary)


def save_pair(path: str | os.PathLike, arrays: dict[str, np.ndarray], meta: dict) -> Path:
    """Write ``arrays`` to ``<stem>.npz`` and ``meta`` to ``<stem>.json`` atomically.

    Returns the stem. Each file is written to a temporary name and renamed into place, so a
    reader never sees a half-written file.
    """
    stem = stem_of(path)
    token = secrets.token_hex(8)
    arrays = {k: np.asarray(v) for k, v in arrays.items()}
    arrays[_TOKEN] = np.array(token)
    _atomic_write(stem.with_suffix(".npz"), lambda fh: np.savez(fh, **arrays))
    text = json.dumps({**meta, _TOKEN: token}, indent=2, sort_keys=True, allow_nan=True)
    _atomic_write(stem.with_suffix(".json"), lambda fh: fh.write(text.encode()))
    return stem


def load_pair(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict]:
    """Read a pair written by :func:`save_pair`; raise if the two files do not belong together."""
    stem = stem_of(path)
    meta = json.loads(stem.with_suffix(".json").read_text())
    with np.load(stem.with_suffix(".npz"), allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    token = str(arrays.pop(_TOKEN, ""))
    if meta.pop(_TOKEN, None) != token:
        raise ValueError(
            f"{stem}.npz and {stem}.json are from different saves (interrupted write?); "
            "re-run or restore both files together")
    return arrays, meta


def versions() -> dict[str, str]:
    """Versions of saddlesurf, Python and the numerical dependencies, for result records."""
    import numba
    import scipy

    from . import __version__

    return {"saddlesurf": __version__, "python": platform.python_version(),
            "numpy": np.__version__, "scipy": scipy.__version__, "numba": numba.__version__}


def available_memory() -> int | None:
    """MemAvailable of /proc/meminfo in bytes (None where it cannot be read)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None
