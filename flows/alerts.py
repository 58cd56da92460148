"""Alerts: a run that does not publish tells someone, as one JSON document.

Channels (settings): ``DWH_ALERT_COMMAND``, a shell command that reads the document on
stdin; ``DWH_ALERT_URL``, an HTTP POST of the same document. A channel that fails is
logged and otherwise ignored: an alert never changes the run's outcome or exit code.
"""

from __future__ import annotations

import json
import logging
import subprocess
import urllib.request
from collections.abc import Callable
from typing import Any

from flows.settings import Settings

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1


def should_alert(settings: Settings, outcome: str, warnings: int) -> bool:
    if outcome != "published":
        return True
    return settings.alert_on_warnings and warnings > 0


def send(
    settings: Settings,
    document: dict[str, Any],
    warn: Callable[[str], None] = log.warning,
) -> list[str]:
    """Send ``document`` to every configured channel; return the channels that took it."""
    body = json.dumps({"schema_version": SCHEMA_VERSION, **document}, default=str, indent=1)
    delivered = []
    if settings.alert_command:
        try:
            done = subprocess.run(
                settings.alert_command,
                shell=True,
                input=body,
                text=True,
                capture_output=True,
                timeout=settings.alert_timeout,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            warn(f"alert: DWH_ALERT_COMMAND failed: {type(exc).__name__}: {exc}")
        else:
            if done.returncode == 0:
                delivered.append("command")
            else:
                error = done.stderr.strip().splitlines()[-1:] or [""]
                warn(f"alert: DWH_ALERT_COMMAND exited {done.returncode}: {error[0]}")
    if settings.alert_url:
        request = urllib.request.Request(
            settings.alert_url,
            data=body.encode("utf-8"),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=settings.alert_timeout) as response:
                response.read()
        except (OSError, ValueError) as exc:  # URLError, HTTPError, timeouts, a bad URL
            warn(f"alert: POST to DWH_ALERT_URL failed: {type(exc).__name__}: {exc}")
        else:
            delivered.append("url")
    return delivered
