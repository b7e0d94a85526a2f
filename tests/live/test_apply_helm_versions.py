"""The core of apply with the oldest supported helm (3.10.1) and with helm 4 (4.3.1): install, a second
apply that runs no upgrade, and a failure that stops its cluster (the rest of the live suite runs
helm 3.22.0). Helm 4 renamed flags (``--atomic`` is ``--rollback-on-failure``) and waits differently;
the adapter picks per version."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.live.conftest import LiveClusters, helm_for
from tests.live.example import CLUSTERS, RELEASES, ExampleStack, fail_kiali_on_east

pytestmark = pytest.mark.live


@pytest.mark.parametrize("version", ["3.10.1", "4.3.1"])
def test_install_unchanged_and_failure(
    version: str, tmp_path: Path, live_clusters: LiveClusters, standin_charts: Path, helm_home: dict[str, str]
) -> None:
    stack = ExampleStack(tmp_path, live_clusters, standin_charts, helm_for(version), helm_home)
    stack.uninstall()
    stack.pull()

    first = stack.apply("--atomic")
    assert first.returncode == 0, first
    assert ("--atomic" if version.startswith("3.") else "--rollback-on-failure") in next(c for c in first.helm_calls if c[0] == "upgrade")
    for cluster in CLUSTERS:
        assert {name: item["status"] for name, item in stack.releases(cluster).items()} == dict.fromkeys(RELEASES, "deployed")
    assert stack.values("west", "rancher-kiali-server")["global"]["cattle"]["clusterId"] == "c-8x2kq"

    second = stack.apply()
    assert second.returncode == 0, second
    assert "upgrade" not in second.verbs()
    assert "east: ok (4 unchanged)" in second.stdout.splitlines() and "west: ok (4 unchanged)" in second.stdout.splitlines()

    fail_kiali_on_east(stack)
    failed = stack.apply("--output", "json", "--release-concurrency", "1", "--timeout", "10s")
    assert failed.returncode == 1, failed
    document = failed.json()
    assert document["ok"] is False
    east = {item["release"]: item for item in document["clusters"]["east"]["releases"]}
    assert [east[name]["status"] for name in RELEASES] == ["unchanged", "failed", "skipped", "skipped"]
    assert east["rancher-kiali-server"]["action"] == "upgrade" and east["rancher-kiali-server"]["revision"] == 2
    assert "rancher-kiali-server" in east["rancher-kiali-server"]["error"]
    # Each helm words its timeout its own way; each time apply adds which object was not ready and why.
    assert "; not ready: Deployment istio-system/kiali: 0/1 ready: pod kiali-" in east["rancher-kiali-server"]["error"]
    assert "Unschedulable: 0/3 nodes are available" in east["rancher-kiali-server"]["error"]
    assert east["rancher-kiali-server"]["note"] == "revision 2 is left failed on the cluster"
    assert east["rancher-tracing"]["note"] == "not attempted: rancher-kiali-server failed on east"
    assert {item["status"] for item in document["clusters"]["west"]["releases"]} == {"unchanged"}
    recorded = {(row["cluster"], row["release"]): row["status"] for row in stack.release_rows(document["run"])}
    assert recorded == {(c, item["release"]): item["status"] for c, r in document["clusters"].items() for item in r["releases"]}
    assert stack.releases("east")["rancher-kiali-server"]["status"] == "failed"
    assert stack.releases("east")["rancher-tracing"]["revision"] == "1"
