"""Reading a cluster's objects and asking its API server what applying one would make of it.

Plan and drift never write: they GET the live objects and, where a quick comparison cannot tell, send
the object as a **server-side apply with dryRun=All** (what ``kubectl diff --server-side`` does): the
server runs defaulting, admission and the merge, and returns the object it would have stored,
without storing it. ``force`` takes over fields other managers own, as helm's own upgrade overwrites
them, so a field someone changed by hand comes back as the planned value.

Each call is bounded (:data:`~meshcharts.deploy.live.REQUEST_TIMEOUT`); a cluster that stops answering
raises :class:`~meshcharts.deploy.discovery.ClusterUnreachable` for that cluster only.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from meshcharts.deploy.discovery import ClusterFacts, get_json, request_json, unreachable
from meshcharts.kube import ApiError, KubeClient

#: The field manager of plan's dry runs: never recorded anywhere, since nothing is stored.
FIELD_MANAGER = "meshcharts-plan"


@dataclass(frozen=True, order=True)
class ObjectKey:
    """Which object: apiVersion, kind, namespace ("" for cluster-scoped kinds) and name."""

    api_version: str
    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.api_version} {self.kind} {where}"

    def as_json(self) -> dict[str, str]:
        return {"apiVersion": self.api_version, "kind": self.kind, "namespace": self.namespace, "name": self.name}


def object_key(obj: dict[str, Any], release_namespace: str, facts: ClusterFacts) -> ObjectKey:
    """The key helm would use for a rendered object: a namespaced kind without a namespace goes to the release's."""
    meta = obj.get("metadata") or {}
    api_version, kind = str(obj.get("apiVersion", "")), str(obj.get("kind", ""))
    resource = facts.resource(api_version, kind)
    namespaced = resource.namespaced if resource is not None else bool(meta.get("namespace"))
    namespace = str(meta.get("namespace") or release_namespace) if namespaced else ""
    return ObjectKey(api_version, kind, namespace, str(meta.get("name", "")))


class LiveObjects:
    """One cluster's objects, read and dry-run applied through its API server."""

    #: Objects of one kind in one namespace from which a LIST is cheaper than a GET each.
    LIST_FROM = 3

    def __init__(self, api: KubeClient, facts: ClusterFacts) -> None:
        self.api = api
        self.facts = facts
        self._listed: dict[ObjectKey, dict[str, Any] | None] = {}

    def prefetch(self, keys: Iterable[ObjectKey]) -> None:
        """Read the objects of ``keys`` by kind and namespace, one LIST for each group of several, so a
        release of twenty dashboards costs one call, not twenty; :meth:`get` then answers from it."""
        groups: dict[tuple[str, str, str], list[ObjectKey]] = {}
        for key in keys:
            groups.setdefault((key.api_version, key.kind, key.namespace), []).append(key)
        for (api_version, kind, namespace), members in groups.items():
            resource = self.facts.resource(api_version, kind)
            if resource is None or len(members) < self.LIST_FROM:
                continue
            try:
                listing = get_json(self.api, resource.path(namespace or None))
            except (ApiError, OSError, ValueError) as exc:
                raise unreachable(self.facts.cluster, exc, f"list {api_version} {kind}") from None
            found = {str((item.get("metadata") or {}).get("name")): item for item in listing.get("items") or []}
            for key in members:
                item = found.get(key.name)
                if item is not None:  # a LIST's items carry no apiVersion/kind of their own
                    item = {"apiVersion": api_version, "kind": kind, **item}
                self._listed[key] = item

    def get(self, key: ObjectKey) -> dict[str, Any] | None:
        """The live object, or None when it does not exist (or its kind is not served: nothing to compare)."""
        if key in self._listed:
            return self._listed[key]
        resource = self.facts.resource(key.api_version, key.kind)
        if resource is None:
            return None
        try:
            found: dict[str, Any] = get_json(self.api, resource.path(key.namespace or None, key.name))
            return found
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise unreachable(self.facts.cluster, exc, f"read {key}") from None
        except (OSError, ValueError) as exc:
            raise unreachable(self.facts.cluster, exc, f"read {key}") from None

    def dry_run_apply(self, key: ObjectKey, obj: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
        """What the server would store if ``obj`` were applied now (nothing is stored), or why it refuses.

        Returns ``(object, None)``, or ``(None, message)`` when the server rejects the object (invalid
        field, missing namespace): plan reports that as what would fail.
        """
        resource = self.facts.resource(key.api_version, key.kind)
        if resource is None:
            return None, f"the cluster does not serve {key.api_version} {key.kind}"
        body = dict(obj)
        meta = dict(body.get("metadata") or {})
        if key.namespace:
            meta["namespace"] = key.namespace
        body["metadata"] = meta
        try:
            result: dict[str, Any] = request_json(
                self.api, "PATCH", resource.path(key.namespace or None, key.name),
                query=[("dryRun", "All"), ("fieldManager", FIELD_MANAGER), ("force", "true")],
                headers={"Content-Type": "application/apply-patch+yaml"}, body=body,
            )
            return result, None
        except ApiError as exc:
            if exc.status and 400 <= exc.status < 500:
                return None, _status_message(exc)
            raise unreachable(self.facts.cluster, exc, f"dry-run {key}") from None
        except (OSError, ValueError) as exc:
            raise unreachable(self.facts.cluster, exc, f"dry-run {key}") from None


def _status_message(exc: ApiError) -> str:
    """The API server's own message from its Status body."""
    try:
        status = json.loads(exc.body or "{}")
        return str(status.get("message") or f"{exc.status} {exc.reason}")
    except (TypeError, ValueError):
        return f"{exc.status} {exc.reason}"
