"""helm's release records as meshcharts reads them: of each release only the newest revision counts,
found by the labels helm writes on every record; a local JSON server plays the API server."""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Iterator
from typing import Any

import pytest

from meshcharts.deploy.live import ReleaseStore
from meshcharts.kube import KubeClient, Settings
from tests.json_server import JsonHandler, serving

RECORDS: list[dict[str, Any]] = []


def _record(name: str, revision: int, status: str, *, labelled: bool = True, readable: bool = True) -> dict[str, Any]:
    release = {"name": name, "namespace": "istio-system", "version": revision, "info": {"status": status, "description": "by hand"},
               "chart": {"metadata": {"name": name, "version": "1.0.0"}}, "config": {"revision": revision}, "manifest": ""}
    packed = base64.b64encode(gzip.compress(json.dumps(release).encode())) if readable else b"not a release"
    labels = {"owner": "helm", "name": name, "status": status, "version": str(revision)} if labelled else {"owner": "helm"}
    return {"metadata": {"name": f"sh.helm.release.v1.{name}.v{revision}", "namespace": "istio-system", "labels": labels},
            "data": {"release": base64.b64encode(packed).decode()}}


class _Secrets(JsonHandler):
    def do_GET(self) -> None:  # noqa: N802  (http.server's name)
        self.answer(200, json.dumps({"items": RECORDS}).encode())


@pytest.fixture()
def store() -> Iterator[ReleaseStore]:
    RECORDS.clear()
    with serving(_Secrets) as url:
        api = KubeClient(Settings(context="east", server=url))
        try:
            yield ReleaseStore(api, "east")
        finally:
            api.close()


def test_the_newest_revision_of_each_release_is_what_is_deployed(store: ReleaseStore) -> None:
    # Superseded revisions are not even decoded: helm keeps ten of them per release by default.
    RECORDS.extend([_record("kiali", 1, "superseded", readable=False), _record("kiali", 3, "deployed"), _record("kiali", 2, "superseded", readable=False),
                    _record("tracing", 1, "deployed")])
    found = store.deployed()
    assert {key: (release.revision, release.status, release.config) for key, release in found.items()} == {
        ("istio-system", "kiali"): (3, "deployed", {"revision": 3}),
        ("istio-system", "tracing"): (1, "deployed", {"revision": 1}),
    }


def test_records_without_helms_labels_are_judged_by_what_they_hold(store: ReleaseStore) -> None:
    RECORDS.extend([_record("kiali", 4, "deployed", labelled=False), _record("kiali", 2, "superseded")])
    (release,) = store.deployed().values()
    assert (release.revision, release.status) == (4, "deployed")
