"""Argo CD: an Application per cluster and release, for the Argo CD that manages the fleet.

Argo CD usually runs once, on a hub, with each workload cluster registered under a name; every
Application here names its cluster the way the stack does (``destination.name``), so register each
cluster in Argo CD under its stack name. The Applications live in ``argocd`` (Argo CD's namespace),
named ``<cluster>-<release>``; each installs the release's chart into its namespace under its own
release name with the composed values inline (``helm.valuesObject``).

Install order is sync waves (the ``argocd.argoproj.io/sync-wave`` annotation): a release one wave
after its deepest dependency. Argo CD orders the Applications by wave when one Application (an "app
of apps" pointing at this folder) syncs them, and waits for each wave to be healthy first.

Secrets: Argo CD takes Helm values from no Secret without a plugin (see
:mod:`meshcharts.gitops.secrets`), so a stack with a ``!env`` value is refused for Argo CD.
"""

from __future__ import annotations

from typing import Any

from meshcharts.gitops.model import ChartRef, EngineOutput, ExportCluster, ExportRelease, labels
from meshcharts.gitops.secrets import refuse_argocd
from meshcharts.gitops.writer import yaml_document

NAMESPACE = "argocd"
API = "argoproj.io/v1alpha1"
WAVE = "argocd.argoproj.io/sync-wave"
FOLDER = "applications"  # apart from charts/, whose index.yaml is no Kubernetes object


def export_argocd(stack: str, clusters: list[ExportCluster]) -> EngineOutput:
    """Every cluster's Applications, in a folder per cluster."""
    refuse_argocd([item for cluster in clusters for item in cluster.releases])
    output = EngineOutput(readme=_README)
    for cluster in clusters:
        for item in cluster.releases:
            output.files[f"{FOLDER}/{cluster.name}/{item.name}.yaml"] = yaml_document(
                application(stack, item), f"{cluster.name}/{item.name}: component {item.component}, sync wave {item.wave}"
            )
    return output


def application(stack: str, item: ExportRelease) -> dict[str, Any]:
    """One Application: the chart from its repository, the release's name, namespace and values."""
    helm: dict[str, Any] = {"releaseName": item.name}
    if item.values:
        helm["valuesObject"] = item.values
    return {
        "apiVersion": API,
        "kind": "Application",
        "metadata": {
            "name": f"{item.cluster}-{item.name}",
            "namespace": NAMESPACE,
            "labels": labels(stack, item),
            "annotations": {WAVE: str(item.wave)},
        },
        "spec": {
            "project": "default",
            "destination": {"name": item.cluster, "namespace": item.namespace},
            "source": {**_source(item.chart), "helm": helm},
            "syncPolicy": {"automated": {}, "syncOptions": ["CreateNamespace=true"]},
        },
    }


def _source(chart: ChartRef) -> dict[str, str]:
    """Argo CD names an OCI Helm repository without its ``oci://`` (its Helm user guide says so)."""
    repository = chart.repository.removeprefix("oci://") if chart.kind == "oci" else chart.repository
    return {"repoURL": repository, "chart": chart.chart, "targetRevision": chart.version}


_README = """\
## Argo CD (`--to argocd`)

For the Argo CD that manages the fleet. Register every cluster in Argo CD under its name in the
stack (`argocd cluster add CONTEXT --name <cluster>`), then create one Application ("app of apps")
whose source is the `applications/` folder (`directory.recurse: true`): it syncs the Applications
below in sync-wave order.

- `applications/<cluster>/<release>.yaml`: an Application (`argoproj.io/v1alpha1`) named `<cluster>-<release>` in
  `argocd`, destination the stack's cluster name, values inline (`spec.source.helm.valuesObject`),
  `argocd.argoproj.io/sync-wave` from the install order.
"""
