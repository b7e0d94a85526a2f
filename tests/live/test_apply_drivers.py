"""``HELM_DRIVER=configmap``: helm keeps its release records in ConfigMaps, and apply reads them there.

Before, apply read only Secrets: with the ConfigMap driver it saw no release at all, so nothing was
ever ``unchanged`` (every apply upgraded every release) and a release left pending was never recovered.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kubernetes import client

from meshcharts.sandbox import seed
from tests.live.example import NAMESPACE, RELEASES, ExampleStack, example

pytestmark = pytest.mark.live

__all__ = ["example"]  # the fixture


@pytest.fixture
def configmap_example(example: ExampleStack) -> Iterator[ExampleStack]:
    """The example, with every helm (apply's and the test's own) on the ConfigMap driver."""
    example.env["HELM_DRIVER"] = "configmap"
    try:
        yield example
    finally:
        example.uninstall()  # under the ConfigMap driver, so the next test starts clean
        example.env.pop("HELM_DRIVER")


def _records(example: ExampleStack, kind: str) -> set[str]:
    """The release names helm has records for on east, in ConfigMaps or Secrets."""
    api = seed.api_client(example.live.kubeconfig, example.contexts["east"])
    try:
        core = client.CoreV1Api(api)
        listing = (core.list_namespaced_config_map if kind == "configmap" else core.list_namespaced_secret)(NAMESPACE, label_selector="owner=helm")
        return {item.metadata.labels["name"] for item in listing.items}
    finally:
        api.close()


def test_with_the_configmap_driver_a_second_apply_finds_everything_unchanged(configmap_example: ExampleStack) -> None:
    first = configmap_example.apply()
    assert first.returncode == 0, first
    assert _records(configmap_example, "configmap") == set(RELEASES)
    assert _records(configmap_example, "secret") == set()
    again = configmap_example.apply()
    assert again.returncode == 0, again
    assert "east: ok (4 unchanged)" in again.stdout.splitlines(), again
    assert again.helm_calls == (), "read from the ConfigMaps: no helm call for an unchanged release"
