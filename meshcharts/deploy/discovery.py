"""What a cluster serves, asked of its API server: version, API groups and kinds, storage classes, namespaces.

helm renders with Capabilities (``.Capabilities.KubeVersion``, ``.Capabilities.APIVersions.Has``)
that ``helm template`` can only guess offline; plan renders with what the cluster really serves, and
the pre-flight checks judge a rendered kind against the same list. Discovery uses the aggregated
discovery documents (``apidiscovery.k8s.io/v2``: every group's resources in one response, served
since Kubernetes 1.30) and falls back to the per-group documents older servers serve.

Every call is bounded (:data:`REQUEST_TIMEOUT`): a hanging API server is an unreachable cluster within
seconds, reported by :class:`ClusterUnreachable`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from meshcharts.core.diagnostics import Diagnostic, MeshchartsError
from meshcharts.deploy.live import get_json, request_json
from meshcharts.kube import ApiError, KubeClient

_AGGREGATED = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"


class ClusterUnreachable(MeshchartsError):
    """The API server did not answer (refused, timed out, TLS, 5xx): that cluster is skipped, not the run."""


@dataclass(frozen=True)
class Resource:
    """One kind as the API server serves it: where to find it and whether it lives in a namespace."""

    api_version: str  # "v1", "apps/v1"
    kind: str
    plural: str
    namespaced: bool

    def path(self, namespace: str | None, name: str | None = None) -> str:
        """The REST path of the collection, or of one object when ``name`` is given."""
        base = f"/api/{self.api_version}" if "/" not in self.api_version else f"/apis/{self.api_version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        return f"{base}/{name}" if name else base


@dataclass(frozen=True)
class ClusterFacts:
    """What one cluster serves, read once per run."""

    cluster: str
    version: str  # "1.37.2", without the leading v or a distribution suffix
    git_version: str  # as the server says it: "v1.37.2+k3s1"
    resources: dict[tuple[str, str], Resource] = field(default_factory=dict)  # (apiVersion, kind) -> Resource
    storage_classes: frozenset[str] = frozenset()
    default_storage_class: str | None = None
    namespaces: frozenset[str] = frozenset()
    #: every namespace's labels, by name: the monitor checks plan runs (verify's) read the same list
    namespace_labels: dict[str, dict[str, str]] = field(default_factory=dict)
    # False when the credentials may not list them (403): a namespace-scoped user can still install
    # releases, and nothing can then be said of the cluster's classes or namespaces.
    storage_classes_listed: bool = True
    namespaces_listed: bool = True

    @property
    def api_versions(self) -> list[str]:
        """Capabilities.APIVersions as helm builds it: every group/version, and every group/version/Kind."""
        versions = {api_version for api_version, _ in self.resources}
        versions |= {f"{api_version}/{kind}" for api_version, kind in self.resources}
        return sorted(versions)

    def serves(self, api_version: str, kind: str) -> bool:
        return (api_version, kind) in self.resources

    def resource(self, api_version: str, kind: str) -> Resource | None:
        return self.resources.get((api_version, kind))

    def kinds_in_group(self, group: str) -> list[tuple[str, str]]:
        """(apiVersion, kind) served in ``group`` ("" for the core group)."""
        return sorted(key for key in self.resources if _group(key[0]) == group)


def _group(api_version: str) -> str:
    return api_version.rpartition("/")[0]


__all__ = ["ClusterFacts", "ClusterUnreachable", "Resource", "discover", "get_json", "request_json", "unreachable"]


def unreachable(cluster: str, exc: Exception, doing: str) -> ClusterUnreachable:
    """The one-line error for an API server that did not answer."""
    reason = f"{exc.status} {exc.reason}" if isinstance(exc, ApiError) else (str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    return ClusterUnreachable(Diagnostic(message=f"cannot {doing}: {reason}", rule="cluster.unreachable", cluster=cluster))


def discover(api: KubeClient, cluster: str) -> ClusterFacts:
    """Version, served kinds, storage classes and namespaces of one cluster: five API calls where the
    server serves aggregated discovery, one more per API group version where it does not."""
    try:
        info = get_json(api, "/version")
        resources = _resources(api)
        classes = _listed(api, "/apis/storage.k8s.io/v1/storageclasses")
        namespaces = _listed(api, "/api/v1/namespaces")
    except (ApiError, OSError, ValueError) as exc:
        raise unreachable(cluster, exc, "ask the cluster what it serves") from None
    git_version = str(info.get("gitVersion", ""))
    namespace_meta = [item.get("metadata") or {} for item in (namespaces or {}).get("items") or []]
    default = None
    names = set()
    for item in (classes or {}).get("items") or []:
        meta = item.get("metadata") or {}
        names.add(meta.get("name", ""))
        annotations = meta.get("annotations") or {}
        if "true" in (annotations.get("storageclass.kubernetes.io/is-default-class"), annotations.get("storageclass.beta.kubernetes.io/is-default-class")):
            default = meta.get("name")
    return ClusterFacts(
        cluster=cluster,
        version=git_version.lstrip("v").split("+")[0].split("-")[0],
        git_version=git_version,
        resources=resources,
        storage_classes=frozenset(names),
        default_storage_class=default,
        namespaces=frozenset(meta.get("name", "") for meta in namespace_meta),
        namespace_labels={str(meta.get("name", "")): dict(meta.get("labels") or {}) for meta in namespace_meta},
        storage_classes_listed=classes is not None,
        namespaces_listed=namespaces is not None,
    )


def _listed(api: KubeClient, path: str) -> dict[str, Any] | None:
    """A cluster-wide list, or None when these credentials may not read it (403 Forbidden)."""
    try:
        listing: dict[str, Any] = get_json(api, path)
    except ApiError as exc:
        if exc.status == 403:
            return None
        raise
    return listing


def _resources(api: KubeClient) -> dict[tuple[str, str], Resource]:
    found: dict[tuple[str, str], Resource] = {}
    for root in ("/api", "/apis"):
        document = get_json(api, root, accept=_AGGREGATED)
        if document.get("kind") == "APIGroupDiscoveryList":
            _from_aggregated(document, root, found)
        else:
            _from_legacy(api, document, root, found)
    return found


def _from_aggregated(document: dict[str, Any], root: str, found: dict[tuple[str, str], Resource]) -> None:
    for group in document.get("items") or []:
        name = (group.get("metadata") or {}).get("name", "")
        for version in group.get("versions") or []:
            api_version = f"{name}/{version['version']}" if root == "/apis" else version["version"]
            for resource in version.get("resources") or []:
                kind = (resource.get("responseKind") or {}).get("kind")
                if kind:
                    _add(found, Resource(api_version, kind, resource["resource"], resource.get("scope") == "Namespaced"))


def _from_legacy(api: KubeClient, document: dict[str, Any], root: str, found: dict[tuple[str, str], Resource]) -> None:
    if root == "/api":
        versions = [str(version) for version in document.get("versions") or []]
    else:
        versions = [str(version["groupVersion"]) for group in document.get("groups") or [] for version in group.get("versions") or []]
    for api_version in versions:
        listing = get_json(api, f"{root}/{api_version}")
        for resource in listing.get("resources") or []:
            if "/" not in resource["name"]:  # subresources (pods/log, deployments/scale) are not kinds of their own
                _add(found, Resource(api_version, resource["kind"], resource["name"], bool(resource.get("namespaced"))))


def _add(found: dict[tuple[str, str], Resource], resource: Resource) -> None:
    found.setdefault((resource.api_version, resource.kind), resource)
