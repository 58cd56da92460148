"""The run lock, the run ledger's dead runs, backfill dates, retry rules and alert channels."""

from __future__ import annotations

import http.server
import json
import subprocess
import sys
import threading
from datetime import date
from pathlib import Path

import duckdb
import pytest
from prefect.states import Failed

from flows import alerts, runs
from flows.errors import GateBlocked, Reason, RejectedFile, RunInProgress, Transient
from flows.nightly import _is_transient
from flows.settings import Settings
from flows.transform import TransformFailed

from conftest import ALERT_KEYS

HOLD = """
import sys, time
from pathlib import Path
from flows import runs
runs.acquire(Path(sys.argv[1]), run_id="r-other", peildatum="2023-12-31", started_at="T0")
print("held", flush=True)
time.sleep(float(sys.argv[2]))
"""


def hold_lock(home: Path, seconds: float) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(home), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "held"
    return process


def test_a_second_holder_is_refused_with_the_first_ones_identity(tmp_path):
    other = hold_lock(tmp_path, 30)
    try:
        with pytest.raises(RunInProgress) as refused:
            runs.acquire(tmp_path, run_id="r-mine", peildatum="2024-01-01", patience=0.5)
        message = str(refused.value)
        assert message.startswith("another run is in progress: run r-other")
        assert "peildatum 2023-12-31" in message and f"pid {other.pid}" in message
        assert refused.value.exit_code == 4
        assert runs.probe(tmp_path) is None  # dwh status sees a live run
    finally:
        other.kill()
        other.wait()


def test_the_lock_dies_with_its_process_and_is_re_entrant_within_one(tmp_path):
    other = hold_lock(tmp_path, 30)
    other.kill()  # SIGKILL: no clean-up runs, the kernel drops the flock
    other.wait()
    lock = runs.acquire(tmp_path, run_id="r-mine", peildatum="2024-01-01", patience=0.5)
    try:
        assert runs.held(tmp_path)
        assert runs.acquire(tmp_path, run_id="r-next") is lock  # the flow under dwh run
        assert runs.holder(tmp_path)["run_id"] == "r-next"
    finally:
        runs.release(tmp_path)
    assert not runs.held(tmp_path)
    assert runs.holder(tmp_path) is None  # emptied on release


def test_a_status_probe_makes_a_starting_run_wait_not_fail(tmp_path):
    probe = runs.probe(tmp_path)
    assert probe is not None
    timer = threading.Timer(0.5, probe.release)
    timer.start()
    lock = runs.acquire(tmp_path, run_id="r-mine", patience=5)
    timer.join()
    assert runs.held(tmp_path)
    lock.release()


def ledger_con(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(tmp_path / "work.duckdb"))
    runs.ensure_runs(con)
    for run_id, outcome in [("r1", "published"), ("r2", None), ("r3", None)]:
        runs.record_start(
            con,
            run_id=run_id,
            peildatum=date(2023, 12, 31),
            landing=tmp_path,
            engine="duckdb",
            prefect_flow_run_id=None,
        )
        if outcome:
            runs.record_outcome(con, run_id, outcome, None)
    runs.record_stage(con, "r2", "ingest", runs.datetime(2026, 1, 1, tzinfo=runs.UTC), 1.0)
    return con


def test_runs_without_an_outcome_are_marked_abandoned_with_where_they_died(tmp_path):
    con = ledger_con(tmp_path)
    dead = runs.mark_abandoned(con, {"r3": date(2023, 12, 31)})
    assert [run.run_id for run in dead] == ["r2"]
    assert "after stage ingest" in dead[0].reason
    found = con.execute(
        "select run_id, outcome, found_abandoned_at is not null from meta.runs order by run_id"
    ).fetchall()
    # r3 died after its file was swapped in: it did publish, so it is not abandoned.
    assert found == [
        ("r1", "published", False),
        ("r2", "abandoned", True),
        ("r3", "published", True),
    ]
    assert runs.mark_abandoned(con) == []  # marked once


def test_an_abandoned_runs_alert_is_its_own_run_engine_and_finished_stages(tmp_path):
    con = ledger_con(tmp_path)
    runs.record_stage(con, "r2", "transform", runs.datetime(2026, 1, 1, 1, tzinfo=runs.UTC), 2.0)
    (dead,) = runs.mark_abandoned(con, {"r3": date(2023, 12, 31)})
    document = alerts.abandoned(Settings(home=tmp_path), dead, {"files": []})
    assert set(document) == ALERT_KEYS
    assert document["run_id"] == "r2" and document["outcome"] == "abandoned"
    assert (document["engine"], document["stages_completed"]) == ("duckdb", ["ingest", "transform"])
    assert document["reasons"] == [
        {"check": "run", "message": dead.reason, "file": None, "row": None}
    ]
    assert "after stage transform" in dead.reason


def test_an_old_run_ledger_gains_the_new_columns(tmp_path):
    con = duckdb.connect(str(tmp_path / "work.duckdb"))
    con.execute(
        "create schema meta; create table meta.runs (run_id varchar primary key, "
        "started_at timestamptz not null, finished_at timestamptz, peildatum date not null, "
        "landing varchar not null, outcome varchar, reason varchar)"
    )
    con.execute("insert into meta.runs values ('old', now(), null, '2023-01-01', '/x', null, null)")
    runs.ensure_runs(con)
    assert [run.run_id for run in runs.mark_abandoned(con)] == ["old"]


@pytest.mark.parametrize(
    ("first", "last", "every", "expected"),
    [
        ("2023-01-30", "2023-02-01", "day", ["2023-01-30", "2023-01-31", "2023-02-01"]),
        (
            "2023-01-31",
            "2023-04-30",
            "month",
            ["2023-01-31", "2023-02-28", "2023-03-31", "2023-04-30"],
        ),
        ("2023-01-30", "2023-03-30", "month", ["2023-01-30", "2023-02-28", "2023-03-30"]),
        ("2023-11-15", "2024-01-14", "month", ["2023-11-15", "2023-12-15"]),
    ],
)
def test_backfill_peildata(first, last, every, expected):
    found = runs.backfill_peildata(date.fromisoformat(first), date.fromisoformat(last), every)
    assert [day.isoformat() for day in found] == expected


@pytest.mark.parametrize(
    ("error", "retried"),
    [
        (Transient("the work database is busy"), True),
        (TransformFailed("dbt build failed: model error"), False),
        (RejectedFile("trailer declares 5 records"), False),
        (GateBlocked([Reason("deliveries", "rejected")]), False),
        (ValueError("a bug"), False),
    ],
)
def test_only_transient_failures_are_retried(error, retried):
    assert _is_transient(None, None, Failed(data=error)) is retried


class Receiver(http.server.BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 - the http.server API
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def loopback_url():
    server = http.server.HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Receiver.received = []
    yield f"http://127.0.0.1:{server.server_address[1]}/alerts"
    server.shutdown()
    server.server_close()


DOCUMENT = {"run_id": "r1", "peildatum": "2023-12-31", "outcome": "blocked", "reasons": []}


def test_an_alert_reaches_the_command_and_the_url(tmp_path, loopback_url):
    sink = tmp_path / "alert.json"
    settings = Settings(home=tmp_path, alert_command=f"cat > {sink}", alert_url=loopback_url)
    assert alerts.send(settings, DOCUMENT) == ["command", "url"]
    assert json.loads(sink.read_text())["run_id"] == "r1"
    assert Receiver.received and Receiver.received[0]["outcome"] == "blocked"


def test_a_failing_alert_channel_is_logged_and_nothing_more(tmp_path):
    warnings: list[str] = []
    settings = Settings(
        home=tmp_path,
        alert_command="echo broken >&2; exit 7",
        alert_url="http://127.0.0.1:9/nobody-listens",
        alert_timeout=2,
    )
    assert alerts.send(settings, DOCUMENT, warn=warnings.append) == []
    assert len(warnings) == 2
    assert "exited 7: broken" in warnings[0]
    assert "DWH_ALERT_URL" in warnings[1]


def test_alerts_go_for_runs_that_do_not_publish_and_on_request_for_warnings(tmp_path):
    quiet = Settings(home=tmp_path)
    loud = Settings(home=tmp_path, alert_on_warnings=True)
    assert alerts.should_alert(quiet, "blocked", 0)
    assert alerts.should_alert(quiet, "abandoned", 0)
    assert not alerts.should_alert(quiet, "published", 3)
    assert alerts.should_alert(loud, "published", 3)
    assert not alerts.should_alert(loud, "published", 0)
