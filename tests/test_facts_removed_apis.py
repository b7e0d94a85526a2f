"""Values that make a chart render an API version the cluster's Kubernetes removed are errors at the line
that switched them on (issue 7, "Facts checked against the real charts").

Each case below is a fact found by ``helm template`` of the real chart (kiali/helm-charts,
rancher/charts, prometheus-community/helm-charts, istio/istio) against a 1.30 cluster's API versions;
the type modules hold them as data and one rule, ``kubernetes.removed-api``, judges them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from meshcharts.core.kubeapis import REMOVED_APIS, removal, served_by
from tests.conftest import StackDir

RULE = "kubernetes.removed-api"


@dataclass(frozen=True)
class Case:
    name: str
    type: str
    version: str
    values: str  # values/c.yaml
    kubernetes: str | None  # None: the default
    api: str | None  # the "<apiVersion> <Kind>" expected in the message; None: no finding
    line: int | None = None  # where: a line of values/c.yaml; None with an api: the component in meshcharts.yaml


CASES = [
    Case("rancher kiali psp on", "rancher-kiali-server", "100.0.0+up1.35.0",
         "deployment: {ingress_enabled: false}\nglobal:\n  rbac:\n    pspEnabled: true\n", "1.30", "policy/v1beta1 PodSecurityPolicy", 4),
    Case("rancher kiali psp on, 1.24 still serves it", "rancher-kiali-server", "100.0.0+up1.35.0",
         "deployment: {ingress_enabled: false}\nglobal:\n  rbac:\n    pspEnabled: true\n", "1.24", None),
    Case("rancher kiali psp null deletes it", "rancher-kiali-server", "100.0.0+up1.35.0",
         "deployment: {ingress_enabled: false}\nglobal:\n  rbac:\n    pspEnabled: null\n", "1.30", None),
    Case("rancher kiali defaults render a v1beta1 Ingress", "rancher-kiali-server", "100.0.0+up1.35.0", "{}\n", None,
         "networking.k8s.io/v1beta1 Ingress"),
    Case("rancher kiali ingress typed on", "rancher-kiali-server", "100.0.0+up1.35.0", "deployment:\n  ingress_enabled: true\n", None,
         "networking.k8s.io/v1beta1 Ingress", 2),
    Case("rancher kiali ingress on, 1.21", "rancher-kiali-server", "100.0.0+up1.35.0", "{}\n", "1.21", None),
    Case("rancher kiali hpa spec: default v2beta2", "rancher-kiali-server", "100.0.0+up1.35.0",
         "deployment:\n  ingress_enabled: false\n  hpa:\n    spec: {maxReplicas: 2}\n", "1.30", "autoscaling/v2beta2 HorizontalPodAutoscaler", 4),
    Case("rancher kiali hpa v2beta2 served by 1.25", "rancher-kiali-server", "100.0.0+up1.35.0",
         "deployment:\n  ingress_enabled: false\n  hpa:\n    spec: {maxReplicas: 2}\n", "1.25", None),
    Case("rancher kiali hpa with autoscaling/v2", "rancher-kiali-server", "100.0.0+up1.35.0",
         "deployment:\n  ingress_enabled: false\n  hpa:\n    api_version: autoscaling/v2\n    spec: {maxReplicas: 2}\n", "1.30", None),
    Case("kiali 1.35 defaults", "kiali-server", "1.35.0", "{}\n", None, "networking.k8s.io/v1beta1 Ingress"),
    Case("kiali 1.45 defaults", "kiali-server", "1.45.0", "{}\n", None, None),
    Case("kiali 1.45 hpa spec", "kiali-server", "1.45.0", "deployment:\n  hpa:\n    spec: {maxReplicas: 2}\n", None,
         "autoscaling/v2beta2 HorizontalPodAutoscaler", 3),
    Case("kiali 1.89 hpa spec", "kiali-server", "1.89.3", "deployment:\n  hpa:\n    spec: {maxReplicas: 2}\n", None, None),
    Case("kiali 1.89 hpa typed v2beta1", "kiali-server", "1.89.3",
         "deployment:\n  hpa:\n    spec: {maxReplicas: 2}\n    api_version: autoscaling/v2beta1\n", None,
         "autoscaling/v2beta1 HorizontalPodAutoscaler", 4),
    Case("kiali 2.29 pdb spec", "kiali-server", "2.29.0", "deployment:\n  pod_disruption_budget:\n    spec: {minAvailable: 1}\n", None, None),
    Case("kiali 2.29 pdb typed v1beta1", "kiali-server", "2.29.0",
         "deployment:\n  pod_disruption_budget:\n    api_version: policy/v1beta1\n    spec: {minAvailable: 1}\n", None,
         "policy/v1beta1 PodDisruptionBudget", 3),
    Case("rancher-tracing psp", "rancher-tracing", "100.0.0", "global:\n  rbac:\n    pspEnabled: true\n", None,
         "policy/v1beta1 PodSecurityPolicy", 3),
    Case("rancher-tracing defaults", "rancher-tracing", "100.0.0", "{}\n", None, None),
    Case("istiod 1.13 defaults: hpa", "istiod", "1.13.9", "global:\n  defaultPodDisruptionBudget:\n    enabled: false\n", None,
         "autoscaling/v2beta1 HorizontalPodAutoscaler"),
    Case("istiod 1.13 defaults: pdb", "istiod", "1.13.9", "pilot:\n  autoscaleEnabled: false\n", None,
         "policy/v1beta1 PodDisruptionBudget"),
    Case("istiod 1.13 both off", "istiod", "1.13.9",
         "pilot:\n  autoscaleEnabled: false\nglobal:\n  defaultPodDisruptionBudget:\n    enabled: false\n", None, None),
    Case("istiod 1.13 on 1.24", "istiod", "1.13.9", "{}\n", "1.24", None),
    Case("istiod 1.20 picks the API itself", "istiod", "1.20.0", "{}\n", None, None),
    Case("kps 45 kubeVersionOverride with a PDB", "kube-prometheus-stack", "45.1.1",
         "kubeVersionOverride: 1.20.0\nalertmanager:\n  podDisruptionBudget:\n    enabled: true\n", None,
         "policy/v1beta1 PodDisruptionBudget", 1),
    Case("kps 45 kubeVersionOverride alone", "kube-prometheus-stack", "45.1.1", "kubeVersionOverride: 1.20.0\n", None, None),
    Case("kps 45 old override and an ingress", "kube-prometheus-stack", "45.1.1",
         "kubeVersionOverride: v1.18.3\nprometheus:\n  ingress:\n    enabled: true\n", None, "networking.k8s.io/v1beta1 Ingress", 1),
    Case("kps 45 current override", "kube-prometheus-stack", "45.1.1",
         "kubeVersionOverride: 1.30.0\nalertmanager:\n  podDisruptionBudget:\n    enabled: true\n", None, None),
    Case("kps 88 does not trust the override", "kube-prometheus-stack", "88.5.3",
         "kubeVersionOverride: 1.20.0\nalertmanager:\n  podDisruptionBudget:\n    enabled: true\n", None, None),
    Case("kps 45 psp (capability-gated)", "kube-prometheus-stack", "45.1.1", "global:\n  rbac:\n    pspEnabled: true\n", None, None),
]


#: The version a case's cluster states when the case names none: a current release.
CURRENT = "1.32"


def _findings(stack_dir: StackDir, case: Case) -> list[dict[str, object]]:
    cluster = f'{{kubernetes: "{case.kubernetes or CURRENT}"}}'  # offline, only a stated version is judged
    stack_dir.write(
        "meshcharts.yaml",
        f"name: demo\nclusters:\n  east: {cluster}\ncomponents:\n  c:\n    type: {case.type}\n    version: {case.version}\n    namespace: istio-system\n",
    )
    stack_dir.write("values/c.yaml", case.values)
    document = json.loads(stack_dir.cli("validate", "-o", "json").output)
    return [error for error in document["errors"] if error["rule"] == RULE]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_values_that_render_removed_apis_are_errors_where_they_were_set(stack_dir: StackDir, case: Case) -> None:
    found = _findings(stack_dir, case)
    if case.api is None:
        assert found == []
        return
    assert len(found) == 1, found
    (error,) = found
    message = str(error["message"])
    assert case.api in message and f"{case.type} {case.version}" in message
    removed = removal(*case.api.split(" "))
    assert removed is not None and f"Kubernetes {removed.removed_in} removed" in message
    if case.line is None:
        assert (error["file"], error["line"]) == ("meshcharts.yaml", 5)  # the component, for chart defaults
        assert "with the chart's defaults" in message
    else:
        assert (error["file"], error["line"]) == ("values/c.yaml", case.line)


def test_the_message_says_what_to_set(stack_dir: StackDir) -> None:
    (error,) = _findings(stack_dir, CASES[0])
    assert error["path"] == "global.rbac.pspEnabled"
    assert error["message"] == (
        "true here makes rancher-kiali-server 100.0.0+up1.35.0 render policy/v1beta1 PodSecurityPolicy, which Kubernetes 1.25 removed "
        "(cluster east runs 1.30) (set global.rbac.pspEnabled: false; Pod Security Admission replaced PodSecurityPolicy)"
    )


def test_a_default_switched_api_version_is_named(stack_dir: StackDir) -> None:
    case = next(case for case in CASES if case.name == "kiali 1.45 hpa spec")
    (error,) = _findings(stack_dir, case)
    assert "autoscaling/v2beta2 HorizontalPodAutoscaler (deployment.hpa.api_version: \"autoscaling/v2beta2\")" in str(error["message"])
    assert error["path"] == "deployment.hpa.spec"


@pytest.mark.parametrize(
    ("api_version", "kind", "removed_in"),
    [
        ("policy/v1beta1", "PodSecurityPolicy", "1.25"),
        ("policy/v1beta1", "PodDisruptionBudget", "1.25"),
        ("autoscaling/v2beta1", "HorizontalPodAutoscaler", "1.25"),
        ("autoscaling/v2beta2", "HorizontalPodAutoscaler", "1.26"),
        ("batch/v1beta1", "CronJob", "1.25"),
        ("networking.k8s.io/v1beta1", "Ingress", "1.22"),
        ("extensions/v1beta1", "Ingress", "1.22"),
        ("extensions/v1beta1", "Deployment", "1.16"),
        ("rbac.authorization.k8s.io/v1beta1", "ClusterRole", "1.22"),
        ("apiextensions.k8s.io/v1beta1", "CustomResourceDefinition", "1.22"),
        ("storage.k8s.io/v1beta1", "CSIStorageCapacity", "1.27"),
    ],
)
def test_removal_table(api_version: str, kind: str, removed_in: str) -> None:
    entry = removal(api_version, kind)
    assert entry is not None and entry.removed_in == removed_in
    assert not served_by(entry, removed_in) and served_by(entry, f"1.{int(removed_in.split('.')[1]) - 1}")


def test_current_api_versions_are_not_in_the_table() -> None:
    for api_version, kind in (("policy/v1", "PodDisruptionBudget"), ("autoscaling/v2", "HorizontalPodAutoscaler"), ("networking.k8s.io/v1", "Ingress"), ("apps/v1", "Deployment")):
        assert removal(api_version, kind) is None
    assert all(entry.replacement != entry.api_version for entry in REMOVED_APIS)
