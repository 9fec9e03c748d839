"""Atomic, lossless storage of result objects.

A save is one file, ``<stem>.npz``, holding the arrays and the JSON metadata; it is written to a
temporary name and renamed into place, so a kill leaves the old or the new result whole. A
readable copy of the metadata goes to ``<stem>.json`` afterwards and is never read back. The
user's name is kept whole: ``run_delta2_0.4`` saves ``run_delta2_0.4.npz`` (extensions are
appended, never substituted for a dotted part of the name).

Every save carries a SHA-256 checksum of its arrays and metadata and the package version that
wrote it: a modified or damaged file is refused with its name, and checkpoints and stores refuse
files of another version (``same_version=True``). Files written by earlier versions (an ``.npz`` +
``.json`` pair sharing a random token, no checksum) still load.

:func:`locked` keeps a second process out of a checkpoint or store while one writes it, and
:func:`check_writable` finds an unwritable output before any computing.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import io
import json
import math
import os
import platform
import tempfile
import zipfile
from pathlib import Path

import numpy as np

__all__ = ["save_pair", "load_pair", "atomic_text", "versions", "stem_of", "with_ext", "saved",
           "available_memory", "locked", "check_writable", "json_text", "cached"]

_TOKEN = "__token__"  # files of earlier versions: the token shared by the .npz and the .json
_META = "__meta__"    # the JSON metadata inside the .npz
_SUM = "__checksum__"  # SHA-256 of the arrays and the metadata
_VERSION = "__version__"  # the saddlesurf version that wrote the file


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


def _strict(v, path: str, nonfinite: dict):
    if isinstance(v, dict):
        return {str(k): _strict(x, f"{path}/{k}", nonfinite) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_strict(x, f"{path}/{i}", nonfinite) for i, x in enumerate(v)]
    if isinstance(v, np.ndarray):
        return _strict(v.tolist(), path, nonfinite)
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        nonfinite[path or "/"] = repr(v)
        return None
    return v


def json_text(obj, indent: int = 1) -> str:
    """Strict JSON (no NaN or Infinity, which are not JSON) for files people read: numpy values
    become plain numbers, and each non-finite number becomes null, listed with its value under
    ``"_nonfinite"`` by its JSON pointer (for a dict at the top)."""
    nonfinite: dict[str, str] = {}
    plain = _strict(obj, "", nonfinite)
    if nonfinite and isinstance(plain, dict):
        plain["_nonfinite"] = nonfinite
    return json.dumps(plain, indent=indent, sort_keys=isinstance(plain, dict),
                      allow_nan=False, default=float)


def save_pair(path: str | os.PathLike, arrays: dict[str, np.ndarray], meta: dict) -> Path:
    """Write ``arrays`` and ``meta`` to ``<stem>.npz`` in one atomic rename, then a readable
    copy of ``meta`` to ``<stem>.json``. Returns the stem."""
    stem = stem_of(path)
    text = json.dumps(meta, indent=2, sort_keys=True, allow_nan=True)
    arrays = {k: np.asarray(v) for k, v in arrays.items()}
    arrays[_META] = np.array(text)
    arrays[_VERSION] = np.array(_package_version())
    arrays[_SUM] = np.array(_checksum(arrays))
    _atomic_write(with_ext(stem, ".npz"), lambda fh: np.savez(fh, **arrays))
    readable = json_text(meta, indent=2)
    _atomic_write(with_ext(stem, ".json"), lambda fh: fh.write(readable.encode()))
    return stem


def _package_version() -> str:
    from . import __version__

    return __version__


def _checksum(arrays: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    for name in sorted(k for k in arrays if k != _SUM):
        a = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        digest.update(a.tobytes() if a.dtype.kind != "U" else str(a).encode())
    return digest.hexdigest()


def load_pair(path: str | os.PathLike, *, same_version: bool = False
              ) -> tuple[dict[str, np.ndarray], dict]:
    """Read what :func:`save_pair` wrote; every failure names the file. A file whose checksum
    does not match is refused; ``same_version`` also refuses one written by another version of
    the package (checkpoints and stores, whose numbers must not mix versions)."""
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
    if _SUM in arrays:
        if str(arrays[_SUM]) != _checksum(arrays):
            raise ValueError(f"{npz} fails its checksum: it was modified or damaged after it "
                             "was saved; delete it (a checkpoint or store point is then "
                             "computed again)")
        arrays.pop(_SUM)
    written_by = str(arrays.pop(_VERSION, "an earlier version"))
    if same_version and written_by != _package_version():
        raise ValueError(f"{npz} was written by saddlesurf {written_by}, this is "
                         f"{_package_version()}: its numbers may differ, so it is not resumed; "
                         "pass another path or delete it")
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


def cached(store, prefix: str, ident: dict, compute) -> tuple[dict[str, np.ndarray], dict]:
    """The arrays and metadata that ``compute()`` returns for ``ident``, read from ``store``
    when a file of this version with the same ``ident`` is there, else computed and saved
    (``store`` None: computed, nothing saved). The file is ``<prefix>_<hash of ident>``."""
    path = None
    if store is not None:
        key = hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:16]
        path = Path(store) / f"{prefix}_{key}"
        if saved(path):
            arrays, meta = load_pair(path, same_version=True)
            if meta.get("ident") == ident:
                return arrays, meta
    arrays, meta = compute()
    meta = {**meta, "ident": ident, "versions": versions()}
    if path is not None:
        save_pair(path, arrays, meta)
    return arrays, meta


@contextlib.contextmanager
def locked(path: str | os.PathLike, what: str):
    """Hold an exclusive lock on ``<path>.lock`` (a checkpoint stem or a store directory's
    ``.lock`` inside it) while the block runs; a second holder is refused at once with a
    RuntimeError that names ``what`` (the parameter). POSIX only: elsewhere nothing is locked."""
    path = Path(path)
    lock = path / ".lock" if path.is_dir() else with_ext(path, ".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    with open(lock, "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RuntimeError(f"{what}={str(path)!r} is in use by another process (lock "
                               f"{lock}); wait for it to finish or pass another path") from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def check_writable(path: str | os.PathLike, what: str, *, directory: bool = False) -> None:
    """Raise ValueError naming ``what`` unless files can be created at ``path`` (a directory
    when ``directory``, else a file stem whose parent is the directory); creates the directory."""
    folder = Path(path) if directory else Path(path).parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as err:
        raise ValueError(f"{what}={str(path)!r} is not writable ({err.strerror or err}): pass a "
                         "path in a writable directory") from None


def versions() -> dict[str, str]:
    """Versions of saddlesurf, Python and the numerical dependencies, for result records."""
    import numba
    import scipy

    return {"saddlesurf": _package_version(), "python": platform.python_version(),
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
