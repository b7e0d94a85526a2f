"""Resource tracking: while helm waits for a release, which of its objects are not ready, and why.

``helm upgrade --install --wait`` says nothing until it gives up, and then only "context deadline
exceeded". Apply asks the cluster itself, as nelm's resource tracking does: the objects of a release
are the ones in the manifest of its newest revision (helm stores it in the release record before it
creates them; helm does not label what it creates), each judged as helm judges it
(:mod:`meshcharts.deploy.readiness`), and for each one that is not ready the cause the cluster gives:
a Pod's container state or False condition, a controller's failure condition, the latest Warning
event (for a claim, the latest event of any kind; core/v1 events, which the API server serves as
events.k8s.io/v1 from the same store).

:class:`ReleaseTracker` polls that in a thread while helm runs (the live view shows
``waiting for Deployment kiali (0/1 ready)``), and when helm times out gives the line the summary
and the ledger add to helm's own message. :func:`aftermath` says what a failed helm left behind
(a revision marked failed, a rollback by ``--atomic``, an uninstall).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import yaml

from meshcharts.deploy.live import DeployedRelease, ReleaseStore, get_json
from meshcharts.deploy.readiness import JUDGES, Cluster, Obj, ResourceState, judge
from meshcharts.kube import ApiError, KubeClient

#: Seconds between two looks at a release's objects (helm's own wait polls every 2 s).
POLL_SECONDS = 2.0
#: (connect, read) seconds per call while tracking: a slow cluster delays the live view, never apply.
TRACK_TIMEOUT = (5, 10)
#: How many not-ready objects a failure line names before "and N more".
NAMED = 3
#: What helm says when its --wait ran out of time: helm 3.10 "timed out waiting for the condition",
#: later helm 3 and helm 4 "context deadline exceeded" (helm 4 adds "resource ... not ready").
TIMEOUT_MESSAGES = ("context deadline exceeded", "timed out waiting for the condition")


@dataclass(frozen=True)
class ObjectRef:
    """One object of a release's manifest that helm's --wait looks at."""

    kind: str
    namespace: str  # "" for cluster-scoped kinds
    name: str


def manifest_objects(manifest: str, namespace: str) -> list[ObjectRef]:
    """The objects of a helm manifest whose readiness helm waits for, in manifest order.

    A namespaced object without a namespace is where helm puts it: the release's namespace.
    """
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        documents = list(yaml.load_all(manifest, Loader=loader))
    except yaml.YAMLError:
        return []
    found: list[ObjectRef] = []
    for document in documents:
        if not isinstance(document, dict) or document.get("kind") not in JUDGES:
            continue
        meta = document.get("metadata") or {}
        if not isinstance(meta, dict) or not meta.get("name"):
            continue
        kind = str(document["kind"])
        where = "" if kind == "CustomResourceDefinition" else str(meta.get("namespace") or namespace)
        found.append(ObjectRef(kind, where, str(meta["name"])))
    return found


def _selector(obj: Obj) -> str | None:
    """A label selector string for ``spec.selector`` (a LabelSelector, or an RC's plain map)."""
    selector = (obj.get("spec") or {}).get("selector")
    if not isinstance(selector, Mapping):
        return None
    if "matchLabels" not in selector and "matchExpressions" not in selector:
        return ",".join(f"{key}={value}" for key, value in selector.items()) or None
    parts = [f"{key}={value}" for key, value in (selector.get("matchLabels") or {}).items()]
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression.get("key"), expression.get("operator"), expression.get("values") or []
        if operator in ("In", "NotIn"):
            parts.append(f"{key} {operator.lower()} ({','.join(values)})")
        elif operator == "Exists":
            parts.append(str(key))
        elif operator == "DoesNotExist":
            parts.append(f"!{key}")
    return ",".join(parts) or None


def _time(event: Obj) -> str:
    series = event.get("series") or {}
    meta = event.get("metadata") or {}
    return str(series.get("lastObservedTime") or event.get("lastTimestamp") or event.get("eventTime") or meta.get("creationTimestamp") or "")


class Reader(Cluster, Protocol):
    """A :class:`~meshcharts.deploy.readiness.Cluster` that also reads one object (None: it does not exist)."""

    def read(self, ref: ObjectRef) -> dict[str, Any] | None: ...


#: Where each kind helm waits for is read: (path prefix, resource), namespaced unless the prefix says not.
_PATHS = {
    "Deployment": ("/apis/apps/v1", "deployments"),
    "StatefulSet": ("/apis/apps/v1", "statefulsets"),
    "DaemonSet": ("/apis/apps/v1", "daemonsets"),
    "ReplicaSet": ("/apis/apps/v1", "replicasets"),
    "Pod": ("/api/v1", "pods"),
    "ReplicationController": ("/api/v1", "replicationcontrollers"),
    "PersistentVolumeClaim": ("/api/v1", "persistentvolumeclaims"),
    "Service": ("/api/v1", "services"),
    "Job": ("/apis/batch/v1", "jobs"),
    "CustomResourceDefinition": ("/apis/apiextensions.k8s.io/v1", "customresourcedefinitions"),
}


def _path(kind: str, namespace: str, name: str | None = None) -> str:
    prefix, resource = _PATHS[kind]
    path = f"{prefix}/namespaces/{namespace}/{resource}" if namespace else f"{prefix}/{resource}"
    return f"{path}/{name}" if name else path


class LiveCluster:
    """Reads objects, what they own and their events from one API server, as plain JSON (no generated
    API classes: they cost a second of imports on first use)."""

    def __init__(self, api: KubeClient) -> None:
        self.api = api

    def _get(self, path: str, query: list[tuple[str, str]] | None = None) -> dict[str, Any]:
        found: dict[str, Any] = get_json(self.api, path, query=query, timeout=TRACK_TIMEOUT)
        return found

    def read(self, ref: ObjectRef) -> dict[str, Any] | None:
        """The object as the API server has it; None when it does not exist."""
        try:
            return self._get(_path(ref.kind, ref.namespace, ref.name))
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    def owned(self, kind: str, namespace: str, owner: Obj) -> list[dict[str, Any]]:
        """The ``kind`` objects (Pods, ReplicaSets) ``owner`` controls: its selector's matches it owns."""
        selector = _selector(owner)
        listing = self._get(_path(kind, namespace), [("labelSelector", selector)] if selector else None)
        uid = (owner.get("metadata") or {}).get("uid")
        return [
            item for item in listing.get("items") or []
            if any(ref.get("uid") == uid and ref.get("controller") for ref in (item.get("metadata") or {}).get("ownerReferences") or [])
        ]

    def event(self, obj: Obj, *, warning: bool = True) -> str | None:
        """The latest event about ``obj`` (this incarnation of it, by uid; a Warning one unless ``warning``
        is False) as ``Reason: message``."""
        meta = obj.get("metadata") or {}
        if not meta.get("uid"):
            return None
        namespace = meta.get("namespace") or "default"
        selector = f"involvedObject.uid={meta['uid']}" + (",type=Warning" if warning else "")
        events = sorted(self._get(f"/api/v1/namespaces/{namespace}/events", [("fieldSelector", selector)]).get("items") or [], key=_time)
        if not events:
            return None
        latest = events[-1]
        reason = latest.get("reason") or "Warning"
        message = " ".join(str(latest.get("message") or latest.get("note") or "").split())
        return f"{reason}: {message}" if message else str(reason)


def not_ready(cluster: Reader, objects: Iterable[ObjectRef]) -> list[ResourceState]:
    """Every object of ``objects`` that helm's --wait would still wait for, with its cause.

    An object that is not there is left out: helm has not created it yet, or ``--atomic`` has
    uninstalled it again; either way it is not what helm's wait failed on.
    """
    states = []
    for ref in objects:
        obj = cluster.read(ref)
        state = judge(ref.kind, ref.namespace, ref.name, obj, cluster) if obj is not None else None
        if state is not None:
            states.append(state)
    return states


def waiting_text(states: list[ResourceState]) -> str:
    """The live view's words for what a release waits for."""
    if not states:
        return "every resource ready"
    named = ", ".join(state.short() for state in states[:NAMED])
    more = f" and {len(states) - NAMED} more" if len(states) > NAMED else ""
    return f"waiting for {named}{more}"


def failure_reason(states: list[ResourceState]) -> str:
    """One line for the summary and the ledger: each not-ready object with its cause."""
    named = "; ".join(state.line() for state in states[:NAMED])
    more = f"; and {len(states) - NAMED} more not ready" if len(states) > NAMED else ""
    return f"not ready: {named}{more}"


def timed_out(message: str) -> bool:
    """Whether helm's error says its --wait ran out of time (not, say, an object the API server rejected)."""
    return any(text in message for text in TIMEOUT_MESSAGES)


class _Stopped(Exception):
    """The tracker was stopped in the middle of a look."""


class _Stoppable:
    """The tracker thread's reads: each first checks that the tracker has not been stopped."""

    def __init__(self, cluster: Reader, stopped: threading.Event) -> None:
        self.cluster = cluster
        self.stopped = stopped

    def _go(self) -> None:
        if self.stopped.is_set():
            raise _Stopped

    def read(self, ref: ObjectRef) -> dict[str, Any] | None:
        self._go()
        return self.cluster.read(ref)

    def owned(self, kind: str, namespace: str, owner: Obj) -> list[dict[str, Any]]:
        self._go()
        return self.cluster.owned(kind, namespace, owner)

    def event(self, obj: Obj, *, warning: bool = True) -> str | None:
        self._go()
        return self.cluster.event(obj, warning=warning)


class ReleaseTracker:
    """Watches one release's objects while helm installs or upgrades it, in a thread of its own.

    ``newer_than`` is the revision live before helm started: only a newer revision's manifest is the
    one helm is waiting for. ``report`` gets the live view's text each time it changes; it is never
    called once :meth:`stop` has returned, so a late poll cannot overwrite what apply says next.
    """

    def __init__(
        self,
        cluster: Reader,
        store: ReleaseStore,
        namespace: str,
        name: str,
        *,
        newer_than: int,
        report: Callable[[str], None],
        interval: float = POLL_SECONDS,
    ) -> None:
        self.cluster = cluster
        self.store = store
        self.namespace = namespace
        self.name = name
        self.newer_than = newer_than
        self.report = report
        self.interval = interval
        # What was not ready the last time anything was: with --atomic, helm rolls back before it
        # answers, and the looks during the rollback see the old, ready objects.
        self.last: list[ResourceState] = []
        self._objects: list[ObjectRef] | None = None
        self._said: str | None = None
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=f"meshcharts-track-{name}", daemon=True)

    def start(self) -> ReleaseTracker:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop looking, and wait for a look under way to end (it stops at its next API call).

        Apply closes the cluster's API client once its releases are done: no look may still be
        using it then. Only a call that hangs (at most :data:`TRACK_TIMEOUT`) is not waited out.
        """
        with self._lock:
            self._stopped.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=sum(TRACK_TIMEOUT))

    def _run(self) -> None:
        while not self._stopped.wait(self.interval):
            states = self.look(_Stoppable(self.cluster, self._stopped))
            if states is None:
                continue
            text = waiting_text(states)
            with self._lock:
                if self._stopped.is_set():
                    return
                if text != self._said:
                    self._said = text
                    self.report(text)

    def _revision_objects(self) -> list[ObjectRef] | None:
        if self._objects is None:
            record: DeployedRelease | None = self.store.release(self.namespace, self.name)
            if record is None or record.revision <= self.newer_than:
                return None  # helm has not stored the revision it works on yet
            self._objects = manifest_objects(record.manifest, self.namespace)
        return self._objects

    def look(self, cluster: Reader | None = None) -> list[ResourceState] | None:
        """What is not ready now; None when the release or the cluster cannot be read (nothing is kept)."""
        try:
            objects = self._revision_objects()
            if objects is None:
                return None
            states = not_ready(cluster or self.cluster, objects)
        except (ApiError, OSError, ValueError, _Stopped):
            return None
        if states:
            self.last = states
        return states

    def reason(self, *, fresh: bool) -> str | None:
        """Why the wait failed: what is not ready now (``fresh``), else what was the last time anything was.

        After ``--atomic`` the objects were rolled back or deleted, so only the looks during the wait tell.
        """
        self.stop()
        states = self.look() if fresh else None
        states = states or self.last
        return failure_reason(states) if states else None


def aftermath(before: DeployedRelease | None, after: DeployedRelease | None, message: str) -> str | None:
    """What a failed ``helm upgrade --install`` left on the cluster, in words for the ledger's note.

    ``before`` is the revision live before helm ran, ``after`` the newest one now, ``message`` what helm
    said (only helm says that it uninstalled a failed first install: no record is left to show it).
    """
    if after is None:
        if before is None and "has been uninstalled" in message:
            return "helm uninstalled the failed release (--atomic): nothing of it is left on the cluster"
        return None
    if before is not None and after.revision <= before.revision:
        return None
    head, _, target = after.description.partition("Rollback to ")
    if after.status == "deployed" and not head and target.isdigit():
        return f"rolled back (--atomic): revision {after.revision - 1} failed; revision {after.revision} restores revision {target}"
    if after.status == "failed":
        return f"revision {after.revision} is left failed on the cluster"
    return None
