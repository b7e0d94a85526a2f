"""The docs stay true: the generated reference matches the code, the documented commands and the
Python example run against the bundled example, and links between pages resolve.

Convention for docs/*.md: a code block whose first line starts with ``meshcharts `` is a list of
commands that must succeed (exit 0) in the repo root when every name in it belongs to the bundled
example; show failing runs as a transcript instead (first line ``$ meshcharts ...``).
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from meshcharts import docgen
from tests.conftest import REPO_ROOT

DOCS = REPO_ROOT / "docs"
REFERENCE = DOCS / "reference"
RUNNABLE = {"validate", "explain", "types"}
REGENERATE = "docs/reference is out of date: run `python -m meshcharts.docgen` and commit docs/reference/"


def _markdown() -> MarkdownIt:
    return MarkdownIt("commonmark").enable("table")


def _hand_written() -> list[Path]:
    return sorted(DOCS.glob("*.md"))


def _all_pages() -> list[Path]:
    return sorted(DOCS.rglob("*.md"))


def _fences(path: Path) -> list[tuple[str, str]]:
    """(info string, content) of every fenced code block in a page."""
    tokens = _markdown().parse(path.read_text(encoding="utf-8"))
    return [(token.info.strip(), token.content) for token in tokens if token.type == "fence"]


def test_reference_is_generated_from_the_current_code() -> None:
    pages = docgen.generate()
    stale = [relative for relative, text in pages.items() if not (REFERENCE / relative).is_file() or (REFERENCE / relative).read_text(encoding="utf-8") != text]
    extra = [
        path.relative_to(REFERENCE).as_posix()
        for path in REFERENCE.rglob("*.md")
        if path.relative_to(REFERENCE).as_posix() not in pages and path.read_text(encoding="utf-8").startswith(docgen.HEADER)
    ]
    assert not stale and not extra, f"{REGENERATE} (differs: {stale}, no longer generated: {extra})"


def test_generation_is_deterministic_and_the_entry_point_writes_it(tmp_path: Path) -> None:
    assert docgen.generate() == docgen.generate()
    assert docgen.main([str(tmp_path)]) == 0
    written = {path.relative_to(tmp_path).as_posix(): path.read_text(encoding="utf-8") for path in tmp_path.rglob("*.md")}
    assert written == docgen.generate()


def test_reference_covers_every_schema_and_type() -> None:
    from meshcharts.components import catalog
    from meshcharts.schema.store import all_schemas

    pages = docgen.generate()
    for name in all_schemas():
        assert f"schemas/{name.removesuffix('.schema.json')}.md" in pages
        assert f"[`{name}`]" in pages["schemas/index.md"]
    for name in catalog():
        assert f"## `{name}`" in pages["wiring.md"]


def _example_names() -> tuple[set[str], set[str]]:
    import meshcharts

    stack = meshcharts.open_project(REPO_ROOT).stack
    return set(stack.clusters), set(stack.components)


def _documented_commands() -> list[tuple[str, str]]:
    """(page, command line) for every runnable command in a block that starts with ``meshcharts ``."""
    found = []
    for page in _hand_written():
        for _info, content in _fences(page):
            if not content.startswith("meshcharts "):
                continue
            for line in content.splitlines():
                command = line.split(" #", 1)[0].strip()
                if command.startswith("meshcharts "):
                    found.append((page.name, command))
    return found


def _names_only_the_example(argv: list[str], clusters: set[str], components: set[str]) -> bool:
    """Whether a command refers to nothing outside the bundled example (other stacks' commands are skipped)."""
    words = [word for word in argv[2:] if not word.startswith("-")]
    if any(option in argv for option in ("--stack",)):
        return False
    if argv[1] == "validate":
        return all((REPO_ROOT / word).exists() for word in words)
    if argv[1] == "explain":
        return len(words) >= 2 and words[0] in clusters and words[1] in components
    return True


def test_documented_commands_succeed_on_the_bundled_example(monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from meshcharts.cli import main

    clusters, components = _example_names()
    commands = _documented_commands()
    assert commands, "the docs show no runnable meshcharts command"
    monkeypatch.chdir(REPO_ROOT)
    ran = []
    for page, command in commands:
        argv = shlex.split(command)
        if len(argv) < 2 or argv[1] not in RUNNABLE or not _names_only_the_example(argv, clusters, components):
            continue
        result = CliRunner().invoke(main, argv[1:])
        assert result.exit_code == 0, f"docs/{page}: `{command}` exited {result.exit_code}:\n{result.output}"
        ran.append(command)
    assert ran


def test_python_api_example_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = [content for info, content in _fences(DOCS / "python-api.md") if info == "python"]
    assert blocks, "docs/python-api.md has no python example"
    monkeypatch.chdir(REPO_ROOT)
    namespace: dict[str, object] = {}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        for block in blocks:
            exec(compile(block, "docs/python-api.md", "exec"), namespace)  # noqa: S102 - our own docs
    assert printed.getvalue().startswith("True [")
    assert "usage.unknown-cluster" in printed.getvalue()


def _slug(heading: str) -> str:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    tokens = _markdown().parse(path.read_text(encoding="utf-8"))
    return {_slug(tokens[index + 1].content) for index, token in enumerate(tokens) if token.type == "heading_open"}


def _links(path: Path) -> list[str]:
    found = []
    for token in _markdown().parse(path.read_text(encoding="utf-8")):
        for child in token.children or []:
            if child.type == "link_open":
                found.append(str(child.attrs["href"]))
    return found


@pytest.mark.parametrize("page", _all_pages(), ids=lambda path: path.relative_to(DOCS).as_posix())
def test_links_between_pages_resolve(page: Path) -> None:
    broken = []
    for href in _links(page):
        if re.match(r"^[a-z]+:", href):
            continue  # https:, mailto: ...
        target, _, anchor = href.partition("#")
        path = (page.parent / target).resolve() if target else page
        if not path.exists():
            broken.append(href)
        elif anchor and path.suffix == ".md" and anchor not in _anchors(path):
            broken.append(href)
    assert not broken, f"docs/{page.relative_to(DOCS)}: broken links {broken}"


def test_every_page_says_what_it_is_for() -> None:
    for page in [page for page in _hand_written() if not page.name.startswith("howto-")]:
        opening = page.read_text(encoding="utf-8").split("\n\n", 2)[1]
        assert "What this page is for" in opening, f"docs/{page.name} should open with what it is for"


def test_validation_page_covers_every_rule_family() -> None:
    text = (DOCS / "validation.md").read_text(encoding="utf-8")
    for family in ("yaml", "stack", "layers", "compose", "schema", "kiali", "wiring"):
        assert f"### `{family}.*`" in text, f"docs/validation.md has no section for {family}.* rules"
    assert "## Seed mistakes: error or warning, and why" in text
