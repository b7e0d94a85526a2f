"""The cluster lease's name and its judgement of a record, without a cluster (the rest is in tests/live)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from meshcharts.deploy.lease_record import LeaseRecord, holder_identity, lease_name

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def test_a_stack_name_gives_a_readable_lease_name() -> None:
    assert lease_name("mesh-observability") == "meshcharts-mesh-observability"


def test_a_long_or_unusual_stack_name_still_gives_a_dns_label_and_distinct_names() -> None:
    names = ["a" * 63, "a" * 62 + "b", "Mesh_Observability", "mesh-observability.", "x" * 300]
    leases = [lease_name(name) for name in names]
    for lease in leases:
        assert DNS_LABEL.match(lease) and len(lease) <= 63, lease
        assert lease.startswith("meshcharts-")
    assert len(set(leases)) == len(leases)
    assert lease_name("Mesh_Observability") != lease_name("mesh-observability")


def test_the_holder_names_user_host_pid_run_and_ledger() -> None:
    assert re.match(r"^\S+@\S+ pid \d+, run 7 of ledger /x/meshcharts.ledger.sqlite$", holder_identity(7, "/x/meshcharts.ledger.sqlite"))


def _record(holder: str, renewed_ago: float, duration: int | None = 30) -> LeaseRecord:
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    at = now - timedelta(seconds=renewed_ago)
    return LeaseRecord(holder=holder, acquired=at, renewed=at, duration=duration, transitions=0, resource_version="1")


def test_a_record_is_expired_once_renew_time_plus_duration_is_past_or_it_names_no_holder() -> None:
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert not _record("me", 29).expired(now)
    assert _record("me", 31).expired(now)
    assert _record("", 0).expired(now)  # released by emptying the holder
    assert not _record("me", 3600, duration=None).expired(now)  # no duration: only watching it unchanged frees it
