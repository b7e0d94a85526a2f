"""Pre-flight: what apply would fail on, found before anything is tried, at the line that caused it.

The releases are the presets' real compositions rendered by the real helm (generated charts and the
stand-ins); the cluster's facts are written by hand, as discovery would read them.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from meshcharts.deploy.preflight import ReleaseObjects, preflight
from meshcharts.helm import HelmClient
from tests.conftest import REPO_ROOT
from tests.preflight_helpers import ISTIO_CRDS, copy_preset, facts, open_stack, rendered_releases
from tests.standin_helpers import standins  # noqa: F401  (session fixture: the packaged stand-in charts)

pytestmark = pytest.mark.helm

PSP_KIALI = """\
global:
  rbac:
    pspEnabled: true
deployment:
  ingress_enabled: false
"""


def _lines(diagnostics: list[Any]) -> list[tuple[str, str, str, str]]:
    """(rule, file:line:col relative to the stack, component, path) of each finding."""
    return [(d.rule, _where(d), d.component, d.path) for d in diagnostics]


def _where(diagnostic: Any) -> str:
    location = diagnostic.location
    return f"{Path(location.file).name}:{location.line}:{location.column}" if location else ""


@pytest.fixture(scope="module")
def monitoring(tmp_path_factory: pytest.TempPathFactory, helm_client: HelmClient, standins: dict[str, Path]) -> list[ReleaseObjects]:  # noqa: F811
    """The existing-monitoring preset (seed 004) on its cluster homelab, rendered."""
    root = tmp_path_factory.mktemp("existing-monitoring")
    project = open_stack(copy_preset("existing-monitoring", root / "stack"))
    return rendered_releases(project, "homelab", helm_client, standins, root / "out")


@pytest.fixture(scope="module")
def rancher(tmp_path_factory: pytest.TempPathFactory, helm_client: HelmClient, standins: dict[str, Path]) -> list[ReleaseObjects]:  # noqa: F811
    """The rancher preset (seed 000, as the example fixes it) on cluster east, rendered with the stand-ins."""
    root = tmp_path_factory.mktemp("rancher")
    project = open_stack(copy_preset("rancher", root / "stack"))
    return rendered_releases(project, "east", helm_client, standins, root / "out")


MONITORING_NAMESPACES = ("default", "kube-system", "monitoring", "grafana")


def test_the_gateway_on_a_cluster_without_istio_crds_is_an_error_at_the_exposure_key(monitoring: list[ReleaseObjects]) -> None:
    found = preflight(facts(namespaces=MONITORING_NAMESPACES), monitoring)
    assert _lines(found) == [
        ("preflight.unserved-kind", "extras.yaml:7:5", "extras", "exposure.istio.kiali"),
        ("preflight.unserved-kind", "extras.yaml:7:5", "extras", "exposure.istio.kiali"),
    ]
    gateway = found[0]
    assert gateway.message == (
        "mesh-extras renders networking.istio.io/v1beta1 Gateway kiali, which cluster homelab does not serve "
        "(it serves networking.istio.io: none)"
    )
    assert gateway.hint is not None and "install the networking.istio.io CRDs" in gateway.hint
    assert "VirtualService kiali" in found[1].message


def test_an_earlier_release_that_installs_the_crds_provides_the_kind(monitoring: list[ReleaseObjects]) -> None:
    istio_base = ReleaseObjects("homelab", "base", "istio-base", "istio-system", ISTIO_CRDS, None, [], None)
    assert preflight(facts(namespaces=MONITORING_NAMESPACES), [istio_base, *monitoring]) == []


def test_a_crd_installed_after_the_release_that_uses_it_does_not_count(monitoring: list[ReleaseObjects]) -> None:
    istio_base = ReleaseObjects("homelab", "base", "istio-base", "istio-system", ISTIO_CRDS, None, [], None)
    found = preflight(facts(namespaces=MONITORING_NAMESPACES), [*monitoring, istio_base])
    assert [d.rule for d in found] == ["preflight.unserved-kind"] * 2


def test_the_releases_own_crds_folder_counts_but_a_crd_among_its_templates_does_not(monitoring: list[ReleaseObjects]) -> None:
    *before, extras = monitoring
    from_folder = ReleaseObjects(extras.cluster, extras.component, extras.release, extras.namespace, extras.objects, None, ISTIO_CRDS, extras.composition)
    assert preflight(facts(namespaces=MONITORING_NAMESPACES), [*before, from_folder]) == []
    templated = ReleaseObjects(extras.cluster, extras.component, extras.release, extras.namespace, [*ISTIO_CRDS, *extras.objects], None, [], extras.composition)
    assert len(preflight(facts(namespaces=MONITORING_NAMESPACES), [*before, templated])) == 2


def test_the_preset_is_clean_on_the_cluster_it_describes(monitoring: list[ReleaseObjects]) -> None:
    assert preflight(facts(extra=ISTIO_CRDS, namespaces=MONITORING_NAMESPACES), monitoring) == []


def test_another_version_of_the_group_is_named(monitoring: list[ReleaseObjects]) -> None:
    only_v1 = [{**crd, "spec": {**crd["spec"], "versions": [{"name": "v1", "served": True, "storage": True}]}} for crd in ISTIO_CRDS]
    found = preflight(facts(extra=only_v1, namespaces=MONITORING_NAMESPACES), monitoring)
    assert [d.message for d in found][0].endswith("(it serves Gateway as networking.istio.io/v1)")
    assert found[0].hint == "render it as networking.istio.io/v1"


def test_a_typed_api_version_is_the_line_to_blame(tmp_path: Path, helm_client: HelmClient, standins: dict[str, Path]) -> None:  # noqa: F811
    root = copy_preset("existing-monitoring", tmp_path / "stack")
    extras = root / "values" / "extras.yaml"
    extras.write_text(extras.read_text().replace("      host: kiali", "      apiVersion: networking.istio.io/v1\n      host: kiali"))
    releases = rendered_releases(open_stack(root), "homelab", helm_client, standins, tmp_path / "out")
    old_istio = [{**crd, "spec": {**crd["spec"], "versions": [{"name": "v1beta1", "served": True, "storage": True}]}} for crd in ISTIO_CRDS]
    found = preflight(facts(extra=old_istio, namespaces=MONITORING_NAMESPACES), releases)
    assert _lines(found) == [("preflight.unserved-kind", "extras.yaml:8:19", "extras", "exposure.istio.kiali.apiVersion")] * 2
    assert found[0].hint == "render it as networking.istio.io/v1beta1"


def test_a_kubernetes_api_group_is_not_a_missing_crd(rancher: list[ReleaseObjects]) -> None:
    claim = {"apiVersion": "resource.k8s.io/v1alpha3", "kind": "ResourceClaim", "metadata": {"name": "gpu"}}
    item = ReleaseObjects("east", "tracing", "rancher-tracing", "istio-system", [claim], None, [], rancher[2].composition)
    (found,) = preflight(facts(cluster="east"), [item])
    assert found.message.endswith("(it serves resource.k8s.io: none)")
    assert found.hint is not None and found.hint.startswith("Kubernetes 1.37.2 does not serve it here")


def test_a_namespace_the_cluster_lacks_is_reported_where_the_wiring_put_it(monitoring: list[ReleaseObjects]) -> None:
    found = preflight(facts(extra=ISTIO_CRDS, namespaces=("default", "grafana")), monitoring)
    assert _lines(found) == [("preflight.namespace", "meshcharts.yaml:15:3", "extras", "scrapeConfigs.namespace")]
    assert found[0].message == (
        "mesh-extras puts Secret istio-scrape-configs in namespace monitoring, which does not exist on cluster homelab "
        "and no release creates before it"
    )


def test_classes_and_namespaces_the_credentials_may_not_list_are_not_judged(monitoring: list[ReleaseObjects], rancher: list[ReleaseObjects]) -> None:
    bare = facts("ui.cattle.io", "monitoring.coreos.com", cluster="east", extra=ISTIO_CRDS, namespaces=(), storage_classes=(), default_class=None)
    assert {d.rule for d in preflight(bare, rancher)} == {"preflight.storage-class"}
    assert {d.rule for d in preflight(bare, monitoring)} == {"preflight.namespace"}
    unlisted = dataclasses.replace(bare, storage_classes_listed=False, namespaces_listed=False)
    assert preflight(unlisted, rancher) == preflight(unlisted, monitoring) == []


def test_a_namespace_created_by_a_later_release_is_named_in_the_hint(monitoring: list[ReleaseObjects]) -> None:
    later = ReleaseObjects("homelab", "prometheus", "prometheus", "monitoring", [], None, [], None)
    found = preflight(facts(extra=ISTIO_CRDS, namespaces=("default", "grafana")), [*monitoring, later])
    assert found[0].hint == "release prometheus creates it later: install mesh-extras after it (needs:), or create the namespace first"
    namespace_object = ReleaseObjects("homelab", "ns", "namespaces", "default", [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "monitoring"}}], None, [], None)
    assert preflight(facts(extra=ISTIO_CRDS, namespaces=("default", "grafana")), [namespace_object, *monitoring]) == []


def test_the_rancher_example_is_clean_on_a_cluster_like_the_sandbox(rancher: list[ReleaseObjects]) -> None:
    assert [item.release for item in rancher] == ["rancher-kiali-server-crd", "rancher-kiali-server", "rancher-tracing", "mesh-extras"]
    assert preflight(facts("ui.cattle.io", "monitoring.coreos.com", cluster="east"), rancher) == []


@pytest.mark.parametrize("cluster", ["east", "west"])
def test_the_bundled_example_is_clean_on_both_clusters(cluster: str, tmp_path: Path, helm_client: HelmClient, standins: dict[str, Path]) -> None:  # noqa: F811
    releases = rendered_releases(open_stack(REPO_ROOT), cluster, helm_client, standins, tmp_path)
    assert len(releases) == 4
    assert preflight(facts("ui.cattle.io", "monitoring.coreos.com", cluster=cluster), releases) == []


def test_monitors_and_navlinks_without_their_crds_point_at_the_keys_that_ask_for_them(rancher: list[ReleaseObjects]) -> None:
    found = preflight(facts(cluster="east"), rancher)
    assert _lines(found) == [
        ("preflight.unserved-kind", "extras.yaml:9:3", "extras", "exposure.navLinks"),  # the parent of both links
        ("preflight.unserved-kind", "extras.yaml:7:11", "extras", "monitors.envoy.kind"),  # the kind typed there
    ]
    assert found[0].message == "mesh-extras renders ui.cattle.io/v1 NavLink jaeger, kiali, which cluster east does not serve (it serves ui.cattle.io: none)"
    assert "ServiceMonitor envoy-stats-monitor, istio-component-monitor," in found[1].message


def test_the_kiali_dashboards_need_the_crd_release_before_them(rancher: list[ReleaseObjects]) -> None:
    found = preflight(facts("ui.cattle.io", "monitoring.coreos.com", cluster="east"), rancher[1:])
    assert [(d.rule, d.component) for d in found] == [("preflight.unserved-kind", "kiali")]
    assert "monitoring.kiali.io/v1alpha1 MonitoringDashboard" in found[0].message and "and 17 more" in found[0].message


def test_a_storage_class_the_cluster_lacks_is_reported_at_the_key_that_names_it(rancher: list[ReleaseObjects]) -> None:
    found = preflight(facts("ui.cattle.io", "monitoring.coreos.com", cluster="east", storage_classes=("standard",)), rancher)
    assert _lines(found) == [("preflight.storage-class", "tracing.yaml:15:21", "tracing", "jaeger.storageClassName")]
    assert found[0].message == (
        'rancher-tracing claims a volume of StorageClass "sata" (PersistentVolumeClaim istio-jaeger-pvc), '
        "which cluster east lacks (it has: standard)"
    )


def test_a_claim_without_a_class_needs_a_default_class(tmp_path: Path, rancher: list[ReleaseObjects]) -> None:
    claim = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"}, "spec": {"resources": {"requests": {"storage": "1Gi"}}}}
    sts = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"}, "spec": {"volumeClaimTemplates": [{"metadata": {"name": "d"}, "spec": {"storageClassName": "fast"}}]}}
    tracing = rancher[2]
    item = ReleaseObjects("east", "tracing", "rancher-tracing", "istio-system", [claim, sts], None, [], tracing.composition)
    found = preflight(facts(cluster="east", default_class=None), [item])
    assert _lines(found) == [
        ("preflight.storage-class", "meshcharts.yaml:25:3", "tracing", ""),
        ("preflight.storage-class", "meshcharts.yaml:25:3", "tracing", ""),
    ]
    assert "with no StorageClass (PersistentVolumeClaim data), and cluster east has no default class" in found[0].message
    assert 'StorageClass "fast" (StatefulSet db)' in found[1].message
    assert preflight(facts(cluster="east", storage_classes=("fast",), default_class="fast"), [item]) == []


def test_seed_000_psp_enabled_on_a_cluster_of_unstated_version_is_an_error_at_that_line(
    tmp_path: Path, helm_client: HelmClient, standins: dict[str, Path]  # noqa: F811
) -> None:
    root = copy_preset("rancher", tmp_path / "stack")
    stack = root / "meshcharts.yaml"
    stack.write_text(stack.read_text().replace('    kubernetes: "1.30"         # validate reports values that render APIs this Kubernetes no longer serves\n', ""))
    (root / "values" / "clusters" / "east" / "kiali.yaml").write_text(PSP_KIALI)
    project = open_stack(root)
    assert project.stack.clusters["east"].kubernetes is None  # the stack says nothing of it: only the cluster can tell
    releases = rendered_releases(project, "east", helm_client, standins, tmp_path / "out")
    # The rancher-kiali-server stand-in renders its PodSecurityPolicy with these values, as the real chart does.
    assert [obj["metadata"]["name"] for obj in releases[1].objects if obj["kind"] == "PodSecurityPolicy"] == ["kiali-psp"]
    found = preflight(facts("ui.cattle.io", "monitoring.coreos.com", cluster="east"), releases)
    assert _lines(found) == [("preflight.unserved-kind", "kiali.yaml:3:17", "kiali", "global.rbac.pspEnabled")]
    assert found[0].message == (
        "rancher-kiali-server renders policy/v1beta1 PodSecurityPolicy kiali-psp, which cluster east does not serve "
        "(it serves policy: v1); Kubernetes 1.25 removed it and the cluster runs v1.37.2"
    )
    assert found[0].hint == "set global.rbac.pspEnabled: false; Pod Security Admission replaced PodSecurityPolicy"
    assert found[0].location is not None and found[0].location.file.endswith("values/clusters/east/kiali.yaml")


KPS = ReleaseObjects("east", "monitoring", "kube-prometheus-stack", "monitoring", [], ">=1.25.0-0", [], None)


@pytest.mark.parametrize(
    ("version", "excluded"),
    [("v1.24.17", True), ("v1.25.0", False), ("v1.37.2", False), ("v1.30.4+k3s1", False), ("v1.27.3-gke.1700", False), ("v1.24.9-eks-49d8fe8", True)],
)
def test_a_chart_kube_version_that_excludes_the_cluster(version: str, excluded: bool, rancher: list[ReleaseObjects]) -> None:
    item = ReleaseObjects("east", "tracing", "rancher-tracing", "istio-system", [], ">=1.25.0-0", [], rancher[2].composition)
    found = preflight(facts(cluster="east", version=version), [item])
    assert [d.rule for d in found] == (["preflight.kube-version"] if excluded else [])
    if excluded:
        assert _where(found[0]) == "meshcharts.yaml:25:3"
        assert found[0].message == f'the chart of rancher-tracing requires kubeVersion ">=1.25.0-0", which excludes cluster east (Kubernetes {version})'


def test_a_prerequisite_release_is_placed_at_its_component(rancher: list[ReleaseObjects]) -> None:
    crd_chart = rancher[0]
    strict = ReleaseObjects(crd_chart.cluster, crd_chart.component, crd_chart.release, crd_chart.namespace, crd_chart.objects, ">=1.38.0", [], None)
    found = preflight(facts("ui.cattle.io", "monitoring.coreos.com", cluster="east"), [strict, *rancher[1:]])
    assert _lines(found) == [("preflight.kube-version", "meshcharts.yaml:21:3", "kiali", "")]


def test_a_kube_version_helm_cannot_read_is_an_error() -> None:
    item = ReleaseObjects("east", "x", "x", "default", [], ">= one point two", [], None)
    (found,) = preflight(facts(cluster="east"), [item])
    assert found.rule == "preflight.kube-version" and "which helm cannot read" in found.message
