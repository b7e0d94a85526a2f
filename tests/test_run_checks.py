"""apply's settings that are wrong whatever the clusters say are config errors (exit 2) before any is touched.

The stack here is pulled and its kubeconfig names an API server on 127.0.0.1:1, where nothing listens:
a run that got as far as a cluster would end differently (exit 1, "Connection refused", a ledger
written). Each case below must stop before that, with one line per problem and nothing left behind.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import Result

from meshcharts.api import open_project
from meshcharts.deploy.pull import pull_charts
from meshcharts.deploy.run_checks import parse_go_duration
from meshcharts.helm import HelmClient
from tests.conftest import MINIMAL_STACK, StackDir

pytestmark = pytest.mark.helm

LISTY = Path(__file__).parent / "fixtures" / "charts" / "listy"
UNREACHABLE = """\
apiVersion: v1
kind: Config
clusters:
- {name: nowhere, cluster: {server: 'https://127.0.0.1:1'}}
users:
- {name: nobody, user: {token: not-a-secret}}
contexts:
- {name: east, context: {cluster: nowhere, user: nobody}}
- {name: west, context: {cluster: nowhere, user: nobody}}
current-context: east
"""


@pytest.fixture
def stack(tmp_path: Path, helm_binary: Path, helm_client: HelmClient, monkeypatch: pytest.MonkeyPatch) -> StackDir:
    """The minimal stack with its two charts pulled, every cluster's context pointing at 127.0.0.1:1.

    The helm the tests found is named outright: with a private cache, apply would not find one that
    lives in the shared cache."""
    offline = tmp_path / "offline"
    for name, version in (("kiali-server", "1.89.3"), ("rancher-tracing", "100.0.0")):
        source = tmp_path / "src" / name
        shutil.copytree(LISTY, source)
        chart = yaml.safe_load((source / "Chart.yaml").read_text())
        chart.update(name=name, version=version)
        (source / "Chart.yaml").write_text(yaml.safe_dump(chart))
        helm_client.package(source, offline)
    monkeypatch.setenv("MESHCHARTS_CHARTS", str(offline))
    monkeypatch.setenv("MESHCHARTS_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("MESHCHARTS_HELM_VERSION", raising=False)
    monkeypatch.setenv("MESHCHARTS_HELM", str(helm_binary))
    stack = StackDir(tmp_path / "stack")
    stack.write("meshcharts.yaml", MINIMAL_STACK)
    pull_charts(open_project(stack.root))
    monkeypatch.setenv("KUBECONFIG", str(stack.write("kubeconfig", UNREACHABLE)))
    return stack


def _stopped_before_any_cluster(stack: StackDir, result: Result) -> list[str]:
    """The lines apply printed, after checking it ended as a config error with nothing run."""
    assert result.exit_code == 2, result.output
    assert "Connection refused" not in result.output and "internal error" not in result.output
    assert not (stack.root / "meshcharts.ledger.sqlite").exists()  # no run was recorded
    assert not (stack.root / "charts-out").exists()  # not even rendered
    return [line for line in result.stderr.splitlines() if line]


def test_without_a_wrong_setting_the_run_reaches_the_cluster(stack: StackDir) -> None:
    """What the cases below would meet if they were not stopped: the cluster, which does not answer."""
    result = stack.cli("apply", "--yes", "--timeout", "90s")
    assert result.exit_code == 1, result.output
    assert "east: not applied" in result.output and "Connection refused" in result.output


@pytest.mark.parametrize(
    ("timeout", "reason"),
    [
        ("soon", "'s' where a number belongs"),
        ("5", "no unit after 5"),
        ("5M", "unknown unit 'M'"),
        ("1d", "unknown unit 'd'"),
        ("3000000h", "longer than Go's longest duration (about 292 years)"),
    ],
)
def test_a_timeout_helm_cannot_parse(stack: StackDir, timeout: str, reason: str) -> None:
    lines = _stopped_before_any_cluster(stack, stack.cli("apply", "--yes", "--timeout", timeout))
    assert lines == [f"--timeout: {timeout!r} is not a duration helm accepts: {reason} "
                     "(helm takes a Go duration: a number and a unit (ns, us, ms, s, m, h), repeated, e.g. 90s, 5m, 1h30m)"]


def test_a_components_timeout_helm_cannot_parse_even_when_the_run_sets_one(stack: StackDir) -> None:
    """The schema lets 3000000h through (digits and a unit); Go's parser refuses it: too long."""
    stack.write("meshcharts.yaml", MINIMAL_STACK.replace("    type: rancher-tracing\n", "    type: rancher-tracing\n    helm: {timeout: 3000000h}\n"))
    lines = _stopped_before_any_cluster(stack, stack.cli("apply", "--yes", "--timeout", "5m"))
    assert len(lines) == 1
    assert lines[0].startswith("meshcharts.yaml:11:3: tracing: helm.timeout: '3000000h' is not a duration helm accepts: longer than")


def test_a_helm_version_that_is_not_installed(stack: StackDir, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MESHCHARTS_HELM")
    monkeypatch.setenv("MESHCHARTS_HELM_VERSION", "3.0.99")
    lines = _stopped_before_any_cluster(stack, stack.cli("apply", "--yes"))
    assert len(lines) == 1 and lines[0].startswith("helm 3.0.99 not found (looked at $MESHCHARTS_HELM, "), lines


def test_a_ledger_url_of_an_unsupported_scheme(stack: StackDir) -> None:
    lines = _stopped_before_any_cluster(stack, stack.cli("apply", "--yes", "--ledger", "mysql://ops:hunter2@db/ledger"))
    assert lines == ["--ledger: ledger URL mysql://ops:***@db/ledger: unsupported scheme 'mysql' (use a file path, sqlite:///FILE or postgresql://USER@HOST/DB)"]


def test_the_stack_files_ledger_url_of_an_unsupported_scheme(stack: StackDir) -> None:
    stack.write("meshcharts.yaml", MINIMAL_STACK + "ledger: redis://db/0\n")
    lines = _stopped_before_any_cluster(stack, stack.cli("apply", "--yes"))
    assert lines == ["meshcharts.yaml: ledger: ledger URL redis://db/0: unsupported scheme 'redis' (use a file path, sqlite:///FILE or postgresql://USER@HOST/DB)"]


@pytest.mark.parametrize(
    ("content", "where", "reason"),
    [
        (b"apiVersion: v1\nclusters: [{name: a\n", ":3:1", "not a kubeconfig: not YAML (expected ',' or '}', but got '<stream end>')"),
        (b"\x7fELF\x02\x01\x01\x00garbage", "", "not a kubeconfig: not YAML (character #x007f is not allowed, at character 1)"),
        (b"\xff\xd8\xff\xe0 a jpeg", "", "not a kubeconfig: not YAML (byte #xff at byte 1 is not utf-8 text)"),
        (b"- east\n- west\n", ":1:1", "not a kubeconfig: a list, where a mapping of clusters, contexts and users belongs"),
        (b"", "", "not a kubeconfig: the file is empty"),
    ],
    ids=["broken-yaml", "binary", "not-utf8", "a-list", "empty"],
)
def test_a_kubeconfig_that_is_not_one_is_one_line_naming_it(stack: StackDir, content: bytes, where: str, reason: str) -> None:
    garbage = stack.write("garbage.kubeconfig", content)
    hint = " (fix the file, or point --kubeconfig, the cluster's kubeconfig: or $KUBECONFIG at another)"
    lines = _stopped_before_any_cluster(stack, stack.cli("apply", "--yes", "--kubeconfig", str(garbage)))
    assert lines == [f"{garbage}{where}: {reason}{hint}"]


def test_a_garbage_kubeconfig_in_the_environment_or_the_stack(stack: StackDir, monkeypatch: pytest.MonkeyPatch) -> None:
    garbage = stack.write("garbage.kubeconfig", "{{{{\n")
    monkeypatch.setenv("KUBECONFIG", f"{stack.root / 'kubeconfig'}:{garbage}")
    lines = _stopped_before_any_cluster(stack, stack.cli("apply", "--yes"))
    assert len(lines) == 1 and lines[0].startswith(f"{garbage}:2:1: not a kubeconfig: not YAML ("), lines

    monkeypatch.setenv("KUBECONFIG", str(stack.root / "kubeconfig"))
    stack.write("meshcharts.yaml", MINIMAL_STACK.replace("    vars: {clusterId: c-west}\n", f"    vars: {{clusterId: c-west}}\n    kubeconfig: {garbage}\n"))
    lines = _stopped_before_any_cluster(stack, stack.cli("apply", "--yes"))
    assert len(lines) == 1 and lines[0].startswith(f"{garbage}:2:1: not a kubeconfig"), lines
    assert stack.cli("apply", "--yes", "--cluster", "east").exit_code == 1  # west's kubeconfig is not east's concern


def test_every_wrong_setting_is_reported_at_once(stack: StackDir, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MESHCHARTS_HELM")
    monkeypatch.setenv("MESHCHARTS_HELM_VERSION", "3.0.99")
    garbage = stack.write("garbage.kubeconfig", "{{{{\n")
    result = stack.cli("apply", "--yes", "--timeout", "soon", "--ledger", "ftp://host/ledger", "--kubeconfig", str(garbage))
    lines = _stopped_before_any_cluster(stack, result)
    starts = ["--timeout: 'soon' ", "helm 3.0.99 not found ", "--ledger: ledger URL ftp://host/ledger: ", f"{garbage}:2:1: not a kubeconfig"]
    assert len(lines) == len(starts) and all(line.startswith(start) for line, start in zip(lines, starts)), lines


def test_durations_parse_as_go_parses_them() -> None:
    """Go's own examples (time.ParseDuration's documentation and tests)."""
    assert parse_go_duration("1h15m30.918273645s") == 4530918273645
    assert parse_go_duration("-1.5h") == -5400 * 10**9
    assert parse_go_duration("1.0000000000000000000000001s") == 10**9
    assert parse_go_duration("9223372036854775807ns") == 2**63 - 1
    assert parse_go_duration("0") == 0 and parse_go_duration("+0s") == 0 and parse_go_duration(".5us") == 500
