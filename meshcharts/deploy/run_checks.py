"""The settings of an apply run that are wrong whatever any cluster says, all checked before one is touched.

Each of these used to surface late or not at all: a ``--timeout`` helm cannot parse was accepted and
went unnoticed while nothing changed (helm only reads it when it runs), a ``MESHCHARTS_HELM_VERSION``
that is not installed failed every cluster one by one (exit 1), a ledger URL of an unknown scheme was
a ledger error (exit 1), and a kubeconfig that is not YAML ended in an internal error. None of them
depends on a cluster, so :func:`check_run_settings` finds them all at once, as one config error
(exit 2), before anything is rendered, locked or contacted.

What is checked is what the run will use: the run's ``--timeout`` and every component's
``helm: timeout:`` (with helm's own parser's rules, Go's ``time.ParseDuration``), the helm binary
:func:`~meshcharts.helm.locate.find_helm` picks, the ledger URL (``--ledger``, else the stack file's),
and the kubeconfig files of the clusters in the run. Whether a kube-context exists in a kubeconfig
stays a per-cluster finding: the other clusters are still applied.
"""

from __future__ import annotations

import dataclasses
from typing import Protocol

from meshcharts.compose.project import Project
from meshcharts.core.diagnostics import ConfigError, Diagnostic, Location, MeshchartsError
from meshcharts.core.fs import display_path
from meshcharts.core.kubeconfig import kubeconfig_problems
from meshcharts.ledger.urls import ledger_url_for
from meshcharts.helm.locate import find_helm
from meshcharts.ledger.errors import LedgerError
from meshcharts.ledger.urls import resolve_ledger_url

TIMEOUT_RULE = "apply.timeout"
TIMEOUT_HINT = "helm takes a Go duration: a number and a unit (ns, us, ms, s, m, h), repeated, e.g. 90s, 5m, 1h30m"

#: Go's time.ParseDuration units, in nanoseconds (``µs`` is written with either micro sign).
_UNITS = {"ns": 1, "us": 1_000, "\u00b5s": 1_000, "\u03bcs": 1_000, "ms": 1_000_000, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}
_MAX = 1 << 63  # a Go time.Duration is an int64 of nanoseconds


class RunSettings(Protocol):
    """What the checks read of :class:`~meshcharts.deploy.apply.ApplyOptions` (named here so this
    module does not import the one that calls it)."""

    @property
    def cluster(self) -> str | None: ...

    @property
    def timeout(self) -> str | None: ...

    @property
    def kubeconfig(self) -> str | None: ...

    @property
    def ledger_url(self) -> str | None: ...


def check_run_settings(project: Project, options: RunSettings) -> None:
    """Raise one :class:`ConfigError` listing every run setting that cannot work, whatever the clusters say."""
    problems = [
        *_timeout_problems(project, options),
        *_helm_problems(),
        *_ledger_problems(project, options),
        *_kubeconfig_problems(project, options),
    ]
    if problems:
        raise ConfigError(problems)


def parse_go_duration(text: str) -> int:
    """Nanoseconds in ``text`` as Go's ``time.ParseDuration`` (helm's ``--timeout``) reads it.

    ``[-+]?([0-9]*(\\.[0-9]*)?[a-z]+)+``, or ``0`` alone; each number needs a unit; the total must fit
    an int64 of nanoseconds. A port of Go's own loop (fractions as Go rounds them), raising ValueError
    where Go returns an error, saying what it objects to.
    """
    rest = text
    negative = False
    if rest[:1] in ("-", "+"):
        negative, rest = rest[0] == "-", rest[1:]
    if rest == "0":
        return 0
    if not rest:
        raise ValueError("empty" if not text else "no number")
    total = 0
    while rest:
        if not (rest[0] == "." or _digit(rest[0])):
            raise ValueError(f"{rest[0]!r} where a number belongs")
        whole, rest = _leading(rest)
        fraction = ""
        if rest[:1] == ".":
            fraction, rest = _leading(rest[1:])
            if not whole and not fraction:
                raise ValueError("a '.' without digits")
        unit_end = next((i for i, char in enumerate(rest) if char == "." or _digit(char)), len(rest))
        if unit_end == 0:
            raise ValueError(f"no unit after {whole}{'.' if fraction else ''}{fraction}")
        unit, rest = rest[:unit_end], rest[unit_end:]
        scale = _UNITS.get(unit)
        if scale is None:
            raise ValueError(f"unknown unit {unit!r}")
        if int(whole or "0") > _MAX // scale:
            raise ValueError(_TOO_LONG)
        value = int(whole or "0") * scale + _fraction(fraction, scale)
        total += value
        if value > _MAX or total > _MAX:
            raise ValueError(_TOO_LONG)
    if not negative and total > _MAX - 1:
        raise ValueError(_TOO_LONG)
    return -total if negative else total


_TOO_LONG = "longer than Go's longest duration (about 292 years)"


def _digit(char: str) -> bool:
    return "0" <= char <= "9"


def _leading(text: str) -> tuple[str, str]:
    """The ASCII digits ``text`` starts with, and what follows them."""
    end = next((i for i, char in enumerate(text) if not _digit(char)), len(text))
    return text[:end], text[end:]


def _fraction(digits: str, unit: int) -> int:
    """Go's ``leadingFraction``: digits past what an int64 holds are dropped, then float64 arithmetic."""
    value, scale = 0, 1.0
    for char in digits:
        if value > (_MAX - 1) // 10:
            break
        value = value * 10 + int(char)
        scale *= 10
    return int(float(value) * (float(unit) / scale)) if value else 0


def _duration_problem(value: str) -> str | None:
    try:
        parse_go_duration(value)
    except ValueError as exc:
        return f"{value!r} is not a duration helm accepts: {exc}"
    return None


def _timeout_problems(project: Project, options: RunSettings) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    if options.timeout is not None:
        reason = _duration_problem(options.timeout)
        if reason:
            found.append(Diagnostic(message=reason, rule=TIMEOUT_RULE, path="--timeout", hint=TIMEOUT_HINT))
    for component in project.stack.components.values():
        timeout = component.helm.timeout
        reason = None if timeout is None else _duration_problem(timeout)
        if reason:
            found.append(Diagnostic(message=reason, rule=TIMEOUT_RULE, location=component.location, component=component.name, path="helm.timeout", hint=TIMEOUT_HINT))
    return found


def _helm_problems() -> list[Diagnostic]:
    """The helm binary every cluster's releases would run (``$MESHCHARTS_HELM``, ``$MESHCHARTS_HELM_VERSION``)."""
    try:
        find_helm()
    except MeshchartsError as error:
        return list(error.diagnostics)
    return []


def _ledger_problems(project: Project, options: RunSettings) -> list[Diagnostic]:
    """The ledger URL's form (scheme, host, port); reaching the database stays the ledger's own error."""
    stack = project.stack
    try:
        resolve_ledger_url(ledger_url_for(stack, options.ledger_url), default_dir=stack.root)
    except LedgerError as error:
        if options.ledger_url:
            return [dataclasses.replace(d, path="--ledger") for d in error.diagnostics]
        return [dataclasses.replace(d, location=Location(display_path(stack.path)), path="ledger") for d in error.diagnostics]
    return []


def _kubeconfig_problems(project: Project, options: RunSettings) -> list[Diagnostic]:
    """Each kubeconfig file the run's clusters read must be a YAML mapping (what the client parses)."""
    clusters = project.stack.clusters
    names = list(clusters) if options.cluster is None else [options.cluster] if options.cluster in clusters else []
    settings = dict.fromkeys(options.kubeconfig or clusters[name].kubeconfig for name in names)
    found: list[Diagnostic] = []
    for setting in settings:
        found.extend(problem for problem in kubeconfig_problems(setting) if problem not in found)
    return found


__all__ = ["RunSettings", "check_run_settings", "parse_go_duration"]
