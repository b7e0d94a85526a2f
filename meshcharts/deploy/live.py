"""What is deployed on a cluster, read in one API call, and the repair of releases left pending.

helmfile asks helm once per release (``helm list``, ``helm diff``) and is slow for it (helm-diff#444).
Helm keeps each revision of each release as a Secret labelled ``owner=helm`` (the default storage
driver; with ``HELM_DRIVER=configmap`` a ConfigMap, the same record one base64 layer thinner, and
:class:`ReleaseStore` reads whichever helm writes); one ``list`` of those across all namespaces gives
every release's latest revision, its
status, chart, description and the exact values it was installed with (``config``). That is enough to
tell an unchanged release (no helm call at all) from one to upgrade, against the live revision and not
only the ledger, so a ``helm upgrade`` someone ran by hand is seen.

A run killed mid-upgrade leaves the latest revision ``pending-install``/``pending-upgrade``/
``pending-rollback``, and helm then refuses every further upgrade ("another operation is in
progress"). :meth:`ReleaseStore.unlock` marks such a revision ``failed`` (what Flux's helm-controller does),
after which ``helm upgrade --install`` proceeds from the last deployed revision.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from meshcharts.core.diagnostics import ConfigError, Diagnostic, MeshchartsError
from meshcharts.core.kubeconfig import kubeconfig_problems
from meshcharts.kube import ApiError, KubeClient, Response, connect

PENDING = ("pending-install", "pending-upgrade", "pending-rollback")
DESCRIPTION_PREFIX = "meshcharts"
#: (connect, read) seconds for each API call: an unreachable cluster is reported in seconds, not minutes.
REQUEST_TIMEOUT = (5, 20)


@dataclass(frozen=True)
class DeployedRelease:
    """The latest revision of one helm release as the cluster stores it."""

    name: str
    namespace: str
    revision: int
    status: str
    chart: str
    chart_version: str
    description: str
    config: dict[str, Any]  # the values helm was given for this revision (secrets in clear: never print)
    record_name: str  # the Secret (or ConfigMap) holding this revision
    manifest: str = ""  # the objects helm applied for this revision, as YAML documents (secrets in clear)

    @property
    def pending(self) -> bool:
        return self.status in PENDING

    def marker(self) -> dict[str, str]:
        """The ``key=value`` pairs meshcharts wrote into the description (chart digest, values hash)."""
        head, _, rest = self.description.partition(": ")
        if head != DESCRIPTION_PREFIX:
            return {}
        return dict(part.split("=", 1) for part in rest.split() if "=" in part)


def describe(chart_digest: str, values_hash: str) -> str:
    """The ``--description`` apply gives every revision, so the next run can tell it is unchanged."""
    return f"{DESCRIPTION_PREFIX}: chart=sha256:{chart_digest[:32]} values=sha256:{values_hash[:32]}"


def canonical_values_hash(values: Any) -> str:
    """A hash of values as helm stores them: JSON numbers (1.0 and 1 alike), keys sorted.

    Helm decodes the values it is given into Go maps, where every number is a float64, and stores them
    as JSON; hashing our side the same way lets the two be compared byte for byte.
    """

    def normal(value: Any) -> Any:
        if isinstance(value, bool) or value is None or isinstance(value, str):
            return value
        if isinstance(value, (int, float)):
            try:
                number = float(value)
            except OverflowError:  # an integer beyond float64: helm could not take it either; hash its digits
                return str(value)
            return int(number) if number.is_integer() and abs(number) < 2**63 else number
        if isinstance(value, dict):
            return {str(key): normal(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [normal(item) for item in value]
        return str(value)

    text = json.dumps(normal(values), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def request_json(
    api: KubeClient,
    method: str,
    path: str,
    *,
    query: list[tuple[str, str]] | None = None,
    headers: dict[str, str] | None = None,
    body: Any = None,
    timeout: tuple[float, float] = REQUEST_TIMEOUT,
) -> Any:
    """One bounded request to the API server, its JSON answer parsed; an HTTP error as :class:`ApiError`.

    Raw JSON, no generated per-kind methods: plan reads kinds no client has a model for (CRDs), and a
    dict per object is all it compares.
    """
    response, data = send(api, method, path, query=query, headers=headers, body=body, timeout=timeout)
    if not 200 <= response.status < 300:
        raise ApiError(response.status, response.reason, data.decode("utf-8", "replace") if data else None)
    return json.loads(data)


def send(
    api: KubeClient,
    method: str,
    path: str,
    *,
    query: list[tuple[str, str]] | None = None,
    headers: dict[str, str] | None = None,
    body: Any = None,
    timeout: tuple[float, float] = REQUEST_TIMEOUT,
) -> tuple[Response, bytes]:
    """One bounded request, its response and body, whatever the status; a 429 Too Many Requests is
    retried after the wait the server asks for (its watch cache of a new CRD still initializing, API
    priority and fairness), as client-go does, a bounded number of times."""
    for attempt in range(TOO_MANY_REQUESTS_TRIES):
        response = api.request(method, path, query=query, headers={"Accept": "application/json", **(headers or {})}, body=body, timeout=timeout)
        data = response.data
        if response.status != 429 or attempt + 1 == TOO_MANY_REQUESTS_TRIES:
            return response, data
        time.sleep(_retry_after(response))
    raise AssertionError("unreachable: the last attempt returns")


#: Attempts of a request the API server answers 429 Too Many Requests (client-go retries such answers too).
TOO_MANY_REQUESTS_TRIES = 5


def _retry_after(response: Response) -> float:
    """Seconds the server asks to wait (Retry-After), between 0.2 and 2."""
    try:
        asked = float(response.getheader("Retry-After") or 1)
    except (TypeError, ValueError):
        asked = 1.0
    return min(max(asked, 0.2), 2.0)


def get_json(
    api: KubeClient, path: str, accept: str = "application/json", query: list[tuple[str, str]] | None = None,
    timeout: tuple[float, float] = REQUEST_TIMEOUT,
) -> Any:
    """GET a path of the API server as parsed JSON; errors as ApiError (HTTP) or OSError (no answer: ``meshcharts.kube.TransportError``)."""
    return request_json(api, "GET", path, query=query, headers={"Accept": accept}, timeout=timeout)


def api_client(kubeconfig: str | None, context: str, cluster: str) -> KubeClient:
    """A client for one stack cluster: its kubeconfig (default $KUBECONFIG, ~/.kube/config) and context.

    Each kubeconfig file is checked first, so one that is not YAML is one line at its file:line:col.
    """
    path = Path(kubeconfig).expanduser() if kubeconfig else None
    problems = kubeconfig_problems(path)
    if problems:
        where, reason = str(problems[0].location), problems[0].message
        raise ConfigError(Diagnostic(message=f"cannot use kube-context {context!r} from {where}: {reason}", rule="cluster.kubeconfig", cluster=cluster, hint=problems[0].hint))
    return connect(path, context, cluster)


#: HELM_DRIVER values helm accepts for its two Kubernetes storage drivers ("" is helm's default).
_DRIVERS = {"": "secret", "secret": "secret", "secrets": "secret", "configmap": "configmap", "configmaps": "configmap"}


def helm_driver(environ: Mapping[str, str]) -> str:
    """``secret`` or ``configmap``: where the helm that apply runs (with this environment) keeps releases.

    helm's ``memory`` driver forgets every release when helm exits and ``sql`` keeps them in a database
    meshcharts does not read: with either, apply could tell nothing of what is deployed.
    """
    given = environ.get("HELM_DRIVER", "")
    driver = _DRIVERS.get(given)  # as helm matches them: exactly
    if driver is None:
        raise ConfigError(
            Diagnostic(
                message=f"HELM_DRIVER={given} is not supported: meshcharts reads helm's release records from Secrets or ConfigMaps",
                rule="apply.helm-driver",
                hint="unset it for helm's default driver, secret; or set HELM_DRIVER=configmap",
            )
        )
    return driver


class ReleaseStore:
    """helm's release records on one cluster, as its storage driver keeps them (Secrets or ConfigMaps).

    Read as plain JSON through :func:`request_json`.
    """

    def __init__(self, api: KubeClient, cluster: str, driver: str = "secret") -> None:
        self.api = api
        self.cluster = cluster
        self.driver = driver

    def _path(self, namespace: str | None, name: str | None = None) -> str:
        kind = "configmaps" if self.driver == "configmap" else "secrets"
        path = f"/api/v1/namespaces/{namespace}/{kind}" if namespace else f"/api/v1/{kind}"
        return f"{path}/{name}" if name else path

    def _list(self, namespace: str | None, selector: str) -> list[dict[str, Any]]:
        listing = get_json(self.api, self._path(namespace), query=[("labelSelector", selector)])
        return list(listing.get("items") or [])

    def deployed(self, names: Iterable[str] | None = None) -> dict[tuple[str, str], DeployedRelease]:
        """The latest revision of each release on the cluster, by (namespace, name): one list call.

        ``names`` narrows the call to those releases (a label selector on helm's ``name`` label), so a
        cluster with hundreds of other releases costs the same as an empty one.
        """
        wanted = sorted(set(names)) if names is not None else None
        if wanted == []:
            return {}
        selector = "owner=helm" + (f",name in ({','.join(wanted)})" if wanted else "")
        try:
            items = self._list(None, selector)
        except (ApiError, OSError, ValueError) as exc:
            raise MeshchartsError(
                Diagnostic(message=f"cannot read helm's release records: {_api_message(exc)}", rule="cluster.unreachable", cluster=self.cluster)
            ) from None
        return self._latest(items)

    def release(self, namespace: str, name: str) -> DeployedRelease | None:
        """The latest revision of one release, or None (also when the cluster cannot say: callers only report it)."""
        try:
            items = self._list(namespace, f"owner=helm,name={name}")
        except (ApiError, OSError, ValueError):
            return None
        return self._latest(items).get((namespace, name))

    def unlock(self, release: DeployedRelease) -> None:
        """Mark a pending revision failed so helm accepts the next upgrade (its objects stay as they are).

        A replace carrying the resourceVersion just read: if helm moved the record meanwhile, the
        server refuses (409) and nothing is overwritten.
        """
        path = self._path(release.namespace, release.record_name)
        try:
            stored = get_json(self.api, path)
            record = self._decode(stored)
            record.setdefault("info", {})["status"] = "failed"
            record["info"]["description"] = f"{DESCRIPTION_PREFIX}: marked failed, left {release.status} by an interrupted run"
            stored["data"] = {**(stored.get("data") or {}), "release": self._encode(record)}
            metadata = stored.setdefault("metadata", {})
            metadata["labels"] = {**(metadata.get("labels") or {}), "status": "failed"}
            request_json(self.api, "PUT", path, headers={"Content-Type": "application/json"}, body=stored)
        except (ApiError, OSError, KeyError, ValueError, TypeError) as exc:
            raise MeshchartsError(
                Diagnostic(
                    message=f"release {release.namespace}/{release.name} is {release.status} and could not be unlocked: {_api_message(exc)}",
                    rule="apply.stuck-release",
                    cluster=self.cluster,
                )
            ) from None

    def _decode(self, stored: dict[str, Any]) -> dict[str, Any]:
        """helm's record: base64 of gzipped JSON; a Secret's data base64-encodes that once more."""
        text = stored["data"]["release"]
        raw = base64.b64decode(base64.b64decode(text) if self.driver == "secret" else text)
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        record: dict[str, Any] = json.loads(raw)
        return record

    def _encode(self, record: dict[str, Any]) -> str:
        packed = base64.b64encode(gzip.compress(json.dumps(record).encode(), mtime=0))
        return (base64.b64encode(packed) if self.driver == "secret" else packed).decode()

    def _latest(self, stored: Iterable[dict[str, Any]]) -> dict[tuple[str, str], DeployedRelease]:
        latest: dict[tuple[str, str], DeployedRelease] = {}
        for item in _newest_records(stored):
            meta = item.get("metadata") or {}
            if not meta or not item.get("data"):
                continue
            try:
                record = self._decode(item)
            except (KeyError, ValueError, TypeError, OSError):
                continue  # not a helm v3 release record after all
            info = record.get("info") or {}
            metadata = (record.get("chart") or {}).get("metadata") or {}
            release = DeployedRelease(
                name=str(record.get("name", "")),
                namespace=str(record.get("namespace", meta.get("namespace", ""))),
                revision=int(record.get("version", 0)),
                status=str(info.get("status", "unknown")),
                chart=str(metadata.get("name", "")),
                chart_version=str(metadata.get("version", "")),
                description=str(info.get("description", "")),
                config=record.get("config") or {},
                record_name=str(meta.get("name", "")),
                manifest=str(record.get("manifest") or ""),
            )
            key = (release.namespace, release.name)
            if key not in latest or latest[key].revision < release.revision:
                latest[key] = release
        return latest


def _newest_records(stored: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Of each release's records, the newest by the labels helm puts on them (``name``, ``version``).

    helm keeps up to ``--history-max`` revisions (10 by default) of every release, and decoding one
    (base64, gzip, JSON of the whole chart and manifest) is the costly part of reading them: only the
    newest is decoded. A record without helm's labels is kept, to be judged by what it holds.
    """
    newest: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}
    unlabelled: list[dict[str, Any]] = []
    for item in stored:
        meta = item.get("metadata") or {}
        labels = meta.get("labels") or {}
        version = str(labels.get("version", ""))
        if not version.isdigit() or not labels.get("name"):
            unlabelled.append(item)
            continue
        key = (str(meta.get("namespace", "")), str(labels["name"]))
        if key not in newest or int(version) > newest[key][0]:
            newest[key] = (int(version), item)
    return [item for _, item in newest.values()] + unlabelled


def _api_message(exc: Exception) -> str:
    if isinstance(exc, ApiError):
        return f"{exc.status} {exc.reason}"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
