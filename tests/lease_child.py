"""A second process holding a stack's cluster lease, for the lease tests: ``python -m tests.lease_child``.

``python -m tests.lease_child KUBECONFIG CONTEXT STACK SECONDS`` takes the lease of ``STACK`` on that
cluster with a lease duration of ``SECONDS`` (renewed in the background as apply does), prints
``held <holder>`` and then waits to be killed (the test SIGKILLs it, so it never releases the lease).
"""

from __future__ import annotations

import sys
import threading

from meshcharts.deploy.lease import ClusterLease
from meshcharts.deploy.lease_record import holder_identity
from meshcharts.deploy.live import api_client


def main(argv: list[str]) -> int:
    kubeconfig, context, stack, seconds = argv[0], argv[1], argv[2], int(argv[3])
    api = api_client(kubeconfig, context, context)
    holder = holder_identity(0, "tests.lease_child")
    with ClusterLease(api, stack, context, holder, timeout=30, duration=seconds):
        print(f"held {holder}", flush=True)
        threading.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
