"""Parameter-grid runner: local processes or a Dask cluster, one stored file pair per point."""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from .. import _io, _tables
from .._progress import progress_bar
from .._seeding import root_seed

__all__ = ["SweepResult", "sweep"]


@dataclass
class SweepResult:
    """Outputs of a function over a parameter grid.

    Attributes
    ----------
    points : list of dict
        The parameters of each point, in grid order.
    values : list of dict
        What the function returned at each point (scalars, strings, arrays).
    seeds : list of dict
        {"entropy", "spawn_key"}: point i ran with ``SeedSequence(entropy, spawn_key)``. The
        spawn key is a hash of the point's parameters, so a point's stream does not depend on
        the grid's order or extent.
    function : str
        module:qualname of the function.
    store : str or None
        Directory of the stored points.
    stats : dict
        computed, loaded, wall_time_s, backend ("serial", "processes" or "dask").
    """

    points: list
    values: list
    seeds: list
    function: str
    store: str | None = None
    stats: dict = field(default_factory=dict)

    def column(self, name: str) -> np.ndarray:
        """One parameter or output across points (object array if ragged)."""
        rows = [p[name] if name in p else v.get(name) for p, v in
                zip(self.points, self.values, strict=True)]
        try:
            return np.asarray(rows, dtype=float)
        except (TypeError, ValueError):
            return np.asarray(rows, dtype=object)

    def table(self) -> dict[str, np.ndarray]:
        """Columns of the parameters and of the scalar outputs."""
        keys = list(self.points[0]) if self.points else []
        scalars = [k for k, v in (self.values[0].items() if self.values else ())
                   if np.ndim(v) == 0 and not isinstance(v, str)]
        return {k: self.column(k) for k in (*keys, *scalars)}

    def to_dataframe(self):
        """:meth:`table` as a ``pandas.DataFrame``, one row per point."""
        return _tables.pandas().DataFrame(self.table())

    def __len__(self) -> int:
        return len(self.points)

    def __repr__(self) -> str:
        s = self.stats
        return (f"SweepResult({self.function}, {len(self.points)} points: "
                f"{s.get('computed', 0)} computed, {s.get('loaded', 0)} loaded from "
                f"{self.store!r}, backend {s.get('backend')!r}, {s.get('wall_time_s', 0):.3g} s)")


def _grid(grid) -> list[dict]:
    if isinstance(grid, Mapping):
        if not grid:
            raise ValueError("grid must name at least one parameter, e.g. {'n': [50, 100]}")
        names = list(grid)
        axes = [list(np.atleast_1d(grid[k]).tolist()) for k in names]
        return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*axes)]
    if isinstance(grid, Sequence) and all(isinstance(p, Mapping) for p in grid):
        return [dict(p) for p in grid]
    raise TypeError("grid must be a mapping name -> values (cartesian product) or a sequence "
                    "of mappings (one per point)")


def _plain(value):
    """JSON form of a parameter (numpy scalars become Python numbers)."""
    return json.loads(json.dumps(value, default=lambda v: v.item() if hasattr(v, "item")
                                 else str(v)))


def _key(function: str, params: dict, entropy) -> str:
    text = json.dumps({"f": function, "p": params, "e": str(entropy)}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _spawn_key(params: dict) -> tuple[int, int]:
    digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).digest()
    return int.from_bytes(digest[:4], "little"), int.from_bytes(digest[4:8], "little")


def _call(function: Callable, params: dict, seed: np.random.SeedSequence) -> dict:
    out = function(**params, rng=seed)
    if not isinstance(out, Mapping):
        raise TypeError(f"a sweep function must return a dict, {function!r} returned "
                        f"{type(out).__name__}")
    return dict(out)


def _save(path: Path, params: dict, seed: dict, function: str, value: dict) -> None:
    arrays = {k: v for k, v in value.items() if isinstance(v, np.ndarray)}
    rest = {k: v for k, v in value.items() if k not in arrays}
    meta = {"kind": "SweepPoint", "function": function, "params": params, "seed": seed,
            "value": _plain(rest), "versions": _io.versions()}
    _io.save_pair(path, arrays, meta)


def _load(path: Path, params: dict, function: str) -> dict | None:
    if not _io.saved(path):
        return None
    arrays, meta = _io.load_pair(path, same_version=True)
    if meta.get("kind") != "SweepPoint" or meta["params"] != params or \
            meta["function"] != function:
        raise ValueError(f"{path}.json holds a different sweep point; use another store")
    return {**meta["value"], **arrays}


def _client(client):
    if client is None or hasattr(client, "submit"):
        return client
    try:
        from distributed import Client
    except ImportError:
        raise ImportError("a Dask scheduler address needs dask.distributed: "
                          "pip install 'saddlesurf[distributed]'") from None
    return Client(client)


def sweep(function: Callable[..., dict], grid, *, rng=0, store: str | os.PathLike | None = None,
          client=None, workers: int | None = 1, progress: bool = False) -> SweepResult:
    """Evaluate ``function(**params, rng=seed)`` at every point of a parameter grid.

    Parameters
    ----------
    function : callable
        A module-level function (it is pickled to worker processes) taking the grid's names as
        keyword arguments plus ``rng`` (a ``numpy.random.SeedSequence``), returning a dict of
        numbers, strings, lists and numpy arrays, e.g.
        :func:`saddlesurf.comparison.success_point`.
    grid : mapping or sequence of mappings
        ``{"n": [50, 100], "x": [1.8, 2.0]}`` (cartesian product, in that order) or an
        explicit list of parameter dicts.
    rng : int or SeedSequence
        Root seed. Point i runs with ``SeedSequence(entropy, spawn_key=hash(params_i))``, so
        its numbers depend only on the root and its own parameters (not on the backend, the
        order or the other points).
    store : path, optional
        Directory where each completed point is written atomically (``<key>.npz/.json``).
        Called again, the sweep loads the stored points and computes only the missing ones:
        an interrupted sweep loses no completed point.
    client : dask.distributed.Client or str, optional
        Run the points on this Dask cluster (a client or a scheduler address; needs
        ``pip install 'saddlesurf[distributed]'``). Results are stored from this process.
    workers : int or None
        Local processes when no client is given: 1 (default) runs in this process, None uses
        every core. Functions that are themselves parallel (``simulate``) are best run with 1.
    progress : bool
        Progress bar over points (needs tqdm).

    Returns
    -------
    SweepResult
    """
    if isinstance(rng, np.random.Generator):
        raise TypeError("sweep needs an int or SeedSequence rng so that points are "
                        "reproducible across restarts and backends")
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers must be a positive integer or None (all cores), got "
                         f"{workers!r}")
    if not callable(function) or not getattr(function, "__module__", None):
        raise TypeError(f"function must be a function of the grid's names and rng, got "
                        f"{function!r}")
    if (client is not None or workers != 1) and "<" in getattr(function, "__qualname__", "<"):
        raise TypeError(f"function must be a module-level function to run on workers (it is "
                        f"pickled; a lambda or a local function is not), got {function!r}; "
                        f"define it at module level or use workers=1")
    points = [_plain(p) for p in _grid(grid)]
    if not points:
        raise ValueError("the grid has no points: give every parameter at least one value")
    name = f"{function.__module__}:{function.__qualname__}"
    root = root_seed(rng)
    seeds = [{"entropy": str(root.entropy), "spawn_key": [*root.spawn_key, *_spawn_key(p)]}
             for p in points]
    sequences = [np.random.SeedSequence(root.entropy, spawn_key=tuple(s["spawn_key"]),
                                        pool_size=root.pool_size) for s in seeds]
    if store is not None:
        _io.check_writable(store, "store", directory=True)
    with contextlib.ExitStack() as guard:  # one writer per store directory
        if store is not None:
            guard.enter_context(_io.locked(store, "store"))
        paths = [None] * len(points)
        values: list[dict | None] = [None] * len(points)
        if store is not None:
            paths = [Path(store) / _key(name, p, root.entropy) for p in points]
            values = [_load(path, p, name) for path, p in zip(paths, points, strict=True)]
        todo = [i for i, v in enumerate(values) if v is None]
        loaded = len(points) - len(todo)
        client = _client(client)
        backend = "dask" if client is not None else ("serial" if workers == 1 else "processes")
        start = time.perf_counter()

        def finish(i, value):
            values[i] = value
            if paths[i] is not None:
                _save(paths[i], points[i], seeds[i], name, value)
            bar.update(1)

        with progress_bar(len(points), "sweep", progress, unit="point") as bar:
            bar.update(loaded)
            if backend == "serial":
                for i in todo:
                    finish(i, _call(function, points[i], sequences[i]))
            elif backend == "processes":
                n_proc = min(workers or os.cpu_count() or 1, max(len(todo), 1))
                with ProcessPoolExecutor(n_proc, mp_context=get_context("spawn")) as pool:
                    futures = {pool.submit(_call, function, points[i], sequences[i]): i
                               for i in todo}
                    for fut in as_completed(futures):
                        finish(futures[fut], fut.result())
            else:
                from distributed import as_completed as dask_completed

                futures = {client.submit(_call, function, points[i], sequences[i], pure=False): i
                           for i in todo}
                for fut in dask_completed(list(futures)):
                    finish(futures[fut], fut.result())
        stats = {"computed": len(todo), "loaded": loaded, "backend": backend,
                 "wall_time_s": time.perf_counter() - start,
                 "workers": (workers or os.cpu_count()) if backend == "processes" else
                 (1 if backend == "serial" else math.nan)}
        return SweepResult(points, values, seeds, name,
                           None if store is None else str(store), stats)
