"""A stack's Lease as stored on a cluster: its name, who holds it, and its record read and judged.

The parts of :mod:`meshcharts.deploy.lease` that need no cluster: what the Lease is called (a DNS
label for any stack name), how a holder names itself, and a Lease's JSON read into a
:class:`LeaseRecord` that can say whether it expired.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from meshcharts.ledger.provenance import current_identity

_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_MAX_NAME = 63  # a DNS label (stricter than the DNS subdomain a Lease name must be), usable as a label value too


def lease_name(stack_name: str) -> str:
    """``meshcharts-<stack>``: a DNS label; a name that is not one, or too long, is cut and given a hash.

    The hash is of the whole stack name, so two stacks whose names differ only past the cut or in
    characters a DNS label cannot hold still get two leases.
    """
    name = f"meshcharts-{stack_name}"
    if is_dns_label(name):
        return name
    digest = hashlib.sha256(stack_name.encode("utf-8")).hexdigest()[:10]
    safe = re.sub(r"[^a-z0-9-]+", "-", stack_name.lower()).strip("-")
    head = f"meshcharts-{safe}"[: _MAX_NAME - len(digest) - 1].rstrip("-")
    return f"{head}-{digest}"


def holder_identity(run_id: int, ledger: str) -> str:
    """Who holds the lease, as another apply will print it: user@host, pid, and the run in which ledger."""
    me = current_identity()
    return f"{me.who} pid {me.pid}, run {run_id} of ledger {ledger}"


def stamp(moment: datetime) -> str:
    """A MicroTime as the API server parses it (RFC 3339 with exactly six fractional digits)."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def read_time(value: Any) -> datetime | None:
    """A MicroTime as the API server writes it (RFC 3339, ``Z``); None when unset or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class LeaseRecord:
    """A Lease as read: who holds it, since and until when, and the version it was read at."""

    holder: str
    acquired: datetime | None
    renewed: datetime | None
    duration: int | None
    transitions: int
    resource_version: str

    @classmethod
    def of(cls, lease: dict[str, Any]) -> LeaseRecord:
        """The record of a Lease as the API server returns it (JSON)."""
        spec = lease.get("spec") or {}
        duration = spec.get("leaseDurationSeconds")
        return cls(
            holder=str(spec.get("holderIdentity") or ""),
            acquired=read_time(spec.get("acquireTime")),
            renewed=read_time(spec.get("renewTime")),
            duration=duration if isinstance(duration, int) else None,
            transitions=int(spec.get("leaseTransitions") or 0),
            resource_version=str((lease.get("metadata") or {}).get("resourceVersion")),
        )

    def expired(self, now: datetime) -> bool:
        """No holder, or its last renewal plus the duration it claimed is past (by our clock)."""
        last = self.renewed or self.acquired
        if not self.holder:
            return True
        if last is None or not self.duration:
            return False  # nothing to judge by the clock: only watching it unchanged can free it
        return last + timedelta(seconds=self.duration) < now

    def describe(self) -> str:
        since = f" (since {self.acquired.astimezone(timezone.utc).strftime('%Y-%m-%d %H:%M:%SZ')})" if self.acquired else ""
        return f"{self.holder}{since}"


def is_dns_label(text: str) -> bool:
    """Whether ``text`` can be a DNS label (and so a label value): lowercase alphanumerics and '-', at most 63."""
    return bool(_LABEL.match(text)) and len(text) <= _MAX_NAME


__all__ = ["LeaseRecord", "holder_identity", "is_dns_label", "lease_name", "read_time", "stamp", "utc_now"]
