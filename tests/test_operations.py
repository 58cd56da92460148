"""Unattended operation: one run at a time, dead runs recognised, retries, backfill, alerts.

Runs are real ``dwh`` processes on a small demo. A failpoint (flows/failpoints.py) stops a
run at a known place: it waits there until the test kills it with SIGKILL (its whole
process group, Prefect's temporary server included, as a power loss would), or for some
seconds while the test starts a second run.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from test_pipeline import as_truth, dwh, edition, truth

DWH = str(Path(sys.executable).with_name("dwh"))
SCALE = "0.05"
SEED = "11"
PEILDATUM = "2023-12-31"

pytestmark = pytest.mark.e2e


class Run:
    """A ``dwh`` process in its own process group, its output in a file the test can watch."""

    def __init__(self, home: Path, *args: str, **env: str) -> None:
        self.output = home.parent / f"run-{time.monotonic_ns()}.log"
        environment = {**os.environ, "DWH_HOME": str(home), **env}
        environment.pop("DWH_LANDING", None)
        with self.output.open("w") as sink:
            self.process = subprocess.Popen(
                [DWH, *args],
                env=environment,
                stdout=sink,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,
            )

    @property
    def text(self) -> str:
        return self.output.read_text(errors="replace")

    def wait_for(self, marker: str, timeout: float = 600) -> None:
        deadline = time.monotonic() + timeout
        while marker not in self.text:
            if self.process.poll() is not None:
                pytest.fail(f"the run ended before {marker!r}:\n{self.text[-4000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"no {marker!r} within {timeout} s:\n{self.text[-4000:]}")
            time.sleep(0.1)

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=60)

    def finish(self, timeout: float = 900) -> int:
        return self.process.wait(timeout=timeout)


def runs_table(home: Path) -> list[tuple]:
    con = duckdb.connect(str(home / "work" / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute(
            "select run_id, peildatum::varchar, outcome, found_abandoned_at is not null, reason "
            "from meta.runs order by started_at"
        ).fetchall()
    finally:
        con.close()


def ledger_counts(home: Path) -> tuple[int, int, int]:
    """Files in landing, files in force in the ledger, and distinct names among those."""
    landing = [p for p in (home / "landing").iterdir() if not p.name.endswith(".manifest.json")]
    con = duckdb.connect(str(home / "work" / "warehouse.duckdb"), read_only=True)
    try:
        in_force, names = con.execute(
            "select count(*), count(distinct file_name) from meta.file_ledger "
            "where status <> 'superseded'"
        ).fetchone()
    finally:
        con.close()
    return len(landing), in_force, names


@pytest.fixture(scope="module")
def published_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """A home with the demo delivered up to 2022-12-31 and that edition published; the rest
    of the demo waits in an outbox, for the runs under test to ingest."""
    from test_pipeline import deliver

    root = tmp_path_factory.mktemp("operations")
    home = root / "dwh_home"
    outbox = root / "outbox"
    made = dwh(home, "demo", "--scale", SCALE, "--seed", SEED, "--landing", str(outbox))
    assert made.returncode == 0, made.stderr
    deliver(outbox, home / "landing", after=None, until=None)
    # Hold back the last months: the run under test then has a pass of new files to read.
    held_back = root / "held_back"
    held_back.mkdir()
    for path in sorted((home / "landing").iterdir()):
        if "2023" in path.name and ("GPS_" in path.name or "BVO_" in path.name):
            shutil.move(path, held_back / path.name)
    first = dwh(home, "run", "--peildatum", "2022-12-31")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    yield {"home": home, "held_back": held_back}


def fresh_copy(published_home: dict[str, Path], tmp_path: Path) -> Path:
    home = tmp_path / "dwh_home"
    shutil.copytree(published_home["home"], home, ignore=shutil.ignore_patterns("prefect"))
    for path in published_home["held_back"].iterdir():
        shutil.copy2(path, home / "landing" / path.name)
    return home


@pytest.mark.parametrize("point", ["ingest", "dbt", "gate", "publish"])
def test_a_run_killed_at_any_point_is_abandoned_and_the_next_run_is_exact(
    published_home, tmp_path, point
):
    home = fresh_copy(published_home, tmp_path)
    published = home / "published" / "warehouse.duckdb"
    before = published.read_bytes()

    killed = Run(home, "run", "--peildatum", PEILDATUM, DWH_FAILPOINT=point)
    killed.wait_for(f"failpoint {point} reached")
    killed.kill()
    assert published.read_bytes() == before
    if point == "publish":  # the new file was written beside the published one, not swapped
        assert list(published.parent.glob(".warehouse.duckdb.*.building"))

    status = dwh(home, "status")
    assert status.returncode == 0, status.stderr
    assert "abandoned" in status.stdout
    dead = [row for row in runs_table(home) if row[1] == PEILDATUM]
    assert [(outcome, found) for _, _, outcome, found, _ in dead] == [("abandoned", True)]

    after = dwh(home, "run", "--peildatum", PEILDATUM)
    assert after.returncode == 0, after.stdout[-3000:] + after.stderr[-3000:]
    assert as_truth(edition(home, PEILDATUM)) == truth(home, PEILDATUM)
    files, in_force, names = ledger_counts(home)
    assert files == in_force == names  # every delivered file in force once
    assert not list(published.parent.glob(".warehouse.duckdb.*.building"))
    outcomes = [row[2] for row in runs_table(home)]
    assert outcomes == ["published", "abandoned", "published"]


def test_a_second_run_during_the_first_ones_dbt_stage_exits_4_naming_it(published_home, tmp_path):
    home = fresh_copy(published_home, tmp_path)
    first = Run(home, "run", "--peildatum", PEILDATUM, DWH_FAILPOINT="dbt:30")
    first.wait_for("failpoint dbt reached")
    holder = json.loads((home / "run.lock").read_text())

    started = time.monotonic()
    second = dwh(home, "run", "--peildatum", "2023-06-30")
    seconds = time.monotonic() - started
    assert second.returncode == 4, second.stdout + second.stderr
    assert "another run is in progress" in second.stderr
    for detail in (holder["run_id"], PEILDATUM, str(first.process.pid), holder["started_at"]):
        assert detail in second.stderr
    assert "Traceback" not in second.stdout + second.stderr
    assert seconds < 20  # at once: no Prefect server was started for it
    status = dwh(home, "status")
    assert f"Run in progress: run {holder['run_id']}" in status.stdout

    assert first.finish() == 0, first.text[-4000:]
    assert as_truth(edition(home, PEILDATUM)) == truth(home, PEILDATUM)
    # The refused run left no trace in the run ledger.
    assert [row[1] for row in runs_table(home)] == ["2022-12-31", PEILDATUM]


def test_a_reader_holding_the_work_database_is_waited_out_by_retries(published_home, tmp_path):
    home = fresh_copy(published_home, tmp_path)
    run = Run(home, "run", "--peildatum", PEILDATUM, DWH_TASK_RETRY_DELAY="3")
    run.wait_for(" loaded (")  # the ingest summary: the run lets go of the work database
    reader = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time\n"
            "while True:\n"
            "    try:\n"
            "        con = duckdb.connect(sys.argv[1], read_only=True); break\n"
            "    except duckdb.IOException:\n"
            "        time.sleep(0.01)\n"
            "print('holding', flush=True); time.sleep(5); con.close()\n",
            str(home / "work" / "warehouse.duckdb"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert reader.stdout is not None and reader.stdout.readline().strip() == "holding"
    assert run.finish() == 0, run.text[-4000:]
    reader.wait(timeout=30)
    assert "is busy" in run.text  # the run met the reader's lock, waited and went on
    assert as_truth(edition(home, PEILDATUM)) == truth(home, PEILDATUM)


def test_a_backfill_publishes_each_edition_in_one_process(published_home, tmp_path):
    home = fresh_copy(published_home, tmp_path)
    result = dwh(home, "run", "--from", "2023-10-31", "--to", PEILDATUM, "--every", "month")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (
        result.stdout.count("Starting temporary server")
        + result.stderr.count("Starting temporary server")
        == 1
    )
    assert (result.stdout + result.stderr).count("ingest: ") >= 1
    con = duckdb.connect(str(home / "published" / "warehouse.duckdb"), read_only=True)
    try:
        editions = con.execute("select peildatum::varchar from meta.editions order by 1").fetchall()
    finally:
        con.close()
    assert editions == [("2022-12-31",), ("2023-10-31",), ("2023-11-30",), (PEILDATUM,)]
    assert as_truth(edition(home, PEILDATUM)) == truth(home, PEILDATUM)
    backfill_runs = [row for row in runs_table(home) if row[1] != "2022-12-31"]
    assert [(row[1], row[2]) for row in backfill_runs] == [
        ("2023-10-31", "published"),
        ("2023-11-30", "published"),
        (PEILDATUM, "published"),
    ]


def test_a_backfill_stops_at_the_first_blocked_edition(published_home, tmp_path):
    home = fresh_copy(published_home, tmp_path)
    landing = home / "landing"
    victim = sorted(landing.glob("BVH_ONDERZOEK_*.csv"))[-1]
    lines = victim.read_bytes().splitlines(keepends=True)
    victim.write_bytes(b"".join(lines[:-2] + lines[-1:]))  # a record less than the trailer says
    published = home / "published" / "warehouse.duckdb"
    before = published.read_bytes()
    result = dwh(home, "run", "--from", "2023-10-31", "--to", PEILDATUM, "--every", "month")
    assert result.returncode == 3, result.stdout[-3000:] + result.stderr[-3000:]
    assert "quality gate blocked publication of edition 2023-10-31" in result.stderr
    assert victim.name in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert published.read_bytes() == before
    assert [(row[1], row[2]) for row in runs_table(home)][1:] == [("2023-10-31", "blocked")]


def test_wrong_backfill_usage_exits_2(tmp_path):
    home = tmp_path / "dwh_home"
    (home / "landing").mkdir(parents=True)
    for args, message in [
        (["--from", "2023-01-31"], "needs both --from and --to"),
        (["--from", "2023-02-01", "--to", "2023-01-01"], "lies after"),
        (["--peildatum", "2023-01-01", "--from", "2023-01-01", "--to", "2023-01-02"], "not both"),
        (["--every", "month"], "--every belongs to a backfill"),
    ]:
        result = dwh(home, "run", *args)
        assert result.returncode == 2, result.stderr
        assert message in result.stderr
        assert "Traceback" not in result.stderr
    assert not (home / "work").exists()
