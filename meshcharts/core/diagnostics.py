"""Diagnostics: the one shape every problem meshcharts finds takes, and the exceptions that carry them.

Every stage (loading YAML, reading the stack file, composing layers, schema and wiring checks) reports
through :class:`Diagnostic`, so the reporter can print them all the same way
(``file:line:col: cluster/component: key.path: message``) and the JSON of ``validate`` has one schema.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple


class ExitCode(enum.IntEnum):
    """Exit codes from DESIGN.md. ``validate``: 0 valid, 1 invalid, 2 usage or config error.

    3 is a bug in meshcharts, never a verdict on the input, so pre-commit and CI can tell a crash
    from a finding. 130 (128 + SIGINT, as shells report it): the user interrupted the command.
    """

    OK = 0
    INVALID = 1
    USAGE = 2
    INTERNAL = 3
    INTERRUPTED = 130


class Severity(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"


class Location(NamedTuple):
    """A position in a file, 1-based line and column as editors and compilers print them.

    A named tuple rather than a frozen dataclass: loading a values file makes one for every key and
    value, and a tuple is made in half the time (a fifth of loading a 6,000-line file).
    """

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if self.line:
            return f"{self.file}:{self.line}:{self.column}"
        return self.file


@dataclass(frozen=True)
class Diagnostic:
    """One finding: where it is, which composition it belongs to, which key, what is wrong.

    ``rule`` is a stable identifier (``schema.additionalProperties``, ``yaml.duplicate-key``,
    ``wiring.unknown-host`` ...) that scripts can filter on; ``message`` is for people.
    """

    message: str
    rule: str
    location: Location | None = None
    cluster: str | None = None
    component: str | None = None
    path: str = ""
    severity: Severity = Severity.ERROR
    hint: str | None = None
    clusters: tuple[str, ...] = ()  # set when one finding stands for several clusters (a shared layer line)

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def with_context(self, *, cluster: str | None = None, component: str | None = None) -> Diagnostic:
        """The same finding placed in a composition (loaders do not know which one they serve)."""
        return Diagnostic(
            message=self.message,
            rule=self.rule,
            location=self.location,
            cluster=self.cluster or cluster,
            component=self.component or component,
            path=self.path,
            severity=self.severity,
            hint=self.hint,
            clusters=self.clusters,
        )

    @property
    def all_clusters(self) -> tuple[str, ...]:
        """Every cluster this finding is about: the folded list, else the one cluster (or none)."""
        return self.clusters or ((self.cluster,) if self.cluster else ())

    def as_json(self) -> dict[str, Any]:
        """The error object of DESIGN.md's ``validate`` JSON (plus ``clusters``, severity and hint)."""
        loc = self.location
        return {
            "file": loc.file if loc else None,
            "line": loc.line if loc and loc.line else None,
            "column": loc.column if loc and loc.column else None,
            "cluster": self.cluster,
            "clusters": list(self.all_clusters),
            "component": self.component,
            "path": self.path,
            "message": self.message + (f" ({self.hint})" if self.hint else ""),
            "rule": self.rule,
            "severity": self.severity.value,
        }

    def sort_key(self) -> tuple[Any, ...]:
        loc = self.location or Location("")
        return (loc.file, loc.line, loc.column, self.cluster or "", self.component or "", self.path, self.message)


class MeshchartsError(Exception):
    """A problem that stops the command. Carries one or more diagnostics and the exit code to use.

    The CLI catches exactly this type and prints its diagnostics; anything else escaping is a bug.
    """

    exit_code: ExitCode = ExitCode.USAGE

    def __init__(self, diagnostics: Diagnostic | list[Diagnostic], exit_code: ExitCode | None = None):
        self.diagnostics: list[Diagnostic] = (
            [diagnostics] if isinstance(diagnostics, Diagnostic) else list(diagnostics)
        )
        if exit_code is not None:
            self.exit_code = exit_code
        super().__init__("; ".join(d.message for d in self.diagnostics))


class ConfigError(MeshchartsError):
    """The stack cannot be read at all: missing or broken stack file, bad arguments. Exit 2."""

    exit_code = ExitCode.USAGE


class InvalidInput(MeshchartsError):
    """A values file or setting is wrong in a way the user must fix. Exit 1."""

    exit_code = ExitCode.INVALID


@dataclass
class DiagnosticList:
    """Collects findings across stages; errors decide the exit code, warnings never do."""

    items: list[Diagnostic] = field(default_factory=list)
    _seen: set[Diagnostic] = field(default_factory=set, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._seen.update(self.items)

    def add(self, diagnostic: Diagnostic) -> None:
        """Keep the first of equal findings; a set, not a scan of the list: a file with 100,000
        unknown keys is 100,000 findings."""
        if diagnostic not in self._seen:
            self._seen.add(diagnostic)
            self.items.append(diagnostic)

    def extend(self, diagnostics: Iterable[Diagnostic]) -> None:
        for diagnostic in diagnostics:
            self.add(diagnostic)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.items if d.is_error]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.items if not d.is_error]

    def sorted(self) -> list[Diagnostic]:
        return sorted(self.items, key=Diagnostic.sort_key)

