"""Live tests: real Kubernetes API servers, started once per test run.

By default the session starts a two-cluster sandbox (kwokctl, binary runtime, 127.0.0.1) from the
cached binaries ``meshcharts.sandbox.build`` makes, and deletes it at the end. Its clusters carry what
the bundled example stack needs from a Rancher cluster (the ``ui.cattle.io`` and
``monitoring.coreos.com`` CRDs, storage classes ``standard`` and ``sata``) plus a CRD group and a kwok
Stage of the tests' own (a label that keeps a Pod from ever becoming ready). The stand-in charts are
packaged once per session (``standin_charts``), and apply runs with helm 3.22.0 unless a test asks
for another version (``helm_for``). With ``MESHCHARTS_TEST_KUBECONFIG`` (and
``MESHCHARTS_TEST_CONTEXTS=a,b``) the same tests run against those real clusters instead, and the
tests that need the sandbox itself skip.

Only a machine without Go skips the live tests, all with one reason: CI has Go, so there they run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from meshcharts.core.diagnostics import InvalidInput
from meshcharts.sandbox import Sandbox, SandboxCluster, go_available
from meshcharts.sandbox.spec import DEFAULT_CRD_DIR
from tests.conftest import REPO_ROOT

FIXTURES = REPO_ROOT / "tests" / "fixtures"
CRD_GROUP = "probes.sandbox.meshcharts.io"
CRD_NAME = f"probes.{CRD_GROUP}"
#: What Rancher and rancher-monitoring install outside the bundled example (meshcharts/sandbox/crds).
EXAMPLE_CRD_GROUPS = ("ui.cattle.io", "monitoring.coreos.com")
STORAGE_CLASSES = ("standard", "sata")
NO_GO = "Go is not installed: the live tests need the sandbox's Kubernetes binaries, built with Go (CI has Go)"

#: The helm the live tests apply with, unless a test names another (``helm_for``).
LIVE_HELM = "3.22.0"

#: Two clusters, as a stack would name them: one with its own context name, one defaulting to its name.
SANDBOX_CLUSTERS = (
    SandboxCluster("east", context="sandbox-east", crd_groups=(CRD_GROUP, *EXAMPLE_CRD_GROUPS)),
    SandboxCluster("west", crd_groups=(CRD_GROUP, *EXAMPLE_CRD_GROUPS)),
)


@dataclass(frozen=True)
class LiveClusters:
    """Where the live tests deploy: a kubeconfig, two of its contexts, and the sandbox if it is ours."""

    kubeconfig: Path
    contexts: tuple[str, ...]
    sandbox: Sandbox | None

    def require_sandbox(self) -> Sandbox:
        if self.sandbox is None:
            pytest.skip("checks the sandbox itself; MESHCHARTS_TEST_KUBECONFIG points at real clusters")
        return self.sandbox


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if go_available() or os.environ.get("MESHCHARTS_TEST_KUBECONFIG"):
        return
    skip = pytest.mark.skip(reason=NO_GO)
    for item in items:
        if "live" in item.keywords:
            item.add_marker(skip)


def _progress(line: str) -> None:
    print(f"[sandbox] {line}", flush=True)


@pytest.fixture(scope="session")
def live_clusters(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveClusters]:
    """The two clusters of this test run (a started sandbox, or the real ones named by the environment)."""
    real = os.environ.get("MESHCHARTS_TEST_KUBECONFIG")
    if real:
        contexts = tuple(c for c in os.environ.get("MESHCHARTS_TEST_CONTEXTS", "").split(",") if c)
        if len(contexts) < 2:
            pytest.fail("MESHCHARTS_TEST_KUBECONFIG needs MESHCHARTS_TEST_CONTEXTS=a,b (two contexts)", pytrace=False)
        yield LiveClusters(Path(real), contexts, None)
        return
    sandbox = Sandbox(
        tmp_path_factory.mktemp("sandbox"),
        SANDBOX_CLUSTERS,
        storage_classes=STORAGE_CLASSES,
        crd_dirs=(FIXTURES / "cluster-crds", DEFAULT_CRD_DIR),
        stages=_test_stages(),
    )
    try:
        try:
            kubeconfig = sandbox.up(_progress)
        except InvalidInput as exc:
            # One line per test that needed it, with the cause from the component's log, not a traceback.
            pytest.fail(f"the test sandbox did not start: {exc}", pytrace=False)
        yield LiveClusters(kubeconfig, tuple(c.context_name for c in SANDBOX_CLUSTERS), sandbox)
    finally:
        sandbox.down(_progress)


def _test_stages() -> list[dict[str, object]]:
    """The tests' own kwok Stages (tests/fixtures/kwok-stages): Pods that never become ready, on a label."""
    stages: list[dict[str, object]] = []
    for path in sorted((FIXTURES / "kwok-stages").glob("*.yaml")):
        stages.extend(document for document in yaml.safe_load_all(path.read_text(encoding="utf-8")) if document)
    return stages


def helm_for(version: str) -> Path:
    """The helm ``version`` that ``bash .ci/install-helm VERSION`` links under .tools, or skip saying so."""
    binary = REPO_ROOT / ".tools" / "helm" / version / "helm"
    if not os.access(binary, os.X_OK):
        pytest.skip(f"helm {version} is not installed: run `bash .ci/install-helm {version}`")
    return binary


@pytest.fixture(scope="session")
def standin_charts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The stand-in charts packaged once per session: the ``MESHCHARTS_CHARTS`` folder apply's tests pull from."""
    folder = tmp_path_factory.mktemp("standin-charts")
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "standin-charts"), str(folder)], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        pytest.fail(f"scripts/standin-charts failed: {result.stderr.strip()}", pytrace=False)
    return folder


@pytest.fixture(scope="session")
def helm_3_10(helm_home: dict[str, str]) -> Path:
    """The real helm 3.10.1 that .ci/install-helm puts under .tools (the oldest helm meshcharts supports)."""
    binary = REPO_ROOT / ".tools" / "helm" / "3.10.1" / "helm"
    if not os.access(binary, os.X_OK):
        pytest.fail(f"{binary} is missing: run `bash .ci/install-helm` first (scripts/test does)", pytrace=False)
    return binary
