"""A chart's ``kubeVersion`` constraint, judged as helm judges it before it installs anything.

helm (3 and 4) refuses a chart whose ``Chart.yaml`` ``kubeVersion`` excludes the cluster: "chart requires
kubeVersion: >=1.25.0-0 which is incompatible with Kubernetes v1.24.3". It reads the constraint with
Masterminds semver v3 (``chartutil.IsCompatibleRange``) and checks the API server's ``gitVersion``
whole, prerelease and all; a constraint or version that does not parse counts as incompatible. Only
the chart's own kubeVersion is checked, not its subcharts' (``helm template --kube-version`` with an
excluding subchart renders). Offline, helm 3.22 and 4.3 first cut ``--kube-version`` to its numbers.

The rules, which differ from plain semver ordering and which :func:`satisfies` follows:

* ``||`` separates alternatives; inside one, constraints separated by spaces or commas must all hold.
  ``A - B`` is ``>= A, <= B``.
* Operators ``=`` (or none), ``!=``, ``>``, ``<``, ``>=`` (``=>``), ``<=`` (``=<``), ``~`` (``~>``), ``^``.
* ``x``, ``X`` or ``*`` (or a missing part) as minor or patch makes the constraint a range: ``1.2.x``
  and ``1.2`` are ``>=1.2.0 <1.3.0`` with ``=``, ``>1.2`` means 1.3.0 or later, ``<=1.2`` up to any 1.2.z.
* A version with a prerelease (``v1.27.3-gke.1700``, as managed clusters report) matches only an
  alternative that names a prerelease itself: hence charts' ``>=1.19.0-0``, which admits them all.

helm 3.11 and later (Masterminds semver 3.2+) decide that per alternative; helm up to 3.10 (semver
3.1.1) per bound, so there ``>=1.19.0-0 <1.30.0`` excludes ``v1.27.3-gke.1700`` (``!=`` never
excludes a prerelease there), and ``^0.0.3`` also admits 0.1.x. :data:`PER_BOUND_BEFORE` names the
first helm that changed; pass the helm in use to :func:`satisfies`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import semver

_NUMBER = r"[0-9|xX*]+"  # semver's class holds a stray "|", so "x.|0" reads as x
_IDENTS = r"[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*"
_CONSTRAINT_VERSION = rf"v?({_NUMBER})(\.{_NUMBER})?(\.{_NUMBER})?(-{_IDENTS})?(?:\+{_IDENTS})?"
_OPERATORS = r"!=|>=|=>|<=|=<|~>|>|<|=|~|\^|"
_ONE = re.compile(rf"^\s*({_OPERATORS})\s*({_CONSTRAINT_VERSION})\s*\Z", re.ASCII)
_FIND = re.compile(rf"({_OPERATORS})\s*({_CONSTRAINT_VERSION})", re.ASCII)
_ALL = re.compile(rf"^\s*(?:{_OPERATORS})\s*{_CONSTRAINT_VERSION}\s*(?:(?:\s+|,\s*)(?:{_OPERATORS})\s*{_CONSTRAINT_VERSION}\s*)*\Z", re.ASCII)
_ALL_LEGACY = re.compile(rf"^(?:\s*(?:{_OPERATORS})\s*{_CONSTRAINT_VERSION}\s*,?)+\Z", re.ASCII)  # semver 3.1: no separator needed
_RANGE = re.compile(rf"\s*({_CONSTRAINT_VERSION})\s+-\s+({_CONSTRAINT_VERSION})\s*", re.ASCII)
_VERSION = re.compile(rf"^v?([0-9]+)(?:\.([0-9]+))?(?:\.([0-9]+))?(?:-({_IDENTS}))?(?:\+({_IDENTS}))?\Z", re.ASCII)
_WILDCARDS = ("x", "X", "*")
MAX_LENGTH = 512  # semver 3.5's limits (the semver of helm 3.22 and 4.3): beyond them helm cannot read it
MAX_ALTERNATIVES = 32

#: The first helm whose semver decides prereleases per alternative (helm 3.11.0: Masterminds semver 3.2.0).
PER_BOUND_BEFORE = semver.Version(3, 11, 0)


class ConstraintError(ValueError):
    """The text is no constraint (or no version) helm can read: helm then refuses the chart."""


def parse_version(text: str, helm: semver.Version | None = None) -> semver.Version:
    """A version as helm reads the cluster's: ``v1.30.4+k3s1``, ``1.30``, ``v1.27.3-gke.1700``.

    As semver's ``NewVersion``: missing parts are 0, a number may start with 0, a numeric prerelease
    part may not; current helms read at most 256 characters.
    """
    match = _VERSION.match(text)
    if match is None or (len(text) > 256 and not _legacy(helm)):
        raise ConstraintError(f"{text!r} is not a version")
    major, minor, patch, prerelease, build = match.groups()
    if any(len(part) > 1 and part.isdigit() and part.startswith("0") for part in (prerelease or "").split(".")):
        raise ConstraintError(f"{text!r} is not a version: a numeric prerelease part starts with 0")
    return semver.Version(int(major), int(minor or 0), int(patch or 0), prerelease, build)


def _legacy(helm: semver.Version | None) -> bool:
    """helm up to 3.10 (Masterminds semver 3.1.1)."""
    return helm is not None and helm < PER_BOUND_BEFORE


@dataclass(frozen=True)
class _Bound:
    """One ``OP VERSION`` of a constraint; ``*_dirty`` when that part was a wildcard or left out."""

    operator: str
    version: semver.Version
    dirty: bool
    minor_dirty: bool
    patch_dirty: bool

    def allows(self, version: semver.Version, prereleases: bool, legacy: bool) -> bool:
        """``prereleases``: the alternative names one. ``legacy``: semver 3.1, where only this bound counts."""
        if legacy:
            prereleases = self.version.prerelease is not None
            if version.prerelease and not prereleases and (self.operator != "!=" or self.dirty):
                return False
        elif version.prerelease and not prereleases:
            return False
        operator = self.operator
        if operator in ("", "="):
            return self._tilde(version) if self.dirty else version.compare(self.version) == 0
        if operator == "!=":
            return self._not_equal(version)
        if operator == ">":
            return self._greater(version)
        if operator == "<":
            return version.compare(self.version) < 0
        if operator in (">=", "=>"):
            return version.compare(self.version) >= 0
        if operator in ("<=", "=<"):
            return self._at_most(version)
        if operator in ("~", "~>"):
            return self._tilde(version)
        return self._caret(version, legacy)

    def _not_equal(self, version: semver.Version) -> bool:
        con = self.version
        if self.dirty:
            if con.major != version.major:
                return True
            if self.minor_dirty:
                return False
            if con.minor != version.minor:
                return True
            if self.patch_dirty:  # != 1.2.x: any 1.2.z is equal, unless the prereleases differ
                return (version.prerelease or "") != (con.prerelease or "")
        return version.compare(con) != 0

    def _greater(self, version: semver.Version) -> bool:
        con = self.version
        if not self.dirty:
            return version.compare(con) > 0
        if version.major != con.major:
            return version.major > con.major
        if self.minor_dirty:  # >1 means 2.0.0 or later
            return False
        if self.patch_dirty:  # >1.2 means 1.3.0 or later
            return version.minor > con.minor
        return version.compare(con) > 0

    def _at_most(self, version: semver.Version) -> bool:
        con = self.version
        if not self.dirty:
            return version.compare(con) <= 0
        if version.major > con.major:
            return False
        return not (version.major == con.major and version.minor > con.minor and not self.minor_dirty)

    def _tilde(self, version: semver.Version) -> bool:
        con = self.version
        if version.compare(con) < 0:
            return False
        if (con.major, con.minor, con.patch) == (0, 0, 0) and not self.minor_dirty and not self.patch_dirty:
            return True
        if version.major != con.major:
            return False
        return version.minor == con.minor or self.minor_dirty

    def _caret(self, version: semver.Version, legacy: bool) -> bool:
        con = self.version
        if version.compare(con) < 0:
            return False
        if con.major > 0 or self.minor_dirty:
            return version.major == con.major
        if version.major > 0:
            return False
        if con.minor > 0 or self.patch_dirty:
            return version.minor == con.minor
        if version.minor > 0 and not legacy:  # semver 3.1 let ^0.0.3 admit 0.1.x
            return False
        return version.patch == con.patch


@dataclass(frozen=True)
class Constraint:
    """A parsed constraint: alternatives of bounds that must all hold."""

    text: str
    alternatives: tuple[tuple[_Bound, ...], ...]

    def allows(self, version: semver.Version, helm: semver.Version | None = None) -> bool:
        """Whether ``version`` is admitted, as ``helm`` (default: a current one) decides."""
        legacy = _legacy(helm)
        for bounds in self.alternatives:
            prereleases = any(bound.version.prerelease for bound in bounds)
            if all(bound.allows(version, prereleases, legacy) for bound in bounds):
                return True
        return False


def parse_constraint(text: str, helm: semver.Version | None = None) -> Constraint:
    """``">= 1.21.0 < 1.30.0 || ^2.x"`` as helm reads it; :class:`ConstraintError` where helm could not."""
    legacy = _legacy(helm)
    if not legacy and len(text) > MAX_LENGTH:
        raise ConstraintError(f"the constraint is {len(text)} characters long; helm reads at most {MAX_LENGTH}")
    tail = "" if legacy else " "  # semver 3.1 wrote "A - B" as ">= A, <= B" without the closing space
    rewritten = _RANGE.sub(lambda match: f">= {match.group(1)}, <= {match.group(6)}{tail}", text)
    if not legacy and rewritten.count("||") >= MAX_ALTERNATIVES:
        raise ConstraintError(f"the constraint has more than {MAX_ALTERNATIVES} alternatives; helm reads at most {MAX_ALTERNATIVES}")
    alternatives = []
    for part in rewritten.split("||"):
        if not (_ALL_LEGACY if legacy else _ALL).match(part):
            raise ConstraintError(f"{part.strip()!r} is not a version constraint")
        alternatives.append(tuple(_bound(found.group(0), helm) for found in _FIND.finditer(part)))
    return Constraint(text, tuple(alternatives))


def _bound(text: str, helm: semver.Version | None) -> _Bound:
    match = _ONE.match(text)
    if match is None:
        raise ConstraintError(f"{text.strip()!r} is not a version constraint")
    operator, _, major, minor, patch, prerelease = match.groups()
    prerelease = prerelease or ""
    minor, patch = (minor or "").lstrip("."), (patch or "").lstrip(".")
    dirty = minor_dirty = patch_dirty = False
    if major in _WILDCARDS:
        dirty, numbers = True, "0.0.0"
        if _legacy(helm):  # semver 3.1 dropped the prerelease of x.y.z-pre
            prerelease = ""
    elif minor in _WILDCARDS or not minor:
        dirty = minor_dirty = True
        numbers = f"{major}.0.0"
    elif patch in _WILDCARDS or not patch:
        dirty = patch_dirty = True
        numbers = f"{major}.{minor}.0"
    else:
        numbers = f"{major}.{minor}.{patch}"
    try:
        version = parse_version(numbers + prerelease, helm)
    except ConstraintError:
        raise ConstraintError(f"{text.strip()!r} is not a version constraint") from None
    return _Bound(operator, version, dirty, minor_dirty, patch_dirty)


def satisfies(constraint: str, version: str, helm: semver.Version | None = None) -> bool:
    """Whether ``helm`` (default: a current one) installs a chart with ``kubeVersion: constraint`` on a
    cluster of ``version``."""
    try:
        return parse_constraint(constraint, helm).allows(parse_version(version, helm), helm)
    except ConstraintError:
        return False


__all__ = ["PER_BOUND_BEFORE", "Constraint", "ConstraintError", "parse_constraint", "parse_version", "satisfies"]
