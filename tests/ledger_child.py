"""A second meshcharts process for the ledger tests: ``python -m tests.ledger_child ACTION``.

The ledger URL comes in ``MESHCHARTS_TEST_LEDGER`` (it carries a password: never in argv). Each
action prints one line when it reaches the state the test waits for, then:

- ``hold STACK CLUSTER``: holds the lock until its stdin closes, then releases it and finishes.
- ``crash STACK CLUSTER``: holds the lock with a ``pending`` release and waits to be SIGKILLed.
- ``open``: opens (and so migrates) the ledger, prints its schema revision.
"""

from __future__ import annotations

import os
import sys
import time

from meshcharts.ledger import ReleaseSpec, hash_values, open_ledger

VALUES = {"replicas": 1, "auth": {"strategy": "anonymous"}}


def main(argv: list[str]) -> int:
    action = argv[0]
    ledger = open_ledger(os.environ["MESHCHARTS_TEST_LEDGER"], heartbeat_every=0.2)
    if action == "open":
        from meshcharts.ledger.database import schema_revision

        print(f"revision {schema_revision(ledger.database)}", flush=True)
        return 0
    stack, cluster = argv[1], argv[2]
    run = ledger.start_run(stack, "/stacks/" + stack, "apply", None)
    with ledger.lock(stack, cluster, run, timeout=30):
        if action == "hold":
            print(f"locked {run.id}", flush=True)
            sys.stdin.read()
        else:
            spec = ReleaseSpec(cluster, cluster, "kiali", "kiali", "istio-system", "kiali-server", "1.89.3", VALUES, hash_values(VALUES))
            release_id = run.begin_release(spec)
            print(f"pending {run.id} {release_id}", flush=True)
            while True:
                time.sleep(60)
    run.finish()
    ledger.close()
    print("released", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
