"""Chart versions: Helm requires SemVer 2 (Rancher charts carry the upstream version as build metadata,
``100.0.0+up1.35.0``). We parse with python-semver and compare the way Helm does, ignoring build
metadata for ordering but keeping it, because Rancher's ``+upX.Y.Z`` tells which upstream app ships.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import semver

_UPSTREAM = re.compile(r"^up(?P<version>\d+\.\d+\.\d+.*)$")


class InvalidVersion(ValueError):
    """Not a chart version Helm would accept."""


@lru_cache(maxsize=512)
def parse_chart_version(text: str) -> semver.Version:
    """Parse a chart version; a leading ``v`` and a missing minor/patch are accepted as Helm does."""
    candidate = str(text).strip()
    if candidate[:1] in ("v", "V"):
        candidate = candidate[1:]
    try:
        return semver.Version.parse(candidate, optional_minor_and_patch=True)
    except (ValueError, TypeError) as exc:
        raise InvalidVersion(f"{text!r} is not a valid chart version (SemVer 2, e.g. 1.2.3 or 100.0.0+up1.35.0)") from exc


def upstream_version(version: semver.Version) -> semver.Version | None:
    """The upstream app version a Rancher chart wraps (``100.0.0+up1.35.0`` gives 1.35.0)."""
    if version.build:
        match = _UPSTREAM.match(version.build)
        if match:
            try:
                return semver.Version.parse(match.group("version"))
            except ValueError:
                return None
    return None


@dataclass(frozen=True)
class VersionRange:
    """A half-open range ``[minimum, below)`` of chart versions; ``None`` ends are open.

    Build metadata is ignored for ordering, as in SemVer precedence.
    """

    minimum: str | None = None
    below: str | None = None

    def __contains__(self, version: object) -> bool:
        parsed = version if isinstance(version, semver.Version) else parse_chart_version(str(version))
        core = parsed.replace(build=None)
        if self.minimum is not None and core.compare(parse_chart_version(self.minimum).replace(build=None)) < 0:
            return False
        if self.below is not None and core.compare(parse_chart_version(self.below).replace(build=None)) >= 0:
            return False
        return True

    def __str__(self) -> str:
        low = f">={self.minimum}" if self.minimum else ""
        high = f"<{self.below}" if self.below else ""
        return ", ".join(part for part in (low, high) if part) or "any"
