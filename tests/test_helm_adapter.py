"""The helm adapter against the REAL helm binary (``.ci/install-helm``); no stand-in for helm itself.

What is pinned here: version detection and version-dependent flags, values reaching helm only on
stdin and exactly as given (lists replace), lint results, no shell anywhere, and the pyhelm3 quirks
we work around (a flag split into characters, ``--atomic`` vs ``--rollback-on-failure``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest
import semver
from pyhelm3 import errors

from meshcharts.core.diagnostics import ConfigError, ExitCode, MeshchartsError
from meshcharts.core.model import EnvRef
from meshcharts.core.secrets import PlaceholderValues, resolve_secrets
from meshcharts.helm import (
    HelmClient,
    HelmCommand,
    HelmError,
    find_helm,
    parse_manifests,
    run_sync,
)
from meshcharts.helm.locate import source_checkout
from tests.helm_fixtures import helm_binary, helm_client, helm_home  # noqa: F401  (fixtures)

pytestmark = pytest.mark.helm

CHARTS = Path(__file__).parent / "fixtures" / "charts"
SECRET = "s3cr3t-value-that-must-stay-on-stdin"


class RecordingCommand(HelmCommand):
    """Records every argv and stdin, then runs the real helm."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.calls: list[tuple[list[str], bytes | None]] = []

    async def _execute(self, argv: list[str | bytes], input: bytes | None) -> tuple[int, bytes, bytes]:
        self.calls.append(([os.fsdecode(a) for a in argv], input))
        return await super()._execute(argv, input)


@pytest.fixture
def unreachable(tmp_path: Path) -> Path:
    """A kubeconfig whose API server refuses connections at once (nothing listens on port 1)."""
    path = tmp_path / "kubeconfig"
    path.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: nowhere\n"
        "clusters: [{name: nowhere, cluster: {server: 'https://127.0.0.1:1'}}]\n"
        "contexts: [{name: nowhere, context: {cluster: nowhere, user: nobody}}]\n"
        "users: [{name: nobody, user: {}}]\n"
    )
    path.chmod(0o600)
    return path


@pytest.fixture
def recorder(helm_binary: Path, helm_home: dict[str, str], unreachable: Path) -> RecordingCommand:  # noqa: F811
    """A recording command whose cluster is ``unreachable``, as one cluster's client would hold."""
    return RecordingCommand(executable=helm_binary, env=helm_home, kubeconfig=unreachable)


def _config_map(manifests: list[dict[str, Any]]) -> dict[str, Any]:
    (cm,) = [m for m in manifests if m["kind"] == "ConfigMap"]
    return cm


# -- finding the binary -------------------------------------------------------------------------


def test_find_helm_prefers_env(monkeypatch: pytest.MonkeyPatch, helm_binary: Path) -> None:  # noqa: F811
    monkeypatch.setenv("MESHCHARTS_HELM", str(helm_binary))
    assert find_helm() == helm_binary


def test_find_helm_env_pointing_nowhere_is_a_config_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MESHCHARTS_HELM", str(tmp_path / "no-helm"))
    with pytest.raises(ConfigError) as info:
        find_helm()
    assert info.value.diagnostics[0].rule == "helm.not-found"


def test_find_helm_picks_newest_tools_version_by_semver(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, helm_binary: Path  # noqa: F811
) -> None:
    monkeypatch.delenv("MESHCHARTS_HELM", raising=False)
    monkeypatch.delenv("MESHCHARTS_HELM_VERSION", raising=False)
    for version in ("3.9.0", "3.10.1", "not-a-version"):
        target = tmp_path / ".tools" / "helm" / version
        target.mkdir(parents=True)
        (target / "helm").symlink_to(helm_binary)
    # 3.10.1 > 3.9.0 although "3.9.0" sorts after "3.10.1" as text.
    assert find_helm(tmp_path) == tmp_path / ".tools" / "helm" / "3.10.1" / "helm"


def test_find_helm_without_any_helm_says_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("MESHCHARTS_HELM", raising=False)
    monkeypatch.delenv("MESHCHARTS_HELM_VERSION", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("MESHCHARTS_CACHE", str(tmp_path / "cache"))
    with pytest.raises(ConfigError) as info:
        find_helm(tmp_path)
    diagnostic = info.value.diagnostics[0]
    assert diagnostic.rule == "helm.not-found"
    assert ".ci/install-helm" in (diagnostic.hint or "")
    assert info.value.exit_code == ExitCode.USAGE


# -- version ------------------------------------------------------------------------------------


def test_version_is_detected_from_the_binary(helm_client: HelmClient, helm_binary: Path) -> None:  # noqa: F811
    reported = subprocess.run(
        [str(helm_binary), "version", "--template", "{{.Version}}"], capture_output=True, text=True, check=True
    ).stdout
    version = helm_client.version()
    assert isinstance(version, semver.Version)
    assert f"v{version}" == reported.strip()
    assert version >= semver.Version(3, 10, 0)


def test_version_is_detected_once(recorder: RecordingCommand) -> None:
    client = HelmClient(recorder)
    assert client.version() == client.version() == run_sync(recorder.detected_version())
    assert [argv[1:4] for argv, _ in recorder.calls] == [["version", "--template", "{{ .Version }}"]]


def test_atomic_flag_follows_the_major_version(recorder: RecordingCommand) -> None:
    expected = "--atomic" if run_sync(recorder.detected_version()).major < 4 else "--rollback-on-failure"
    assert run_sync(recorder.atomic_flag()) == expected


# -- template -----------------------------------------------------------------------------------


def test_template_lists_replace_and_maps_merge(helm_client: HelmClient) -> None:  # noqa: F811
    manifests = helm_client.template(
        "demo", CHARTS / "listy", namespace="observability", values={"items": ["only"], "nested": {"list": ["y"]}}
    )
    cm = _config_map(manifests)
    assert cm["metadata"] == {
        "name": "demo-values",
        "namespace": "observability",
        "labels": {"app.kubernetes.io/managed-by": "Helm"},
    }
    seen = json.loads(cm["data"]["values.json"])
    # Helm's merge: our list replaced the chart's default list; maps merged key by key.
    assert seen["items"] == ["only"]
    assert seen["nested"] == {"keep": True, "list": ["y"]}
    assert cm["data"]["items"] == "only"


def test_template_sends_exactly_our_one_values_dict(recorder: RecordingCommand) -> None:
    values = {"items": ["a", "b"], "nested": {"list": []}}
    HelmClient(recorder).template("demo", CHARTS / "listy", namespace="ns", values=values)
    (argv, stdin), = [(a, i) for a, i in recorder.calls if a[1] == "template"]
    assert stdin is not None and json.loads(stdin) == values


def test_template_crds_only_when_asked(helm_client: HelmClient) -> None:  # noqa: F811
    without = helm_client.template("demo", CHARTS / "listy", namespace="ns", values={})
    with_crds = helm_client.template("demo", CHARTS / "listy", namespace="ns", values={}, include_crds=True)
    assert [m["kind"] for m in without] == ["ConfigMap"]
    assert sorted(m["kind"] for m in with_crds) == ["ConfigMap", "CustomResourceDefinition"]


def test_template_failure_is_a_meshcharts_error(helm_client: HelmClient) -> None:  # noqa: F811
    with pytest.raises(HelmError) as info:
        helm_client.template("demo", CHARTS / "listy", namespace="ns", values={"boom": "kaboom"})
    diagnostic = info.value.diagnostics[0]
    assert diagnostic.rule == "helm.render-failed"
    assert "boom requested: kaboom" in diagnostic.message
    assert info.value.exit_code == ExitCode.INVALID
    assert isinstance(info.value.helm_error, errors.FailedToRenderChartError)


def test_template_of_missing_chart_names_it(helm_client: HelmClient, tmp_path: Path) -> None:  # noqa: F811
    with pytest.raises(HelmError) as info:
        helm_client.template("demo", tmp_path / "nope", namespace="ns", values={})
    assert "nope" in info.value.diagnostics[0].message


# -- lint ---------------------------------------------------------------------------------------


def test_lint_good_chart_passes(helm_client: HelmClient) -> None:  # noqa: F811
    result = helm_client.lint(CHARTS / "listy", {"items": ["a"]})
    assert result.ok, result.messages
    assert result.problems == []


def test_lint_broken_chart_fails_with_messages(helm_client: HelmClient) -> None:  # noqa: F811
    result = helm_client.lint(CHARTS / "broken", {})
    assert not result.ok
    assert any(m.startswith("[ERROR]") and "parse error" in m for m in result.messages), result.messages
    assert not any("chart(s) linted" in m for m in result.messages)


def test_lint_strict_turns_warnings_into_failure(helm_client: HelmClient) -> None:  # noqa: F811
    relaxed = helm_client.lint(CHARTS / "warns", {}, strict=False)
    strict = helm_client.lint(CHARTS / "warns", {}, strict=True)
    assert relaxed.ok and not strict.ok
    assert any(m.startswith("[WARNING]") for m in strict.problems)


def test_lint_reads_values_from_stdin(recorder: RecordingCommand) -> None:
    # In lint mode helm reports `fail` as a finding instead of failing; seeing our message proves
    # that helm lint read the values we piped in.
    result = HelmClient(recorder).lint(CHARTS / "listy", {"boom": "from-stdin"}, strict=False)
    assert any("boom requested: from-stdin" in m for m in result.messages), result.messages
    (argv, stdin), = [(a, i) for a, i in recorder.calls if a[1] == "lint"]
    assert argv[argv.index("--values") + 1] == "-"
    assert stdin is not None and json.loads(stdin) == {"boom": "from-stdin"}


# -- values never in argv, no shell -------------------------------------------------------------


def test_values_never_reach_argv(recorder: RecordingCommand) -> None:
    values = {"items": [SECRET], "password": SECRET}
    client = HelmClient(recorder)
    client.template("demo", CHARTS / "listy", namespace="ns", values=values)
    client.lint(CHARTS / "listy", values)
    with pytest.raises(errors.ConnectionError):
        run_sync(recorder.install_or_upgrade("demo", CHARTS / "listy", values, namespace="ns"))
    verbs = [argv[1] for argv, _ in recorder.calls]
    assert {"template", "lint", "upgrade"} <= set(verbs)
    for argv, stdin in recorder.calls:
        assert not any(SECRET in arg for arg in argv), argv
        if argv[1] != "version":
            assert argv[argv.index("--values") + 1] == "-"
            assert stdin is not None and SECRET in stdin.decode()


def test_kube_token_goes_to_the_environment_not_argv(helm_binary: Path) -> None:  # noqa: F811
    command = HelmCommand(executable=helm_binary, kubetoken=SECRET)
    assert not any(SECRET in str(arg) for arg in command._argv(["status", "demo"]))
    assert command._child_env()["HELM_KUBETOKEN"] == SECRET


def test_no_shell_is_ever_used(
    monkeypatch: pytest.MonkeyPatch, helm_binary: Path, helm_home: dict[str, str], tmp_path: Path  # noqa: F811
) -> None:
    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a shell was used")

    monkeypatch.setattr(asyncio, "create_subprocess_shell", forbidden)
    real_run = subprocess.run

    def run_without_shell(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("shell"):
            forbidden()
        return real_run(*args, **kwargs)

    monkeypatch.setattr(subprocess, "run", run_without_shell)
    client = HelmClient(executable=helm_binary, env=helm_home)  # fresh: version not yet detected
    assert client.version().major >= 3
    assert client.template("demo", CHARTS / "listy", namespace="ns", values={})
    assert client.lint(CHARTS / "listy", {}).ok
    assert client.package(CHARTS / "listy", tmp_path).is_file()


# -- install_or_upgrade flags (against a cluster that refuses connections) ----------------------


def test_disable_validation_is_one_argument_and_helm_accepts_it(recorder: RecordingCommand, unreachable: Path) -> None:
    with pytest.raises(errors.ConnectionError) as info:
        run_sync(
            recorder.install_or_upgrade(
                "demo", CHARTS / "listy", {"items": []}, namespace="ns", disable_validation=True, atomic=True
            )
        )
    # Helm parsed the whole command line and got as far as the cluster: no usage error.
    assert "cluster unreachable" in info.value.stderr.decode()
    (argv, _), = [(a, i) for a, i in recorder.calls if a[1] == "upgrade"]
    assert argv.count("--disable-openapi-validation") == 1
    assert [arg for arg in argv if len(arg) == 1] == ["-"]  # only the stdin marker of --values
    assert run_sync(recorder.atomic_flag()) in argv
    assert argv[argv.index("--kubeconfig") + 1] == str(unreachable)


def test_helm4_only_flags_are_refused_on_helm3(recorder: RecordingCommand) -> None:
    if run_sync(recorder.detected_version()).major >= 4:
        pytest.skip("this helm has the Helm 4 flags")  # only reachable with MESHCHARTS_HELM set to Helm 4
    with pytest.raises(ConfigError) as info:
        run_sync(recorder.install_or_upgrade("demo", CHARTS / "listy", {}, force_replace=True))
    assert info.value.diagnostics[0].rule == "helm.unsupported-flag"
    assert [argv[1] for argv, _ in recorder.calls] == ["version"]  # refused before running helm upgrade


def test_extra_flags_do_not_leak_between_concurrent_releases(recorder: RecordingCommand) -> None:

    async def both() -> None:
        await asyncio.gather(
            recorder.install_or_upgrade("with", CHARTS / "listy", {}, disable_validation=True),
            recorder.install_or_upgrade("without", CHARTS / "listy", {}),
            return_exceptions=True,
        )

    run_sync(both())
    by_release = {argv[2]: argv for argv, _ in recorder.calls if argv[1] == "upgrade"}
    assert "--disable-openapi-validation" in by_release["with"]
    assert "--disable-openapi-validation" not in by_release["without"]


# -- package, plain values, sync helper ---------------------------------------------------------


def test_package_writes_an_archive_helm_can_template(helm_client: HelmClient, tmp_path: Path) -> None:  # noqa: F811
    archive = helm_client.package(CHARTS / "listy", tmp_path / "out")
    assert archive == tmp_path / "out" / "listy-0.3.1.tgz"
    with tarfile.open(archive) as tar:
        assert "listy/templates/configmap.yaml" in tar.getnames()
    manifests = helm_client.template("demo", archive, namespace="ns", values={"items": ["from-tgz"]})
    assert _config_map(manifests)["data"]["items"] == "from-tgz"


def test_placeholder_values_use_placeholders_and_never_print_values() -> None:
    values = {"token": EnvRef("GRAFANA_TOKEN"), "since": dt.date(2024, 1, 2), "n": [1, None]}
    assert PlaceholderValues.of(values).values == {"token": "<secret from env GRAFANA_TOKEN>", "since": "2024-01-02", "n": [1, None]}

    class Opaque:
        def __repr__(self) -> str:
            return SECRET

    with pytest.raises(TypeError) as info:
        PlaceholderValues.of({"x": Opaque()})
    assert SECRET not in str(info.value)


def test_sync_api_works_inside_a_running_event_loop(helm_client: HelmClient) -> None:  # noqa: F811
    async def from_async_code() -> list[dict[str, Any]]:
        return helm_client.template("demo", CHARTS / "listy", namespace="ns", values={})

    assert _config_map(asyncio.run(from_async_code()))["metadata"]["name"] == "demo-values"


# -- secrets: placeholders never reach a release, resolved secrets never leave helm's stdin -----


def test_a_release_takes_resolved_values_only(helm_client: HelmClient) -> None:  # noqa: F811
    with pytest.raises(TypeError, match="ResolvedValues"):
        helm_client.install_or_upgrade("demo", CHARTS / "listy", PlaceholderValues.of({"token": EnvRef("T")}), namespace="ns")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="ResolvedValues"):
        helm_client.install_or_upgrade("demo", CHARTS / "listy", {"token": "x"}, namespace="ns")  # type: ignore[arg-type]


def test_resolve_secrets_reads_the_environment_and_hides_the_values() -> None:
    resolved = resolve_secrets({"auth": {"token": EnvRef("GRAFANA_TOKEN")}, "n": 1}, {"GRAFANA_TOKEN": SECRET})
    assert resolved.values == {"auth": {"token": SECRET}, "n": 1}
    assert resolved.secret_paths == ("auth.token",)
    assert SECRET not in repr(resolved)
    assert resolved.redact(f"token={SECRET} json={json.dumps(SECRET)}") == "token=<redacted> json=\"<redacted>\""


def test_a_missing_or_empty_secret_names_the_variable_and_the_key() -> None:
    with pytest.raises(ConfigError) as info:
        resolve_secrets({"auth": {"token": EnvRef("GRAFANA_TOKEN")}}, {"GRAFANA_TOKEN": ""}, cluster="east", component="kiali")
    (diagnostic,) = info.value.diagnostics
    assert (diagnostic.rule, diagnostic.path, diagnostic.cluster, diagnostic.component) == ("secrets.missing-env", "auth.token", "east", "kiali")
    assert "GRAFANA_TOKEN" in diagnostic.message
    assert info.value.exit_code == ExitCode.USAGE


@pytest.mark.parametrize(
    ("stderr", "message"),
    [
        (  # helm 3, an object the API server rejects: the cause is on the line after "Error:"
            'WARNING: Kubernetes configuration file is group-readable.\nError: 1 error occurred:\n'
            '\t* Deployment.apps "kiali" is invalid: spec.template.labels: Invalid value: "x!": a valid label ...\n\n',
            'helm upgrade --install kiali: 1 error occurred: Deployment.apps "kiali" is invalid: spec.template.labels: '
            'Invalid value: "x!": a valid label ...',
        ),
        (  # helm 4's --wait: the objects not ready, then the deadline, one per line
            "Error: resource Deployment/istio-system/kiali not ready. status: InProgress, message: Available: 0/1\n"
            "context deadline exceeded\n",
            "helm upgrade --install kiali: resource Deployment/istio-system/kiali not ready. status: InProgress, "
            "message: Available: 0/1; context deadline exceeded",
        ),
        ("no Error line at all\nsecond line\n", "helm upgrade --install kiali: no Error line at all; second line"),
    ],
    ids=["rejected-object", "helm-4-wait", "no-error-prefix"],
)
def test_a_helm_error_over_several_lines_keeps_its_cause(stderr: str, message: str) -> None:
    error = HelmError(errors.Error(1, b"", stderr.encode()), what="helm upgrade --install kiali")
    assert error.diagnostics[0].message == message


def test_helm_output_that_echoes_a_secret_is_redacted(helm_client: HelmClient) -> None:  # noqa: F811
    """The real helm echoes a value in a render error (the listy chart's ``fail``); none of it survives."""
    resolved = resolve_secrets({"boom": EnvRef("BOOM")}, {"BOOM": SECRET})
    command = ["template", "demo", CHARTS / "listy", "--values", "-"]
    with pytest.raises(HelmError) as info:
        helm_client._call(helm_client.command.run(command, resolved.to_json()), what="helm template demo", secrets=resolved.secrets)
    text = str(info.value.diagnostics[0].message)
    assert "boom requested: <redacted>" in text
    assert SECRET not in text
    assert SECRET.encode() not in info.value.helm_error.stderr + info.value.helm_error.stdout
    assert SECRET not in repr(info.value.helm_error)


# -- template output and a binary that cannot run -----------------------------------------------


def test_template_keeps_timestamps_as_strings_and_bad_yaml_is_a_finding() -> None:
    (document,) = parse_manifests(b"kind: ConfigMap\ndata:\n  since: 2024-01-02\n", "helm template x")
    assert document["data"]["since"] == "2024-01-02"
    with pytest.raises(MeshchartsError) as info:
        parse_manifests(b"kind: ConfigMap\ndata: [unclosed\n", "helm template x")
    assert info.value.diagnostics[0].rule == "helm.bad-output"
    assert "line" in info.value.diagnostics[0].message


def test_lint_with_a_binary_that_is_gone_is_one_config_error(tmp_path: Path) -> None:
    client = HelmClient(executable=tmp_path / "helm-that-was-removed")
    with pytest.raises(ConfigError) as info:
        client.lint(CHARTS / "listy", {})
    assert info.value.diagnostics[0].rule == "helm.not-found"
    assert "helm-that-was-removed" in info.value.diagnostics[0].message


def test_a_wheel_install_never_looks_for_tools_in_site_packages(tmp_path: Path) -> None:
    site_packages = tmp_path / "site-packages"
    (site_packages / "meshcharts").mkdir(parents=True)
    assert source_checkout(site_packages) is None
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "meshcharts"\n')
    assert source_checkout(tmp_path) == tmp_path


def test_helm_version_env_picks_an_installed_version_exactly(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, helm_binary: Path  # noqa: F811
) -> None:
    monkeypatch.delenv("MESHCHARTS_HELM", raising=False)
    monkeypatch.delenv("MESHCHARTS_HELM_VERSION", raising=False)
    monkeypatch.setenv("MESHCHARTS_CACHE", str(tmp_path / "cache"))
    for version in ("3.10.1", "3.22.0", "4.3.1"):
        target = tmp_path / ".tools" / "helm" / version
        target.mkdir(parents=True)
        (target / "helm").symlink_to(helm_binary)
    assert find_helm(tmp_path) == tmp_path / ".tools" / "helm" / "3.22.0" / "helm"  # newest helm 3 by default
    monkeypatch.setenv("MESHCHARTS_HELM_VERSION", "4.3.1")
    assert find_helm(tmp_path) == tmp_path / ".tools" / "helm" / "4.3.1" / "helm"
    monkeypatch.setenv("MESHCHARTS_HELM_VERSION", "3.99.0")
    with pytest.raises(ConfigError) as info:
        find_helm(tmp_path)
    assert "helm 3.99.0 not found" in info.value.diagnostics[0].message
