"""Flux: a HelmRepository per chart source and a HelmRelease per release, one folder per cluster.

Flux runs in each workload cluster and applies the folder its own Kustomization points at
(``flux/clusters/<cluster>/``), so every object there is for that cluster: no ``spec.kubeConfig``, and the
folder of one cluster never installs on another. Objects live in ``flux-system`` (Flux's own
namespace); each HelmRelease installs into the release's namespace under the release's own name and
keeps helm's record there (``releaseName``, ``targetNamespace``, ``storageNamespace``), as ``apply``
does, so ``meshcharts plan`` and ``helm list`` see the same release whichever of the two installed it.
That also makes every HelmRelease's release name and storage namespace a unique pair: two HelmReleases
with the same pair would silently upgrade each other's release.

Install order is ``dependsOn`` (helm-controller installs a HelmRelease only once those it depends on
are Ready); values are inline (``spec.values``), secrets come ``valuesFrom`` a Secret the user creates.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from typing import Any

from meshcharts.core.diagnostics import Diagnostic, InvalidInput
from meshcharts.gitops.model import ChartRef, EngineOutput, ExportCluster, ExportRelease, RequiredSecret, labels
from meshcharts.gitops.secrets import env_keys, flux_target_path, secret_name
from meshcharts.gitops.writer import yaml_document

NAMESPACE = "flux-system"
INTERVAL = "10m"
HELM_RELEASE_API = "helm.toolkit.fluxcd.io/v2"
SOURCE_API = "source.toolkit.fluxcd.io/v1"
PACKAGED_SOURCE = "meshcharts-charts"
FOLDER = "clusters"  # clusters/<cluster>/, apart from charts/ (a cluster may be named "charts")


def source_names(charts: list[ChartRef]) -> dict[str, str]:
    """A readable, stable name per chart source URL: its host and path (``charts-rancher-io``); the
    packaged charts' source is ``meshcharts-charts``; a name two URLs would share gets a hash of each."""
    slugs: dict[str, str] = {}
    for chart in charts:
        if chart.packaged:
            slugs[chart.repository] = PACKAGED_SOURCE
        else:
            text = re.sub(r"^[a-z]+://", "", chart.repository.lower())
            slugs[chart.repository] = re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:50].strip("-") or "charts"
    counts = Counter(slugs.values())
    return {
        url: slug if counts[slug] == 1 else f"{slug[:41]}-{hashlib.sha256(url.encode()).hexdigest()[:8]}"
        for url, slug in slugs.items()
    }


def export_flux(stack: str, clusters: list[ExportCluster]) -> EngineOutput:
    """Every cluster's folder: its chart sources and its HelmReleases, plus the Secrets to create."""
    output = EngineOutput(readme=_README)
    for cluster in clusters:
        _check_unique(cluster)
        by_repository = source_names([item.chart for item in cluster.releases])
        for chart in sorted({item.chart.repository: item.chart for item in cluster.releases}.values(), key=lambda c: by_repository[c.repository]):
            name = by_repository[chart.repository]
            output.files[f"{FOLDER}/{cluster.name}/helmrepository-{name}.yaml"] = yaml_document(_repository(stack, name, chart), _source_comment(cluster.name, chart))
        for item in cluster.releases:
            source = by_repository[item.chart.repository]
            output.files[f"{FOLDER}/{cluster.name}/helmrelease-{item.name}.yaml"] = yaml_document(
                helm_release(stack, item, source), f"{cluster.name}/{item.name}: component {item.component}, install wave {item.wave}"
            )
            if item.secrets:
                output.secrets.append(RequiredSecret(cluster.name, NAMESPACE, secret_name(item), env_keys(item.secrets), f"cluster {cluster.name}, beside its Flux"))
    return output


def helm_release(stack: str, item: ExportRelease, source: str) -> dict[str, Any]:
    """One HelmRelease: the release's chart, name, namespace, values and what it waits for."""
    spec: dict[str, Any] = {
        "interval": INTERVAL,
        "releaseName": item.name,
        "targetNamespace": item.namespace,
        "storageNamespace": item.namespace,
        "chart": {
            "spec": {
                "chart": item.chart.chart,
                "version": item.chart.version,
                "sourceRef": {"kind": "HelmRepository", "name": source, "namespace": NAMESPACE},
                "interval": INTERVAL,
            }
        },
        "install": {"createNamespace": True},
    }
    helm = item.item.composition.component.helm if item.item.composition is not None else None
    if helm is not None and helm.timeout:
        spec["timeout"] = helm.timeout
    if helm is not None and helm.wait is False:
        spec["install"]["disableWait"] = True
        spec["upgrade"] = {"disableWait": True}
    if item.after:
        spec["dependsOn"] = [{"name": name, "namespace": NAMESPACE} for name in item.after]
    if item.values:
        spec["values"] = item.values
    if item.secrets:
        spec["valuesFrom"] = [
            {"kind": "Secret", "name": secret_name(item), "valuesKey": secret.env, "targetPath": flux_target_path(item, secret)}
            for secret in item.secrets
        ]
    return {
        "apiVersion": HELM_RELEASE_API,
        "kind": "HelmRelease",
        "metadata": {"name": item.name, "namespace": NAMESPACE, "labels": labels(stack, item)},
        "spec": spec,
    }


def _repository(stack: str, name: str, chart: ChartRef) -> dict[str, Any]:
    spec: dict[str, Any] = {"interval": INTERVAL, "url": chart.repository}
    if chart.kind == "oci":
        spec["type"] = "oci"
    return {
        "apiVersion": SOURCE_API,
        "kind": "HelmRepository",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": labels(stack)},
        "spec": spec,
    }


def _source_comment(cluster: str, chart: ChartRef) -> str:
    if chart.packaged:
        return f"{cluster}: the charts meshcharts packaged into this export's charts/ folder, served at {chart.repository}"
    return f"{cluster}: chart source {chart.repository}"


def _check_unique(cluster: ExportCluster) -> None:
    """Every HelmRelease of a cluster a distinct (release name, storage namespace) pair, and a distinct object name."""
    seen: dict[tuple[str, str], str] = {}
    names: set[str] = set()
    for item in cluster.releases:
        pair = (item.name, item.namespace)
        if pair in seen or item.name in names:
            raise InvalidInput(
                Diagnostic(
                    message=f"two releases named {item.name} on this cluster; Flux would let one HelmRelease upgrade the other's release",
                    rule="export.release-clash",
                    cluster=cluster.name,
                    component=item.component,
                )
            )
        seen[pair] = item.component
        names.add(item.name)


_README = """\
## Flux (`--to flux`)

One folder per cluster, `clusters/<cluster>/`, for that cluster's own Flux: point a Flux Kustomization
of each cluster at its folder (`flux create kustomization meshcharts --source=GitRepository/<repo>
--path=./<this folder>/clusters/<cluster> --prune=true --interval=10m`).

- `helmrepository-<name>.yaml`: a HelmRepository (`source.toolkit.fluxcd.io/v1`) per chart source.
- `helmrelease-<release>.yaml`: a HelmRelease (`helm.toolkit.fluxcd.io/v2`) per release, in
  `flux-system`; it installs the release into its namespace under its own name, like `meshcharts apply`,
  after the releases in its `dependsOn` are Ready. Values are inline.
"""
