"""The nightly job as a Prefect flow: ingest -> transform -> quality gate -> publish.

The flow only composes tasks; each task opens and closes its own DuckDB connection to
the work database (one process writes it at a time), and the logic lives in plain
modules that tests call directly.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows import gate, ingest, ledger, pseudonym, publish, transform
from flows.errors import GateBlocked
from flows.settings import Settings


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]


def _settings(home: str, landing: str | None) -> Settings:
    return Settings(home=Path(home), landing=Path(landing) if landing else None)


def connect_work_db(settings: Settings) -> duckdb.DuckDBPyConnection:
    """The work database with the resource limits of the settings (ingest and the gate)."""
    settings.work_dir.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(
        str(settings.work_db),
        config={
            "memory_limit": settings.memory_limit,
            "threads": settings.threads,
            "temp_directory": settings.dbt_environment()["DWH_TEMP_DIR"],
        },
    )


@task(name="ingest", cache_policy=NO_CACHE)
def ingest_task(home: str, landing: str | None, run_id: str) -> dict:
    settings = _settings(home, landing)
    logger = get_run_logger()
    key = pseudonym.load_or_create_key(settings.pseudonym_key)
    con = connect_work_db(settings)
    try:
        report = ingest.ingest_landing(
            con,
            settings.landing_dir,
            run_id=run_id,
            scratch=settings.work_dir / "scratch",
            quarantine_dir=settings.quarantine_dir,
            progress=logger.info,
            pseudonym_key=key,
        )
    finally:
        con.close()
    logger.info(f"ingest: {report.summary()}")
    for name, reason in report.rejected:
        logger.warning(f"ingest: rejected {name}: {reason}")
    return asdict(report)


@task(name="transform", cache_policy=NO_CACHE)
def transform_task(
    home: str, landing: str | None, peildatum: date, engine: str = "duckdb"
) -> list[str]:
    settings = _settings(home, landing)
    report = transform.run_dbt(settings, peildatum, progress=get_run_logger().info, engine=engine)
    return report.failed_tests


@task(name="quality-gate", cache_policy=NO_CACHE)
def gate_task(
    home: str, landing: str | None, run_id: str, peildatum: date, failed_tests: list[str]
) -> list[str]:
    settings = _settings(home, landing)
    con = connect_work_db(settings)
    try:
        gate.compare_with_previous_edition(con, settings.published_db, peildatum)
        report = gate.validate_suites(
            con,
            gate.load_suites(settings.expectations_dir),
            run_id=run_id,
            peildatum=peildatum.isoformat(),
            results_dir=settings.validation_dir / run_id,
            progress=get_run_logger().info,
        )
    finally:
        con.close()
    return failed_tests + report.failures


@task(name="publish", cache_policy=NO_CACHE)
def publish_task(home: str, landing: str | None, run_id: str, peildatum: date) -> None:
    settings = _settings(home, landing)
    publish.publish(
        settings.work_db,
        settings.published_db,
        peildatum=peildatum,
        run_id=run_id,
        progress=get_run_logger().info,
    )


def _record_run(
    settings: Settings,
    run_id: str,
    peildatum: date,
    outcome: str | None,
    reason: str | None = None,
    stages: list[tuple[str, datetime, float]] | None = None,
) -> None:
    con = connect_work_db(settings)
    try:
        ledger.ensure_meta(con)
        if outcome is None:
            con.execute(
                "insert into meta.runs (run_id, started_at, peildatum, landing) "
                "values (?, ?, ?, ?)",
                [run_id, datetime.now(UTC), peildatum, str(settings.landing_dir)],
            )
        else:
            con.execute(
                "update meta.runs set finished_at = ?, outcome = ?, reason = ? where run_id = ?",
                [datetime.now(UTC), outcome, reason, run_id],
            )
            if stages:
                con.executemany(
                    "insert into meta.run_stages values (?, ?, ?, ?)",
                    [[run_id, name, started_at, seconds] for name, started_at, seconds in stages],
                )
    finally:
        con.close()


@flow(name="dwh-nightly")
def nightly(
    home: str,
    landing: str | None = None,
    peildatum: date | None = None,
    engine: str | None = None,
) -> str:
    """Run the whole nightly job for one peildatum; return the run id when published."""
    settings = _settings(home, landing)
    peildatum = peildatum or date.today()
    engine = engine or settings.engine  # DWH_ENGINE; dbt builds the models there
    run_id = new_run_id()
    logger = get_run_logger()
    logger.info(f"run {run_id}: peildatum {peildatum}, landing {settings.landing_dir}")
    _record_run(settings, run_id, peildatum, None)
    stages: list[tuple[str, datetime, float]] = []

    @contextmanager
    def stage(name: str) -> Iterator[None]:
        started_at, started = datetime.now(UTC), time.perf_counter()
        try:
            yield
        finally:
            stages.append((name, started_at, time.perf_counter() - started))

    try:
        with stage("ingest"):
            ingest_task(home, landing, run_id)
        with stage("transform"):
            failed_tests = transform_task(home, landing, peildatum, engine)
        with stage("quality-gate"):
            failures = gate_task(home, landing, run_id, peildatum, failed_tests)
        if failures:
            raise GateBlocked(failures)
        with stage("publish"):
            publish_task(home, landing, run_id, peildatum)
    except GateBlocked as blocked:
        reason = "\n".join(blocked.failures)
        _record_run(settings, run_id, peildatum, "blocked", reason, stages)
        raise
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}"
        _record_run(settings, run_id, peildatum, "failed", reason, stages)
        raise
    _record_run(settings, run_id, peildatum, "published", None, stages)
    return run_id
