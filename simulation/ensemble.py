"""``simulate``: seeded finite-N ensembles of either model, in parallel, with checkpoints."""

from __future__ import annotations

import contextlib
import json
import math
import os
import time
import warnings
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import replace
from pathlib import Path

import numpy as np

from .. import _io
from .._progress import progress_bar
from .._seeding import root_seed
from .._validate import integer, real
from ..theory.phase_retrieval.model import PhaseRetrieval
from ..theory.spherical.models import SpikedMatrixTensor
from ._common import SampleError
from .options import ADAPTIVE_SCHEMES, GradientFlow, Langevin, SimulationOptions
from .phase_retrieval.sample import pr_sample_bytes, run_pr_sample
from .result import REQUIRED_FIELDS, SAMPLE_FIELDS, SimulationError, SimulationResult
from .spherical.sample import run_spiked_sample, spiked_sample_bytes

__all__ = ["simulate"]


def _validate(model, n, n_samples, t_max, algorithm, start, m0, workers):
    integer(n, "n (the system size N)", low=2)
    integer(n_samples, "n_samples", low=1)
    real(t_max, "t_max", low=0.0, hint="100.0")
    if workers is not None:
        integer(workers, "workers (None: all cores)", low=1)
    if start not in ("random", "warm", "projected"):
        raise ValueError(f"start must be 'random', 'warm' or 'projected', got {start!r}")
    if start == "warm":
        if m0 is None or not isinstance(m0, int | float | np.floating) or not 0 <= m0 < 1:
            raise ValueError(f"m0 must lie in [0, 1) for a warm start "
                             f"(x = m0 x* + sqrt(1-m0^2) z), got {m0!r}")
    elif m0 is not None:
        raise ValueError(f"m0 is only used with start='warm' (start={start!r}, m0={m0!r})")
    if isinstance(model, SpikedMatrixTensor):
        if start == "projected":
            raise ValueError("start='projected' (signal projected out [P3.3]) is a "
                             "phase-retrieval start; use 'random' or 'warm'")
        if not isinstance(algorithm, GradientFlow | Langevin):
            raise TypeError(f"algorithm must be GradientFlow(...) or Langevin(...) for the "
                            f"spiked model, got {algorithm!r}")
        if isinstance(algorithm, GradientFlow) and algorithm.scheme in ADAPTIVE_SCHEMES:
            raise ValueError(f"GradientFlow(scheme={algorithm.scheme!r}) is for phase retrieval; "
                             "the spiked model uses scheme='heun' (default) or 'euler' with a "
                             "fixed dt")
    elif not isinstance(model, PhaseRetrieval):
        raise TypeError(f"model must be SpikedMatrixTensor or PhaseRetrieval, got "
                        f"{type(model).__name__}")


def simulate(model, n: int, *, t_max: float, n_samples: int = 1, algorithm=None,
             start: str = "random", m0: float | None = None,
             options: SimulationOptions | None = None, rng=None, workers: int | None = None,
             checkpoint: str | os.PathLike | None = None,
             progress: bool = False) -> SimulationResult:
    """Simulate ``n_samples`` independent finite-N runs of a model in parallel.

    Each sample draws its own instance (signal, noise or sensing matrix) and start from its own
    stream ``SeedSequence(entropy, spawn_key=(i,))``, so results are bit-identical for any
    number of workers and after a resume.

    Parameters
    ----------
    model : SpikedMatrixTensor or PhaseRetrieval
        Spiked model: dense symmetric noise in the all-index convention by default [S1.2];
        p = 3 or 4. Phase retrieval: M = round(alpha N) Gaussian measurements [P1].
    n : int
        System size N >= 2.
    t_max : float
        Final time in theory units (dx/dt = -grad - mu x [S2], [P3.1]).
    n_samples : int
        Number of independent samples.
    algorithm : GradientFlow, GradientDescent, ArmijoGradientDescent, PersistentSGD or Langevin
        Default ``GradientFlow()``: Heun with dt = 0.01 for the spiked model, the adaptive
        accuracy-controlled flow for phase retrieval [P3.2].
    start : {"random", "warm", "projected"}
        Uniform on the sphere; warm at overlap ``m0`` [S2], [P3.3]; or (phase retrieval) with
        the signal projected out of x and of every gradient [P3.3].
    m0 : float, optional
        Initial overlap for ``start="warm"``, in [0, 1).
    options : SimulationOptions, optional
        Recording grid, Hessian times, conventions and stopping rules.
    rng : int, SeedSequence, Generator or None
        Root of the per-sample streams (recorded in the result). Use an int or SeedSequence to
        be able to resume from a checkpoint.
    workers : int, optional
        Threads running samples concurrently (default: all cores).
    checkpoint : path, optional
        Directory where each completed sample is stored (atomically). Called again with the
        same arguments, the run loads them instead of recomputing; a larger ``n_samples``
        extends the ensemble (sample i depends only on the root seed and i).
    progress : bool
        Show a progress bar over samples (needs tqdm).

    Returns
    -------
    SimulationResult

    Raises
    ------
    SimulationError
        A sample failed (non-finite state, step underflow); it names the sample and the last
        good time and carries the completed samples in ``.result``.
    """
    algorithm = algorithm if algorithm is not None else GradientFlow()
    options = options if options is not None else SimulationOptions()
    _validate(model, n, n_samples, t_max, algorithm, start, m0, workers)
    n, n_samples, t_max = int(n), int(n_samples), float(t_max)
    spiked = isinstance(model, SpikedMatrixTensor)
    algorithm = resolved(algorithm, spiked)
    if spiked and model.p not in (3, 4) and math.isfinite(model.delta_p):
        raise ValueError(f"the simulator stores dense tensors for p = 3 and 4, got p = {model.p}")
    root = root_seed(rng)
    entropy = root.entropy
    seeds = [np.random.SeedSequence(entropy, spawn_key=(*root.spawn_key, i),
                                     pool_size=root.pool_size) for i in range(n_samples)]
    workers = min(workers or os.cpu_count() or 1, n_samples)
    per_sample = (spiked_sample_bytes(model, n) if spiked
                  else pr_sample_bytes(model, n, options.dtype))
    available = _io.available_memory()
    if available is not None and per_sample * workers > 0.8 * available:
        raise MemoryError(
            f"N = {n} needs {per_sample:,} bytes per sample x {workers} workers = "
            f"{per_sample * workers:,} bytes, more than 80% of the {available:,} bytes available; "
            "lower n or workers"
            + ("" if spiked else ", or use SimulationOptions(dtype='float32')"))
    ident = {"model": model.to_dict(), "n": n, "algorithm": algorithm.to_dict(),
             "options": options.to_dict(), "start": start, "m0": m0, "t_max": t_max,
             "entropy": str(entropy), "spawn_key": list(root.spawn_key)}
    ident = _plain(ident)
    samples: list[dict | None] = [None] * n_samples
    if checkpoint is not None:
        _io.check_writable(checkpoint, "checkpoint", directory=True)
    with contextlib.ExitStack() as guard:  # one writer per checkpoint directory
        if checkpoint is not None:
            guard.enter_context(_io.locked(checkpoint, "checkpoint"))
        resumed = _resume(checkpoint, ident, samples) if checkpoint is not None else 0
        run = run_spiked_sample if spiked else run_pr_sample

        def one(i: int) -> dict:
            rng_i = np.random.default_rng(seeds[i])
            try:
                return run(model, n, algorithm, start, m0, t_max, options, rng_i)
            except SampleError as exc:
                raise SimulationError(f"sample {i}: {exc} (last good time t = {exc.time:g})", i,
                                      exc.time) from exc

        t0 = time.perf_counter()
        todo = [i for i in range(n_samples) if samples[i] is None]
        failures = {}
        unsaved = []  # a failed checkpoint write: the samples stay in memory
        with progress_bar(n_samples, "simulate", progress, unit="sample") as bar, \
                ThreadPoolExecutor(max_workers=workers) as pool:
            bar.update(resumed)
            futures = {pool.submit(one, i): i for i in todo}
            pending = set(futures)
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    i = futures[fut]
                    if fut.exception() is not None:
                        failures[i] = fut.exception()
                        continue
                    samples[i] = fut.result()
                    if checkpoint is not None and not unsaved:
                        target = Path(checkpoint) / f"sample_{i:06d}"
                        try:
                            _io.save_pair(target, samples[i], {"kind": "SimulationSample",
                                                               "ident": ident, "sample": i})
                        except OSError as exc:
                            unsaved.append(f"could not write the checkpoint {target} ({exc}); "
                                           "the run goes on without checkpoints and the "
                                           "result keeps every sample in memory")
                            warnings.warn(unsaved[0], RuntimeWarning, stacklevel=2)
                    bar.update(1)
                if failures:
                    for fut in pending:
                        fut.cancel()
                    pending = {f for f in pending if not f.cancelled()}
        stats = {"wall_time_s": time.perf_counter() - t0, "workers": workers,
                 **({"checkpoint_error": unsaved[0]} if unsaved else {}),
                 "resumed_samples": resumed, "bytes_per_sample": per_sample,
                 "total_steps": float(sum(float(s["n_steps"]) for s in samples if s is not None))}
        result = _assemble(samples, model, n, algorithm, options, start, m0, t_max, root, stats)
        if failures:
            # the lowest failed index: futures finishing together come back in no fixed order
            failure = failures[min(failures)]
            where = f"; completed samples are in {checkpoint}" if checkpoint is not None else ""
            result.status, result.message = "failed", f"{failure}{where}"
            failure.result = result
            raise failure
        result.message = (f"{n_samples} samples of N = {n} to t = {t_max:g} "
                          f"({resumed} loaded from the checkpoint)"
                          + (f"; {unsaved[0]}" if unsaved else ""))
        return result


def resolved(algorithm, spiked: bool):
    """The algorithm with its defaults filled in, so that a result records the scheme and step
    that actually ran: GradientFlow is Heun at dt = 0.01 for the spiked model [S6], "auto"
    from dt = 1e-4 (fixed schemes: dt = 1e-3) for phase retrieval [P3.2]."""
    if not isinstance(algorithm, GradientFlow):
        return algorithm
    scheme = algorithm.scheme or ("heun" if spiked else "auto")
    dt = algorithm.dt or (0.01 if spiked else 1e-4 if scheme in ADAPTIVE_SCHEMES else 1e-3)
    return replace(algorithm, scheme=scheme, dt=dt)


def _resume(checkpoint, ident, samples) -> int:
    """Load the completed samples of a matching run from ``checkpoint``; returns how many."""
    folder = Path(checkpoint)
    folder.mkdir(parents=True, exist_ok=True)
    count = 0
    for meta_path in sorted(folder.glob("sample_*.json")):
        arrays, meta = _io.load_pair(meta_path, same_version=True)
        if meta.get("kind") != "SimulationSample" or meta.get("ident") != ident:
            raise ValueError(f"checkpoint {folder} holds samples of a different run "
                             f"({meta_path.name}); pass another directory or delete it")
        i = int(meta["sample"])
        if i < len(samples):
            samples[i] = arrays
            count += 1
    return count


def _plain(d: dict) -> dict:
    """The JSON form of a dict (tuples become lists), so a loaded result compares equal."""
    return json.loads(json.dumps(d))


def _assemble(samples, model, n, algorithm, options, start, m0, t_max, root,
              stats) -> SimulationResult:
    """Stack the per-sample dicts (completed ones only) into a SimulationResult."""
    done = [s for s in samples if s is not None]
    keys = [i for i, s in enumerate(samples) if s is not None]
    width = len(root.spawn_key) + 1
    fields = {name: np.stack([np.asarray(s[name]) for s in done]) if done else None
              for name in SAMPLE_FIELDS if not done or name in done[0]}
    if not done:  # every sample failed: empty arrays of the right rank
        fields = {name: np.zeros((0, 0) if name in ("m", "e", "mu") else 0)
                  for name in REQUIRED_FIELDS}
    return SimulationResult(
        model=_plain(model.to_dict()), algorithm=_plain(algorithm.to_dict()),
        options=_plain(options.to_dict()), n=n,
        n_samples=len(done), start=start, m0=m0, t_max=t_max,
        times=done[0]["times"] if done else np.zeros(0),
        hessian_times=done[0].get("hessian_times") if done else None,
        seed_entropy=str(root.entropy),
        spawn_keys=np.array([(*root.spawn_key, i) for i in keys], dtype=np.int64).reshape(
            len(keys), width),
        stats=stats, versions=_io.versions(), **fields)
