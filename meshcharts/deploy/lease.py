"""One apply per stack and cluster at a time, seen from the cluster: a coordination.k8s.io Lease.

The ledger's lock (:mod:`meshcharts.ledger.locks`) only sees applies that share the ledger. Two
checkouts of one stack, each with its own SQLite ledger (a laptop and a CI runner), would both get it
and run helm on the same releases at once. The cluster is the place both of them write to, so the
lock that counts lives there: a Lease named ``meshcharts-<stack>`` in ``kube-system``.

Why ``kube-system``: it exists on every cluster (the API server creates it), so taking the lease needs
no cluster-wide right to create a namespace, only a Role in that one namespace (see
docs/security.md), and meshcharts leaves no namespace of its own on the cluster.

How it is judged, as client-go's leader election does: the record names a holder, when it was
taken and renewed, and for how long it is good. A record is free when it names no holder, or when
``renewTime + leaseDurationSeconds`` is past; and, independent of clocks, when we have watched it
stay unchanged (the same resourceVersion) for a whole duration, since a live holder renews it
every third of that. Taking it is a create (only one create of a name succeeds) or an update carrying
the resourceVersion we read (the API server refuses it if anyone wrote in between), so of two
takers at once exactly one wins. While held, a background thread renews it; a holder killed with
``kill -9`` stops renewing, and the next apply takes the lease once it has expired. On exit the
lease is deleted, on condition that it is still the version we wrote.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from datetime import datetime
from types import TracebackType
from typing import Any

from meshcharts.core.diagnostics import Diagnostic, ExitCode, MeshchartsError
from meshcharts.deploy.lease_record import LeaseRecord, is_dns_label, lease_name, stamp, utc_now
from meshcharts.deploy.live import REQUEST_TIMEOUT, request_json
from meshcharts.kube import ApiError, KubeClient

NAMESPACE = "kube-system"
#: How long a lease stays good without renewal: a killed apply blocks the next one at most this long.
DURATION = 30
#: Releasing never makes apply wait on an API server that stopped answering: the lease expires anyway.
RELEASE_TIMEOUT = (5, 10)
RELEASE_WAIT = 2.0
POLL_FIRST = 0.2
POLL_MAX = 2.0
LABELS = {"app.kubernetes.io/managed-by": "meshcharts"}
STACK_LABEL = "meshcharts.io/stack"


class ClusterLocked(MeshchartsError):
    """Another apply holds the stack's lease on this cluster and did not let go in time (exit 1)."""

    exit_code = ExitCode.INVALID


class ClusterLease:
    """``with ClusterLease(api, stack, cluster, holder, timeout=...)``: the lease held inside the block.

    ``on_wait`` is called once, with the holder's description, when we start waiting. Setting
    ``cancel`` ends a wait at once (the user interrupted the apply). ``on_lost`` is called once if,
    while held, the lease stops being ours (renewals failed for a whole duration, or someone deleted
    or took it): helm commands already running cannot be taken back, so the caller can only say so.
    """

    def __init__(
        self,
        api: KubeClient,
        stack_name: str,
        cluster: str,
        holder: str,
        *,
        timeout: float,
        on_wait: Callable[[str], None] | None = None,
        cancel: threading.Event | None = None,
        on_lost: Callable[[str], None] | None = None,
        duration: int = DURATION,
        namespace: str = NAMESPACE,
    ) -> None:
        self.api = api
        self.stack_name = stack_name
        self.cluster = cluster
        self.holder = holder
        self.timeout = timeout
        self.on_wait = on_wait
        self.cancel = cancel or threading.Event()
        self.on_lost = on_lost
        self.duration = duration
        self.namespace = namespace
        self.name = lease_name(stack_name)
        self.lost = threading.Event()
        self._mine: LeaseRecord | None = None  # the record as we last wrote it
        self._seen: tuple[str, float] | None = None  # (resourceVersion, monotonic time first seen)
        self._done = threading.Event()
        self._renewer: threading.Thread | None = None

    @property
    def where(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def _leases(self) -> str:
        return f"/apis/coordination.k8s.io/v1/namespaces/{self.namespace}/leases"

    @property
    def _lease(self) -> str:
        return f"{self._leases}/{self.name}"

    def __enter__(self) -> ClusterLease:
        self.acquire()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self.release()

    # -- taking it ---------------------------------------------------------------------------------

    def acquire(self) -> None:
        """Take the lease, waiting up to ``timeout`` seconds for its holder; ClusterLocked after that."""
        started = time.monotonic()
        deadline = started + max(0.0, self.timeout)
        pause, told = POLL_FIRST, False
        while True:
            holder = self._try_acquire()
            if holder is None:
                self._done.clear()
                self._renewer = threading.Thread(target=self._renew_loop, name=f"meshcharts-lease-{self.cluster}", daemon=True)
                self._renewer.start()
                return
            if not told and self.on_wait is not None and self.timeout > 0:
                self.on_wait(holder.describe())
                told = True
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.cancel.is_set():
                cancelled = self.cancel.is_set()
                waited = f"{time.monotonic() - started:.0f}" if cancelled else f"{self.timeout:g}"
                why = "interrupted while waiting for the cluster lease" if cancelled else "another apply holds the cluster lease"
                raise ClusterLocked(
                    Diagnostic(
                        message=f"stack {self.stack_name}, cluster {self.cluster}: {why} {self.where}: {holder.describe()}"
                        + (f"; waited {waited}s" if self.timeout > 0 else ""),
                        rule="apply.cluster-locked",
                        cluster=self.cluster,
                        hint=f"if that apply is gone, the lease expires by itself; or: kubectl delete lease -n {self.namespace} {self.name}",
                    )
                )
            self.cancel.wait(min(pause, remaining))
            pause = min(POLL_MAX, pause * 2)

    def _try_acquire(self) -> LeaseRecord | None:
        """One attempt: None when the lease is now ours, else the live record that holds it.

        A conflict (409) means another taker wrote first; the next read shows that holder, live.
        """
        while True:
            try:
                lease = self._call("read", "GET", self._lease)
            except ApiError as exc:
                if exc.status != 404:
                    raise self._failure("read", exc) from None
                lease = None
            now = utc_now()
            if lease is None:
                body = self._body(now, now, transitions=0)
                if self._write("create", "POST", self._leases, body):
                    return None
                continue
            current = LeaseRecord.of(lease)
            if not self._free(current, now):
                return current
            changes_hands = current.holder != self.holder
            body = self._body(now, now, transitions=current.transitions + (1 if changes_hands else 0), version=current.resource_version)
            if self._write("update", "PUT", self._lease, body):
                return None

    def _free(self, record: LeaseRecord, now: datetime) -> bool:
        """Whether ``record`` may be taken: expired by its own times, or seen unchanged for a whole duration."""
        if record.expired(now):
            return True
        seen = time.monotonic()
        if self._seen is None or self._seen[0] != record.resource_version:
            self._seen = (record.resource_version, seen)
            return False
        return seen - self._seen[1] > (record.duration or self.duration)

    def _body(self, acquired: datetime, renewed: datetime, *, transitions: int, version: str | None = None) -> dict[str, Any]:
        """The Lease we write, as plain JSON (MicroTimes formatted the way the API server reads them)."""
        metadata: dict[str, Any] = {
            "name": self.name,
            "namespace": self.namespace,
            "labels": {**LABELS, **({STACK_LABEL: self.stack_name} if is_dns_label(self.stack_name) else {})},
        }
        if version is not None:
            metadata["resourceVersion"] = version
        return {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": metadata,
            "spec": {
                "holderIdentity": self.holder,
                "acquireTime": stamp(acquired),
                "renewTime": stamp(renewed),
                "leaseDurationSeconds": self.duration,
                "leaseTransitions": transitions,
            },
        }

    def _write(self, verb: str, method: str, path: str, body: dict[str, Any]) -> bool:
        """Create or update; False when another writer got there first (409), so nothing of ours was written."""
        try:
            written = self._call(verb, method, path, body)
        except ApiError as exc:
            if exc.status == 409:
                return False
            raise self._failure(verb, exc) from None
        self._mine = LeaseRecord.of(written)
        return True

    def _call(self, verb: str, method: str, path: str, body: dict[str, Any] | None = None, *, timeout: tuple[float, float] = REQUEST_TIMEOUT) -> Any:
        """One API call (JSON on coordination.k8s.io/v1) with a bounded timeout; a connection failure is the cluster being unreachable."""
        try:
            return request_json(self.api, method, path, body=body, timeout=timeout)
        except ApiError:
            raise
        except (OSError, ValueError) as exc:
            text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise MeshchartsError(
                Diagnostic(message=f"cannot {verb} the cluster lease {self.where}: {text}", rule="cluster.unreachable", cluster=self.cluster),
                exit_code=ExitCode.INVALID,
            ) from None

    def _failure(self, verb: str, exc: ApiError) -> MeshchartsError:
        hint = "apply needs get, create, update and delete on leases in kube-system (docs/security.md)" if exc.status == 403 else None
        return MeshchartsError(
            Diagnostic(
                message=f"cannot {verb} the cluster lease {self.where}: {exc.status} {exc.reason}",
                rule="apply.cluster-lease",
                cluster=self.cluster,
                hint=hint,
            ),
            exit_code=ExitCode.INVALID,
        )

    # -- holding it --------------------------------------------------------------------------------

    def _renew_loop(self) -> None:
        """Renew every third of the duration until released; give up (``on_lost``) once it is not ours."""
        interval = max(0.1, self.duration / 3)
        last_renewed = time.monotonic()
        while not self._done.wait(interval):
            try:
                why = self._renew((max(2.0, interval), max(2.0, interval)))
            except (ApiError, MeshchartsError) as exc:
                if self._done.is_set():
                    return
                if time.monotonic() - last_renewed <= self.duration:
                    continue  # try again; the lease is still good until its duration has passed
                text = f"{exc.status} {exc.reason}" if isinstance(exc, ApiError) else exc.diagnostics[0].message
                why = f"it could not be renewed for {self.duration}s ({text}); another apply may take it"
            if why is None:
                last_renewed = time.monotonic()
                continue
            if self._done.is_set():
                return  # released meanwhile (its delete is why it is gone): nothing was lost
            self.lost.set()
            if self.on_lost is not None:
                self.on_lost(f"lost the cluster lease {self.where}: {why}")
            return

    def _renew(self, timeout: tuple[float, float]) -> str | None:
        """One renewal, each call within ``timeout`` (shorter than the duration): None when done, else why it is no longer ours.

        A conflict whose record still names us with our acquire time was a write to another field (a
        label added by hand): the lease is still ours, and the renewal is retried on that version. A
        lease deleted by hand is written again (the API server creates a Lease on update), unless
        another apply created it first: then the update conflicts and names that holder.
        """
        mine = self._mine
        assert mine is not None and mine.acquired is not None, "renewing a lease that was never taken"
        for _ in range(3):
            body = self._body(mine.acquired, utc_now(), transitions=mine.transitions, version=mine.resource_version)
            try:
                self._mine = LeaseRecord.of(self._call("renew", "PUT", self._lease, body, timeout=timeout))
                return None
            except ApiError as exc:
                if exc.status != 409:
                    raise
            found = LeaseRecord.of(self._call("renew", "GET", self._lease, timeout=timeout))
            if found.holder != self.holder or found.acquired != mine.acquired:
                return f"it is now held by {found.describe()}"
            self._mine = mine = found
        # Written to by someone else three times in a row, still naming us: the next round tries again.
        raise MeshchartsError(Diagnostic(message=f"the cluster lease {self.where} kept changing while renewing it", rule="apply.cluster-lease"))

    def release(self) -> None:
        """Stop renewing and delete the lease, on condition that it is still the version we wrote.

        A failure here is not reported: the apply is over, and a lease left behind expires by itself. A
        renewal still waiting for an API server that stopped answering is not waited for either.
        """
        self._done.set()
        renewer, self._renewer = self._renewer, None
        if renewer is not None:
            renewer.join(RELEASE_WAIT)
            if renewer.is_alive():
                return
        mine, self._mine = self._mine, None
        if mine is None or self.lost.is_set():
            return
        options = {"apiVersion": "v1", "kind": "DeleteOptions", "preconditions": {"resourceVersion": mine.resource_version}}
        # Not ours to report: 409 means someone else holds it by now, 404 that it is already gone, and
        # an unreachable server lets it expire on its own after the lease duration.
        with contextlib.suppress(ApiError, MeshchartsError):
            self._call("release", "DELETE", self._lease, options, timeout=RELEASE_TIMEOUT)
