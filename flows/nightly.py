"""The nightly job as a Prefect flow: ingest -> transform -> quality gate -> publish.

The flow only composes tasks; each task opens and closes its own DuckDB connection to
the work database (one process writes it at a time), and the logic lives in plain
modules that tests call directly.

The whole run holds the run lock (flows/runs.py): a second run on the same ``DWH_HOME``
ends at once with exit code 4. A backfill (several peildata) is one run of this flow: one
ingest, then transform, gate and publish per edition, each edition with a run id of its own.

Expected outcomes (blocked by the gate, another run in progress, no landing folder) end
the flow in a Failed state that carries the message, without a traceback; the exception
travels as the state's data, so ``dwh run`` exits with its code. Unexpected errors raise.
"""

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

import duckdb
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.states import Completed, Failed, State

from flows import (
    alerts,
    gate,
    ingest,
    ledger,
    planning,
    pseudonym,
    publish,
    runs,
    status,
    transform,
)
from flows.errors import DwhError, GateBlocked, Reason, RunInProgress, Transient, UsageError
from flows.settings import Settings

T = TypeVar("T")


def _settings(home: str, landing: str | None) -> Settings:
    return Settings(home=Path(home), landing=Path(landing) if landing else None)


def connect_work_db(settings: Settings) -> duckdb.DuckDBPyConnection:
    """The work database with the resource limits of the settings (ingest and the gate).

    A lock held by another process (a ``dwh status`` reading it) raises :class:`Transient`,
    which the tasks retry.
    """
    settings.work_dir.mkdir(parents=True, exist_ok=True)
    try:
        return duckdb.connect(
            str(settings.work_db),
            config={
                "memory_limit": settings.memory_limit,
                "threads": settings.threads,
                "temp_directory": settings.dbt_environment()["DWH_TEMP_DIR"],
            },
        )
    except duckdb.IOException as exc:
        if transform.LOCK_MESSAGE in str(exc):
            raise Transient(f"the work database {settings.work_db} is busy ({exc})") from exc
        raise


def _is_transient(_task: Any, _task_run: Any, state: State) -> bool:
    """Prefect's retry condition: retry a lock held for a moment, never a model error or a
    rejected file (those are not :class:`Transient`)."""
    return isinstance(state.result(raise_on_failure=False), Transient)


def with_work_db(
    settings: Settings,
    work: Callable[[duckdb.DuckDBPyConnection], T],
    warn: Callable[[str], None] | None = None,
) -> T:
    """Run ``work`` on a connection of its own, waiting out a lock as the tasks' retries do
    (the flow's own bookkeeping between tasks)."""
    for attempt in range(settings.task_retries + 1):
        try:
            con = connect_work_db(settings)
        except Transient as busy:
            if attempt == settings.task_retries:
                raise
            delay = settings.task_retry_delay * 2**attempt
            if warn:
                warn(f"{busy}; retrying in {delay:.0f} s")
            time.sleep(delay)
            continue
        try:
            return work(con)
        finally:
            con.close()
    raise AssertionError("unreachable")


@task(name="ingest", cache_policy=NO_CACHE, retry_condition_fn=_is_transient)
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
    for name, reason in report.deferred:
        logger.warning(f"ingest: left {name} for the next run: {reason}")
    return asdict(report)


@task(name="transform", cache_policy=NO_CACHE, retry_condition_fn=_is_transient)
def transform_task(
    home: str, landing: str | None, run_id: str, peildatum: date, engine: str = "duckdb"
) -> dict:
    settings = _settings(home, landing)
    report = transform.run_dbt(settings, peildatum, progress=get_run_logger().info, engine=engine)
    with_work_db(settings, lambda con: runs.record_dbt_nodes(con, run_id, report.node_results))
    return {"failed_tests": report.failed_tests, "built_relations": report.built_relations}


@task(name="quality-gate", cache_policy=NO_CACHE, retry_condition_fn=_is_transient)
def gate_task(
    home: str,
    landing: str | None,
    run_id: str,
    peildatum: date,
    built_relations: list[str],
) -> gate.GateReport:
    settings = _settings(home, landing)
    con = connect_work_db(settings)
    try:
        gate.compare_with_previous_edition(con, settings.published_db, peildatum)
        return gate.validate_suites(
            con,
            gate.load_suites(settings.expectations_dir),
            run_id=run_id,
            peildatum=peildatum.isoformat(),
            results_dir=settings.validation_dir / run_id,
            progress=get_run_logger().info,
            built_relations=set(built_relations),
        )
    finally:
        con.close()


@task(name="publish", cache_policy=NO_CACHE, retry_condition_fn=_is_transient)
def publish_task(home: str, landing: str | None, run_id: str, peildatum: date) -> None:
    settings = _settings(home, landing)
    publish.publish(
        settings.work_db,
        settings.published_db,
        peildatum=peildatum,
        run_id=run_id,
        progress=get_run_logger().info,
        manifest=settings.dbt_target_dir / "manifest.json",
    )


@dataclass
class Edition:
    """One edition of a run: its run id, stages and outcome (``meta.runs``)."""

    run_id: str
    peildatum: date
    stages: list[str] = field(default_factory=list)
    outcome: str | None = None
    reasons: list[Reason] = field(default_factory=list)
    warnings: list[Reason] = field(default_factory=list)


class _Run:
    """The bookkeeping of one flow run: the run ledger, stage timings and alerts."""

    def __init__(self, settings: Settings, engine: str, log: Any) -> None:
        self.settings = settings
        self.engine = engine
        self.log = log
        self.landing = str(settings.landing_dir)
        from prefect.runtime import flow_run

        self.flow_run_id = str(flow_run.id) if flow_run.id else None

    def lock(self, run_id: str, peildatum: date) -> None:
        """Take (or, under ``dwh run``, re-describe) the run lock for this edition."""
        runs.acquire(
            self.settings.home_dir,
            run_id=run_id,
            peildatum=peildatum.isoformat(),
            started_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )

    def start(self, run_id: str, peildatum: date) -> Edition:
        self.lock(run_id, peildatum)
        with_work_db(
            self.settings,
            lambda con: runs.record_start(
                con,
                run_id=run_id,
                peildatum=peildatum,
                landing=self.settings.landing_dir,
                engine=self.engine,
                prefect_flow_run_id=self.flow_run_id,
            ),
            self.log.warning,
        )
        self.log.info(f"run {run_id}: peildatum {peildatum}, landing {self.landing}")
        return Edition(run_id, peildatum)

    @contextmanager
    def stage(self, edition: Edition, name: str) -> Iterator[None]:
        started_at, started = datetime.now(UTC), time.perf_counter()
        yield
        seconds = time.perf_counter() - started
        edition.stages.append(name)
        with_work_db(
            self.settings,
            lambda con: runs.record_stage(con, edition.run_id, name, started_at, seconds),
            self.log.warning,
        )

    def end(self, edition: Edition, outcome: str, reasons: list[Reason]) -> None:
        edition.outcome, edition.reasons = outcome, reasons
        reason = "\n".join(str(item) for item in reasons) or None
        with_work_db(
            self.settings,
            lambda con: runs.record_outcome(con, edition.run_id, outcome, reason),
            self.log.warning,
        )
        if alerts.should_alert(self.settings, outcome, len(edition.warnings)):
            self.alert(edition, outcome)

    def alert(self, edition: Edition, outcome: str) -> None:
        document = alerts.document(
            self.settings,
            run_id=edition.run_id,
            peildatum=edition.peildatum,
            outcome=outcome,
            reasons=edition.reasons,
            engine=self.engine,
            stages=edition.stages,
            warnings=edition.warnings,
            status=self.status(),
            prefect_flow_run_id=self.flow_run_id,
        )
        alerts.send(self.settings, document, warn=self.log.warning)

    def status(self) -> dict[str, Any]:
        try:
            return with_work_db(
                self.settings, lambda con: status.summary(con, self.settings.published_db)
            )
        except (DwhError, duckdb.Error) as exc:
            return {"error": f"status unavailable: {exc}"}

    def recover(self) -> None:
        """Mark runs that died as abandoned (alerting each) and drop their leftovers."""
        editions = runs.published_editions(self.settings.published_db)

        def mark(con: duckdb.DuckDBPyConnection) -> list[runs.AbandonedRun]:
            ledger.ensure_meta(con)
            return runs.mark_abandoned(con, editions)

        dead = with_work_db(self.settings, mark, self.log.warning)
        for leftover in runs.remove_unfinished_publications(self.settings.published_db):
            self.log.warning(f"removed {leftover.name}, left by a publish that did not finish")
        status = self.status() if dead else None  # one look at the work database for all
        for run in dead:
            self.log.warning(f"run {run.run_id} (peildatum {run.peildatum}): {run.reason}")
            document = alerts.abandoned(self.settings, run, status)
            alerts.send(self.settings, document, warn=self.log.warning)


def _retrying(task_fn: Any, settings: Settings) -> Any:
    return task_fn.with_options(
        retries=settings.task_retries,
        retry_delay_seconds=[settings.task_retry_delay * 2**n for n in range(settings.task_retries)]
        or 0,
    )


@flow(name="dwh-nightly")
def nightly(
    home: str,
    landing: str | None = None,
    peildatum: date | None = None,
    peildata: list[date] | None = None,
    run_id: str | None = None,
    engine: str | None = None,
) -> State:
    """Run the nightly job: one edition (``peildatum``, default today) or a backfill
    (``peildata``, one ingest); ends Completed with the published run ids, or Failed."""
    settings = _settings(home, landing)
    engine = engine or settings.engine  # DWH_ENGINE: where dbt builds the models
    logger = get_run_logger()
    editions = peildata or [peildatum or runs.today()]
    first_run_id = run_id or runs.new_run_id()
    took_lock = not runs.held(settings.home_dir)
    bookkeeping = _Run(settings, engine, logger)
    try:
        bookkeeping.lock(first_run_id, editions[0])
    except RunInProgress as refused:
        logger.error(str(refused))
        return Failed(message=str(refused), data=refused)
    try:
        bookkeeping.recover()  # before this run has a row of its own without an outcome
        edition = bookkeeping.start(first_run_id, editions[0])
        return _run_editions(settings, bookkeeping, edition, editions)
    finally:
        if took_lock:
            runs.release(settings.home_dir)


def _record_inputs(settings: Settings, bookkeeping: _Run, edition: Edition) -> None:
    """What made this published edition, for the next night's planning (flows/planning.py).
    Only bookkeeping: a failure costs the next night its shortcut, not this edition."""
    try:
        with_work_db(
            settings,
            lambda con: planning.record_inputs(
                con, settings, edition.run_id, edition.peildatum, bookkeeping.engine
            ),
            bookkeeping.log.warning,
        )
    except (DwhError, duckdb.Error, OSError) as exc:
        bookkeeping.log.warning(f"run {edition.run_id}: inputs not recorded ({exc})")


def _run_editions(
    settings: Settings, bookkeeping: _Run, edition: Edition, editions: list[date]
) -> State:
    logger = bookkeeping.log
    home, landing = str(settings.home_dir), bookkeeping.landing
    published: list[str] = []
    try:
        if not settings.landing_dir.is_dir():
            raise UsageError(
                f"landing folder {settings.landing_dir} does not exist: deliver exports there "
                f"(or run 'dwh demo'), or name another with --landing"
            )
        with bookkeeping.stage(edition, "ingest"):
            _retrying(ingest_task, settings)(home, landing, edition.run_id)
        for number, peildatum in enumerate(editions):
            if number:
                edition = bookkeeping.start(runs.new_run_id(), peildatum)
            if len(editions) > 1:
                logger.info(f"backfill: edition {number + 1} of {len(editions)}: {peildatum}")
            with bookkeeping.stage(edition, "transform"):
                built = _retrying(transform_task, settings)(
                    home, landing, edition.run_id, peildatum, bookkeeping.engine
                )
            with bookkeeping.stage(edition, "quality-gate"):
                report = _retrying(gate_task, settings)(
                    home, landing, edition.run_id, peildatum, built["built_relations"]
                )
            edition.warnings = report.warnings
            failures = built["failed_tests"] + report.failures
            if failures:
                raise GateBlocked(failures, peildatum.isoformat())
            with bookkeeping.stage(edition, "publish"):
                _retrying(publish_task, settings)(home, landing, edition.run_id, peildatum)
            _record_inputs(settings, bookkeeping, edition)
            bookkeeping.end(edition, "published", [])
            from flows.report_page import write_report_after_publish

            write_report_after_publish(settings, peildatum)
            published.append(edition.run_id)
    except GateBlocked as blocked:
        bookkeeping.end(edition, "blocked", blocked.failures)
        return Failed(message=str(blocked), data=blocked)
    except DwhError as expected:
        bookkeeping.end(edition, "failed", [Reason("run", str(expected))])
        logger.error(str(expected))
        return Failed(message=str(expected), data=expected)
    except BaseException as exc:
        bookkeeping.end(edition, "failed", [Reason("run", f"{type(exc).__name__}: {exc}")])
        raise
    return Completed(message=f"published {', '.join(published)}", data=published)
