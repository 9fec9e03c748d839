"""Atomic, lossless storage of result objects.

A save is one file, ``<stem>.npz``, holding the arrays and the JSON metadata; it is written to a
temporary name and renamed into place, so a kill leaves the old or the new result whole. A
readable copy of the metadata goes to ``<stem>.json`` afterwards and is never read back. The
user's name is kept whole: ``run_delta2_0.4`` saves ``run_delta2_0.4.npz`` (extensions are
appended, never substituted for a dotted part of the name).

Files written by earlier versions (an ``.npz`` + ``.json`` pair sharing a random token) still
load.
"""

from __future__ import annotations

import glob
import io
import json
import os
import platform
import tempfile
import zipfile
from pathlib import Path

import numpy as np

__all__ = ["save_pair", "load_pair", "atomic_text", "versions", "stem_of", "with_ext", "saved",
           "available_memory"]

_TOKEN = "__token__"  # files of earlier versions: the token shared by the .npz and the .json
_META = "__meta__"    # the JSON metadata inside the .npz


def stem_of(path: str | os.PathLike) -> Path:
    """``run.npz``, ``run.json`` and ``run`` all name the result ``run``; any other dot is part
    of the name (``run_delta2_0.4``)."""
    p = Path(path)
    return p.with_name(p.stem) if p.suffix in (".npz", ".json") else p


def with_ext(stem: str | os.PathLike, ext: str) -> Path:
    """``stem`` + ``ext``, keeping a dotted name whole (``Path.with_suffix`` would replace
    ``.4`` in ``run_delta2_0.4``)."""
    stem = Path(stem)
    return stem.with_name(stem.name + ext)


def saved(path: str | os.PathLike) -> bool:
    """Whether a result is stored under this name."""
    return with_ext(stem_of(path), ".npz").exists()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_MODE = 0o666 & ~_umask()  # what open() would give; mkstemp makes 0600 files


def _atomic_write(target: Path, write) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    # temporaries of this target left by a killed writer
    for stale in target.parent.glob(f".{glob.escape(target.name)}.*.tmp"):
        stale.unlink(missing_ok=True)
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
    """Write ``arrays`` and ``meta`` to ``<stem>.npz`` in one atomic rename, then a readable
    copy of ``meta`` to ``<stem>.json``. Returns the stem."""
    stem = stem_of(path)
    text = json.dumps(meta, indent=2, sort_keys=True, allow_nan=True)
    arrays = {k: np.asarray(v) for k, v in arrays.items()}
    arrays[_META] = np.array(text)
    _atomic_write(with_ext(stem, ".npz"), lambda fh: np.savez(fh, **arrays))
    _atomic_write(with_ext(stem, ".json"), lambda fh: fh.write(text.encode()))
    return stem


def load_pair(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict]:
    """Read what :func:`save_pair` wrote; every failure names the file."""
    stem = stem_of(path)
    npz = with_ext(stem, ".npz")
    if not npz.exists():
        raise FileNotFoundError(f"no saved result at {npz}")
    try:
        with np.load(npz, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise ValueError(f"{npz} cannot be read ({type(err).__name__}: {err}): the file is "
                         "damaged or not a saddlesurf result") from err
    if _META in arrays:
        text, source = str(arrays.pop(_META)), npz
    else:  # an earlier version's pair
        source = with_ext(stem, ".json")
        try:
            text = source.read_text()
        except OSError as err:
            raise ValueError(f"{source} cannot be read ({err}); it holds the metadata of "
                             f"{npz}") from err
    try:
        meta = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"the metadata in {source} is not valid JSON ({err})") from err
    if _TOKEN in arrays or _TOKEN in meta:
        if str(arrays.pop(_TOKEN, "")) != meta.pop(_TOKEN, None):
            raise ValueError(
                f"{npz} and {source} are from different saves (interrupted write?); "
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
