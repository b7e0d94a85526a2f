"""Did-you-mean suggestions, one place for every stage."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(word: str, candidates: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The candidate most like ``word``, when one is close enough to be a likely typo."""
    options = sorted(set(candidates))
    matches = difflib.get_close_matches(word, options, n=1, cutoff=cutoff)
    if matches:
        return matches[0]
    lowered = {option.lower(): option for option in options}
    return lowered.get(word.lower())


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """A hint like ``did you mean "strategy"?`` or ``None``."""
    match = closest(word, candidates)
    return f'did you mean "{match}"?' if match and match != word else None
