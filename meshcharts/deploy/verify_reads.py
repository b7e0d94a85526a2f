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

from meshcharts.kube import KubeClient

from meshcharts.deploy.live import REQUEST_TIMEOUT, send

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

    Reads go through the client's request serializer and come back as the client's typed models, but
    without its generated per-group API classes: importing CoreV1Api and AppsV1Api alone costs about
    a second, paid by every plan that shows the live wiring.
    """

    def __init__(self, api: KubeClient) -> None:
        self.api = api
        self._cache: dict[tuple[Any, ...], Any] = {}

    def _call(self, what: str, path: str, model: str | None, *, query: list[tuple[str, str]] | None = None,
              timeout: tuple[int, int] = REQUEST_TIMEOUT) -> Any:
        """GET ``path`` as ``model`` (a client model name such as ``V1Service``; None: a plain dict); None for a 404.

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
            return json.loads(text) if model is None else self.api.deserialize(text, model, "application/json")
        except ValueError as exc:
            raise Unreachable(f"reading {what}: the answer is not JSON ({exc})") from None

    def _cached(self, key: tuple[Any, ...], load: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = load()
        return self._cache[key]

    def probe(self) -> str:
        """The server's version, asked with a short timeout: the first thing verify does."""
        info = self._call("the server version", "/version", None, timeout=PROBE_TIMEOUT)
        return str(info.get("gitVersion", "unknown")) if info is not None else "unknown"

    def service(self, namespace: str, name: str) -> Any:
        return self._cached(("service", namespace, name), lambda: self._call(f"Service {namespace}/{name}", f"/api/v1/namespaces/{namespace}/services/{name}", "V1Service"))

    def endpoint_slices(self, namespace: str, service: str) -> list[Any]:
        def load() -> list[Any]:
            found = self._call(
                f"the EndpointSlices of Service {namespace}/{service}",
                f"/apis/discovery.k8s.io/v1/namespaces/{namespace}/endpointslices",
                "V1EndpointSliceList",
                query=[("labelSelector", f"kubernetes.io/service-name={service}")],
            )
            return list(found.items) if found is not None else []

        return list(self._cached(("slices", namespace, service), load))

    def pods(self, namespace: str, selector: dict[str, str]) -> list[Any]:
        text = ",".join(f"{key}={value}" for key, value in sorted(selector.items()))
        found = self._call(f"the Pods of {namespace} labelled {text}", f"/api/v1/namespaces/{namespace}/pods", "V1PodList", query=[("labelSelector", text)])
        return list(found.items) if found is not None else []

    def namespace_labels(self) -> dict[str, dict[str, str]]:
        """Every namespace's labels, by name (one list)."""

        def load() -> dict[str, dict[str, str]]:
            found = self._call("the namespaces", "/api/v1/namespaces", "V1NamespaceList")
            items = found.items if found is not None else []
            return {item.metadata.name: dict(item.metadata.labels or {}) for item in items}

        return dict(self._cached(("namespaces",), load))

    def crds(self) -> list[dict[str, Any]]:
        """Every CustomResourceDefinition as a plain dict (group, kind, conditions)."""

        def load() -> list[dict[str, Any]]:
            found = self._call("the CustomResourceDefinitions", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", None)
            items = (found or {}).get("items") or []
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
            found = self._call(f"{kind} objects ({group}/{version})", f"/apis/{group}/{version}/{_PLURALS[kind]}", None)
            return list((found or {}).get("items") or [])

        return list(self._cached(("monitoring", kind), load))

    def workloads(self, namespace: str) -> list[Any]:
        """The Deployments and StatefulSets of a namespace."""

        def load() -> list[Any]:
            deployments = self._call(f"the Deployments of {namespace}", f"/apis/apps/v1/namespaces/{namespace}/deployments", "V1DeploymentList")
            sets = self._call(f"the StatefulSets of {namespace}", f"/apis/apps/v1/namespaces/{namespace}/statefulsets", "V1StatefulSetList")
            return [*(deployments.items if deployments else []), *(sets.items if sets else [])]

        return list(self._cached(("workloads", namespace), load))

    def config_map(self, namespace: str, name: str) -> Any:
        return self._call(f"ConfigMap {namespace}/{name}", f"/api/v1/namespaces/{namespace}/configmaps/{name}", "V1ConfigMap")
