"""Test tiers.

- ``@pytest.mark.slow`` (minutes each) runs on CI (``CI=true``, as .ci/run sees it) or with
  ``SADDLESURF_SLOW=1``; elsewhere it is skipped so that the default run stays short.
- ``@pytest.mark.long`` (the critical-ratio acceptance runs, tens of minutes) runs only with
  ``SADDLESURF_LONG=1``.
"""

import os

import pytest


def pytest_collection_modifyitems(config, items):
    ci = os.environ.get("CI", "").lower() == "true"
    run = {"slow": ci or os.environ.get("SADDLESURF_SLOW") == "1",
           "long": os.environ.get("SADDLESURF_LONG") == "1"}
    for item in items:
        for tier, enabled in run.items():
            if tier in item.keywords and not enabled:
                item.add_marker(pytest.mark.skip(
                    reason=f"{tier}: set SADDLESURF_{tier.upper()}=1"
                           + (" (or CI=true)" if tier == "slow" else "")))
