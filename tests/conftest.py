"""Shared fixtures: where the repo and the (optional) reference data are."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
REFERENCE_CHARTS = REPO_ROOT.parent / "shared" / "reference" / "charts"
SEEDS_DIR = REPO_ROOT.parent / "shared" / "seeds"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def reference_charts() -> Path:
    """../shared/reference/charts: read, never copied. Tests that need it skip where it is absent."""
    if not REFERENCE_CHARTS.is_dir():
        pytest.skip("../shared/reference/charts is not present")
    return REFERENCE_CHARTS
