"""``validate``: every composition (or those some files take part in) through schema, key rules and wiring.

Order of findings per composition: composing problems (missing vars, bad !append), the schema, then the
version key rules. A key rule explains a key better than the schema's "unknown key", so a schema error
at a path a key rule already reported is dropped.

A line of a shared layer (``values/kiali.yaml``) takes part in every cluster's composition, so one
mistake there is found once per cluster; :func:`fold_clusters` makes it one finding naming the clusters.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from meshcharts.checks.removed_apis import removed_api_findings
from meshcharts.compose.project import Composition, Project
from meshcharts.core.diagnostics import (
    ConfigError,
    Diagnostic,
    DiagnosticList,
    Location,
    Severity,
)
from meshcharts.core.model import KeyRule, dotted
from meshcharts.load.local_charts import local_chart_problems
from meshcharts.schema.checker import warning
from meshcharts.wiring.engine import check_wiring
from meshcharts.wiring.order import install_order

ADDRESS_FORMAT_RULES = frozenset({"wiring.bad-address", "wiring.bad-url"})


@dataclass
class ValidationReport:
    """What ``validate`` found; ``valid`` ignores warnings."""

    diagnostics: list[Diagnostic]
    checked: list[str] = field(default_factory=list)  # "cluster/component" labels
    outside: list[str] = field(default_factory=list)  # files given that sit under no stack (left alone)

    @property
    def valid(self) -> bool:
        return not any(d.is_error for d in self.diagnostics)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if not d.is_error]

    def as_json(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "errors": [d.as_json() for d in self.errors],
            "warnings": [d.as_json() for d in self.warnings],
            "checked": self.checked,
            "outside": self.outside,
        }


def validate_project(project: Project, files: list[Path] | None = None) -> ValidationReport:
    """Validate the whole stack, or with ``files`` only the compositions those files take part in."""
    found = DiagnosticList()
    pairs = project.pairs()
    layer_problems = project.layers.problems
    if files:
        require_files(files)
        touches_stack = any(path.resolve() == project.stack.path for path in files)
        if not touches_stack:
            selected, _other = project.layers.compositions_of(files)
            pairs = [pair for pair in pairs if pair in selected]
            wanted = {str(path.resolve()) for path in files}
            layer_problems = [
                problem for problem in layer_problems if problem.location and str(Path(problem.location.file).resolve()) in wanted
            ]
    found.extend(layer_problems)
    found.extend(local_chart_problems(project.stack, {component for _, component in pairs}))
    compositions = [project.compose(*pair) for pair in pairs]
    checked: list[Diagnostic] = []
    for composition in compositions:
        checked.extend(check_composition(composition))

    wired = check_wiring(project.stack, compositions, {name: project.compose_all(name) for name in {c.cluster.name for c in compositions}})
    explained = {(d.cluster, d.component, d.path) for d in wired if d.rule in ADDRESS_FORMAT_RULES}
    # a wiring finding about an address's form says more than the schema's pattern on the same key
    found.extend(d for d in checked if not (d.rule.startswith("schema.") and (d.cluster, d.component, d.path) in explained))
    found.extend(wired)
    found.extend(order_problems(project, sorted({c.cluster.name for c in compositions if not c.broken})))
    return ValidationReport(fold_clusters(found.sorted()), [composition.label for composition in compositions])


EACH_CLUSTER = "each cluster"


def fold_clusters(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """One finding per mistake: those at the same file:line:col with the same rule, component, key and
    message become one, placed where the first was and naming every cluster. Messages that name their
    own cluster ("cluster east runs 1.32") fold when that is all that differs, and then say
    "each cluster", which is true of every cluster the folded finding names."""
    folded: dict[tuple[object, ...], list[Diagnostic]] = {}
    for diagnostic in diagnostics:
        folded.setdefault(_fold_key(diagnostic), []).append(diagnostic)
    out: list[Diagnostic] = []
    for group in folded.values():
        clusters = tuple(dict.fromkeys(name for d in group for name in d.all_clusters))
        if len(group) == 1 or len(clusters) < 2:
            out.extend(group)
            continue
        first = group[0]
        message, hint = first.message, first.hint
        if any(d.message != message or d.hint != hint for d in group):  # the messages name their cluster
            message = _each_cluster(message, first.cluster)
            hint = None if hint is None else _each_cluster(hint, first.cluster)
        out.append(dataclasses.replace(first, message=message, hint=hint, clusters=clusters))
    return out


def _fold_key(diagnostic: Diagnostic) -> tuple[object, ...]:
    if diagnostic.cluster is None:
        return (id(diagnostic),)  # nothing to fold: not about a cluster
    return (
        diagnostic.location,
        diagnostic.rule,
        diagnostic.component,
        diagnostic.path,
        diagnostic.severity,
        _each_cluster(diagnostic.message, diagnostic.cluster),
        None if diagnostic.hint is None else _each_cluster(diagnostic.hint, diagnostic.cluster),
    )


def _each_cluster(text: str, cluster: str | None) -> str:
    """``text`` with "cluster NAME" (or "the cluster NAME", name quoted or not) said as "each cluster".

    A bare NAME elsewhere (a host name, a path) stays: such messages differ per cluster, so they do not
    fold, rather than fold into a text that is wrong for all but one of the clusters it names."""
    if not cluster:
        return text
    name = re.escape(cluster)
    return re.sub(rf'(?<![\w.-])(?:the )?cluster (?:"{name}"|{name})(?![\w-])', EACH_CLUSTER, text)


def order_problems(project: Project, clusters: list[str]) -> list[Diagnostic]:
    """An install order that cannot exist (needs: plus the CRD order closing a circle), found at validate
    rather than at render, at the stack file line of the component that closes it."""
    found: list[Diagnostic] = []
    for cluster in clusters:
        try:
            install_order(project.compose_all(cluster), cluster)
        except ConfigError as error:
            for problem in error.diagnostics:
                component = project.stack.components.get(problem.component or "")
                found.append(
                    replace(
                        problem,
                        location=problem.location or (component.location if component else None),
                        hint=problem.hint or "releases that install CRDs go before those that use them, so a needs: entry that puts them after closes a circle; drop it",
                    )
                )
    return found


def require_files(files: list[Path]) -> None:
    """Files named to validate must exist and be files: a typo'd path in a hook or CI call fails (exit 2)."""
    problems = []
    for path in files:
        if path.is_dir():
            problems.append(Diagnostic(message="is a folder; name the values files to check, or none to check the whole stack", rule="usage.not-a-file", location=Location(str(path))))
        elif not path.exists():
            problems.append(Diagnostic(message="no such file", rule="usage.no-such-file", location=Location(str(path))))
    if problems:
        raise ConfigError(problems)


def check_composition(composition: Composition) -> list[Diagnostic]:
    """Schema and version rules for one composition."""
    component = composition.component
    context = {"cluster": composition.cluster.name, "component": component.name}
    found: list[Diagnostic] = list(composition.problems)
    if composition.broken:
        return found
    choice = component.type.choose_schema(component.version)
    if choice.warning:
        found.append(warning(choice.warning, "schema.version-guessed", component.location, **context))
    values = composition.validation_values()
    rule_findings = _key_rule_findings(composition, values, component.type.rules_for(component, composition.accepted_values()))
    covered = {d.path for d in rule_findings}
    for diagnostic in composition.schema_findings():
        if diagnostic.path not in covered:
            found.append(diagnostic)
    found.extend(rule_findings)
    found.extend(removed_api_findings(composition))
    return found


def _key_rule_findings(composition: Composition, values: dict[str, Any], rules: list[KeyRule]) -> list[Diagnostic]:
    if not rules:
        return []
    found: list[Diagnostic] = []
    for path in _key_paths(values, ()):
        text = dotted(path)
        for rule in rules:
            if rule.matches(text):
                origin = composition.origin(path)
                if origin is not None and origin.layer in ("defaults", "derived"):
                    continue  # meshcharts' own values never trip a rule the user cannot act on
                found.append(
                    Diagnostic(
                        message=rule.message,
                        rule=rule.rule,
                        location=composition.locate(path, True),
                        cluster=composition.cluster.name,
                        component=composition.component.name,
                        path=text,
                        severity=Severity(rule.severity),
                        hint=f"use {rule.replacement}" if rule.replacement else None,
                    )
                )
    return found


def _key_paths(value: Any, prefix: tuple[str, ...]) -> list[tuple[str, ...]]:
    paths: list[tuple[str, ...]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            path = prefix + (key,)
            paths.append(path)
            paths.extend(_key_paths(item, path))
    return paths

