"""``external:`` entries of the stack file: their URLs, and the facts a declared ``type`` brings.

A URL that is no address would make the wiring drop the external silently; a ``type`` with a
``version`` names the Pod ports and labels of what runs there (rancher-monitoring's nginx proxies).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from meshcharts.core.diagnostics import (
    Diagnostic,
)
from meshcharts.core.endpoints import parse_address
from meshcharts.core.externals import ExternalService
from meshcharts.core.model import (
    External,
)
from meshcharts.core.suggest import did_you_mean
from meshcharts.core.versions import InvalidVersion
from meshcharts.load.yamlio import to_plain


def external_entry(name, spec, targets, locate, problems, external_types) -> External:  # type: ignore[no-untyped-def]
    provides = spec.get("provides", name)
    if provides not in ("prometheus", "grafana", "tracing", "zipkin", "alertmanager"):
        problems.append(
            Diagnostic(
                message=f'cannot tell what external "{name}" provides; set provides: prometheus|grafana|tracing|zipkin|alertmanager',
                rule="stack.external-provides",
                location=locate(("external", name), True),
                path=f"external.{name}",
            )
        )
    for key in ("url", "publicUrl"):
        if key in spec:
            problem = url_problem(spec[key])
            if problem:
                problems.append(
                    Diagnostic(
                        message=problem,
                        rule="stack.external-url",
                        location=locate(("external", name, key), False),
                        path=f"external.{name}.{key}",
                        hint="write http://service.namespace.svc:port" if key == "url" else "write the address a browser opens, e.g. https://grafana.example.com",
                    )
                )
    facts = external_facts(name, spec, provides, locate, problems, external_types)
    return External(
        name=name,
        provides=provides,
        url=spec["url"],
        public_url=spec.get("publicUrl"),
        grpc=spec.get("grpc"),
        target_port=spec.get("targetPort", facts.target_port if facts else None),
        monitors=to_plain(spec.get("monitors") or {}),
        grafana_dashboards=to_plain(spec.get("grafanaDashboards") or {}),
        clusters=targets,
        location=locate(("external", name), True),
        type=spec.get("type"),
        version=spec.get("version"),
        facts=facts,
    )


def external_facts(name, spec, provides, locate, problems, external_types) -> ExternalService | None:  # type: ignore[no-untyped-def]
    """What meshcharts knows of ``external.<name>.type`` at its ``version``, for the role the entry provides.

    Unknown types and versions are errors: the facts decide which Pod ports Kiali's NetworkPolicy
    opens, and a guess there is the bug this key exists to remove.
    """
    type_name = spec.get("type")
    if type_name is None:
        return None
    here = ("external", name)

    def problem(key: str, message: str, rule: str, hint: str | None = None) -> None:
        at = locate(here + (key,), False) if key in spec else locate(here, True)
        problems.append(Diagnostic(message=message, rule=rule, location=at, path=f"external.{name}.{key}", hint=hint))

    known = external_types.get(type_name)
    if known is None:
        names = ", ".join(external_types) or "none"
        problem("type", f'unknown external type "{type_name}"; meshcharts knows: {names}', "stack.unknown-external-type", did_you_mean(type_name, external_types))
        return None
    version = spec.get("version")
    if version is None:
        problem("type", f"type {type_name} needs version: the chart version installed (e.g. version: {known.example_version})", "stack.external-version")
        return None
    try:
        facts = known.service(str(version), provides)
        line = known.line_for(str(version))
    except InvalidVersion as exc:
        problem("version", str(exc), "stack.external-version")
        return None
    if line is None:
        problem("version", f"{type_name} {version} is not a version meshcharts has facts for ({known.known_versions()})", "stack.external-version",
                hint="pin a known version, or leave out type and version and set targetPort yourself")
        return None
    if facts is None:
        problem("type", f'{type_name} provides {", ".join(known.provides())}, not {provides}', "stack.external-provides")
        return None
    typed = spec.get("targetPort")
    if typed is not None and typed != facts.target_port:
        problem("targetPort", f"{type_name} {version}'s {facts.service} Service forwards port {facts.port} to Pod port {facts.target_port} ({facts.target_port_name}), not {typed}",
                "stack.external-target-port", hint="delete targetPort: it follows from type")
    address = parse_address(str(spec.get("url", "")))
    if address is not None and address.service == facts.service and address.port != facts.port:
        problem("url", f"{type_name}'s {facts.service} Service listens on port {facts.port}, not {address.port}", "stack.external-url",
                hint=f"use http://{facts.service}.{facts.namespace}.svc:{facts.port}")
    return facts


def url_problem(url: str) -> str | None:
    """Why an external's URL cannot be a Service address (None when it can): no host, a broken IPv6
    literal, a port outside 1-65535. The wiring would otherwise drop the external silently."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        reason = str(exc)
        if reason.startswith("Port out of range"):
            return f"{url!r} has a port outside 1-65535"
        if reason.startswith("Port could not be cast"):
            return f"{url!r} has a port that is not a number"
        return f"{url!r} is not a URL ({reason})"
    if not parts.hostname:
        return f"{url!r} has no host"
    if port == 0:
        return f"{url!r} has a port outside 1-65535"
    return None
