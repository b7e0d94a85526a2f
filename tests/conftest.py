"""Shared fixtures: where the repo and the (optional) reference data are."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helm_fixtures import helm_binary, helm_client, helm_home  # noqa: F401  (shared helm fixtures)

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


class StackDir:
    """A stack on disk for a test: ``write`` files relative to it, run the CLI or the API on it."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def write(self, relative: str, text: str | bytes) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return path

    def cli(self, *args: str):  # type: ignore[no-untyped-def]
        """Run the CLI in-process (click's runner), in the stack folder."""
        from click.testing import CliRunner

        from meshcharts.cli import main

        runner = CliRunner()
        with pytest.MonkeyPatch.context() as patch:
            patch.chdir(self.root)
            return runner.invoke(main, list(args), catch_exceptions=False)


MINIMAL_STACK = """\
name: demo
clusters:
  east:
    vars: {clusterId: c-east}
  west:
    vars: {clusterId: c-west}
components:
  kiali:
    type: kiali-server
    version: 1.89.3
  tracing:
    type: rancher-tracing
    version: 100.0.0
external:
  prometheus:
    url: http://rancher-monitoring-prometheus.cattle-monitoring-system.svc:9090
"""


@pytest.fixture()
def stack_dir(tmp_path: Path) -> StackDir:
    """An empty folder to build a stack in."""
    return StackDir(tmp_path)


@pytest.fixture()
def minimal_stack(stack_dir: StackDir) -> StackDir:
    """Two clusters, upstream Kiali 1.89 and rancher-tracing, an external Prometheus; no values files yet."""
    stack_dir.write("meshcharts.yaml", MINIMAL_STACK)
    return stack_dir
