"""The parts of plan that need no cluster: object comparison, saved plans, the one release model."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

import meshcharts
from meshcharts.deploy import live
from meshcharts.deploy.live import DeployedRelease
from meshcharts.core.diagnostics import ConfigError, ExitCode, MeshchartsError
from meshcharts.deploy.liveobjects import ObjectKey
from meshcharts.deploy.objdiff import contains, field_changes, mask_secret_data, normalized, remove_paths, removed_paths
from meshcharts.deploy.plan import ClusterPlan, ObjectChange, Plan, ReleasePlan
from meshcharts.deploy.releases import build_releases, placeholder_config, values_identity
from meshcharts.deploy.saved_plan import check_saved_plan, read_plan, write_plan
from meshcharts.kube import ApiError, KubeClient, Settings
from meshcharts.wiring.order import install_order
from tests.conftest import REPO_ROOT, StackDir
from tests.json_server import JsonHandler, serving


def _deployment(**spec: object) -> dict[str, object]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "kiali", "namespace": "istio-system"}, "spec": dict(spec)}


def test_an_object_the_server_defaulted_contains_what_was_rendered() -> None:
    rendered = _deployment(replicas=1, template={"spec": {"containers": [{"name": "kiali", "image": "kiali:1"}]}})
    live = _deployment(replicas=1, revisionHistoryLimit=10, template={"spec": {"containers": [{"name": "kiali", "image": "kiali:1", "imagePullPolicy": "IfNotPresent"}]}})
    assert contains(rendered, live)
    live["spec"]["replicas"] = 3  # type: ignore[index]
    assert not contains(rendered, live)
    assert not contains(_deployment(paused=True), _deployment(paused=1))  # a bool is not a number


def test_resource_quantities_compare_by_amount_as_the_server_stores_them() -> None:
    rendered = _deployment(template={"spec": {"containers": [{"name": "k", "resources": {"limits": {"memory": "1024Mi", "cpu": 0.5}}}]}})
    live = _deployment(template={"spec": {"containers": [{"name": "k", "resources": {"limits": {"memory": "1Gi", "cpu": "500m"}}}]}})
    assert contains(rendered, live)
    live["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"] = "2Gi"  # type: ignore[index]
    assert not contains(rendered, live)
    # Elsewhere a string is a string: an annotation "1024Mi" is not "1Gi".
    assert not contains({"metadata": {"annotations": {"a": "1024Mi"}}}, {"metadata": {"annotations": {"a": "1Gi"}}})


def test_field_changes_compare_named_list_entries_by_name() -> None:
    before = _deployment(template={"spec": {"containers": [{"name": "a", "image": "x:1"}, {"name": "b", "image": "y:1"}]}})
    after = _deployment(template={"spec": {"containers": [{"name": "b", "image": "y:2"}, {"name": "a", "image": "x:1"}]}})
    (change,) = field_changes(before, after)
    assert change.path == "spec.template.spec.containers[name=b].image"
    assert (change.before, change.after) == ("y:1", "y:2")


def test_what_the_new_revision_no_longer_renders_is_removed_as_helm_three_way_merge_does() -> None:
    previous = _deployment(replicas=1, template={"metadata": {"labels": {"app": "kiali", "old": "yes"}}, "spec": {"containers": [{"name": "kiali", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}]}})
    desired = _deployment(replicas=1, template={"metadata": {"labels": {"app": "kiali"}}, "spec": {"containers": [{"name": "kiali", "env": [{"name": "A", "value": "1"}]}]}})
    live = json.loads(json.dumps(previous))
    live["spec"]["template"]["spec"]["containers"][0]["env"].append({"name": "BY_HAND", "value": "3"})
    paths = removed_paths(previous, desired)
    remove_paths(live, paths)
    assert live["spec"]["template"]["metadata"]["labels"] == {"app": "kiali"}
    # B was rendered before and is gone; BY_HAND was never rendered, so helm leaves it.
    assert [entry["name"] for entry in live["spec"]["template"]["spec"]["containers"][0]["env"]] == ["A", "BY_HAND"]


def test_server_maintained_metadata_is_not_a_difference() -> None:
    live = _deployment(replicas=1)
    live["metadata"].update(resourceVersion="7", generation=2, uid="u", managedFields=[{}])  # type: ignore[union-attr]
    live["status"] = {"readyReplicas": 1}
    assert field_changes(normalized(live), normalized(_deployment(replicas=1))) == []


def test_secret_data_is_masked_but_a_change_is_still_visible() -> None:
    def secret(value: str) -> dict[str, object]:
        return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"token": value, "same": "c2FtZQ=="}}

    before, after = mask_secret_data(secret("b2xk"), secret("bmV3"))
    assert before["data"]["same"] == after["data"]["same"] == "<redacted>"  # type: ignore[index]
    assert before["data"]["token"] != after["data"]["token"]  # type: ignore[index]
    assert "b2xk" not in json.dumps(before) and "bmV3" not in json.dumps(after)


def test_live_values_compare_by_identity_with_their_secrets_as_placeholders() -> None:
    shown = {"auth": {"token": "<secret from env T>"}, "replicas": 1}
    live = {"auth": {"token": "s3cret"}, "replicas": 1.0}  # helm stores numbers as JSON numbers
    assert values_identity(placeholder_config(live, shown, ("auth.token",))) == values_identity(shown)


def test_render_apply_and_plan_share_one_model_with_one_order(repo_root: Path) -> None:
    project = meshcharts.open_project(repo_root)
    releases = build_releases(project)
    for name, cluster in releases.clusters.items():
        compositions = project.compose_all(name)
        assert [item.release for item in cluster] == install_order(compositions, name)
        seen: set[str] = set()
        for item in cluster:
            assert item.after <= seen, f"{item.name} is ordered before what it depends on"
            seen.add(item.name)
        assert cluster.by_name()["rancher-kiali-server"].after == {"rancher-kiali-server-crd"}
        assert all(item.identity == values_identity(item.values) for item in cluster)


def _plan(tmp_path: Path) -> Plan:
    project = meshcharts.open_project(REPO_ROOT)
    releases = build_releases(project, "east")
    cluster = ClusterPlan("east", "rancher-east")
    for item in releases.clusters["east"]:
        change = ObjectChange(ObjectKey("v1", "Service", "istio-system", item.name), "add")
        cluster.releases.append(ReleasePlan(item, "install", "not on the cluster", None, [change], chart_digest="sha256:" + "a" * 64))
    return Plan("mesh-observability", releases.digest, {"east": cluster})


def test_a_saved_plan_round_trips_and_a_moved_release_is_refused_by_name(tmp_path: Path) -> None:
    plan = _plan(tmp_path)
    path = write_plan(plan, tmp_path / "plan.json")
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    saved = read_plan(path)
    check_saved_plan(saved, plan)  # the same plan: accepted
    moved = _plan(tmp_path)
    moved.clusters["east"].releases[1].chart_digest = "sha256:" + "b" * 64
    with pytest.raises(MeshchartsError) as info:
        check_saved_plan(saved, moved)
    assert info.value.exit_code == ExitCode.INVALID
    name = moved.clusters["east"].releases[1].name
    assert any(name in d.message and "its chart changed" in d.message for d in info.value.diagnostics)


@pytest.mark.parametrize("text", ["not json", "[]", '{"format": "meshcharts.plan/v0"}', '{"format": "meshcharts.plan/v1", "stack": "s", "stackDigest": "d", "clusters": {"e": {"releases": [{"release": "r", "action": "destroy-everything"}]}}}'])
def test_a_file_that_is_not_a_plan_is_a_config_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "plan.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        read_plan(path)
    assert info.value.diagnostics[0].rule == "plan.unreadable"


def test_plan_out_to_a_link_replaces_the_link_not_its_target(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me", encoding="utf-8")
    link = tmp_path / "plan.json"
    link.symlink_to(victim)
    write_plan(_plan(tmp_path), link)
    assert victim.read_text(encoding="utf-8") == "keep me"
    assert not link.is_symlink() and json.loads(link.read_text(encoding="utf-8"))["format"] == "meshcharts.plan/v1"


def test_plan_needs_a_valid_stack_before_any_cluster(stack_dir: StackDir) -> None:
    stack_dir.write("meshcharts.yaml", "name: x\nclusters: {east: {}}\ncomponents: {kiali: {type: kiali-server, version: 1.89.3, namespace: 7}}\n")
    result = stack_dir.cli("plan")
    assert result.exit_code in (1, 2) and "Traceback" not in result.output


class _Busy(JsonHandler):
    """An API server whose watch cache is still initializing: 429 with Retry-After for the first ``busy`` GETs."""

    busy = 0
    seen = 0

    def do_GET(self) -> None:  # noqa: N802  (http.server's name)
        type(self).seen += 1
        if type(self).seen <= type(self).busy:
            self.answer(429, b'{"kind":"Status","code":429}', {"Retry-After": "0"})
        else:
            self.answer(200, b'{"items": []}')


@pytest.fixture()
def busy_server() -> Iterator[KubeClient]:
    with serving(_Busy) as url:
        yield KubeClient(Settings(context="east", server=url))


def test_a_429_from_the_api_server_is_waited_out_a_bounded_number_of_times(busy_server: KubeClient) -> None:
    """A new CRD's watch cache answers 429 "storage is (re)initializing" for a moment (an apply killed right
    after installing the CRD chart left exactly that): plan waits as the server asks instead of calling
    the cluster unreachable."""
    _Busy.busy, _Busy.seen = 2, 0
    assert live.get_json(busy_server, "/apis/monitoring.kiali.io/v1alpha1/monitoringdashboards") == {"items": []}
    assert _Busy.seen == 3
    _Busy.busy, _Busy.seen = 1000, 0
    with pytest.raises(ApiError) as info:
        live.get_json(busy_server, "/api/v1/namespaces")
    assert info.value.status == 429 and _Busy.seen == live.TOO_MANY_REQUESTS_TRIES


def test_a_plan_that_could_read_no_cluster_never_says_no_changes(stack_dir: StackDir, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stack_dir.write("meshcharts.yaml", "name: demo\nclusters:\n  east: {context: nowhere, crds: [monitoring.coreos.com]}\ncomponents:\n  extras: {type: mesh-extras}\n")
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-such-kubeconfig"))
    result = stack_dir.cli("plan")
    assert result.exit_code == 1, result.output
    assert "No changes" not in result.output
    assert result.output.splitlines()[-1] == "Not planned: east could not be read; nothing is known of it."


def test_a_plan_knows_when_a_release_moved_since_it_was_made(tmp_path: Path) -> None:
    """apply plans a cluster again under its lock when another apply changed a release meanwhile, or left
    a pending revision failed (same revision, other status)."""
    plan = _plan(tmp_path).clusters["east"]
    first = plan.releases[0]
    live = DeployedRelease(first.name, first.item.namespace, 1, "pending-install", "c", "1", "", {}, "sh.helm.release.v1.x.v1")
    first.live = live
    others = {(release.item.namespace, release.name): release.live for release in plan.releases if release.live is not None}
    assert not plan.moved(others)
    assert plan.moved({**others, (first.item.namespace, first.name): dataclasses.replace(live, status="failed")})
    assert plan.moved({})
