"""dwh serve: starts its own Prefect server, schedules the nightly job by cron, stops cleanly."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from flows import runs

DWH = str(Path(sys.executable).with_name("dwh"))


def _post(url: str, body: dict) -> dict:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def _wait_for_final_state(api_url: str, flow_run_id: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{api_url}/flow_runs/{flow_run_id}", timeout=10) as response:
            state = json.load(response)["state"]
        if state["type"] in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
            return state
        time.sleep(1)
    pytest.fail(f"flow run {flow_run_id} did not end within {timeout} s")


pytestmark = pytest.mark.e2e


def test_serve_schedules_the_nightly_job_and_stops_with_its_server(tmp_path):
    env = {**os.environ, "DWH_HOME": str(tmp_path / "home")}
    env.pop("PREFECT_API_URL", None)
    process = subprocess.Popen(
        [DWH, "serve", "--cron", "30 3 * * *"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    api_url = None
    deadline = time.monotonic() + 240
    lines: list[str] = []
    try:
        assert process.stdout is not None
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
            found = re.search(r"Prefect server on (http://127\.0\.0\.1:\d+/api)", line)
            api_url = api_url or (found.group(1) if found else None)
            if "is being served" in line:
                break
        assert api_url, "".join(lines)
        with urllib.request.urlopen(
            f"{api_url}/deployments/name/dwh-nightly/dwh-nightly", timeout=10
        ) as response:
            deployment = json.load(response)
        crons = [item["schedule"].get("cron") for item in deployment["schedules"]]
        assert crons == ["30 3 * * *"]
        assert deployment["parameters"]["home"] == str((tmp_path / "home").resolve())

        # A run of the schedule that fires while another run holds this home is refused:
        # it ends failed, with the message naming the holder, and touches nothing.
        runs.acquire(tmp_path / "home", run_id="r-backfill", peildatum="2023-12-31")
        try:
            flow_run = _post(f"{api_url}/deployments/{deployment['id']}/create_flow_run", {})
            state = _wait_for_final_state(api_url, flow_run["id"], timeout=240)
        finally:
            runs.release(tmp_path / "home")
        assert state["type"] == "FAILED", state
        assert state["message"].startswith("another run is in progress: run r-backfill")
        assert not (tmp_path / "home" / "work" / "warehouse.duckdb").exists()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    # The server it started goes down with it (give it a few seconds to shut down).
    stopped_by = time.monotonic() + 30
    while time.monotonic() < stopped_by:
        try:
            urllib.request.urlopen(f"{api_url}/health", timeout=2).close()
        except (urllib.error.URLError, ConnectionError):
            break
        time.sleep(1)
    else:
        pytest.fail(f"the Prefect server at {api_url} still answers after dwh serve stopped")
