"""``meshcharts.apply(...)`` from Python, on the live clusters: typed options and result, progress
callbacks, and the chart installed is the chart recorded even when ``charts-out/`` changes mid-run."""

from __future__ import annotations

import pytest

import meshcharts
from meshcharts.deploy.apply import ApplyOptions, ApplyResult
from tests.live.example import CLUSTERS, NAMESPACE, RELEASES, ExampleStack, example

pytestmark = pytest.mark.live

__all__ = ["example"]  # the fixture

TAMPERED = """apiVersion: v1
kind: ConfigMap
metadata:
  name: tampered-by-a-concurrent-render
data: {}
"""


def test_apply_from_python_installs_the_chart_it_recorded_even_if_charts_out_changes(
    example: ExampleStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in example.env.items():
        monkeypatch.setenv(name, value)
    seen: list[tuple[str, str | None, str]] = []

    def observer(cluster: str, release: str | None, state: str) -> None:
        seen.append((cluster, release, state))
        if release == "mesh-extras" and state == "installing":
            # Another render (or an editor) rewrites the generated chart just as helm is about to run.
            (example.root / "charts-out" / cluster / "mesh-extras" / "templates" / "tampered.yaml").write_text(TAMPERED)

    result = meshcharts.apply(example.root, ApplyOptions(environ=example.env), observer)
    assert isinstance(result, ApplyResult) and result.ok, result.as_json()
    assert [item.release for item in result.clusters["east"].releases] == list(RELEASES)
    for cluster in CLUSTERS:
        assert (cluster, "mesh-extras", "deployed") in seen
        manifest = example.helm(cluster, "get", "manifest", "mesh-extras", "-n", NAMESPACE)
        assert "tampered-by-a-concurrent-render" not in manifest
    again = meshcharts.apply(example.root, ApplyOptions(environ=example.env, cluster="west"))
    assert list(again.clusters) == ["west"] and {item.status for item in again.clusters["west"].releases} == {"unchanged"}
