"""Fixtures for tests that run the real helm binary.

Import them into a conftest or test module (``from tests.helm_fixtures import helm_binary, helm_client``).
A missing helm FAILS these tests instead of skipping them: CI installs helm with ``.ci/install-helm``,
so a missing binary is a broken setup, not an optional extra.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from meshcharts.core.diagnostics import MeshchartsError
from meshcharts.helm import HelmClient, find_helm


@pytest.fixture(scope="session")
def helm_binary() -> Path:
    """The helm binary meshcharts itself would pick (``find_helm``), or a failure saying how to get one."""
    try:
        return find_helm()
    except MeshchartsError as exc:
        pytest.fail(f"{exc}: run `bash .ci/install-helm` first (CI does)", pytrace=False)


@pytest.fixture(scope="session")
def helm_home(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Private helm config/cache/data dirs, so tests never read or write the developer's helm setup."""
    root = tmp_path_factory.mktemp("helm-home")
    return {
        "HELM_CACHE_HOME": str(root / "cache"),
        "HELM_CONFIG_HOME": str(root / "config"),
        "HELM_DATA_HOME": str(root / "data"),
    }


@pytest.fixture(scope="session")
def helm_client(helm_binary: Path, helm_home: dict[str, str]) -> Iterator[HelmClient]:
    """A cluster-less :class:`HelmClient` on the real binary (lint, template, package, version)."""
    yield HelmClient(executable=helm_binary, env=helm_home)
