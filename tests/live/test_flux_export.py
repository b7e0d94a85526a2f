"""End to end with a real GitOps engine: the bundled example exported for Flux and installed by Flux.

A copy of the example gets a sandbox of its own through the real CLI, ``sandbox up --gitops flux``
(two clusters named as the stack names them, each with Flux's source-controller and helm-controller,
and the pulled charts served on 127.0.0.1). ``meshcharts export --to flux`` points its HelmRepositories
at that chart repository (``--chart-repository``) and its packaged charts (mesh-extras) at a static
server of the export's own ``charts/`` folder (``--charts-url``); the export's objects are applied to
each cluster with a server-side apply, helm-controller installs every release, and then meshcharts
itself judges the result: every release holds exactly the values ``render`` writes for that
cluster, ``plan`` has no change and ``drift`` none.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import dynamic

from meshcharts.sandbox import ports, seed
from tests.live.conftest import LIVE_HELM, LiveClusters, helm_for
from tests.live.example import CLUSTERS, EXAMPLE_CONTEXTS, RELEASES, ExampleStack

pytestmark = [pytest.mark.live, pytest.mark.gitops]

FIELD_MANAGER = "meshcharts-tests"


@dataclass(frozen=True)
class FluxStack:
    stack: ExampleStack
    repository: str  # the sandbox's chart repository
    export: dict[str, Any]  # export --output json


def _kubeconfig(stack: ExampleStack) -> Path:
    return stack.root / ".meshcharts" / "sandbox" / "kubeconfig"


@pytest.fixture(scope="module")
def flux_stack(
    tmp_path_factory: pytest.TempPathFactory, live_clusters: LiveClusters, standin_charts: Path, helm_home: dict[str, str]
) -> Iterator[FluxStack]:
    live_clusters.require_sandbox()
    folder = tmp_path_factory.mktemp("flux-export")
    contexts = tuple(EXAMPLE_CONTEXTS[cluster] for cluster in CLUSTERS)
    own = LiveClusters(folder / "stack" / ".meshcharts" / "sandbox" / "kubeconfig", contexts, None)
    stack = ExampleStack(folder, own, standin_charts, helm_for(LIVE_HELM), helm_home)
    server: subprocess.Popen[bytes] | None = None
    try:
        stack.pull()
        up = stack.cli("sandbox", "up", "--gitops", "flux", "--output", "json", timeout=1800)
        assert up.returncode == 0, up
        repository = up.json()["gitops"]["chartRepository"]["url"]
        (port,) = ports.free_ports(1)
        exported = stack.cli(
            "export", "--to", "flux", "--chart-repository", repository, "--charts-url", f"http://127.0.0.1:{port}", "--output", "json"
        )
        assert exported.returncode == 0, exported
        document = exported.json()
        server = subprocess.Popen(
            [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(Path(document["output"]) / "charts")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        yield FluxStack(stack, repository, document)
    finally:
        if server is not None:
            server.kill()
            server.wait()
        down = stack.cli("sandbox", "down")
        assert down.returncode == 0, down


def _apply_folder(api: dynamic.DynamicClient, folder: Path) -> list[str]:
    """Server-side apply every object of one cluster's folder (what ``kubectl apply --server-side`` does)."""
    names = []
    for path in sorted(folder.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if not document:
                continue
            resource = api.resources.get(api_version=document["apiVersion"], kind=document["kind"])
            api.server_side_apply(resource, body=document, namespace=document["metadata"].get("namespace"), field_manager=FIELD_MANAGER)
            if document["kind"] == "HelmRelease":
                names.append(document["metadata"]["name"])
    return names


def _not_ready(api: dynamic.DynamicClient, names: list[str]) -> dict[str, str]:
    """HelmRelease name → its Ready condition's message, for those not Ready yet."""
    resource = api.resources.get(api_version="helm.toolkit.fluxcd.io/v2", kind="HelmRelease")
    pending = {}
    for name in names:
        status = resource.get(name=name, namespace="flux-system").to_dict().get("status") or {}
        ready = next((c for c in status.get("conditions") or [] if c["type"] == "Ready"), None)
        if not ready or ready["status"] != "True":
            pending[name] = ready["message"] if ready else "no Ready condition yet"
    return pending


@pytest.fixture(scope="module")
def installed(flux_stack: FluxStack) -> FluxStack:
    """The export applied to both clusters, and every HelmRelease Ready."""
    output = Path(flux_stack.export["output"])
    clients = {}
    try:
        for cluster in CLUSTERS:
            api_client = seed.api_client(_kubeconfig(flux_stack.stack), EXAMPLE_CONTEXTS[cluster])
            clients[cluster] = api_client
            api = dynamic.DynamicClient(api_client)
            names = _apply_folder(api, output / "clusters" / cluster)
            assert sorted(names) == sorted(RELEASES)
        deadline = time.monotonic() + 600
        pending: dict[str, dict[str, str]] = {}
        while time.monotonic() < deadline:
            pending = {cluster: left for cluster in CLUSTERS if (left := _not_ready(dynamic.DynamicClient(clients[cluster]), list(RELEASES)))}
            if not pending:
                break
            time.sleep(2)
        assert not pending, f"HelmReleases not Ready after 600s: {json.dumps(pending)}"
    finally:
        for api_client in clients.values():
            api_client.close()
    return flux_stack


def test_the_export_fetches_from_the_sandbox_repository_and_its_own_charts(flux_stack: FluxStack) -> None:
    repositories = {item["repository"] for releases in flux_stack.export["clusters"].values() for item in releases}
    assert flux_stack.repository in repositories, repositories
    assert any(name.startswith("mesh-extras-") for name in flux_stack.export["charts"]), flux_stack.export["charts"]


def test_flux_installs_every_release_with_each_clusters_own_values(installed: FluxStack) -> None:
    stack = installed.stack
    rendered = stack.cli("render")
    assert rendered.returncode == 0, rendered
    for cluster in CLUSTERS:
        releases = stack.releases(cluster)
        assert sorted(releases) == sorted(RELEASES) and all(item["status"] == "deployed" for item in releases.values()), releases
        for release in RELEASES:
            expected = yaml.safe_load((stack.root / "charts-out" / cluster / f"{release}.values.yaml").read_text(encoding="utf-8")) or {}
            assert stack.values(cluster, release) == expected, f"{cluster}/{release}"
    # Each cluster's own: the example gives each its Rancher cluster id.
    assert stack.values("east", "rancher-kiali-server") != stack.values("west", "rancher-kiali-server")


def test_after_flux_installed_the_stack_plan_has_no_change_and_drift_none(installed: FluxStack) -> None:
    stack = installed.stack
    plan = stack.cli("plan", "--detailed-exitcode", "--output", "json")
    assert plan.returncode == 0, plan
    for cluster in CLUSTERS:
        actions = {item["release"]: item["action"] for item in plan.json()["clusters"][cluster]["releases"]}
        assert actions == {release: "unchanged" for release in RELEASES}, (cluster, actions)
    drift = stack.cli("drift")
    assert drift.returncode == 0, drift
