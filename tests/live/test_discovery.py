"""discover() against a real API server: its version, the kinds it serves (built-in and from CRDs),
its StorageClasses and namespaces, as plan's Capabilities and the pre-flight checks read them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client

from meshcharts.deploy import discovery
from meshcharts.deploy.discovery import ClusterFacts, Resource, discover
from meshcharts.deploy.preflight import preflight
from meshcharts.deploy.live import api_client as kube_client
from meshcharts.helm import HelmClient
from meshcharts.kube import KubeClient
from meshcharts.sandbox import seed
from tests.live.conftest import CRD_GROUP, STORAGE_CLASSES, LiveClusters
from tests.preflight_helpers import copy_preset, open_stack, rendered_releases
from tests.standin_helpers import standins  # noqa: F401  (session fixture: the packaged stand-in charts)

pytestmark = pytest.mark.live


@pytest.fixture(params=[0, 1], ids=["first-context", "second-context"])
def api(request: pytest.FixtureRequest, live_clusters: LiveClusters) -> Iterator[tuple[str, KubeClient]]:
    """meshcharts' client of one cluster, as plan opens it."""
    context = live_clusters.contexts[request.param]
    api_client = kube_client(str(live_clusters.kubeconfig), context, context)
    yield context, api_client
    api_client.close()


def test_the_version_is_the_servers(api: tuple[str, KubeClient], live_clusters: LiveClusters) -> None:
    context, api_client = api
    facts = discover(api_client, context)
    typed = seed.api_client(live_clusters.kubeconfig, context)  # the kubernetes package's own answer
    git_version = client.VersionApi(typed).get_code().git_version
    typed.close()
    assert facts.cluster == context
    assert facts.git_version == git_version
    assert git_version.startswith(f"v{facts.version}")
    assert facts.version.count(".") == 2 and all(part.isdigit() for part in facts.version.split("."))


def test_built_in_kinds_with_their_scope_and_path(api: tuple[str, KubeClient]) -> None:
    context, api_client = api
    facts = discover(api_client, context)
    assert facts.resource("v1", "Service") == Resource("v1", "Service", "services", True)
    assert facts.resource("apps/v1", "Deployment") == Resource("apps/v1", "Deployment", "deployments", True)
    assert facts.resource("v1", "Namespace") == Resource("v1", "Namespace", "namespaces", False)
    assert facts.resource("apps/v1", "Deployment").path("ns", "web") == "/apis/apps/v1/namespaces/ns/deployments/web"  # type: ignore[union-attr]
    assert not facts.serves("policy/v1beta1", "PodSecurityPolicy")  # gone since Kubernetes 1.25
    assert "apps/v1/Deployment" in facts.api_versions and "apps/v1" in facts.api_versions
    assert not [key for key in facts.resources if key[1] == "Scale"]  # subresources (deployments/scale) are no kinds


def test_kinds_from_crds_storage_classes_and_namespaces(api: tuple[str, KubeClient], live_clusters: LiveClusters) -> None:
    context, api_client = api
    facts = discover(api_client, context)
    assert facts.resource("monitoring.coreos.com/v1", "ServiceMonitor") == Resource("monitoring.coreos.com/v1", "ServiceMonitor", "servicemonitors", True)
    assert facts.resource("ui.cattle.io/v1", "NavLink") == Resource("ui.cattle.io/v1", "NavLink", "navlinks", False)
    assert facts.kinds_in_group(CRD_GROUP)
    assert {"default", "kube-system"} <= facts.namespaces
    if live_clusters.sandbox is not None:
        assert facts.storage_classes >= set(STORAGE_CLASSES)
        assert facts.default_storage_class == STORAGE_CLASSES[0]


def test_the_per_group_documents_give_what_the_aggregated_one_gives(api: tuple[str, KubeClient], monkeypatch: pytest.MonkeyPatch) -> None:
    """Servers before 1.30 serve no aggregated discovery: asking for plain JSON takes that path here."""
    context, api_client = api
    aggregated = discover(api_client, context)
    monkeypatch.setattr(discovery, "_AGGREGATED", "application/json")
    legacy = discover(api_client, context)
    assert isinstance(legacy, ClusterFacts)
    assert legacy.resources == aggregated.resources


def test_preflight_on_the_sandbox_finds_the_gateway_seed_004_needs(
    live_clusters: LiveClusters, tmp_path: Path, helm_client: HelmClient, standins: dict[str, Path]  # noqa: F811
) -> None:
    """The existing-monitoring preset validates clean, but the sandbox serves no networking.istio.io:
    apply would install istio-addons and then fail on mesh-extras. The pre-flight says so first."""
    api_client = kube_client(str(live_clusters.kubeconfig), live_clusters.contexts[0], "homelab")
    try:
        facts = discover(api_client, "homelab")
    finally:
        api_client.close()
    project = open_stack(copy_preset("existing-monitoring", tmp_path / "stack"))
    releases = rendered_releases(project, "homelab", helm_client, standins, tmp_path / "out")
    found = [d for d in preflight(facts, releases) if d.rule == "preflight.unserved-kind"]
    assert [(d.component, d.path, d.location.line if d.location else None) for d in found] == [("extras", "exposure.istio.kiali", 7)] * 2
    assert "(it serves networking.istio.io: none)" in found[0].message
