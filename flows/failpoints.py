"""Named points where a test can stop a run, to prove what a crash there leaves behind.

``DWH_FAILPOINT=<name>`` makes the run print ``failpoint <name> reached`` on stderr when it
gets there and then wait until it is killed; ``<name>:<seconds>`` waits that long and goes
on (a test starts a second run meanwhile). Unset, a failpoint costs one dictionary lookup.
This is test instrumentation, so it reads the environment itself rather than the settings
object: the points sit deep inside ingest, dbt, the gate and publish.

Points: ``ingest`` (a pass's rows written, before its commit), ``dbt`` (some models built),
``gate`` (one suite's results stored), ``publish`` (the new file written, before the swap).
"""

from __future__ import annotations

import os
import sys
import time

POINTS = ("ingest", "dbt", "gate", "publish")


def failpoint(name: str) -> None:
    spec = os.environ.get("DWH_FAILPOINT")
    if not spec or spec.split(":", 1)[0] != name:
        return
    print(f"failpoint {name} reached (pid {os.getpid()})", file=sys.stderr, flush=True)
    _, _, seconds = spec.partition(":")
    if seconds:
        time.sleep(float(seconds))
        return
    while True:  # until the test kills this process
        time.sleep(3600)
