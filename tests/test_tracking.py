"""Resource tracking without an API server: helm's readiness rules, the causes named, the lines said.

The objects are JSON as the API server returns them; :class:`FakeCluster` answers what a verdict asks
besides the object (what it owns, its latest Warning event). The live tests (tests/live/
test_apply_failures.py) run the same code against the sandbox's kube-apiserver.
"""

from __future__ import annotations

import threading
from typing import Any

from meshcharts.deploy.live import DeployedRelease
from meshcharts.deploy.readiness import ResourceState, judge, max_unavailable
from meshcharts.deploy.tracking import (
    ObjectRef,
    ReleaseTracker,
    aftermath,
    failure_reason,
    manifest_objects,
    not_ready,
    timed_out,
    waiting_text,
)

NS = "istio-system"


def meta(name: str, uid: str, owner: str | None = None, **extra: Any) -> dict[str, Any]:
    found: dict[str, Any] = {"name": name, "namespace": NS, "uid": uid, "generation": 1, **extra}
    if owner:
        found["ownerReferences"] = [{"uid": owner, "controller": True}]
    return found


class FakeCluster:
    """Objects by (kind, name), owned objects by owner uid, Warning (and Normal) events by object uid."""

    def __init__(self, objects: list[tuple[str, dict[str, Any]]], events: dict[str, str] | None = None, normal: dict[str, str] | None = None) -> None:
        self.objects = objects
        self.events = events or {}
        self.normal = normal or {}

    def read(self, ref: ObjectRef) -> dict[str, Any] | None:
        return next((obj for kind, obj in self.objects if kind == ref.kind and obj["metadata"]["name"] == ref.name), None)

    def owned(self, kind: str, namespace: str, owner: Any) -> list[dict[str, Any]]:
        uid = owner["metadata"]["uid"]
        return [
            obj for k, obj in self.objects
            if k == kind and any(ref["uid"] == uid for ref in obj["metadata"].get("ownerReferences", []))
        ]

    def event(self, obj: Any, *, warning: bool = True) -> str | None:
        uid = obj["metadata"].get("uid")
        return self.events.get(uid) if warning else self.events.get(uid, self.normal.get(uid))


def deployment(name: str = "kiali", replicas: int = 1, ready: int = 0, **spec: Any) -> list[tuple[str, dict[str, Any]]]:
    """A Deployment at revision 2, its old ReplicaSet (revision 1, ready) and its new one with ``ready`` Pods ready."""
    revision = {"deployment.kubernetes.io/revision": "2"}
    return [
        ("Deployment", {
            "metadata": meta(name, "dep", annotations=revision),
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}}, **spec},
            "status": {"observedGeneration": 1},
        }),
        ("ReplicaSet", {
            "metadata": meta(f"{name}-old", "rs-old", "dep", annotations={"deployment.kubernetes.io/revision": "1"}),
            "status": {"observedGeneration": 1, "readyReplicas": replicas},
        }),
        ("ReplicaSet", {
            "metadata": meta(f"{name}-new", "rs-new", "dep", annotations=revision),
            "status": {"observedGeneration": 1, "readyReplicas": ready},
        }),
    ]


def pod(name: str, owner: str, conditions: list[dict[str, Any]], **status: Any) -> tuple[str, dict[str, Any]]:
    return ("Pod", {"metadata": meta(name, f"uid-{name}", owner), "status": {"conditions": conditions, **status}})


NOT_READY = [
    {"type": "PodScheduled", "status": "True"},
    {"type": "Ready", "status": "False", "reason": "ContainersNotReady", "message": "containers with unready status: [kiali]"},
]


def one(objects: list[tuple[str, dict[str, Any]]], kind: str, name: str, events: dict[str, str] | None = None) -> ResourceState | None:
    cluster = FakeCluster(objects, events)
    return judge(kind, NS, name, cluster.read(ObjectRef(kind, NS, name)), cluster)


def test_a_deployment_whose_new_pod_never_becomes_ready_names_the_pod_its_condition_and_its_warning() -> None:
    objects = [*deployment(), pod("kiali-new-x1", "rs-new", NOT_READY)]
    events = {"uid-kiali-new-x1": "Unhealthy: Readiness probe failed: HTTP probe failed with statuscode: 503"}
    state = one(objects, "Deployment", "kiali", events)
    assert state is not None
    assert state.short() == "Deployment kiali (0/1 ready)"
    assert state.line() == (
        "Deployment istio-system/kiali: 0/1 ready: pod kiali-new-x1: ContainersNotReady: containers with unready status: [kiali]; "
        "event Unhealthy: Readiness probe failed: HTTP probe failed with statuscode: 503"
    )


def test_an_unschedulable_pod_is_named_once_even_when_the_scheduler_event_repeats_it() -> None:
    message = "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector."
    conditions = [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message}]
    objects = [*deployment(), pod("kiali-new-x1", "rs-new", conditions, phase="Pending")]
    state = one(objects, "Deployment", "kiali", {"uid-kiali-new-x1": f"FailedScheduling: {message}"})
    assert state is not None and state.reason == f"pod kiali-new-x1: Unschedulable: {message}"


def test_a_waiting_container_is_the_cause_before_the_pods_conditions() -> None:
    waiting = {"name": "kiali", "ready": False, "state": {"waiting": {"reason": "ImagePullBackOff", "message": 'Back-off pulling image "kiali:v9"'}}}
    objects = [*deployment(), pod("kiali-new-x1", "rs-new", NOT_READY, containerStatuses=[waiting])]
    state = one(objects, "Deployment", "kiali")
    assert state is not None and state.reason == 'pod kiali-new-x1: container kiali: ImagePullBackOff: Back-off pulling image "kiali:v9"'


def test_a_deployment_is_ready_as_helm_judges_it() -> None:
    # 4 replicas, maxUnavailable 25%: helm waits for 3 ready Pods of the newest ReplicaSet.
    assert one(deployment(replicas=4, ready=3), "Deployment", "kiali") is None
    waiting = one(deployment(replicas=4, ready=2), "Deployment", "kiali")
    assert waiting is not None and waiting.progress == "2/4 ready"
    # Ready Pods of the OLD ReplicaSet do not count (the old one has 1 ready above).
    assert one(deployment(ready=0), "Deployment", "kiali") is not None
    # A paused Deployment counts as ready; a zero-surge, zero-unavailable rollout still allows one.
    assert one(deployment(paused=True), "Deployment", "kiali") is None
    strict = {"spec": {"replicas": 2, "strategy": {"rollingUpdate": {"maxSurge": 0, "maxUnavailable": 0}}}}
    assert max_unavailable(strict) == 1
    assert max_unavailable({"spec": {"replicas": 3, "strategy": {"type": "Recreate"}}}) == 0


def test_a_deployment_not_yet_observed_or_without_a_new_replicaset_is_waited_for() -> None:
    objects = deployment(ready=1)
    objects[0][1]["metadata"]["generation"] = 2  # changed, not yet seen by its controller
    assert one(objects, "Deployment", "kiali") is not None
    quota = {"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate", "message": 'pods "kiali-x" is forbidden: exceeded quota: q'}
    only = [deployment()[0]]
    only[0][1]["status"]["conditions"] = [quota]
    state = one(only, "Deployment", "kiali")
    assert state is not None and state.line() == 'Deployment istio-system/kiali: 0/1 ready: FailedCreate: pods "kiali-x" is forbidden: exceeded quota: q'


def test_a_pending_claim_says_the_provisioners_event() -> None:
    claim = ("PersistentVolumeClaim", {"metadata": meta("istio-jaeger-pvc", "pvc"), "spec": {"storageClassName": "missing"}, "status": {"phase": "Pending"}})
    state = one([claim], "PersistentVolumeClaim", "istio-jaeger-pvc", {"pvc": 'ProvisioningFailed: storageclass.storage.k8s.io "missing" not found'})
    assert state is not None
    assert state.line() == 'PersistentVolumeClaim istio-system/istio-jaeger-pvc: Pending: event ProvisioningFailed: storageclass.storage.k8s.io "missing" not found'
    # A class whose provisioner is not running: kube-controller-manager says so only in a Normal event.
    waiting = "ExternalProvisioning: Waiting for a volume to be created either by the external provisioner 'example.com/none' or manually"
    state = FakeCluster([claim], normal={"pvc": waiting})
    assert judge("PersistentVolumeClaim", NS, "istio-jaeger-pvc", claim[1], state) == ResourceState(
        "PersistentVolumeClaim", NS, "istio-jaeger-pvc", "Pending", f"event {waiting}"
    )
    claim[1]["status"]["phase"] = "Bound"
    assert one([claim], "PersistentVolumeClaim", "istio-jaeger-pvc") is None


def test_services_jobs_statefulsets_daemonsets_and_kinds_helm_does_not_wait_for() -> None:
    lb = ("Service", {"metadata": meta("kiali", "svc"), "spec": {"type": "LoadBalancer", "clusterIP": "10.0.0.1"}, "status": {}})
    assert (one([lb], "Service", "kiali") or ResourceState("", "", "", "")).progress == "no load balancer address"
    lb[1]["spec"]["externalIPs"] = ["192.0.2.1"]
    assert one([lb], "Service", "kiali") is None
    job = ("Job", {"metadata": meta("migrate", "job"), "spec": {"backoffLimit": 1, "completions": 1},
                   "status": {"failed": 2, "conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}]}})
    assert (one([job], "Job", "migrate") or ResourceState("", "", "", "")).line() == (
        "Job istio-system/migrate: failed: BackoffLimitExceeded: Job has reached the specified backoff limit"
    )
    sts = ("StatefulSet", {"metadata": meta("jaeger", "sts"), "spec": {"replicas": 2},
                           "status": {"observedGeneration": 1, "readyReplicas": 1, "updatedReplicas": 2, "currentRevision": "a", "updateRevision": "a"}})
    objects = [sts, pod("jaeger-1", "sts", NOT_READY)]
    state = one(objects, "StatefulSet", "jaeger")
    assert state is not None and state.progress == "1/2 ready" and (state.reason or "").startswith("pod jaeger-1: ContainersNotReady")
    ds = ("DaemonSet", {"metadata": meta("agent", "ds"), "spec": {},
                        "status": {"observedGeneration": 1, "desiredNumberScheduled": 3, "updatedNumberScheduled": 3, "numberReady": 2}})
    assert one([ds], "DaemonSet", "agent") is None  # maxUnavailable defaults to 1
    ds[1]["status"]["numberReady"] = 1
    assert (one([ds], "DaemonSet", "agent") or ResourceState("", "", "", "")).progress == "1/3 ready"
    assert one([("ConfigMap", {"metadata": meta("x", "cm")})], "ConfigMap", "x") is None
    assert not_ready(FakeCluster([]), [ObjectRef("Deployment", NS, "gone")]) == []  # not created yet, or uninstalled


MANIFEST = """---
# Source: kiali/templates/serviceaccount.yaml
apiVersion: v1
kind: ServiceAccount
metadata: {name: kiali}
---
# Source: kiali/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata: {name: kiali}
---
apiVersion: v1
kind: Service
metadata: {name: kiali, namespace: other}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: monitoringdashboards.monitoring.kiali.io}
"""


def test_the_manifest_gives_the_objects_helm_waits_for_where_helm_puts_them() -> None:
    assert manifest_objects(MANIFEST, NS) == [
        ObjectRef("Deployment", NS, "kiali"),
        ObjectRef("Service", "other", "kiali"),
        ObjectRef("CustomResourceDefinition", "", "monitoringdashboards.monitoring.kiali.io"),
    ]
    assert manifest_objects("{not: yaml: at all", NS) == []


def test_the_live_view_and_the_failure_line_name_at_most_three_objects() -> None:
    states = [ResourceState("Deployment", NS, f"d{i}", "0/1 ready", f"pod d{i}-x: ContainersNotReady") for i in range(5)]
    assert waiting_text(states[:1]) == "waiting for Deployment d0 (0/1 ready)"
    assert waiting_text(states) == "waiting for Deployment d0 (0/1 ready), Deployment d1 (0/1 ready), Deployment d2 (0/1 ready) and 2 more"
    assert waiting_text([]) == "every resource ready"
    line = failure_reason(states)
    assert line.startswith("not ready: Deployment istio-system/d0: 0/1 ready: pod d0-x: ContainersNotReady; Deployment istio-system/d1")
    assert line.endswith("; and 2 more not ready") and "\n" not in line


def test_only_a_wait_that_ran_out_of_time_gets_the_not_ready_line() -> None:
    assert timed_out("helm upgrade --install kiali: context deadline exceeded")
    assert timed_out("helm upgrade --install kiali: timed out waiting for the condition")  # helm 3.10
    assert not timed_out('helm upgrade --install kiali: Deployment.apps "kiali" is invalid: spec.template.metadata.labels: Invalid value')


KIALI_ONLY = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: kiali}\n"


def _release(revision: int, status: str, description: str = "") -> DeployedRelease:
    return DeployedRelease("kiali", NS, revision, status, "kiali", "1.0.0", description, {}, f"sh.helm.release.v1.kiali.v{revision}", KIALI_ONLY)


def test_aftermath_says_what_helm_left_behind() -> None:
    atomic_install = "release kiali failed, and has been uninstalled due to atomic being set: context deadline exceeded"
    assert aftermath(None, None, atomic_install) == "helm uninstalled the failed release (--atomic): nothing of it is left on the cluster"
    assert aftermath(None, None, "Chart.yaml file is missing") is None
    assert aftermath(_release(1, "deployed"), _release(3, "deployed", "Rollback to 1"), "rolled back") == (
        "rolled back (--atomic): revision 2 failed; revision 3 restores revision 1"
    )
    assert aftermath(None, _release(1, "failed"), "context deadline exceeded") == "revision 1 is left failed on the cluster"
    assert aftermath(_release(4, "deployed"), _release(4, "deployed"), "rejected before a revision was stored") is None


class FakeStore:
    def __init__(self, release: DeployedRelease | None) -> None:
        self.current = release

    def release(self, namespace: str, name: str) -> DeployedRelease | None:
        return self.current


def test_the_tracker_ignores_older_revisions_and_keeps_what_was_last_not_ready() -> None:
    cluster = FakeCluster([*deployment(), pod("kiali-new-x1", "rs-new", NOT_READY)])
    store = FakeStore(_release(1, "deployed"))
    said: list[str] = []
    tracker = ReleaseTracker(cluster, store, NS, "kiali", newer_than=1, report=said.append, interval=3600)  # type: ignore[arg-type]
    assert tracker.look() is None  # revision 1 is the one live before helm started: not what helm waits for
    store.current = _release(2, "pending-upgrade")
    states = tracker.look()
    assert states is not None and [state.short() for state in states] == ["Deployment kiali (0/1 ready)"]
    cluster.objects[2][1]["status"]["readyReplicas"] = 1
    assert tracker.look() == []  # ready now (helm rolled back to the ReplicaSet that was ready)
    cluster.objects.clear()  # or uninstalled it: only what was last not ready tells why
    assert tracker.look() == []  # an object that is gone is not what helm waited for
    assert tracker.reason(fresh=False) == (
        "not ready: Deployment istio-system/kiali: 0/1 ready: pod kiali-new-x1: ContainersNotReady: containers with unready status: [kiali]"
    )


def test_the_tracker_thread_reports_changes_and_nothing_after_stop() -> None:
    cluster = FakeCluster([*deployment(), pod("kiali-new-x1", "rs-new", NOT_READY)])
    seen = threading.Event()
    said: list[str] = []

    def report(text: str) -> None:
        said.append(text)
        seen.set()

    tracker = ReleaseTracker(cluster, FakeStore(_release(1, "pending-install")), NS, "kiali", newer_than=0, report=report, interval=0.01)  # type: ignore[arg-type]
    tracker.start()
    assert seen.wait(10)
    tracker.stop()
    assert not tracker._thread.is_alive()  # stop() returns once the thread is done with the API client
    cluster.objects[2][1]["status"]["readyReplicas"] = 1
    assert said == ["waiting for Deployment kiali (0/1 ready)"]
    assert not_ready(cluster, [ObjectRef("Deployment", NS, "kiali")]) == []


def test_stopping_in_the_middle_of_a_look_waits_for_the_call_under_way_and_makes_no_other() -> None:
    entered, release = threading.Event(), threading.Event()
    reads: list[str] = []

    class SlowCluster(FakeCluster):
        def read(self, ref: ObjectRef) -> dict[str, Any] | None:
            reads.append(ref.name)
            entered.set()
            release.wait(10)
            return super().read(ref)

    two = DeployedRelease("kiali", NS, 1, "pending-install", "kiali", "1.0.0", "", {}, "r", KIALI_ONLY + "---\n" + KIALI_ONLY.replace("kiali}", "other}"))
    said: list[str] = []
    tracker = ReleaseTracker(SlowCluster(deployment()), FakeStore(two), NS, "kiali", newer_than=0, report=said.append, interval=0.01)  # type: ignore[arg-type]
    tracker.start()
    assert entered.wait(10)
    threading.Timer(0.2, release.set).start()
    tracker.stop()
    assert not tracker._thread.is_alive()
    assert reads == ["kiali"] and said == []  # the second object was not read, nothing was reported
