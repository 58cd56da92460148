"""Planning a night before anything heavy starts: is there anything to do at all?

``dwh run`` calls :func:`plan_night` under the run lock, before Prefect's temporary server
starts and before dbt or Great Expectations are imported. A night has nothing to do when
what would make its edition equals what made the last published edition:

- the landing folder: every recognised file has the size and modification time (its own
  and its manifest's) that the file ledger holds for its name, so ingest would read none:
  no new, corrected or re-delivered file (``flows.ingest.discover``, which reads no bytes);
- the file ledger, which says what the raw tables hold: its rows (file id, status, sha256,
  superseded by) hash to the value recorded when that edition was published, so no file
  was loaded, rejected or superseded since (by a run that did not publish, say);
- the peildatum;
- the project: every file of the dbt project (models, macros, tests, seeds' yml), the
  seeds, the quality gate's suites and the ``flows`` package hash alike;
- the settings (all of them, with the engine of this run and the resolved landing folder);

and no run died without an outcome, nor a publish left a file behind (the normal path
recovers those). Then the night records itself in ``meta.runs`` with outcome
``unchanged`` (and a stage ``plan``), leaves the published file untouched, prints why and
exits 0. The inputs of every published edition are kept in ``meta.edition_inputs``
(:func:`record_inputs`, called by the flow after each publish). Only a single-edition
``dwh run`` plans; a backfill and ``dwh serve`` always run (docs/decisions/0014).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from flows import ingest, ledger, runs
from flows.settings import PROJECT_ROOT, Settings

# What the project fingerprint covers: the dbt project, seeds, the gate's suites, the code.
PROJECT_PARTS: tuple[Path, ...] = (
    PROJECT_ROOT / "dbt_project",
    PROJECT_ROOT / "seeds",
    PROJECT_ROOT / "expectations",
    PROJECT_ROOT / "flows",
)
# Folders and files in those parts that are output or local state, not project.
IGNORED_NAMES = frozenset({"target", "logs", "dbt_packages", "__pycache__", ".user.yml"})

INPUTS_DDL = """
create schema if not exists meta;
create table if not exists meta.edition_inputs (
    run_id varchar primary key,
    peildatum date not null,
    ledger_fingerprint varchar not null,
    project_fingerprint varchar not null,
    settings_fingerprint varchar not null,
    recorded_at timestamptz not null
);
"""

UNCHANGED = "unchanged"


@dataclass(frozen=True)
class Plan:
    """What planning found: whether the night has nothing to do, and why (either way)."""

    unchanged: bool
    reason: str
    seconds: float = 0.0


def project_fingerprint(parts: Iterable[Path] | None = None) -> str:
    """sha256 over the relative path and bytes of every file of the project's parts."""
    digest = hashlib.sha256()
    for part in PROJECT_PARTS if parts is None else parts:
        if not part.exists():
            continue
        files = sorted(
            path
            for path in part.rglob("*")
            if path.is_file() and not IGNORED_NAMES.intersection(path.relative_to(part).parts)
        )
        for path in files:
            digest.update(f"{part.name}/{path.relative_to(part)}\0".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def settings_fingerprint(settings: Settings, engine: str) -> str:
    """Every setting, with the engine of the run and the folders resolved; not the alert
    channels, which say whom a run tells, not what it builds."""
    alerting = {name for name in Settings.model_fields if name.startswith("alert_")}
    values = settings.model_dump(mode="json", exclude={"home", "landing", "engine", *alerting})
    values |= {
        "home": str(settings.home_dir),
        "landing": str(settings.landing_dir),
        "engine": engine,
    }
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()


def ledger_fingerprint(con: duckdb.DuckDBPyConnection) -> str:
    """The file ledger's rows that decide the raw tables, as one value."""
    row = con.execute(
        """
        select
            count(*)::varchar || ':'
            || coalesce(bit_xor(hash(file_id, status, sha256, superseded_by)), 0)::varchar
        from meta.file_ledger
        """
    ).fetchone()
    assert row is not None
    return str(row[0])


def record_inputs(
    con: duckdb.DuckDBPyConnection, settings: Settings, run_id: str, peildatum: date, engine: str
) -> None:
    """What made the edition ``run_id`` published (after its publish)."""
    con.execute(INPUTS_DDL)
    con.execute(
        "insert or replace into meta.edition_inputs values (?, ?, ?, ?, ?, ?)",
        [
            run_id,
            peildatum,
            ledger_fingerprint(con),
            project_fingerprint(),
            settings_fingerprint(settings, engine),
            datetime.now(UTC),
        ],
    )


def _last_published(published_db: Path) -> tuple[str, date] | None:
    """Run id and peildatum of the edition published last."""
    if not published_db.exists():
        return None
    con = duckdb.connect(str(published_db), read_only=True)
    try:
        row = con.execute(
            "select run_id, peildatum from meta.editions order by published_at desc limit 1"
        ).fetchone()
    except duckdb.Error:
        return None
    finally:
        con.close()
    return (str(row[0]), row[1]) if row else None


def _has_table(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    row = con.execute(
        "select count(*) from duckdb_tables() where schema_name = ? and table_name = ?",
        [schema, table],
    ).fetchone()
    return bool(row and row[0])


def _compare(
    con: duckdb.DuckDBPyConnection, settings: Settings, peildatum: date, engine: str
) -> str | None:
    """None when the night has nothing to do; otherwise what differs."""
    last = _last_published(settings.published_db)
    if last is None:
        return "nothing is published yet"
    published_run, published_peildatum = last
    if peildatum != published_peildatum:
        return f"the last published edition has peildatum {published_peildatum}"
    if any(settings.published_db.parent.glob(f".{settings.published_db.name}.*.building")):
        return "a publish that did not finish left a file behind"
    if not all(_has_table(con, "meta", table) for table in ("edition_inputs", "file_ledger")):
        return "no inputs are recorded for the published edition"
    if _has_table(con, "meta", "runs"):
        dead = con.execute("select count(*) from meta.runs where outcome is null").fetchone()
        if dead and dead[0]:
            return "a run ended without an outcome"
    recorded = con.execute(
        """
        select ledger_fingerprint, project_fingerprint, settings_fingerprint
        from meta.edition_inputs where run_id = ?
        """,
        [published_run],
    ).fetchone()
    if recorded is None:
        return f"no inputs are recorded for the published edition (run {published_run})"
    report = ingest.IngestReport()
    changed = ingest.discover(settings.landing_dir, ledger.in_force(con), report)
    if changed:
        names = ", ".join(delivery.name for _, delivery, _, _ in changed[:3])
        more = f" and {len(changed) - 3} more" if len(changed) > 3 else ""
        return f"{len(changed)} new or changed files in landing ({names}{more})"
    if recorded[0] != ledger_fingerprint(con):
        return "the file ledger changed since the published edition"
    if recorded[1] != project_fingerprint():
        return "the dbt project, seeds, suites or code changed since the published edition"
    if recorded[2] != settings_fingerprint(settings, engine):
        return "the settings changed since the published edition"
    return None


def plan_night(settings: Settings, peildatum: date, engine: str) -> Plan:
    """Whether this night (one edition at ``peildatum``) has nothing to do; call under the
    run lock. Anything it cannot tell (a busy or missing work database) means: run."""
    started = time.perf_counter()
    if not settings.work_db.exists():
        return Plan(False, "no work database yet", time.perf_counter() - started)
    try:  # with the default configuration, as record_unchanged: one instance per process
        con = duckdb.connect(str(settings.work_db))
    except duckdb.Error as exc:
        return Plan(False, f"the work database could not be read ({exc})")
    try:
        differs = _compare(con, settings, peildatum, engine)
    finally:
        con.close()
    seconds = time.perf_counter() - started
    if differs is not None:
        return Plan(False, differs, seconds)
    return Plan(
        True,
        f"nothing new since the published edition {peildatum}: no new, corrected or changed "
        f"file in {settings.landing_dir}, and the same file ledger, peildatum, dbt project "
        f"and settings",
        seconds,
    )


def record_unchanged(
    settings: Settings, run_id: str, peildatum: date, engine: str, plan: Plan
) -> None:
    """The night in the run ledger: outcome ``unchanged``, the reason, a stage ``plan``."""
    con = duckdb.connect(str(settings.work_db))
    try:
        runs.record_start(
            con,
            run_id=run_id,
            peildatum=peildatum,
            landing=settings.landing_dir,
            engine=engine,
            prefect_flow_run_id=None,
        )
        runs.record_stage(con, run_id, "plan", datetime.now(UTC), plan.seconds)
        runs.record_outcome(con, run_id, UNCHANGED, plan.reason)
    finally:
        con.close()
