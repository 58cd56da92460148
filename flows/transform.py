"""Transform: dbt builds staging, intermediate, marts and report models in the work database.

dbt is called in-process through ``dbtRunner`` from one Prefect task: far cheaper than one
Prefect task per dbt node on the temporary server (docs/decisions/0003).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from flows import incremental
from flows.errors import DwhError, Reason, Transient
from flows.failpoints import failpoint
from flows.settings import Settings, export_environment
from flows.sources.common import sql_literal

log = logging.getLogger(__name__)
T = TypeVar("T")


class TransformFailed(DwhError):
    """A dbt model could not be built (as opposed to a data test that found bad data)."""


@dataclass
class TransformReport:
    nodes: int = 0
    seconds: float = 0.0
    failed_tests: list[Reason] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    # Models built by this invocation, as ``schema.table`` (the gate validates only these).
    built_relations: list[str] = field(default_factory=list)
    # Per dbt node: unique_id, resource_type, status, rows_affected, seconds, message.
    node_results: list[dict[str, Any]] = field(default_factory=list)
    # How dbt read the project: "partial" (kept from the night before, only changed files
    # parsed again) or "full" with dbt's reason (parse_reason).
    parse: str = "partial"
    parse_reason: str | None = None
    # Whether the build continued from the last one (flows/incremental.py), and why (not).
    incremental: bool = False
    build_reason: str | None = None


LOCK_MESSAGE = "Could not set lock on file"
# A failpoint after this many finished nodes stops dbt halfway (flows/failpoints.py).
FAILPOINT_AFTER_NODES = 20


# The environment variable that carries the peildatum to dbt (macros/peildatum.sql).
PEILDATUM_VARIABLE = "DWH_PEILDATUM"

ENGINES = ("duckdb", "spark")


def dbt_target(settings: Settings, engine: str) -> str:
    """The profile target (dbt_project/profiles.yml) that builds the models on `engine`."""
    if engine == "duckdb":
        return "work"
    if engine == "spark":
        return "spark_thrift" if settings.spark_method == "thrift" else "spark"
    raise ValueError(f"unknown engine {engine!r}: choose one of {', '.join(ENGINES)}")


def dbt_args(
    settings: Settings, command: str, peildatum: date, target: str | None = None
) -> list[str]:
    """dbt's arguments; each `target` other than DuckDB's keeps its own dbt target folder
    (dbt parses the whole project again when the target changes).

    The peildatum is not among them: ``--vars`` that change make dbt parse the whole
    project again (15 s at scale 1), and every night has a new peildatum.
    :func:`hand_over_peildatum` puts it in the environment, which dbt re-parses only for
    the files that read it (docs/decisions/0014)."""
    hand_over_peildatum(peildatum)
    project = str(settings.dbt_project_dir)
    target_dir = settings.dbt_target_dir
    if target:
        target_dir = target_dir.with_name(f"{target_dir.name}_{target}")
    return [
        command,
        *(["--target", target] if target else []),
        "--project-dir",
        project,
        "--profiles-dir",
        project,
        "--target-path",
        str(target_dir),
        "--log-path",
        str(settings.work_dir / "logs"),
        "--log-level",
        "error",
        "--log-level-file",
        "info",
    ]


def hand_over_peildatum(peildatum: date) -> None:
    """Set the peildatum where ``peildatum()`` (dbt_project/macros/peildatum.sql) reads it."""
    os.environ[PEILDATUM_VARIABLE] = peildatum.isoformat()


def release_dbt_database() -> None:
    """Close the DuckDB database dbt-duckdb keeps open in this process after a run.

    dbt-duckdb caches one environment (and its DuckDB instance, opened with the profile's
    settings) per process; while it lives, another connection to the work database with
    other settings fails ("Can't open a connection to same database file with a different
    configuration"). tests/test_transform.py fails if this stops releasing it.
    """
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    with DuckDBConnectionManager._LOCK:
        environment = DuckDBConnectionManager._ENV
        if environment is not None:
            environment.close()
            DuckDBConnectionManager._ENV = None


def _failed_test_reasons(
    settings: Settings, name: str, count: int, relation: str | None, limit: int = 20
) -> list[Reason]:
    """A failing test as reasons: one per failing row it stored (store_failures), naming the
    file where the row says where it was first seen; one reason if it stored none.

    `relation` is a table of the work database, or (Spark) a ``parquet:<folder>``."""
    check = f"dbt test {name}"
    summary = Reason(check, f"failed: {count} failing rows")
    if not relation:
        return [summary]
    import duckdb

    if relation.startswith("parquet:"):
        folder = relation.removeprefix("parquet:")
        relation = f"read_parquet({sql_literal(folder + '/*.parquet')})"
        con = duckdb.connect()
    else:
        con = duckdb.connect(str(settings.work_db))
    try:
        cursor = con.execute(f"select * from {relation} limit {limit}")
        columns = [column[0] for column in cursor.description]
        rows = cursor.fetchall()
    except duckdb.Error:
        return [summary]
    finally:
        con.close()
    reasons = []
    for row in rows:
        values = dict(zip(columns, row, strict=True))
        seen = str(values.get("first_seen_in") or values.get("file_name") or "")
        file_name, _, line = seen.partition(" line ")
        shown = ", ".join(
            f"{key}={value}"
            for key, value in values.items()
            if value is not None and not (seen and key in ("first_seen_in", "file_name"))
        )
        reasons.append(
            Reason(
                check,
                f"failed: {shown}",
                file=file_name or None,
                row=int(line) if line.isdigit() else None,
            )
        )
    return reasons or [summary]


def _failpoint_callback() -> Callable[[Any], None]:
    finished = 0

    def callback(event: Any) -> None:
        nonlocal finished
        if event.info.name == "NodeFinished":
            finished += 1
            if finished == FAILPOINT_AFTER_NODES:
                failpoint("dbt")

    return callback


def _with_work_db(settings: Settings, work: Callable[[Any], T]) -> T:
    """A short connection to the work database between dbt invocations (dbt holds none)."""
    import duckdb

    settings.work_dir.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(settings.work_db))
    except duckdb.IOException as exc:
        if LOCK_MESSAGE in str(exc):
            raise Transient(f"the work database {settings.work_db} is busy ({exc})") from exc
        raise
    try:
        return work(con)
    finally:
        con.close()


def _prepare_build(
    settings: Settings, peildatum: date, engine: str, report: TransformReport
) -> int:
    """Full or incremental (flows/incremental.py); returns the highest file id this build
    sees, which it records as its state once it finished."""

    def prepare(con: Any) -> int:
        plan = incremental.prepare(con, settings, peildatum, engine)
        report.incremental, report.build_reason = plan.incremental, plan.reason
        return incremental.max_file_id(con)

    return _with_work_db(settings, prepare)


def _parse_callback(report: TransformReport) -> Callable[[Any], None]:
    """Note whether dbt could keep its partial parse (event UnableToPartialParse)."""

    def callback(event: Any) -> None:
        if event.info.name == "UnableToPartialParse":
            report.parse, report.parse_reason = "full", event.info.msg

    return callback


def _stored_failures_location(node: Any, engine: str) -> str | None:
    """Where a failing test stored its rows: a work-database table, or Spark's Parquet."""
    if engine == "duckdb":
        return node.relation_name
    location_root = node.config.get("location_root")
    if not node.relation_name or not location_root:
        return None
    return f"parquet:{location_root}/{node.alias}"


def run_dbt(
    settings: Settings,
    peildatum: date,
    command: str = "build",
    progress: Callable[[str], None] = log.info,
    engine: str = "duckdb",
) -> TransformReport:
    """Run ``dbt <command>`` on `engine`; data-test failures are returned, model errors raised.

    On Spark the raw layer is handed over as Parquet first, and the marts, report and
    audit models are copied back into the work database afterwards (flows/spark.py)."""
    target = dbt_target(settings, engine)
    if engine == "spark":
        from flows import spark

        spark.prepare(settings, progress)
    from dbt.cli.main import dbtRunner

    export_environment(settings)
    (settings.work_dir / "duckdb_tmp").mkdir(parents=True, exist_ok=True)
    report = TransformReport()
    started = time.perf_counter()
    built_from = _prepare_build(settings, peildatum, engine, report) if command == "build" else 0
    args = dbt_args(settings, command, peildatum, None if engine == "duckdb" else target)
    if command == "build" and not report.incremental:
        args.append("--full-refresh")
    elif command == "build":
        # Unit tests read given rows, not data: they passed in the last build, which had
        # this same project (flows/incremental.py), and would pass again.
        args += ["--exclude-resource-type", "unit_test"]
    try:
        result = dbtRunner(callbacks=[_failpoint_callback(), _parse_callback(report)]).invoke(args)
    finally:
        release_dbt_database()
    report.seconds = time.perf_counter() - started
    failing: list[tuple[str, int, str | None]] = []
    if result.exception is not None:
        if LOCK_MESSAGE in str(result.exception):
            raise Transient(f"dbt {command}: the work database is busy: {result.exception}")
        raise TransformFailed(f"dbt {command} could not run: {result.exception}")
    node_results: Any = result.result or []  # a RunExecutionResult for build/run/test
    for node_result in node_results:
        report.nodes += 1
        status = str(node_result.status)
        node = node_result.node
        name = node.name
        response = getattr(node_result, "adapter_response", None) or {}
        report.node_results.append(
            {
                "unique_id": node.unique_id,
                "resource_type": str(node.resource_type),
                "status": status,
                "rows_affected": response.get("rows_affected"),
                "seconds": node_result.execution_time,
                "message": node_result.message,
            }
        )
        if status == "success" and str(node.resource_type) in ("model", "seed"):
            report.built_relations.append(f"{node.schema}.{node.alias}")
        if status == "fail":
            failing.append((name, node_result.failures, _stored_failures_location(node, engine)))
        elif status in ("error", "runtime error"):
            report.errors.append(f"dbt {node.resource_type} {name}: {node_result.message}")
    report.failed_tests = [
        reason
        for name, count, relation in failing
        for reason in _failed_test_reasons(settings, name, count, relation)
    ]
    where = "duckdb" if engine == "duckdb" else f"spark ({target}: {spark_where(settings)})"
    progress(
        f"transform: dbt {command} on {where} at peildatum {peildatum}: {report.nodes} nodes "
        f"in {report.seconds:.1f} s ({report.parse} parse, "
        f"{'incremental' if report.incremental else 'full'} build: {report.build_reason}), "
        f"{len(report.failed_tests)} failing tests, {len(report.errors)} errors"
    )
    if report.errors and all(LOCK_MESSAGE in error for error in report.errors):
        raise Transient(f"dbt {command}: the work database is busy: {report.errors[0]}")
    tests_failed = any(result["status"] == "fail" for result in report.node_results)
    if command == "build" and not report.errors and not tests_failed:
        # A failing test leaves no state: the next build is full and tests every row again
        # (an incremental build tests the staging rows of its new files only).
        _with_work_db(
            settings, lambda con: incremental.record_finished(con, peildatum, built_from, engine)
        )
    if report.errors:
        listed = "\n".join(f"  - {error}" for error in report.errors)
        raise TransformFailed(f"dbt {command} on {engine} failed:\n{listed}")
    if engine == "spark":
        from flows import spark

        # What the gate may validate: the tables Spark's rows were copied into.
        report.built_relations = list(spark.hand_back(settings, peildatum, node_results, progress))
    return report


def spark_where(settings: Settings) -> str:
    """Which Spark built the models, for the run's output."""
    if settings.spark_method == "thrift":
        return f"thrift://{settings.spark_host}:{settings.spark_port}"
    return settings.spark_remote or settings.spark_master
