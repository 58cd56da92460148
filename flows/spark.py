"""The Spark engine's two ends around ``dbt build --target spark`` (docs/scale-out.md).

Before dbt: the raw layer and the file ledger are handed over as Parquet
(flows/handover.py), and the Spark settings are exported for dbt_project/profiles.yml.

After dbt: the marts, report and audit models that Spark wrote as Parquet (location_root
under ``DWH_SPARK_MODELS``) come back into the work database, where the quality gate and
publish read them as they read DuckDB's. They come back into the tables DuckDB itself
would have built: dbt first builds every model on DuckDB with ``--empty`` (no rows, so
it costs seconds), then the rows go in by column name. So the published columns have
DuckDB's types whichever engine computed the figures (a Spark int becomes the BIGINT
that DuckDB's year() gives, Spark's bigint sums the HUGEINT of DuckDB's sum()).
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from flows.errors import DwhError
from flows.handover import hand_over
from flows.settings import Settings
from flows.sources.common import sql_literal

log = logging.getLogger(__name__)

# The schemas whose models come back: what the quality gate reads and publish copies.
HANDED_BACK_SCHEMAS = ("marts", "report", "audit")


class HandBackFailed(DwhError):
    """Spark's models could not be copied back into the work database."""


def _connect(settings: Settings) -> duckdb.DuckDBPyConnection:
    settings.work_dir.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(
        str(settings.work_db),
        config={
            "memory_limit": settings.memory_limit,
            "threads": settings.threads,
            "temp_directory": str(settings.work_dir / "duckdb_tmp"),
        },
    )


def local_path(location: str) -> str:
    """A Spark location as a path DuckDB opens (``file:`` URIs are local folders)."""
    return location.removeprefix("file://").removeprefix("file:")


def prepare(settings: Settings, progress: Callable[[str], None] = log.info) -> None:
    """Hand the raw layer over as Parquet and export the settings the Spark profile reads."""
    target = Path(local_path(settings.handover_dir))
    con = _connect(settings)
    try:
        hand_over(con, target, progress)
    finally:
        con.close()
    for key, value in settings.spark_environment().items():
        os.environ[key] = value
    # Every model and seed is built in full each run. Spark's catalog forgets the tables
    # between processes but their folders stay, and a seed's table is created over its
    # folder and then filled: yesterday's rows would be read twice. Start empty.
    shutil.rmtree(local_path(settings.spark_models_dir), ignore_errors=True)
    (settings.work_dir / "spark").mkdir(parents=True, exist_ok=True)


def handed_back_models(node_results: Iterable[Any]) -> list[tuple[str, str, str]]:
    """(schema, table, Parquet folder) of each model built on Spark that comes back."""
    models = []
    for node_result in node_results:
        node = node_result.node
        if node.resource_type != "model" or node.schema not in HANDED_BACK_SCHEMAS:
            continue
        if str(node_result.status) != "success":
            # Skipped after a failing test: not copied, so the gate finds its audit table
            # not built by this run and blocks (a model in error stopped the run before).
            continue
        location_root = node.config.get("location_root")
        if not location_root:
            raise HandBackFailed(f"dbt model {node.name} has no location_root on Spark")
        models.append((node.schema, node.alias, f"{local_path(location_root)}/{node.alias}"))
    return models


def build_duckdb_tables(settings: Settings, peildatum: date) -> None:
    """Every seed and model on DuckDB with --empty: the tables the rows go back into."""
    from dbt.cli.main import dbtRunner

    from flows.transform import dbt_args, release_dbt_database

    args = dbt_args(settings, "build", peildatum, "work")  # its own folder: other env vars
    # --full-refresh: the models that keep state on DuckDB (decision 0014) are created
    # empty here too, not continued from a DuckDB build's state.
    args += ["--empty", "--full-refresh", "--resource-type", "model", "--resource-type", "seed"]
    try:
        result = dbtRunner().invoke(args)
    finally:
        release_dbt_database()
    node_results: Any = result.result or []  # a RunExecutionResult for build
    failed = [
        f"{node_result.node.name}: {node_result.message}"
        for node_result in node_results
        if str(node_result.status) not in ("success", "pass")
    ]
    if result.exception is not None or failed:
        raise HandBackFailed(
            "dbt could not build DuckDB's empty tables for Spark's rows: "
            + (str(result.exception) if result.exception else "; ".join(failed))
        )


def copy_back(settings: Settings, models: list[tuple[str, str, str]]) -> dict[str, int]:
    """Replace the rows of each table with the Parquet Spark wrote for it (one transaction)."""
    rows: dict[str, int] = {}
    con = _connect(settings)
    try:
        con.execute("begin")
        for schema, table, folder in models:
            parts = sorted(Path(folder).glob("*.parquet"))
            relation = f"{schema}.{table}"
            con.execute(f"delete from {relation}")
            if parts:
                files = "[" + ", ".join(sql_literal(str(part)) for part in parts) + "]"
                con.execute(f"insert into {relation} by name select * from read_parquet({files})")
            count = con.execute(f"select count(*) from {relation}").fetchone()
            rows[relation] = int(count[0]) if count else 0
        con.execute("commit")
    except duckdb.Error as exc:
        con.execute("rollback")
        raise HandBackFailed(
            f"copying Spark's models into the work database failed: {exc}"
        ) from exc
    finally:
        con.close()
    return rows


def hand_back(
    settings: Settings,
    peildatum: date,
    node_results: Iterable[Any],
    progress: Callable[[str], None] = log.info,
) -> dict[str, int]:
    """Copy the marts, report and audit models Spark built into the work database."""
    started = time.perf_counter()
    models = handed_back_models(node_results)
    build_duckdb_tables(settings, peildatum)
    rows = copy_back(settings, models)
    progress(
        f"transform: {len(rows)} models built on spark copied into the work database "
        f"({sum(rows.values())} rows) in {time.perf_counter() - started:.1f} s"
    )
    return rows
