"""Seeding shared by every stochastic entry point (private): one root SeedSequence per call."""

from __future__ import annotations

import numpy as np

__all__ = ["root_seed"]


def root_seed(rng) -> np.random.SeedSequence:
    """The root SeedSequence of ``rng`` (int >= 0, SeedSequence, Generator or None).

    A Generator is consumed once to make the root entropy; pass an int or a SeedSequence to be
    able to resume a checkpointed run.
    """
    if rng is None:
        return np.random.SeedSequence()
    if isinstance(rng, np.random.SeedSequence):
        return rng
    if isinstance(rng, np.random.Generator):
        return np.random.SeedSequence([int(v) for v in rng.integers(0, 2**63, size=4)])
    if isinstance(rng, int | np.integer) and not isinstance(rng, bool) and rng >= 0:
        return np.random.SeedSequence(int(rng))
    raise TypeError(f"rng must be a non-negative int, a numpy SeedSequence or Generator, or None; "
                    f"got {rng!r}")
