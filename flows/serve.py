"""``dwh serve``: the nightly job on a cron schedule.

Prefect cannot schedule on its temporary server ("Cannot schedule flows on an ephemeral
server"), so this starts its own ``prefect server start`` on loopback, waits until it is
healthy, points ``PREFECT_API_URL`` at it and serves the flow until stopped.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

from flows.errors import DwhError
from flows.settings import Settings

PR_SET_PDEATHSIG = 1


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_healthy(url: str, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise DwhError(f"prefect server exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(1)
    raise DwhError(f"prefect server did not become healthy within {timeout:.0f} s")


def _die_with_parent() -> None:
    """In the server's process (Linux): receive SIGTERM when dwh itself ends, however it
    ends: Prefect's runner handles SIGTERM itself and may leave no chance for cleanup."""
    with contextlib.suppress(OSError):  # not Linux: the finally below still stops it
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def serve(settings: Settings, cron: str) -> None:
    port = _free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    env = {
        **os.environ,
        "PREFECT_SERVER_API_HOST": "127.0.0.1",
        "PREFECT_SERVER_API_PORT": str(port),
    }
    log_file = settings.work_dir / "prefect-server.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "prefect",
                "server",
                "start",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )
    try:
        _wait_healthy(api_url, server, timeout=120)
        os.environ["PREFECT_API_URL"] = api_url
        print(f"serve: Prefect server on {api_url}; nightly job on cron '{cron}'", flush=True)
        from flows.nightly import nightly

        nightly.serve(
            name="dwh-nightly",
            cron=cron,
            parameters={"home": str(settings.home_dir), "landing": str(settings.landing_dir)},
        )
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
