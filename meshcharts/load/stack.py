"""The stack file, ``meshcharts.yaml``: read it, check it, and turn it into typed objects.

Checks come in two passes. The JSON schema (``schemas/stack.schema.json``) catches shape errors with
did-you-mean; then the cross-references a schema cannot express: component types that exist, clusters a
component names, chart versions that parse, vars that exist.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from meshcharts.core.diagnostics import (
    ConfigError,
    Diagnostic,
    Location,
    MeshchartsError,
)
from meshcharts.core.externals import ExternalType
from meshcharts.core.fs import display_path, is_within, os_errors, refusal, resolved
from meshcharts.core.model import (
    Cluster,
    Component,
    ComponentKind,
    EnvRef,
    HelmSettings,
    Stack,
)
from meshcharts.core.suggest import did_you_mean
from meshcharts.core.versions import InvalidVersion, parse_chart_version
from meshcharts.load.externals import external_entry
from meshcharts.load.yamlfiles import load_file
from meshcharts.load.yamlio import Append, VarRef, YList, YMap, to_plain
from meshcharts.schema.checker import judge

STACK_FILE = "meshcharts.yaml"
STACK_SCHEMA = "stack.schema.json"


def find_stack_file(start: Path | None = None) -> Path:
    """``meshcharts.yaml`` in ``start`` or the nearest parent folder, as git finds ``.git``."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / STACK_FILE
        with os_errors("read", candidate):
            if candidate.is_file():
                return candidate
    raise ConfigError(
        Diagnostic(
            message=f"no {STACK_FILE} here or in any parent folder; run in a stack folder, pass --stack PATH, "
            "or create one with `meshcharts init`",
            rule="stack.not-found",
            location=Location(str(here)),
        )
    )


def load_stack(path: Path | str | None, types: Mapping[str, ComponentKind], external_types: Mapping[str, ExternalType]) -> Stack:
    """Load and check a stack file (a path to the file or to its folder; None: search upwards).

    ``types`` is the catalog of component types the stack may name, ``external_types`` the kinds of
    external service it may declare; the caller passes both so the loader does not depend on the
    component types (which depend on the loaded model).
    """
    if path is None:
        stack_path = find_stack_file()
    else:
        stack_path = Path(path)
        with os_errors("read the folder", stack_path):
            if stack_path.is_dir():
                stack_path = stack_path / STACK_FILE
    display = display_path(stack_path)
    with os_errors("read", stack_path):
        if not stack_path.exists():
            raise ConfigError(Diagnostic(message="stack file not found", rule="stack.not-found", location=Location(display)))
        _refuse_link_out(stack_path)
    try:
        document = load_file(stack_path, display).content
    except MeshchartsError as error:  # a broken stack file is a config error (exit 2), not invalid values
        raise ConfigError(error.diagnostics) from None
    if not isinstance(document, YMap):
        where = getattr(document, "location", Location(display, 1, 1))
        raise ConfigError(
            Diagnostic(message="the stack file must be a mapping (name, clusters, components)", rule="stack.shape", location=where)
        )
    problems = _tags_in(document) or judge(STACK_SCHEMA, to_plain(document), _yaml_locator(document)).diagnostics
    if problems:
        raise ConfigError([_scoped(_quote_hint(problem, document)) for problem in problems])
    return _build(stack_path.resolve(), document, types, external_types)


def _refuse_link_out(stack_path: Path) -> None:
    """A stack file linked from outside its folder would make that other place the stack: refuse it."""
    if not stack_path.is_symlink():
        return
    target = resolved(stack_path)
    if not is_within(target, resolved(stack_path.parent)):
        raise refusal(
            stack_path,
            f"is a link to a file outside its folder ({target}); meshcharts reads a stack only inside its folder: copy the file in or link to a place inside",
            "stack.outside-folder",
        )


def _tags_in(document: YMap) -> list[Diagnostic]:
    """``!var``, ``!env`` and ``!append`` belong to values files; the stack file holds plain values.

    A var is the cluster's own value, so a var made of vars (or of itself) has nothing to stand on, and
    a secret in the stack file would be written into the ledger beside it.
    """
    found: list[Diagnostic] = []
    pending: list[Any] = [document]
    while pending:  # iterative: nesting depth never costs stack frames
        node = pending.pop()
        if isinstance(node, dict):
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
        elif isinstance(node, (VarRef, EnvRef, Append)):
            tag = {VarRef: "!var", EnvRef: "!env", Append: "!append"}[type(node)]
            found.append(
                Diagnostic(
                    message=f"{tag} belongs in values files; {STACK_FILE} takes plain values (write the value itself)",
                    rule="stack.tag",
                    location=node.location or Location(display_path(Path(STACK_FILE))),
                )
            )
    return sorted(found, key=Diagnostic.sort_key)



def _scoped(problem: Diagnostic) -> Diagnostic:
    """``components.kiali.namespace`` reads better as component kiali, key ``namespace``."""
    head, _, rest = problem.path.partition(".")
    name, _, key = rest.partition(".")
    if head in ("components", "clusters") and name and key:
        return Diagnostic(
            message=problem.message,
            rule=problem.rule,
            location=problem.location,
            cluster=name if head == "clusters" else None,
            component=name if head == "components" else None,
            path=key,
            severity=problem.severity,
            hint=problem.hint,
        )
    return problem


def _quote_hint(problem: Diagnostic, document: YMap) -> Diagnostic:
    """``kubernetes: 1.30`` is the number 1.3 to YAML: say so, since the schema can only say "not a string"."""
    parts = problem.path.split(".")
    if len(parts) != 3 or parts[0] != "clusters" or parts[2] != "kubernetes" or problem.rule != "schema.type":
        return problem
    value = ((document.get("clusters") or {}).get(parts[1]) or {}).get("kubernetes")
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return problem
    return dataclasses.replace(problem, hint=f'quote it, e.g. kubernetes: "1.30": unquoted, YAML reads a version as the number {value}')


def _yaml_locator(document: YMap):  # type: ignore[no-untyped-def]
    """Map a path in the stack document to the key or value position in the file."""

    def locate(path: tuple[str | int, ...], is_key: bool) -> Location | None:
        node: Any = document
        best: Location | None = document.location
        for index, part in enumerate(path):
            last = index == len(path) - 1
            if isinstance(node, YMap) and part in node:
                best = node.key_locations[str(part)] if (last and is_key) else node.value_locations[str(part)]
                node = node[part]
            elif isinstance(node, YList) and isinstance(part, int) and part < len(node):
                best = node.item_locations[part]
                node = node[part]
            else:
                break
        return best

    return locate


def _build(path: Path, document: YMap, types: Mapping[str, ComponentKind], external_types: Mapping[str, ExternalType]) -> Stack:
    locate = _yaml_locator(document)
    problems: list[Diagnostic] = []
    clusters = {name: _cluster(name, spec, locate) for name, spec in document["clusters"].items()}
    components: dict[str, Component] = {}
    for name, spec in document["components"].items():
        component = _component(name, spec, types, clusters, locate, problems)
        if component is not None:
            components[name] = component
    for component in components.values():
        for needed in component.needs:
            if needed not in document["components"]:
                index = list(component.needs).index(needed)
                problems.append(
                    Diagnostic(
                        message=f'needs "{needed}", which is not a component of this stack',
                        rule="stack.unknown-component",
                        location=locate(("components", component.name, "needs", index), False),
                        component=component.name,
                        path="needs",
                        hint=did_you_mean(needed, document["components"]),
                    )
                )
    problems.extend(_needs_cycles(components, locate))
    external = {
        name: external_entry(name, spec, _target_clusters(spec, clusters, locate, ("external", name), problems), locate, problems, external_types) for name, spec in (document.get("external") or {}).items()
    }
    ledger = document.get("ledger")
    if ledger and _has_password(ledger):
        problems.append(
            Diagnostic(
                message="the ledger URL holds a password, which would be committed with the stack file",
                rule="stack.ledger-password",
                location=locate(("ledger",), False),
                path="ledger",
                hint="leave the password out: PostgreSQL reads it from PGPASSWORD or ~/.pgpass, or pass --ledger at run time",
            )
        )
    charts = tuple((path.parent / Path(folder).expanduser()).resolve() for folder in document.get("charts") or ())
    if problems:
        raise ConfigError(problems)
    return Stack(
        name=document["name"], path=path, clusters=clusters, components=components, external=external,
        ledger=ledger, charts=charts,
        export_repository=(document.get("export") or {}).get("chartRepository"),
        export_charts_url=(document.get("export") or {}).get("chartsUrl"),
    )


def _needs_cycles(components: dict[str, Component], locate) -> list[Diagnostic]:  # type: ignore[no-untyped-def]
    """Components that need each other in a circle: no install order exists, so say so where needs: is written.

    One depth-first walk (linear in the needs, iterative): a need that leads back onto the current trail
    closes a circle.
    """
    found: list[Diagnostic] = []
    done: set[str] = set()
    for start in components:
        if start in done:
            continue
        trail: list[str] = []
        pending: list[tuple[str, int]] = [(start, 0)]  # (component, index of its next need to follow)
        while pending:
            name, index = pending.pop()
            if index == 0:
                trail.append(name)
            needs = [need for need in components[name].needs if need in components]
            if index == len(needs):
                trail.pop()
                done.add(name)
                continue
            pending.append((name, index + 1))
            need = needs[index]
            if need in trail:
                circle = trail[trail.index(need) :] + [need]
                found.append(_cycle(components[circle[0]], circle, locate))
            elif need not in done:
                pending.append((need, 0))
    return found


def _cycle(component: Component, circle: list[str], locate) -> Diagnostic:  # type: ignore[no-untyped-def]
    first_need = list(component.needs).index(circle[1])
    what = f"{component.name} needs itself" if len(circle) == 2 else "components need each other in a circle"
    return Diagnostic(
        message=f"{what} ({' -> '.join(circle)}), so no install order exists",
        rule="stack.needs-cycle",
        location=locate(("components", component.name, "needs", first_need), False),
        component=component.name,
        path=f"needs[{first_need}]",
        hint="drop one of the needs: entries in the circle",
    )


def _cluster(name: str, spec: YMap, locate) -> Cluster:  # type: ignore[no-untyped-def]
    variables = spec.get("vars") or {}
    return Cluster(
        name=name,
        context=spec.get("context", name),
        kubeconfig=spec.get("kubeconfig"),
        env=spec.get("env"),
        labels=to_plain(spec.get("labels") or {}),
        vars=to_plain(variables),
        location=locate(("clusters", name), True),
        crds=tuple(spec.get("crds") or ()),
        crd_locations=tuple(locate(("clusters", name, "crds", index), False) for index in range(len(spec.get("crds") or ()))),
        kubernetes=str(spec["kubernetes"]) if spec.get("kubernetes") is not None else None,
    )


def _component(name, spec, types, clusters, locate, problems) -> Component | None:  # type: ignore[no-untyped-def]
    here = ("components", name)
    component_type = types.get(spec["type"])
    if component_type is None:
        problems.append(
            Diagnostic(
                message=f'unknown component type "{spec["type"]}"; built-in types: {", ".join(types)}',
                rule="stack.unknown-type",
                location=locate(here + ("type",), False),
                component=name,
                path="type",
                hint=did_you_mean(spec["type"], types),
            )
        )
        return None
    version = spec.get("version")
    if version is None:
        if not component_type.generated:
            problems.append(
                Diagnostic(
                    message="version is required: pin the chart version (e.g. version: 1.89.3)",
                    rule="stack.version-required",
                    location=locate(here, True),
                    component=name,
                    path="version",
                )
            )
            return None
        version = component_type.default_version
    try:
        parse_chart_version(str(version))
    except InvalidVersion as exc:
        problems.append(
            Diagnostic(message=str(exc), rule="stack.version", location=locate(here + ("version",), False), component=name, path="version")
        )
        return None
    targets = _target_clusters(spec, clusters, locate, here, problems, component=name)
    return Component(
        name=name,
        type=component_type,
        version=str(version),
        namespace=spec.get("namespace", component_type.default_namespace),
        release=spec.get("release", component_type.default_release),
        repo=spec.get("repo", component_type.repo),
        chart=spec.get("chart", component_type.chart),
        clusters=targets,
        needs=tuple(spec.get("needs") or ()),
        source=spec.get("source"),
        location=locate(here, True),
        chart_location=locate(here + ("chart",), False) if "chart" in spec else None,
        helm=HelmSettings(**to_plain(spec.get("helm") or {})),
    )


def _has_password(url: str) -> bool:
    try:
        return bool(urlsplit(url).password)
    except ValueError:
        return False


def _target_clusters(spec, clusters, locate, here, problems, *, component=None) -> tuple[str, ...]:  # type: ignore[no-untyped-def]
    """The clusters an entry names (default: all); undeclared names are reported with a suggestion.

    ``clusters: []`` is an empty list, so it means no cluster (a way to switch an entry off), not all.
    """
    named = spec.get("clusters")
    targets = list(clusters if named is None else named)
    for index, cluster in enumerate(targets):
        if cluster not in clusters:
            problems.append(
                Diagnostic(
                    message=f'cluster "{cluster}" is not declared under clusters:',
                    rule="stack.unknown-cluster",
                    location=locate(here + ("clusters", index), False),
                    component=component,
                    path=f"clusters[{index}]" if component else ".".join(here) + f".clusters[{index}]",
                    hint=did_you_mean(cluster, clusters),
                )
            )
    return tuple(cluster for cluster in targets if cluster in clusters)



