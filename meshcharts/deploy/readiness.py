"""Is one object of a release ready, judged as ``helm --wait`` judges it, and if not, why not.

The rules are helm 3's ``ReadyChecker`` (``pkg/kube/ready.go``, with the options helm's install and
upgrade use: a paused Deployment counts as ready, Jobs are checked because apply passes
``--wait-for-jobs``): a Deployment waits for its newest ReplicaSet to have ``replicas - maxUnavailable``
ready Pods and for both to have observed their latest generation; a StatefulSet for every replica
updated and ready; a DaemonSet (rolling update) for its scheduled Pods to be ready; a ReplicaSet or
ReplicationController for every Pod of it to be ready; a Pod for its ``Ready`` condition; a PersistentVolumeClaim for ``Bound``; a Service for its cluster IP and, for a
LoadBalancer without external IPs, an ingress address; a Job to complete (a Job past its backoff
limit has failed); a CustomResourceDefinition to be established. Every other kind is ready at once.
Helm 4 asks kstatus instead, whose verdicts agree on these kinds once the rollout settles.

Objects are plain JSON dicts as the API server returns them, and whatever else a verdict needs
(the ReplicaSets and Pods of a Deployment, the latest Warning event of an object) comes from a
:class:`Cluster`, so the rules are tested without an API server.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

Obj = Mapping[str, Any]

#: How much of one condition or event message a reason keeps (a scheduler message can run long).
MESSAGE_LIMIT = 240


@dataclass(frozen=True)
class ResourceState:
    """One object of a release that is not ready: how far it got and the cause the cluster gives."""

    kind: str
    namespace: str
    name: str
    progress: str  # "0/1 ready", "Pending", "no load balancer address" ...
    reason: str | None = None  # "pod kiali-7c9d-x2: ContainersNotReady: containers with unready status: [kiali]"

    def short(self) -> str:
        """For the live view: ``Deployment kiali (0/1 ready)``."""
        return f"{self.kind} {self.name} ({self.progress})"

    def line(self) -> str:
        """For the summary and the ledger: ``Deployment istio-system/kiali: 0/1 ready: pod ...: reason``."""
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        text = f"{self.kind} {where}: {self.progress}"
        return f"{text}: {self.reason}" if self.reason else text


class Cluster(Protocol):
    """What a verdict may need besides the object itself (the live reader in :mod:`tracking`)."""

    def owned(self, kind: str, namespace: str, owner: Obj) -> list[dict[str, Any]]:
        """Objects of ``kind`` (``ReplicaSet``, ``Pod``) in ``namespace`` that ``owner`` controls."""
        ...

    def event(self, obj: Obj, *, warning: bool = True) -> str | None:
        """The latest event about ``obj`` (only a Warning one unless ``warning`` is False) as ``Reason: message``."""
        ...


def _meta(obj: Obj) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def _spec(obj: Obj) -> Mapping[str, Any]:
    return obj.get("spec") or {}


def _status(obj: Obj) -> Mapping[str, Any]:
    return obj.get("status") or {}


def _int(value: Any, default: int = 0) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def clip(text: str) -> str:
    """One line, at most :data:`MESSAGE_LIMIT` characters."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= MESSAGE_LIMIT else flat[: MESSAGE_LIMIT - 3] + "..."


def _said(reason: Any, message: Any) -> str:
    parts = [clip(part) for part in (reason, message) if part]
    return ": ".join(parts)


def _observed(obj: Obj) -> bool:
    return _int(_status(obj).get("observedGeneration"), -1) == _int(_meta(obj).get("generation"), 0)


def _conditions(obj: Obj) -> list[Mapping[str, Any]]:
    return [item for item in _status(obj).get("conditions") or [] if isinstance(item, Mapping)]


def _with_event(cause: str | None, obj: Obj, cluster: Cluster) -> str | None:
    """``cause``, followed by the latest Warning event when that says something the cause does not."""
    event = cluster.event(obj)
    if event and (cause is None or event.split(": ", 1)[-1] not in cause):
        return f"{cause}; event {event}" if cause else f"event {event}"
    return cause


def pod_ready(pod: Obj) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in _conditions(pod))


def pod_cause(pod: Obj, cluster: Cluster) -> str:
    """Why a Pod is not ready, most specific first: a container that waits or died (ImagePullBackOff,
    CrashLoopBackOff), else the condition that is False (Unschedulable, ContainersNotReady), else its
    phase; then the latest Warning event (a failing readiness probe says itself only there)."""
    status = _status(pod)
    cause = None
    for container in [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]:
        state = container.get("state") or {}
        stuck = state.get("waiting") or (state.get("terminated") if not container.get("ready") else None)
        if stuck and stuck.get("reason") and stuck.get("reason") not in ("ContainerCreating", "PodInitializing", "Completed"):
            cause = f"container {container.get('name')}: {_said(stuck.get('reason'), stuck.get('message'))}"
            break
    if cause is None:
        order = {"PodScheduled": 0, "Initialized": 1, "ContainersReady": 2, "Ready": 3}
        false = sorted((c for c in _conditions(pod) if c.get("status") == "False"), key=lambda c: order.get(str(c.get("type")), 9))
        if false:
            cause = _said(false[0].get("reason") or f"{false[0].get('type')} is False", false[0].get("message"))
    cause = _with_event(cause or f"phase {status.get('phase') or 'unknown'}", pod, cluster)
    return f"pod {_meta(pod).get('name')}: {cause}"


def _pods_cause(owner: Obj, namespace: str, cluster: Cluster) -> str | None:
    """The cause of the first not-ready Pod ``owner`` controls, or None when every one is ready."""
    pods = sorted(cluster.owned("Pod", namespace, owner), key=lambda pod: str(_meta(pod).get("name")))
    waiting = [pod for pod in pods if not pod_ready(pod) and not _meta(pod).get("deletionTimestamp")]
    return pod_cause(waiting[0], cluster) if waiting else None


def _own_cause(obj: Obj, cluster: Cluster, kinds: tuple[str, ...] = ("ReplicaFailure",)) -> str | None:
    """A failure condition the controller set on ``obj`` (e.g. ReplicaFailure: quota exceeded), else its latest Warning event."""
    for condition in _conditions(obj):
        if (condition.get("type") in kinds and condition.get("status") == "True") or (
            condition.get("type") == "Progressing" and condition.get("status") == "False"
        ):
            return _said(condition.get("reason"), condition.get("message"))
    event = cluster.event(obj)
    return f"event {event}" if event else None


def _scaled(value: Any, total: int, round_up: bool) -> int:
    """An int-or-percent rollout setting of ``total`` replicas (Kubernetes' GetScaledValueFromIntOrPercent)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value).strip()
    if text.endswith("%") and text[:-1].isdigit():
        share = int(text[:-1]) * total / 100
        return math.ceil(share) if round_up else math.floor(share)
    return total  # helm: an invalid value counts as all replicas


def max_unavailable(deployment: Obj) -> int:
    """Kubernetes' ``deploymentutil.MaxUnavailable``: how many replicas may be unready during a rollout."""
    spec = _spec(deployment)
    replicas = _int(spec.get("replicas"), 1)
    strategy = spec.get("strategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate" or replicas == 0:
        return 0
    rolling = strategy.get("rollingUpdate") or {}
    surge = _scaled(rolling.get("maxSurge", "25%"), replicas, True)
    unavailable = _scaled(rolling.get("maxUnavailable", "25%"), replicas, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return min(unavailable, replicas)


REVISION = "deployment.kubernetes.io/revision"


def _deployment(deployment: Obj, namespace: str, cluster: Cluster) -> tuple[str, str | None] | None:
    spec = _spec(deployment)
    if spec.get("paused"):
        return None
    replicas = _int(spec.get("replicas"), 1)
    revision = (_meta(deployment).get("annotations") or {}).get(REVISION)
    newest = [rs for rs in cluster.owned("ReplicaSet", namespace, deployment) if (_meta(rs).get("annotations") or {}).get(REVISION) == revision]
    if revision is None or not newest:
        return f"0/{replicas} ready", _own_cause(deployment, cluster) or "no ReplicaSet for its latest revision yet"
    replica_set = newest[0]
    ready = _int(_status(replica_set).get("readyReplicas"))
    if _observed(replica_set) and _observed(deployment) and ready >= replicas - max_unavailable(deployment):
        return None
    cause = _pods_cause(replica_set, namespace, cluster) or _own_cause(replica_set, cluster) or _own_cause(deployment, cluster)
    return f"{ready}/{replicas} ready", cause


def _stateful_set(sts: Obj, namespace: str, cluster: Cluster) -> tuple[str, str | None] | None:
    spec, status = _spec(sts), _status(sts)
    replicas = _int(spec.get("replicas"), 1)
    ready = _int(status.get("readyReplicas"))
    progress = f"{ready}/{replicas} ready"
    if not _observed(sts):
        return progress, "its controller has not seen the latest change yet"
    strategy = spec.get("updateStrategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return None
    partition = _int((strategy.get("rollingUpdate") or {}).get("partition"))
    updated = _int(status.get("updatedReplicas"))
    if updated >= replicas - partition and ready == replicas and (
        partition != 0 or status.get("currentRevision") == status.get("updateRevision")
    ):
        return None
    if updated < replicas - partition:
        progress = f"{updated}/{replicas - partition} updated, {progress}"
    return progress, _pods_cause(sts, namespace, cluster) or _own_cause(sts, cluster)


def _daemon_set(ds: Obj, namespace: str, cluster: Cluster) -> tuple[str, str | None] | None:
    spec, status = _spec(ds), _status(ds)
    desired = _int(status.get("desiredNumberScheduled"))
    ready = _int(status.get("numberReady"))
    progress = f"{ready}/{desired} ready"
    if not _observed(ds):
        return progress, "its controller has not seen the latest change yet"
    strategy = spec.get("updateStrategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return None
    if _int(status.get("updatedNumberScheduled")) != desired:
        return f"{_int(status.get('updatedNumberScheduled'))}/{desired} scheduled", _pods_cause(ds, namespace, cluster) or _own_cause(ds, cluster)
    unavailable = _scaled((strategy.get("rollingUpdate") or {}).get("maxUnavailable", 1), desired, True)
    if ready >= desired - unavailable:
        return None
    return progress, _pods_cause(ds, namespace, cluster) or _own_cause(ds, cluster)


def _pod(pod: Obj, namespace: str, cluster: Cluster) -> tuple[str, str | None] | None:
    if pod_ready(pod):
        return None
    return "not ready", pod_cause(pod, cluster).split(": ", 1)[1]


def _replica_set(replica_set: Obj, namespace: str, cluster: Cluster) -> tuple[str, str | None] | None:
    """A ReplicaSet or ReplicationController: its latest generation observed and every Pod of it ready."""
    replicas = _int(_spec(replica_set).get("replicas"), 1)
    progress = f"{_int(_status(replica_set).get('readyReplicas'))}/{replicas} ready"
    if not _observed(replica_set):
        return progress, "its controller has not seen the latest change yet"
    cause = _pods_cause(replica_set, namespace, cluster)
    return (progress, cause) if cause else None


def _claim(claim: Obj, namespace: str, cluster: Cluster) -> tuple[str, str | None] | None:
    phase = _status(claim).get("phase") or "Pending"
    if phase == "Bound":
        return None
    # No Warning while a provisioner that is not running is waited for: kube-controller-manager says
    # so only in a Normal event (ExternalProvisioning: "Waiting for a volume to be created ...").
    said = cluster.event(claim) or cluster.event(claim, warning=False)
    return phase, f"event {said}" if said else None


def _service(service: Obj, namespace: str, cluster: Cluster) -> tuple[str, str | None] | None:
    spec = _spec(service)
    if spec.get("type") == "ExternalName":
        return None
    if not spec.get("clusterIP"):
        return "no cluster IP", _with_event(None, service, cluster)
    if spec.get("type") == "LoadBalancer" and not spec.get("externalIPs") and not (_status(service).get("loadBalancer") or {}).get("ingress"):
        return "no load balancer address", _with_event(None, service, cluster)
    return None


def _job(job: Obj, namespace: str, cluster: Cluster) -> tuple[str, str | None] | None:
    spec, status = _spec(job), _status(job)
    if _int(status.get("failed")) > _int(spec.get("backoffLimit"), 6):
        failed = next((c for c in _conditions(job) if c.get("type") == "Failed" and c.get("status") == "True"), None)
        cause = _said(failed.get("reason"), failed.get("message")) if failed else None
        return "failed", cause or _pods_cause(job, namespace, cluster)
    completions = spec.get("completions")
    succeeded = _int(status.get("succeeded"))
    if isinstance(completions, int) and succeeded < completions:
        return f"{succeeded}/{completions} completed", _pods_cause(job, namespace, cluster) or _own_cause(job, cluster)
    return None


def _definition(crd: Obj, namespace: str, cluster: Cluster) -> tuple[str, str | None] | None:
    for condition in _conditions(crd):
        if condition.get("type") == "Established" and condition.get("status") == "True":
            return None
        if condition.get("type") == "NamesAccepted" and condition.get("status") == "False":
            return None  # helm lets a name conflict pass
    return "not established", None


JUDGES = {
    "Deployment": _deployment,
    "StatefulSet": _stateful_set,
    "DaemonSet": _daemon_set,
    "Pod": _pod,
    "ReplicaSet": _replica_set,
    "ReplicationController": _replica_set,
    "PersistentVolumeClaim": _claim,
    "Service": _service,
    "Job": _job,
    "CustomResourceDefinition": _definition,
}


def judge(kind: str, namespace: str, name: str, obj: Obj, cluster: Cluster) -> ResourceState | None:
    """None when ``obj`` is ready (or of a kind helm does not wait for); else what it waits for and why."""
    check = JUDGES.get(kind)
    verdict = check(obj, namespace, cluster) if check is not None else None
    if verdict is None:
        return None
    progress, reason = verdict
    return ResourceState(kind, namespace, name, progress, reason)
