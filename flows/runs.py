"""One run at a time, and the run ledger: what each run did and how it ended.

The run lock is an ``flock`` on ``DWH_HOME/run.lock``, held from before ingest until after
publish. The kernel drops it when its process ends, however it ends (SIGKILL, power loss),
so a stale lock never has to be cleaned up. The holder writes who it is into the file
(run id, peildatum, start, pid) so that a refused run can name it.

``meta.runs`` has one row per run; ``outcome`` stays NULL while the run lives. A row whose
outcome is still NULL while nobody holds the lock belongs to a run that died: the next run
(or ``dwh status``) marks it ``abandoned`` and notes when it found it. Its partial work was
never committed (ingest passes are transactions) or is rebuilt by the next run (dbt,
gate), and the published file is only ever replaced whole.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb

from flows.errors import RunInProgress

RUNS_DDL = """
create schema if not exists meta;
create table if not exists meta.runs (
    run_id varchar primary key,
    started_at timestamptz not null,
    finished_at timestamptz,
    peildatum date not null,
    landing varchar not null,
    outcome varchar,
    reason varchar
);
alter table meta.runs add column if not exists prefect_flow_run_id varchar;
alter table meta.runs add column if not exists pid integer;
alter table meta.runs add column if not exists host varchar;
alter table meta.runs add column if not exists engine varchar;
alter table meta.runs add column if not exists found_abandoned_at timestamptz;
create table if not exists meta.run_stages (
    run_id varchar not null,
    stage varchar not null,
    started_at timestamptz not null,
    seconds double not null
);
create table if not exists meta.dbt_node_results (
    run_id varchar not null,
    unique_id varchar not null,
    resource_type varchar not null,
    status varchar not null,
    rows_affected bigint,
    seconds double,
    message varchar
);
"""

# How long a run waits for the lock before it calls it taken: ``dwh status`` holds it for
# a moment when it marks dead runs, and a run that just took it may not have said who it is.
LOCK_PATIENCE_SECONDS = 5.0

_held: dict[Path, RunLock] = {}

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]


def today() -> date:
    """The default peildatum: today in the Netherlands."""
    return datetime.now(AMSTERDAM).date()


@dataclass
class RunLock:
    """The run lock of one DWH_HOME, held by this process."""

    path: Path
    fd: int

    def describe(self, **holder: Any) -> None:
        """Write who holds the lock (run id, peildatum, ...) for a refused run to name."""
        text = json.dumps(
            {"pid": os.getpid(), "host": socket.gethostname(), **holder}, default=str
        ).encode()
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, text, 0)

    def release(self) -> None:
        if _held.get(self.path) is self:
            del _held[self.path]
        with contextlib.suppress(OSError):
            os.ftruncate(self.fd, 0)
        os.close(self.fd)  # closing the only descriptor drops the flock


def lock_path(home: Path) -> Path:
    return home.resolve() / "run.lock"


def held(home: Path) -> bool:
    """Whether this process holds the run lock of ``home``."""
    return lock_path(home) in _held


def release(home: Path) -> None:
    lock = _held.get(lock_path(home))
    if lock is not None:
        lock.release()


def holder(home: Path) -> dict[str, Any] | None:
    """What the lock file says about its holder (empty between runs)."""
    try:
        text = lock_path(home).read_text(encoding="utf-8")
    except OSError:
        return None
    try:
        found = json.loads(text) if text.strip() else None
    except json.JSONDecodeError:  # being written at this moment
        return None
    return found if isinstance(found, dict) else None


def describe_holder(found: dict[str, Any] | None) -> str:
    if not found:
        return "a run that has not yet said who it is"
    return (
        f"run {found.get('run_id') or '(starting)'}, peildatum {found.get('peildatum', '?')}, "
        f"started {found.get('started_at', '?')}, pid {found.get('pid', '?')}"
        + (f" on {found['host']}" if found.get("host") != socket.gethostname() else "")
    )


def _try_flock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def acquire(home: Path, *, patience: float = LOCK_PATIENCE_SECONDS, **holder_info: Any) -> RunLock:
    """Take the run lock of ``home`` or raise :class:`RunInProgress` naming its holder.

    Re-entrant within one process: the CLI takes it before Prefect starts, the flow takes
    it again (a run of ``dwh serve`` runs in a process of its own and takes it there).
    """
    path = lock_path(home)
    if path in _held:
        if holder_info:
            _held[path].describe(**holder_info)
        return _held[path]
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    deadline = time.monotonic() + patience
    while not _try_flock(fd):
        found = holder(home)
        is_status_probe = bool(found and found.get("probe"))
        if (found and not is_status_probe) or time.monotonic() >= deadline:
            os.close(fd)
            raise RunInProgress(f"another run is in progress: {describe_holder(found)}")
        time.sleep(0.1)
    lock = RunLock(path, fd)
    _held[path] = lock
    lock.describe(**holder_info)
    return lock


def probe(home: Path) -> RunLock | None:
    """The lock for a moment (``dwh status``), or None while a run holds it."""
    path = lock_path(home)
    if path in _held:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    if not _try_flock(fd):
        os.close(fd)
        return None
    lock = RunLock(path, fd)  # not registered as held: it is no run
    lock.describe(probe=True)
    return lock


def ensure_runs(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(RUNS_DDL)


def record_start(
    con: duckdb.DuckDBPyConnection,
    *,
    run_id: str,
    peildatum: date,
    landing: Path,
    engine: str,
    prefect_flow_run_id: str | None,
) -> None:
    ensure_runs(con)
    con.execute(
        """
        insert into meta.runs
            (run_id, started_at, peildatum, landing, prefect_flow_run_id, pid, host, engine)
        values (?, ?, ?, ?, ?, ?, ?, ?)
        """,
        [
            run_id,
            datetime.now(UTC),
            peildatum,
            str(landing),
            prefect_flow_run_id,
            os.getpid(),
            socket.gethostname(),
            engine,
        ],
    )


def record_stage(
    con: duckdb.DuckDBPyConnection, run_id: str, stage: str, started_at: datetime, seconds: float
) -> None:
    con.execute(
        "insert into meta.run_stages (run_id, stage, started_at, seconds) values (?, ?, ?, ?)",
        [run_id, stage, started_at, seconds],
    )


def record_outcome(
    con: duckdb.DuckDBPyConnection, run_id: str, outcome: str, reason: str | None
) -> None:
    con.execute(
        "update meta.runs set finished_at = ?, outcome = ?, reason = ? where run_id = ?",
        [datetime.now(UTC), outcome, reason, run_id],
    )


def record_dbt_nodes(
    con: duckdb.DuckDBPyConnection, run_id: str, nodes: list[dict[str, Any]]
) -> None:
    if not nodes:
        return
    columns = ["unique_id", "resource_type", "status", "rows_affected", "seconds", "message"]
    con.execute(
        f"insert into meta.dbt_node_results (run_id, {', '.join(columns)}) "
        f"select ?, {', '.join('unnest(?)' for _ in columns)}",
        [run_id, *[[node.get(column) for node in nodes] for column in columns]],
    )


@dataclass(frozen=True)
class AbandonedRun:
    run_id: str
    peildatum: date
    started_at: datetime
    stages: tuple[str, ...]  # the stages it finished, in order
    engine: str | None
    prefect_flow_run_id: str | None

    @property
    def reason(self) -> str:
        where = f"after stage {self.stages[-1]}" if self.stages else "before its first stage"
        return f"the run's process ended without an outcome ({where}); found abandoned"


def mark_abandoned(
    con: duckdb.DuckDBPyConnection, published_editions: dict[str, date] | None = None
) -> list[AbandonedRun]:
    """Mark every run without an outcome as abandoned; call only while holding the lock.

    A run that died after swapping in its published file but before noting it here did
    publish: it is marked ``published`` instead (``published_editions``: run id -> peildatum
    of the published file's ``meta.editions``).
    """
    ensure_runs(con)
    rows = con.execute(
        """
        select
            runs.run_id, runs.peildatum, runs.started_at,
            list(stages.stage order by stages.started_at) filter (stages.stage is not null),
            runs.engine, runs.prefect_flow_run_id
        from meta.runs as runs
        left join meta.run_stages as stages using (run_id)
        where runs.outcome is null
        group by all
        order by runs.started_at
        """
    ).fetchall()
    found_at = datetime.now(UTC)
    abandoned = []
    for run_id, peildatum, started_at, stages, engine, flow_run_id in rows:
        if published_editions and run_id in published_editions:
            con.execute(
                "update meta.runs set outcome = 'published', found_abandoned_at = ?, "
                "reason = 'the run ended after its publication; found without an outcome' "
                "where run_id = ?",
                [found_at, run_id],
            )
            continue
        run = AbandonedRun(run_id, peildatum, started_at, tuple(stages or ()), engine, flow_run_id)
        con.execute(
            "update meta.runs set outcome = 'abandoned', found_abandoned_at = ?, reason = ? "
            "where run_id = ?",
            [found_at, run.reason, run_id],
        )
        abandoned.append(run)
    return abandoned


def published_editions(published_db: Path) -> dict[str, date]:
    """Run id -> peildatum of every edition in the published file."""
    if not published_db.exists():
        return {}
    con = duckdb.connect(str(published_db), read_only=True)
    try:
        return dict(con.execute("select run_id, peildatum from meta.editions").fetchall())
    except duckdb.CatalogException:
        return {}
    finally:
        con.close()


def remove_unfinished_publications(published_db: Path) -> list[Path]:
    """Delete files a killed publish left beside the published one (only under the lock)."""
    leftovers = sorted(published_db.parent.glob(f".{published_db.name}.*.building"))
    for path in leftovers:
        path.unlink(missing_ok=True)
    return leftovers


def backfill_peildata(first: date, last: date, every: str) -> list[date]:
    """The peildata of a backfill from ``first`` to ``last`` inclusive.

    ``day``: every day. ``month``: the same day of every month, clamped to the month's end;
    when ``first`` is the last day of its month, every edition is a month end (the usual
    monthly peildatum).
    """
    import calendar

    if every == "day":
        return [date.fromordinal(n) for n in range(first.toordinal(), last.toordinal() + 1)]
    month_end = first.day == calendar.monthrange(first.year, first.month)[1]
    found: list[date] = []
    year, month = first.year, first.month
    while True:
        last_day = calendar.monthrange(year, month)[1]
        day = last_day if month_end else min(first.day, last_day)
        current = date(year, month, day)
        if current > last:
            return found
        found.append(current)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
