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
from collections.abc import Callable, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from flows.errors import Reason
from flows.settings import Settings

if TYPE_CHECKING:
    from flows.runs import AbandonedRun

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1


def should_alert(settings: Settings, outcome: str, warnings: int) -> bool:
    if outcome != "published":
        return True
    return settings.alert_on_warnings and warnings > 0


def document(
    settings: Settings,
    *,
    run_id: str,
    peildatum: date,
    outcome: str,
    reasons: Sequence[Reason],
    engine: str | None,
    stages: Sequence[str],
    warnings: Sequence[Reason] = (),
    status: dict[str, Any] | None = None,
    prefect_flow_run_id: str | None = None,
) -> dict[str, Any]:
    """The alert of one run: the same keys for every outcome (docs/runbook.md, "Alerts"),
    null or empty where the sender does not know them."""
    return {
        "run_id": run_id,
        "prefect_flow_run_id": prefect_flow_run_id,
        "peildatum": peildatum.isoformat(),
        "outcome": outcome,
        "engine": engine,
        "home": str(settings.home_dir),
        "stages_completed": list(stages),
        "reasons": [item.as_dict() for item in reasons],
        "warnings": [item.as_dict() for item in warnings],
        "status": status,
    }


def abandoned(
    settings: Settings, run: AbandonedRun, status: dict[str, Any] | None
) -> dict[str, Any]:
    """The alert of a run found dead (by the next run or ``dwh status``)."""
    return document(
        settings,
        run_id=run.run_id,
        peildatum=run.peildatum,
        outcome="abandoned",
        reasons=[Reason("run", run.reason)],
        engine=run.engine,
        stages=run.stages,
        status=status,
        prefect_flow_run_id=run.prefect_flow_run_id,
    )


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
