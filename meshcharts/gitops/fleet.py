"""Rancher Fleet: a bundle folder per release with a ``fleet.yaml``, per-cluster values as target customizations.

Fleet runs on the Rancher (or Fleet) manager and deploys each bundle of a GitRepo to the clusters it
targets. A release is the same chart, version, namespace and release name on every cluster of the
stack that has it; only its values differ per cluster. So each release is one bundle,
``bundles/<release>/fleet.yaml``: the chart coordinates at the top, and one ``targetCustomizations`` entry
per cluster, matched by ``clusterName`` (the stack's cluster name: register the clusters in Fleet
under those names), with that cluster's values. A last entry (``doNotDeploy``) keeps the bundle off
every cluster the stack does not put it on. Targets are evaluated in order, first match wins.

Install order is ``dependsOn``: by label selector (``meshcharts.dev/stack`` and
``meshcharts.dev/release``, which every bundle carries), so it holds whatever the GitRepo is named.
Fleet's agent checks a dependency on the same cluster and waits while a matching bundle is not Ready,
and also when none matches; so when a release differs between clusters in chart, version, namespace or
dependencies, it becomes one bundle per cluster, ``bundles/<release>/<cluster>/fleet.yaml``.

Secrets: ``helm.valuesFrom`` a ``secretKeyRef`` per cluster: the agent reads the Secret on the
workload cluster (in the release's namespace) and merges its ``values.yaml`` key over the values.
"""

from __future__ import annotations

from typing import Any

from meshcharts.gitops.model import ChartRef, EngineOutput, ExportCluster, ExportRelease, RequiredSecret
from meshcharts.gitops.secrets import FLEET_KEY, fleet_document_keys, secret_name
from meshcharts.gitops.writer import yaml_document

OUTSIDE = "outside-the-stack"
#: The bundles' folder, apart from charts/: Fleet makes a bundle of any folder with YAML and no
#: fleet.yaml under a GitRepo path, and charts/index.yaml is no Kubernetes object.
FOLDER = "bundles"


def export_fleet(stack: str, clusters: list[ExportCluster]) -> EngineOutput:
    """A bundle folder per release (per release and cluster where the clusters differ)."""
    output = EngineOutput(readme=_README)
    by_release: dict[str, list[ExportRelease]] = {}
    for cluster in clusters:
        for item in cluster.releases:
            by_release.setdefault(item.name, []).append(item)
            if item.secrets:
                output.secrets.append(
                    RequiredSecret(cluster.name, item.namespace, secret_name(item), fleet_document_keys(item), f"cluster {cluster.name} (Fleet's agent reads it there)")
                )
    for name, items in by_release.items():
        if len({_shape(item) for item in items}) == 1:
            output.files[f"{FOLDER}/{name}/fleet.yaml"] = yaml_document(fleet_yaml(stack, items), _comment(items))
        else:
            for item in items:
                output.files[f"{FOLDER}/{name}/{item.cluster}/fleet.yaml"] = yaml_document(fleet_yaml(stack, [item]), _comment([item]))
    return output


def fleet_yaml(stack: str, items: list[ExportRelease]) -> dict[str, Any]:
    """One bundle: the chart, the release name and namespace, its dependencies, each cluster's values."""
    first = items[0]
    document: dict[str, Any] = {
        "defaultNamespace": first.namespace,
        "labels": {"meshcharts.dev/stack": stack, "meshcharts.dev/release": first.name},
        "helm": {"releaseName": first.name, **_chart(first.chart)},
    }
    if first.after:
        document["dependsOn"] = [{"selector": {"matchLabels": {"meshcharts.dev/stack": stack, "meshcharts.dev/release": name}}} for name in first.after]
    targets = [_target(item) for item in items]
    targets.append({"name": OUTSIDE, "clusterSelector": {}, "doNotDeploy": True})
    document["targetCustomizations"] = targets
    return document


def _target(item: ExportRelease) -> dict[str, Any]:
    target: dict[str, Any] = {"name": item.cluster, "clusterName": item.cluster}
    helm: dict[str, Any] = {}
    if item.values:
        helm["values"] = item.values
    if item.secrets:
        helm["valuesFrom"] = [{"secretKeyRef": {"name": secret_name(item), "namespace": item.namespace, "key": FLEET_KEY}}]
    if helm:
        target["helm"] = helm
    return target


def _chart(chart: ChartRef) -> dict[str, str]:
    if chart.kind == "oci":
        return {"chart": chart.oci_reference, "version": chart.version}
    return {"repo": chart.repository, "chart": chart.chart, "version": chart.version}


def _shape(item: ExportRelease) -> tuple[Any, ...]:
    """What must be equal for clusters to share one bundle (everything but the values)."""
    return (item.namespace, item.chart, tuple(item.after))


def _comment(items: list[ExportRelease]) -> str:
    clusters = ", ".join(item.cluster for item in items)
    return f"{items[0].name}: component {items[0].component}, on {clusters}; install wave {max(item.wave for item in items)}"


_README = """\
## Rancher Fleet (`--to fleet`)

For the Fleet of the Rancher (or Fleet) manager. Register the workload clusters in Fleet under their
names in the stack, and create a GitRepo whose `paths` include this folder's `bundles/` and whose
`targets` include those clusters (in Rancher: Continuous Delivery, Git Repos).

- `bundles/<release>/fleet.yaml`: one bundle per release: chart, repo, version, release name and namespace;
  `targetCustomizations` give each cluster (matched by `clusterName`) its values, and a last entry
  keeps the bundle off clusters outside the stack; `dependsOn` selects the bundles of the releases
  installed before it by their labels.
- `bundles/<release>/<cluster>/fleet.yaml`: instead, one bundle per cluster, when the clusters differ in more
  than values (chart version, namespace, dependencies).
"""
