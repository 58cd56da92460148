"""Transform: dbt builds staging, intermediate, marts and report models in the work database.

dbt is called in-process through ``dbtRunner`` from one Prefect task: far cheaper than one
Prefect task per dbt node on the temporary server (docs/decisions/0003).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flows.errors import DwhError
from flows.settings import Settings, export_environment
from flows.sources.common import sql_literal

log = logging.getLogger(__name__)


class TransformFailed(DwhError):
    """A dbt model could not be built (as opposed to a data test that found bad data)."""


@dataclass
class TransformReport:
    nodes: int = 0
    seconds: float = 0.0
    failed_tests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


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
    (dbt parses the whole project again when the target or its variables change)."""
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
        "--vars",
        json.dumps({"peildatum": peildatum.isoformat()}),
    ]


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


def _stored_failures(settings: Settings, relation: str | None, limit: int = 5) -> str:
    """The first failing rows a test stored (store_failures), as text; empty if none.

    `relation` is a table of the work database, or (Spark) a ``parquet:<folder>``."""
    if not relation:
        return ""
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
        return ""
    finally:
        con.close()
    shown = "; ".join(
        ", ".join(f"{column}={value}" for column, value in zip(columns, row, strict=True))
        for row in rows
    )
    return f": {shown}" if shown else ""


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
    started = time.perf_counter()
    try:
        result = dbtRunner().invoke(
            dbt_args(settings, command, peildatum, None if engine == "duckdb" else target)
        )
    finally:
        release_dbt_database()
    report = TransformReport(seconds=time.perf_counter() - started)
    failing: list[tuple[str, int, str | None]] = []
    if result.exception is not None:
        raise TransformFailed(f"dbt {command} could not run: {result.exception}")
    node_results: Any = result.result or []  # a RunExecutionResult for build/run/test
    for node_result in node_results:
        report.nodes += 1
        status = str(node_result.status)
        name = node_result.node.name
        if status == "fail":
            failing.append(
                (name, node_result.failures, _stored_failures_location(node_result.node, engine))
            )
        elif status in ("error", "runtime error"):
            report.errors.append(
                f"dbt {node_result.node.resource_type} {name}: {node_result.message}"
            )
    report.failed_tests = [
        f"dbt test {name} failed: {count} failing rows{_stored_failures(settings, relation)}"
        for name, count, relation in failing
    ]
    where = "duckdb" if engine == "duckdb" else f"spark ({target}: {spark_where(settings)})"
    progress(
        f"transform: dbt {command} on {where} at peildatum {peildatum}: {report.nodes} nodes "
        f"in {report.seconds:.1f} s, {len(report.failed_tests)} failing tests, "
        f"{len(report.errors)} errors"
    )
    if report.errors:
        listed = "\n".join(f"  - {error}" for error in report.errors)
        raise TransformFailed(f"dbt {command} on {engine} failed:\n{listed}")
    if engine == "spark":
        from flows import spark

        spark.hand_back(settings, peildatum, node_results, progress)
    return report


def spark_where(settings: Settings) -> str:
    """Which Spark built the models, for the run's output."""
    if settings.spark_method == "thrift":
        return f"thrift://{settings.spark_host}:{settings.spark_port}"
    return settings.spark_remote or settings.spark_master
