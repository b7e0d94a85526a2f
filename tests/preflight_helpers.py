"""Building pre-flight inputs for tests: a cluster's facts by hand, a stack's releases rendered by the real helm.

Facts mirror what :func:`meshcharts.deploy.discovery.discover` reads from the sandbox (Kubernetes 1.37:
the built-in kinds a chart renders, plus the CRD groups a test names, taken from the CRD manifests the
sandbox ships). Releases come from a real composition: generated charts are generated, repository
charts are the stand-ins (tests/standin_helpers.py), and ``helm template`` renders them.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

import meshcharts
from meshcharts.compose.project import Project
from meshcharts.deploy.discovery import ClusterFacts, Resource
from meshcharts.deploy.preflight import ReleaseObjects, chart_crds, chart_kube_version, crd_kinds
from meshcharts.helm import HelmClient
from meshcharts.sandbox.spec import DEFAULT_CRD_DIR
from meshcharts.wiring.order import install_order
from tests.conftest import REPO_ROOT

ADDONS = REPO_ROOT / "tests" / "fixtures" / "addons" / "istio-1.99.0"

#: (apiVersion, kind, namespaced): what a 1.37 API server serves of the kinds charts render.
BUILT_IN: tuple[tuple[str, str, bool], ...] = (
    ("v1", "ConfigMap", True), ("v1", "Secret", True), ("v1", "Service", True), ("v1", "ServiceAccount", True),
    ("v1", "PersistentVolumeClaim", True), ("v1", "Pod", True), ("v1", "Namespace", False),
    ("apps/v1", "Deployment", True), ("apps/v1", "StatefulSet", True), ("apps/v1", "DaemonSet", True),
    ("batch/v1", "Job", True), ("policy/v1", "PodDisruptionBudget", True), ("autoscaling/v2", "HorizontalPodAutoscaler", True),
    ("networking.k8s.io/v1", "NetworkPolicy", True), ("networking.k8s.io/v1", "Ingress", True),
    ("rbac.authorization.k8s.io/v1", "ClusterRole", False), ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", False),
    ("rbac.authorization.k8s.io/v1", "Role", True), ("rbac.authorization.k8s.io/v1", "RoleBinding", True),
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition", False), ("storage.k8s.io/v1", "StorageClass", False),
)

#: Istio's own CRDs as istio-base installs them (networking.istio.io serves v1, v1beta1, v1alpha3).
ISTIO_CRDS: list[dict[str, Any]] = [
    {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.networking.istio.io"},
        "spec": {
            "group": "networking.istio.io",
            "names": {"kind": kind, "plural": plural},
            "scope": "Namespaced",
            "versions": [{"name": version, "served": True, "storage": version == "v1"} for version in ("v1", "v1alpha3", "v1beta1")],
        },
    }
    for kind, plural in (("Gateway", "gateways"), ("VirtualService", "virtualservices"))
]


def facts(
    *crd_groups: str,
    cluster: str = "homelab",
    version: str = "v1.37.2",
    storage_classes: tuple[str, ...] = ("standard", "sata"),
    default_class: str | None = "standard",
    namespaces: tuple[str, ...] = ("default", "kube-system", "kube-public", "kube-node-lease"),
    extra: list[dict[str, Any]] | None = None,
) -> ClusterFacts:
    """A cluster's facts; ``crd_groups`` from the sandbox's shipped CRDs, ``extra`` CRD objects of the test's own."""
    resources = {(api, kind): Resource(api, kind, kind.lower() + "s", namespaced) for api, kind, namespaced in BUILT_IN}
    crds: list[dict[str, Any]] = list(extra or [])
    for group in crd_groups:
        crds += [doc for doc in yaml.safe_load_all((DEFAULT_CRD_DIR / f"{group}.yaml").read_text()) if doc]
    for (api, kind), namespaced in crd_kinds(crds).items():
        resources[(api, kind)] = Resource(api, kind, kind.lower() + "s", namespaced)
    return ClusterFacts(
        cluster=cluster, version=version.lstrip("v").split("+")[0].split("-")[0], git_version=version,
        resources=resources, storage_classes=frozenset(storage_classes), default_storage_class=default_class,
        namespaces=frozenset(namespaces),
    )


def copy_preset(name: str, target: Path) -> Path:
    """A bundled preset copied to ``target`` (istio-addons generated from the test fixture's Istio release)."""
    shutil.copytree(REPO_ROOT / "meshcharts" / "presets" / name, target)
    stack = target / "meshcharts.yaml"
    text = stack.read_text()
    text = "\n".join(
        line.split("source:")[0] + f"source: {ADDONS}" if line.strip().startswith("source:") else line for line in text.splitlines()
    )
    stack.write_text(text + "\n")
    return target


def rendered_releases(project: Project, cluster: str, helm: HelmClient, standins: dict[str, Path], scratch: Path) -> list[ReleaseObjects]:
    """Each release of ``cluster`` in install order, rendered by helm as apply would install it."""
    found = []
    for release in install_order(project.compose_all(cluster), cluster):
        composition = project.compose(cluster, release.component)
        values: dict[str, Any] = {} if release.prerequisite else composition.values(secrets="placeholder")
        if release.generated:
            chart = scratch / cluster / release.name
            composition.component.type.generate(composition, chart)
        else:
            chart = standins[f"{release.chart}-{release.version}"]
        objects = helm.template(release.name, chart, namespace=release.namespace, values=values)
        found.append(
            ReleaseObjects(
                cluster=cluster, component=release.component, release=release.name, namespace=release.namespace,
                objects=objects, kube_version=chart_kube_version(chart), crds=chart_crds(chart),
                composition=None if release.prerequisite else composition,
            )
        )
    return found


def open_stack(root: Path) -> Project:
    return meshcharts.open_project(root)
