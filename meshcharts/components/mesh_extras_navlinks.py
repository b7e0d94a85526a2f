"""Rancher NavLinks of the mesh-extras chart: derived from the Services they open, checked when typed.

A NavLink's ``toService`` makes Rancher proxy ``.../services/<scheme>:<name>:<port>/proxy/<path>``.
Two things go wrong silently until someone clicks: a port the Service does not have (Rancher answers
503 "no service port ... found") and a path outside the web root (rancher-kiali-server serves Kiali
under ``server.web_root``, ``/kiali`` by default, so ``path: /`` is a 404). A link named after what it
opens (``kiali``, ``jaeger``, ``grafana``, ``prometheus``) gets its whole ``toService`` from the
provider the wiring knows; a typed one is checked against that provider's Service.

This module has no ``COMPONENT_TYPE``: it serves ``mesh_extras.py``.
"""

from __future__ import annotations

from typing import Any

from meshcharts.components.base import key_problem
from meshcharts.core.diagnostics import Diagnostic
from meshcharts.core.endpoints import Endpoint, choose_provider
from meshcharts.core.model import CompositionView, DerivedValue, WiringView

RULE = "wiring.navlink"

#: NavLink name -> the role of the Service it opens (HTTP: the browser goes through Rancher's proxy)
LINK_ROLES = {"kiali": "kiali", "jaeger": "tracing", "tracing": "tracing", "grafana": "grafana", "prometheus": "prometheus"}


def _links(composition: CompositionView) -> dict[str, dict[str, Any]]:
    links = composition.get(("exposure", "navLinks"))
    if not isinstance(links, dict):
        return {}  # the schema reports it
    return {name: link for name, link in links.items() if isinstance(link, dict) and link.get("enabled", True) is not False}


def _service_endpoints(wiring: WiringView, name: Any, namespace: Any) -> list[Endpoint]:
    return [e for e in wiring.endpoints if e.service == name and e.namespace == namespace and not e.external]


def link_path(endpoint: Endpoint) -> str:
    """The proxy path that opens the UI: its base path (web root), ``/`` when it serves at the root."""
    return endpoint.path or "/"


def derive(composition: CompositionView, wiring: WiringView) -> list[DerivedValue]:
    found: list[DerivedValue] = []
    for name, link in _links(composition).items():
        base = ("exposure", "navLinks", name, "toService")
        if link.get("toURL") is not None:
            continue
        given = link.get("toService")
        target: dict[str, Any] = given if isinstance(given, dict) else {}
        if composition.is_user_set(base + ("name",)):
            endpoint = _on_port(_service_endpoints(wiring, target.get("name"), target.get("namespace")), target.get("port"))
            if endpoint is not None and endpoint.path and not composition.is_user_set(base + ("path",)):
                found.append(DerivedValue(base + ("path",), link_path(endpoint), f"derived from {endpoint.source()} (it serves under {endpoint.path})"))
            continue
        role = LINK_ROLES.get(name)
        endpoint = choose_provider([e for e in wiring.providers(role) if not e.external], False) if role else None
        if endpoint is None:
            continue
        reason = f"derived from {endpoint.source()} ({endpoint.describe()})"
        wanted = {"namespace": endpoint.namespace, "name": endpoint.service, "scheme": endpoint.scheme, "port": str(endpoint.port), "path": link_path(endpoint)}
        for key, value in wanted.items():
            if not composition.is_user_set(base + (key,)):
                found.append(DerivedValue(base + (key,), value, reason))
    return found


def _on_port(endpoints: list[Endpoint], port: Any) -> Endpoint | None:
    text = str(port)
    return next((e for e in endpoints if str(e.port) == text or (e.port_name is not None and e.port_name == text)), None)


def check(composition: CompositionView, wiring: WiringView) -> list[Diagnostic]:
    """Typed NavLinks whose Service port does not exist, or whose path is outside the UI's web root."""
    found: list[Diagnostic] = []
    for name, link in _links(composition).items():
        target = link.get("toService")
        if not isinstance(target, dict):
            continue
        base = ("exposure", "navLinks", name, "toService")
        endpoints = _service_endpoints(wiring, target.get("name"), target.get("namespace"))
        if not endpoints:
            continue  # a Service meshcharts does not create: nothing to check it against
        service = f"{target.get('name')}.{target.get('namespace')}"
        endpoint = _on_port(endpoints, target.get("port"))
        if endpoint is None:
            ports = ", ".join(f"{e.port}" + (f" ({e.port_name})" if e.port_name else "") for e in endpoints)
            found.append(
                key_problem(
                    composition,
                    base + ("port",),
                    f"Service {service} ({endpoints[0].source()}) has no port {target.get('port')}; it has {ports}. "
                    f"Rancher's proxy would answer 503 \"no service port {target.get('port')!r} found\"",
                    RULE,
                    hint=f'use port: "{endpoints[0].port}"',
                )
            )
            continue
        path = target.get("path")
        if endpoint.path and isinstance(path, str) and not (path.rstrip("/") + "/").startswith(endpoint.path + "/"):
            found.append(
                key_problem(
                    composition,
                    base + ("path",),
                    f"{service} serves under {endpoint.path} ({endpoint.source()}), so the proxy path {path} is a 404",
                    RULE,
                    hint=f"use path: {link_path(endpoint)}, or leave path out to have it derived",
                )
            )
    return found

