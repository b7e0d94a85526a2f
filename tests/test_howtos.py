"""The how-tos in docs/ are run, not just read.

For each page: every ``meshcharts`` command in its ```sh blocks runs in order in a temp folder (``cd``
lines move along, ``--addons-source`` points at the repo's small Istio stand-in) and must exit 0, except
in a block that starts with ``# expect exit N``: that block runs on a copy of the stack with the page's
deliberate mistake made (the same edit the page tells the reader to make) and must exit N. Then every
line the page quotes is checked against what really happened:

- ```text lines that look like ``file:line:col: ...`` must be printed for the mistake;
- ```text lines that start with ``charts-out/`` must exist after ``meshcharts render``;
- every other ```text line must be printed by one of the page's commands (generated chart digests are
  compared as ``+<digest>``, so a template change does not make the pages wrong);
- a ```yaml block headed ``# <file>`` must be an excerpt of that file in the stack, lines in order.
"""

from __future__ import annotations

import re
import shlex
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner

from meshcharts.cli import main
from tests.conftest import REPO_ROOT

DOCS = REPO_ROOT / "docs"
ADDONS = REPO_ROOT / "tests" / "fixtures" / "addons" / "istio-1.99.0"
PAGES = ["howto-rancher.md", "howto-kube-prometheus.md", "howto-istio-tracing.md", "howto-existing-monitoring.md"]
MAX_LINES = 160

FENCE = re.compile(r"^```(\w*)\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
EXPECT = re.compile(r"^#\s*expect exit (\d+)\s*$")
ERROR_LINE = re.compile(r"^[\w./-]+:\d+:\d+: ")
FILE_HEADER = re.compile(r"^#\s+([\w./-]+\.(?:ya?ml|json))\s*$")
DIGEST = re.compile(r"\+[0-9a-f]{12}\b")


# --- the deliberate mistake of each page: the edit the reader is told to make -------------------------

def _append(relative: str, text: str) -> Callable[[Path], None]:
    def apply(stack: Path) -> None:
        path = stack / relative
        path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")

    return apply


def _remove_component(name: str) -> Callable[[Path], None]:
    def apply(stack: Path) -> None:
        path = stack / "meshcharts.yaml"
        text = path.read_text(encoding="utf-8")
        edited = re.sub(rf"^  {re.escape(name)}:\n(?:    .*\n)+", "", text, count=1, flags=re.MULTILINE)
        assert edited != text, f"no component {name} in {path}"
        path.write_text(edited, encoding="utf-8")

    return apply


def _replace(relative: str, old: str, new: str) -> Callable[[Path], None]:
    def apply(stack: Path) -> None:
        path = stack / relative
        text = path.read_text(encoding="utf-8")
        assert old in text, f"{old!r} not in {path}"
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    return apply


@dataclass(frozen=True)
class Mistake:
    edits: tuple[Callable[[Path], None], ...]
    shown: tuple[str, ...]  # what the page must show so the reader can make the same edit


RANCHER_PROMETHEUS = "external_services:\n  prometheus:\n    custom_metrics_url: http://rancher-monitoring-prometheus.cattle-monitoring-system.svc:9090\n"
GRAFANA_TYPO = "      grafana:\n        in_cluster_url: http://grafana.monitoring.svc.cluster.local\n"

MISTAKES = {
    "howto-rancher.md": Mistake(
        edits=(_append("values/kiali.yaml", RANCHER_PROMETHEUS), _append("values/tracing.yaml", "  contextPath: /jaeger\n")),
        shown=(RANCHER_PROMETHEUS, "`  contextPath: /jaeger`", "`values/tracing.yaml`"),
    ),
    "howto-kube-prometheus.md": Mistake(edits=(_remove_component("monitoring"),), shown=("Delete the `monitoring:` component",)),
    "howto-istio-tracing.md": Mistake(edits=(_remove_component("monitoring"),), shown=("Delete the `monitoring:` component",)),
    "howto-existing-monitoring.md": Mistake(
        edits=(_replace("values/addons.yaml", "    external_services:\n", "    external_services:\n" + GRAFANA_TYPO),),
        shown=("    external_services:\n" + GRAFANA_TYPO + "      tracing:\n",),
    ),
}


# --- reading a page ---------------------------------------------------------------------------------

@dataclass
class Block:
    lang: str
    lines: list[str]


def blocks(page: str) -> list[Block]:
    return [Block(match.group(1), match.group(2).splitlines()) for match in FENCE.finditer(page)]


def normalize(line: str) -> str:
    return DIGEST.sub("+<digest>", line.rstrip())


@dataclass
class Run:
    """What running a page's commands left behind."""

    outputs: set[str] = field(default_factory=set)
    mistake_outputs: set[str] = field(default_factory=set)
    commands: list[list[str]] = field(default_factory=list)
    mistake_runs: int = 0


def _invoke(args: list[str], cwd: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    with monkeypatch.context() as patch:
        patch.chdir(cwd)
        result = CliRunner().invoke(main, args, catch_exceptions=False)
    return result.exit_code, result.output


def _arguments(line: str) -> list[str]:
    args = shlex.split(line, comments=True)[1:]
    if "--addons-source" in args:  # the reader's ~/istio-1.x.y; here the repo's small stand-in
        args[args.index("--addons-source") + 1] = str(ADDONS)
    return args


def run_page(name: str, root: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    run = Run()
    cwd = root
    for block in blocks((DOCS / name).read_text(encoding="utf-8")):
        if block.lang != "sh":
            continue
        expected = next((int(m.group(1)) for m in map(EXPECT.match, block.lines) if m), None)
        here = cwd
        if expected is not None:  # a fresh copy of the stack, with the page's mistake made
            assert cwd != root, f"{name}: the mistake block comes before the stack exists"
            here = root / "mistake" / f"{run.mistake_runs}" / cwd.name
            shutil.copytree(cwd, here, ignore=shutil.ignore_patterns("charts-out", ".meshcharts*"))
            for edit in MISTAKES[name].edits:
                edit(here)
            run.mistake_runs += 1
        for raw in block.lines:
            line = raw.strip()
            if line.startswith("cd "):
                here = (here / shlex.split(line)[1]).resolve()
                cwd = here if expected is None else cwd
                continue
            if line.startswith("helm pull "):
                _helm_pull(line, here)
                continue
            if not line.startswith("meshcharts "):
                continue
            args = _arguments(line)
            run.commands.append(args)
            code, output = _invoke(args, here, monkeypatch)
            lines = {normalize(out) for out in output.splitlines()}
            if expected is None:
                assert code == 0, f"{name}: `{line}` exited {code}:\n{output}"
                run.outputs |= lines
            else:
                assert code == expected, f"{name}: `{line}` (after the page's mistake) exited {code}, not {expected}:\n{output}"
                run.mistake_outputs |= lines
    return run


def _helm_pull(line: str, cwd: Path) -> None:
    """`helm pull CHART --repo URL --version V [--destination DIR]` without the network: the archive
    helm would write, as a placeholder (meshcharts checks that a local chart exists, not what is in it)."""
    args = shlex.split(line, comments=True)[2:]
    options = {args[i]: args[i + 1] for i in range(len(args) - 1) if args[i].startswith("--")}
    chart = next(a for i, a in enumerate(args) if not a.startswith("-") and (i == 0 or not args[i - 1].startswith("--")))
    assert "--repo" in options and "--version" in options, f"`{line}`: pass --repo and --version, as meshcharts prints it"
    (cwd / options.get("--destination", ".") / f"{chart}-{options['--version']}.tgz").write_bytes(b"\x1f\x8b placeholder")


def _init_directory(args: list[str]) -> str:
    """DIR of `meshcharts init [options] DIR` (init runs in the page's temp folder)."""
    positional = [a for i, a in enumerate(args[1:], 1) if not a.startswith("-") and not args[i - 1].startswith("--")]
    return positional[0]


# --- the tests --------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", PAGES)
def test_howto_commands_run_and_quoted_output_is_real(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    page = (DOCS / name).read_text(encoding="utf-8")
    run = run_page(name, tmp_path, monkeypatch)
    verbs = [args[0] for args in run.commands]
    for verb in ("init", "validate", "explain", "render"):
        assert verb in verbs, f"{name}: no `meshcharts {verb}` in its sh blocks"
    assert run.mistake_runs >= 1, f"{name}: no block marked `# expect exit N` showing the seed's mistake"
    for shown in MISTAKES[name].shown:
        assert shown in page, f"{name}: the mistake the test makes is not shown on the page: {shown!r}"

    stack = tmp_path / _init_directory(next(args for args in run.commands if args[0] == "init"))
    errors_quoted = 0
    for block in blocks(page):
        if block.lang == "text":
            for line in filter(None, (normalize(line) for line in block.lines)):
                if ERROR_LINE.match(line):
                    errors_quoted += 1
                    assert line in run.mistake_outputs, f"{name}: quoted error not printed for the mistake:\n{line}\nprinted:\n" + "\n".join(sorted(run.mistake_outputs))
                elif line.startswith("charts-out/"):
                    assert (stack / line.split()[0]).exists(), f"{name}: {line.split()[0]} is not written by meshcharts render"
                else:
                    assert line in run.outputs | run.mistake_outputs, f"{name}: quoted output not printed by any command on the page:\n{line}"
        elif block.lang == "yaml" and block.lines and (header := FILE_HEADER.match(block.lines[0])):
            path = stack / header.group(1)
            assert path.is_file(), f"{name}: quotes {header.group(1)}, which the stack does not have"
            _assert_excerpt(name, path, block.lines[1:])
    assert errors_quoted >= 1, f"{name}: quotes no error line for its mistake"


def _assert_excerpt(name: str, path: Path, excerpt: list[str]) -> None:
    # init rewrites the stack file with ruamel.yaml, which may wrap a long flow mapping after a comma;
    # the page quotes it on one line as the preset has it
    text = re.sub(r",[ \t]*\n[ \t]+", ", ", path.read_text(encoding="utf-8"))
    actual = [line.rstrip() for line in text.splitlines()]
    position = 0
    for line in (line.rstrip() for line in excerpt):
        try:
            position = actual.index(line, position) + 1
        except ValueError:
            pytest.fail(f"{name}: line not in {path.name} (or out of order): {line!r}")


@pytest.mark.parametrize("name", PAGES)
def test_howto_is_short_and_portable(name: str) -> None:
    page = (DOCS / name).read_text(encoding="utf-8")
    assert len(page.splitlines()) <= MAX_LINES, f"{name}: {len(page.splitlines())} lines; a how-to is for someone in a hurry"
    assert "/tmp" not in page and str(REPO_ROOT) not in page and "fixtures" not in page
    assert "[deploying](deploying.md)" in page, f"{name}: end with where to go to deploy it"
    for block in blocks(page):
        if block.lang == "sh":
            for line in block.lines:
                if "--addons-source" in line:
                    assert re.search(r"--addons-source ~/istio-\d+\.\d+\.\d+\b", line), f"{name}: point --addons-source at the reader's Istio release: {line}"
