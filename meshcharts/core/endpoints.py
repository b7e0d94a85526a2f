"""Endpoints and needs: the vocabulary of cross-release wiring.

A component type *provides* endpoints (Services it creates: name, namespace, port, base path, whether
it speaks gRPC) and has *needs* (the values keys where it expects another release's URL). The wiring
engine (``meshcharts.wiring.engine``) fills unset needs from the providers in the same cluster and checks the
URLs people typed against them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Endpoint:
    """One port of one Service something in (or outside) the stack creates."""

    role: str
    provider: str  # component name, or "external <name>"
    service: str
    namespace: str
    port: int
    path: str = ""
    scheme: str = "http"
    grpc: bool = False
    target_port: int | None = None  # the Pod's port, which NetworkPolicies must allow
    external: bool = False
    public_url: str | None = None
    port_name: str | None = None  # the Service port's name, when known (Rancher's proxy accepts it instead of the number)
    attributes: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def host(self) -> str:
        return f"{self.service}.{self.namespace}.svc"

    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}{self.path}"

    def host_port(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def pod_port(self) -> int:
        return self.target_port or self.port

    def describe(self) -> str:
        protocol = "gRPC" if self.grpc else self.scheme.upper()
        return f"{self.service}.{self.namespace}:{self.port}{self.path}, {protocol}"

    def source(self) -> str:
        """Who provides it, as explain shows it: ``component tracing`` or ``external prometheus``."""
        return self.provider if self.external else f"component {self.provider}"


@dataclass(frozen=True)
class Need:
    """Where a consumer expects the address of a provider, and how to write it.

    ``form`` is "url" (``http://host:port/path``) or "host-port" (``host:port``, Istio's zipkin address).
    ``grpc_path`` names the boolean that says whether the consumer talks gRPC to it, and
    ``grpc_default`` what the consumer assumes when that boolean is unset.
    """

    role: str
    path: tuple[str, ...]
    description: str
    form: str = "url"
    required: bool = False
    default_url: str | None = None  # what the consumer uses when nothing is set (Kiali's built-in default)
    grpc_path: tuple[str, ...] | None = None
    grpc_default: bool = False
    enable_path: tuple[str, ...] | None = None  # set true when a provider exists (Kiali tracing 1.88+)
    public_path: tuple[str, ...] | None = None  # browser-facing URL, from an external's publicUrl
    extra: Callable[[Endpoint], dict[tuple[str, ...], Any]] | None = field(default=None, compare=False)

    def render(self, endpoint: Endpoint) -> str:
        return endpoint.host_port() if self.form == "host-port" else endpoint.url()


@dataclass(frozen=True)
class ParsedAddress:
    """A URL or host:port as the wiring compares it."""

    text: str
    scheme: str
    host: str
    port: int
    path: str
    service: str | None  # set for in-cluster names (svc, svc.ns, svc.ns.svc[.cluster.local])
    namespace: str | None

    @property
    def in_cluster(self) -> bool:
        return self.service is not None


def parse_address(text: str, form: str = "url") -> ParsedAddress | None:
    """Parse what a person typed; ``None`` when it is not an address at all."""
    raw = str(text).strip()
    if not raw:
        return None
    if form == "host-port" and "://" not in raw:
        raw = "tcp://" + raw
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname:
        return None
    scheme = parts.scheme or "http"
    if port is None:
        port = 443 if scheme == "https" else 80
    service, namespace = _cluster_name(parts.hostname)
    return ParsedAddress(raw, scheme, parts.hostname, port, parts.path.rstrip("/"), service, namespace)


def _cluster_name(host: str) -> tuple[str | None, str | None]:
    """Kubernetes Service DNS: ``svc``, ``svc.ns``, ``svc.ns.svc``, ``svc.ns.svc.cluster.local``."""
    labels = host.split(".")
    if len(labels) == 1:
        return labels[0], None
    if len(labels) == 2:
        return labels[0], labels[1]
    if labels[2] == "svc" and (len(labels) == 3 or labels[3:] == ["cluster", "local"]):
        return labels[0], labels[1]
    return None, None


def endpoint_from_url(role: str, provider: str, url: str, **extra: Any) -> Endpoint | None:
    """An external service's endpoint from its declared URL (``None`` if the URL is not in-cluster)."""
    parsed = parse_address(url)
    if parsed is None:
        return None
    return Endpoint(
        role=role,
        provider=provider,
        service=parsed.service or parsed.host,
        namespace=parsed.namespace or "",
        port=parsed.port,
        path=parsed.path,
        scheme=parsed.scheme,
        external=True,
        **extra,
    )


def choose_provider(providers: list[Endpoint], wants_grpc: bool | None) -> Endpoint | None:
    """The endpoint to wire to when exactly one provider offers the role; the consumer's protocol
    if that provider has both (Istio's Jaeger: HTTP on 80, gRPC on 16685), else HTTP."""
    if not providers or len({e.provider for e in providers}) > 1:
        return None  # none, or two Prometheus servers (in the stack or declared external): the user must choose
    if wants_grpc is not None:
        preferred = [e for e in providers if e.grpc == wants_grpc]
        if preferred:
            return preferred[0]
    return next((e for e in providers if not e.grpc), providers[0])
