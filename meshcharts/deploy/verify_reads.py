"""The API reads ``verify`` makes on one cluster: bounded, cached, and failing in one of two ways.

Each list or read carries ``REQUEST_TIMEOUT`` (the first, a probe, a shorter one), so a cluster that
does not answer costs seconds, not the client's default of forever. A connection that fails, times
out or gets a 5xx raises :class:`Unreachable` (the cluster is reported in one line and the others
carry on); a 403 raises :class:`Forbidden` naming what could not be read; a 404 is an answer (the
object or the API does not exist). What several checks need (namespaces, CRDs, Prometheus objects,
monitors) is listed once per cluster.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from meshcharts.deploy.discovery import ClusterFacts
from meshcharts.deploy.live import REQUEST_TIMEOUT, send
from meshcharts.kube import KubeClient

#: (connect, read) seconds for the first call: a cluster that does not answer it is not read further.
PROBE_TIMEOUT = (5, 10)
MONITORING = ("monitoring.coreos.com", "v1")
_PLURALS = {"ServiceMonitor": "servicemonitors", "PodMonitor": "podmonitors", "Prometheus": "prometheuses"}


class Unreachable(Exception):
    """The API server did not answer (connection refused, timeout, 5xx)."""


class Forbidden(Exception):
    """The credentials may not read something verify needs (401/403)."""


class ClusterReads:
    """One cluster's API, read for verify: every call bounded, repeated lists served from a cache.

    Every answer comes back as the API server's JSON, parsed into plain dicts with the API's own field
    names (``targetPort``, ``conditions.ready``), as plan's own reads do: the client's generated API
    classes (CoreV1Api and AppsV1Api alone cost about a second to import) and its typed models (0.1 s
    for a Service, its EndpointSlices and the namespaces, 0.3 s with the workloads) are start-up time
    every plan that shows the live wiring would pay.
    A field the server left out is a missing key, not None: readers use ``.get``.
    """

    def __init__(self, api: KubeClient, known: ClusterFacts | None = None) -> None:
        """``known``: what plan's discovery already read of this cluster (its version and, when it could
        list them, the namespaces), so verify inside plan does not ask the same twice."""
        self.api = api
        self._cache: dict[tuple[Any, ...], Any] = {}
        self._version = (known.git_version or "unknown") if known is not None else None
        if known is not None and known.namespaces_listed:
            self._cache[("namespaces",)] = {name: dict(labels) for name, labels in known.namespace_labels.items()}

    def _call(self, what: str, path: str, *, query: list[tuple[str, str]] | None = None,
              timeout: tuple[int, int] = REQUEST_TIMEOUT) -> dict[str, Any] | None:
        """GET ``path`` as the JSON object the API server answers; None for a 404.

        ``what`` names the read in errors ("Service x/y").
        """
        try:
            response, data = send(self.api, "GET", path, query=query, timeout=timeout)
        except OSError as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise Unreachable(f"reading {what}: {reason}") from None
        status = response.status
        if status == 404:
            return None
        if status in (401, 403):
            raise Forbidden(f"cannot read {what}: {status} {response.reason}")
        if not 200 <= status < 300:
            raise Unreachable(f"reading {what}: {status} {response.reason}")
        text = data.decode("utf-8", "replace")
        try:
            found = json.loads(text)
        except ValueError as exc:
            raise Unreachable(f"reading {what}: the answer is not JSON ({exc})") from None
        if not isinstance(found, dict):
            raise Unreachable(f"reading {what}: the answer is JSON but not an object ({type(found).__name__})")
        return found

    def _items(self, what: str, path: str, *, query: list[tuple[str, str]] | None = None) -> list[dict[str, Any]]:
        """The ``items`` of a list (none for a 404: the API is not served); an item that is not an object is skipped."""
        found = self._call(what, path, query=query)
        return [item for item in (found or {}).get("items") or [] if isinstance(item, dict)]

    def _cached(self, key: tuple[Any, ...], load: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = load()
        return self._cache[key]

    def probe(self) -> str:
        """The server's version, asked with a short timeout: the first thing verify does (known already inside plan)."""
        if self._version is not None:
            return self._version
        info = self._call("the server version", "/version", timeout=PROBE_TIMEOUT)
        return str(info.get("gitVersion", "unknown")) if info is not None else "unknown"

    def service(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The Service object, None when there is none."""
        return self._cached(("service", namespace, name), lambda: self._call(f"Service {namespace}/{name}", f"/api/v1/namespaces/{namespace}/services/{name}"))

    def endpoint_slices(self, namespace: str, service: str) -> list[dict[str, Any]]:
        """The EndpointSlices of one Service (found by the ``kubernetes.io/service-name`` label the controller sets)."""

        def load() -> list[dict[str, Any]]:
            return self._items(
                f"the EndpointSlices of Service {namespace}/{service}",
                f"/apis/discovery.k8s.io/v1/namespaces/{namespace}/endpointslices",
                query=[("labelSelector", f"kubernetes.io/service-name={service}")],
            )

        return list(self._cached(("slices", namespace, service), load))

    def pods(self, namespace: str, selector: dict[str, str]) -> list[dict[str, Any]]:
        text = ",".join(f"{key}={value}" for key, value in sorted(selector.items()))
        return self._items(f"the Pods of {namespace} labelled {text}", f"/api/v1/namespaces/{namespace}/pods", query=[("labelSelector", text)])

    def namespace_labels(self) -> dict[str, dict[str, str]]:
        """Every namespace's labels, by name (one list)."""

        def load() -> dict[str, dict[str, str]]:
            items = self._items("the namespaces", "/api/v1/namespaces")
            metas = [item.get("metadata") or {} for item in items]
            return {str(meta.get("name")): dict(meta.get("labels") or {}) for meta in metas}

        return dict(self._cached(("namespaces",), load))

    def crds(self) -> list[dict[str, Any]]:
        """Every CustomResourceDefinition, reduced to what verify reads (name, group, kind, conditions)."""

        def load() -> list[dict[str, Any]]:
            items = self._items("the CustomResourceDefinitions", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions")
            return [
                {
                    "name": (item.get("metadata") or {}).get("name"),
                    "group": (item.get("spec") or {}).get("group"),
                    "kind": ((item.get("spec") or {}).get("names") or {}).get("kind"),
                    "conditions": {c.get("type"): c.get("status") for c in ((item.get("status") or {}).get("conditions") or [])},
                }
                for item in items
            ]

        return list(self._cached(("crds",), load))

    def monitoring_objects(self, kind: str) -> list[dict[str, Any]]:
        """Every object of a monitoring.coreos.com/v1 kind, all namespaces ([] when the API is not served)."""

        def load() -> list[dict[str, Any]]:
            group, version = MONITORING
            return self._items(f"{kind} objects ({group}/{version})", f"/apis/{group}/{version}/{_PLURALS[kind]}")

        return list(self._cached(("monitoring", kind), load))

    def workloads(self, namespace: str) -> list[tuple[str, dict[str, Any]]]:
        """The Deployments and StatefulSets of a namespace, each with its kind (a list's items carry none)."""

        def load() -> list[tuple[str, dict[str, Any]]]:
            deployments = self._items(f"the Deployments of {namespace}", f"/apis/apps/v1/namespaces/{namespace}/deployments")
            sets = self._items(f"the StatefulSets of {namespace}", f"/apis/apps/v1/namespaces/{namespace}/statefulsets")
            return [*(("Deployment", item) for item in deployments), *(("StatefulSet", item) for item in sets)]

        return list(self._cached(("workloads", namespace), load))

    def config_map(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The ConfigMap object, None when there is none."""
        return self._call(f"ConfigMap {namespace}/{name}", f"/api/v1/namespaces/{namespace}/configmaps/{name}")
