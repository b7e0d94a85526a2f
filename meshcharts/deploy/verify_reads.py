"""The API reads ``verify`` makes on one cluster: bounded, cached, and failing in one of two ways.

Each list or read carries ``REQUEST_TIMEOUT`` (the first, a probe, a shorter one), so a cluster that
does not answer costs seconds, not the client's default of forever. A connection that fails, times
out or gets a 5xx raises :class:`Unreachable` (the cluster is reported in one line and the others
carry on); a 403 raises :class:`Forbidden` naming what could not be read; a 404 is an answer (the
object or the API does not exist). What several checks need (namespaces, CRDs, Prometheus objects,
monitors) is listed once per cluster.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

from meshcharts.deploy.live import REQUEST_TIMEOUT

#: (connect, read) seconds for the first call: a cluster that does not answer it is not read further.
PROBE_TIMEOUT = (5, 10)
MONITORING = ("monitoring.coreos.com", "v1")
_PLURALS = {"ServiceMonitor": "servicemonitors", "PodMonitor": "podmonitors", "Prometheus": "prometheuses"}


class Unreachable(Exception):
    """The API server did not answer (connection refused, timeout, 5xx)."""


class Forbidden(Exception):
    """The credentials may not read something verify needs (401/403)."""


class ClusterReads:
    """One cluster's API, read for verify: every call bounded, repeated lists served from a cache."""

    def __init__(self, api: k8s.ApiClient) -> None:
        self.core = k8s.CoreV1Api(api)
        self.apps = k8s.AppsV1Api(api)
        self.discovery = k8s.DiscoveryV1Api(api)
        self.custom = k8s.CustomObjectsApi(api)
        self.extensions = k8s.ApiextensionsV1Api(api)
        self.version = k8s.VersionApi(api)
        self._cache: dict[tuple[Any, ...], Any] = {}

    def _call(self, what: str, method: Callable[..., Any], *args: Any, timeout: tuple[int, int] = REQUEST_TIMEOUT, **kwargs: Any) -> Any:
        """``method(*args)``; None for a 404. ``what`` names the read in errors ("Service x/y")."""
        try:
            return method(*args, _request_timeout=timeout, **kwargs)
        except ApiException as exc:
            if exc.status == 404:
                return None
            if exc.status in (401, 403):
                raise Forbidden(f"cannot read {what}: {exc.status} {exc.reason}") from None
            raise Unreachable(f"reading {what}: {exc.status} {exc.reason}") from None
        except (HTTPError, OSError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise Unreachable(f"reading {what}: {reason}") from None

    def _cached(self, key: tuple[Any, ...], load: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = load()
        return self._cache[key]

    def probe(self) -> str:
        """The server's version, asked with a short timeout: the first thing verify does."""
        info = self._call("the server version", self.version.get_code, timeout=PROBE_TIMEOUT)
        return str(info.git_version) if info is not None else "unknown"

    def service(self, namespace: str, name: str) -> Any:
        return self._cached(("service", namespace, name), lambda: self._call(f"Service {namespace}/{name}", self.core.read_namespaced_service, name, namespace))

    def endpoint_slices(self, namespace: str, service: str) -> list[Any]:
        def load() -> list[Any]:
            found = self._call(
                f"the EndpointSlices of Service {namespace}/{service}",
                self.discovery.list_namespaced_endpoint_slice,
                namespace,
                label_selector=f"kubernetes.io/service-name={service}",
            )
            return list(found.items) if found is not None else []

        return list(self._cached(("slices", namespace, service), load))

    def pods(self, namespace: str, selector: dict[str, str]) -> list[Any]:
        text = ",".join(f"{key}={value}" for key, value in sorted(selector.items()))
        found = self._call(f"the Pods of {namespace} labelled {text}", self.core.list_namespaced_pod, namespace, label_selector=text)
        return list(found.items) if found is not None else []

    def namespace_labels(self) -> dict[str, dict[str, str]]:
        """Every namespace's labels, by name (one list)."""

        def load() -> dict[str, dict[str, str]]:
            found = self._call("the namespaces", self.core.list_namespace)
            items = found.items if found is not None else []
            return {item.metadata.name: dict(item.metadata.labels or {}) for item in items}

        return dict(self._cached(("namespaces",), load))

    def crds(self) -> list[dict[str, Any]]:
        """Every CustomResourceDefinition as a plain dict (group, kind, conditions)."""

        def load() -> list[dict[str, Any]]:
            found = self._call("the CustomResourceDefinitions", self.extensions.list_custom_resource_definition)
            items = found.items if found is not None else []
            return [
                {
                    "name": item.metadata.name,
                    "group": item.spec.group,
                    "kind": item.spec.names.kind,
                    "conditions": {c.type: c.status for c in ((item.status.conditions if item.status else None) or [])},
                }
                for item in items
            ]

        return list(self._cached(("crds",), load))

    def monitoring_objects(self, kind: str) -> list[dict[str, Any]]:
        """Every object of a monitoring.coreos.com/v1 kind, all namespaces ([] when the API is not served)."""

        def load() -> list[dict[str, Any]]:
            group, version = MONITORING
            found = self._call(f"{kind} objects ({group}/{version})", self.custom.list_cluster_custom_object, group, version, _PLURALS[kind])
            return list((found or {}).get("items") or [])

        return list(self._cached(("monitoring", kind), load))

    def workloads(self, namespace: str) -> list[Any]:
        """The Deployments and StatefulSets of a namespace."""

        def load() -> list[Any]:
            deployments = self._call(f"the Deployments of {namespace}", self.apps.list_namespaced_deployment, namespace)
            sets = self._call(f"the StatefulSets of {namespace}", self.apps.list_namespaced_stateful_set, namespace)
            return [*(deployments.items if deployments else []), *(sets.items if sets else [])]

        return list(self._cached(("workloads", namespace), load))

    def config_map(self, namespace: str, name: str) -> Any:
        return self._call(f"ConfigMap {namespace}/{name}", self.core.read_namespaced_config_map, name, namespace)
