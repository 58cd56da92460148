"""Write-audit-publish: assemble the analysts' database beside the published one, then swap.

Analysts only ever open ``published/warehouse.duckdb``. The new file is built next to it
under a temporary name from the audited work database, closed, and moved onto the
published path with ``os.replace`` (atomic on one filesystem): readers that had the old
file open keep reading the old edition; new connections see the new one. Earlier
editions of ``report.indicators`` are carried over; publishing a peildatum again replaces
that edition.

The file is written in the storage format of DuckDB 1.4 (the long-term-support line), so
that every client from 1.4 on opens it: DBeaver's JDBC driver, R, the CLI, an older
Python (interface.md; tests/test_old_client.py reads every table with DuckDB 1.4).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from flows.failpoints import failpoint
from flows.sources.common import sql_literal

log = logging.getLogger(__name__)

# The oldest DuckDB storage format every analyst client reads (docs/decisions/0011).
STORAGE_VERSION = "v1.4.0"

# Tables copied from the work database as they are: (schema, table in work, table published).
PUBLISHED_TABLES: tuple[tuple[str, str, str], ...] = (
    ("report", "periodieke_rapportages", "periodieke_rapportages"),
    ("marts", "fct_onderzoeken", "fct_onderzoeken"),
    ("marts", "fct_beslag", "fct_beslag"),
    ("marts", "fct_executiedossiers", "fct_executiedossiers"),
    ("marts", "fct_verdachtezaken", "fct_verdachtezaken"),
    ("marts", "dim_parketten", "dim_parketten"),
    ("marts", "dim_feiten", "dim_feiten"),
    ("marts", "dim_datum", "dim_datum"),
    ("marts", "dim_eenheden", "dim_eenheden"),
    ("marts", "dim_indicatoren", "dim_indicatoren"),
    ("marts", "dim_registratiesystemen", "dim_registratiesystemen"),
    ("audit", "deliveries", "deliveries"),
    ("audit", "layers", "layers"),
    ("audit", "facts", "facts"),
    ("audit", "indicators", "indicators"),
    ("meta", "validation_results", "validation_results"),
)


def publish(
    work_db: Path,
    published_db: Path,
    *,
    peildatum: date,
    run_id: str,
    progress: Callable[[str], None] = log.info,
    manifest: Path | None = None,
) -> None:
    """Build and swap in the published file; ``manifest`` (dbt's) supplies the comments."""
    published_db.parent.mkdir(parents=True, exist_ok=True)
    building = published_db.with_name(f".{published_db.name}.{run_id}.building")
    building.unlink(missing_ok=True)
    con = duckdb.connect(":memory:")
    try:
        con.execute(
            f"attach {sql_literal(str(building))} as published "
            f"(storage_version {sql_literal(STORAGE_VERSION)})"
        )
        con.execute("use published")
        con.execute(f"attach {sql_literal(str(work_db))} as work")
        has_previous = published_db.exists()
        if has_previous:
            con.execute(f"attach {sql_literal(str(published_db))} as previous (read_only)")
        for schema in sorted({schema for schema, _, _ in PUBLISHED_TABLES} | {"report", "meta"}):
            con.execute(f"create schema {schema}")
        earlier = (
            "select * from previous.report.indicators where peildatum <> $peildatum"
            if has_previous and _has_table(con, "previous", "report", "indicators")
            else "select * from work.report.indicators where false and peildatum <> $peildatum"
        )
        con.execute(
            f"""
            create table report.indicators as
            select * from ({earlier})
            union all by name
            select * from work.report.indicators
            order by peildatum, report_year, indicator_code
            """,
            {"peildatum": peildatum},
        )
        for schema, source_table, target_table in PUBLISHED_TABLES:
            con.execute(
                f"create table {schema}.{target_table} as "
                f"select * from work.{schema}.{source_table}"
            )
        earlier_editions = (
            "select * from previous.meta.editions where peildatum <> $peildatum"
            if has_previous and _has_table(con, "previous", "meta", "editions")
            else "select null::date as peildatum, null::timestamptz as published_at, "
            "null::varchar as run_id where false"
        )
        published_at = datetime.now(UTC)
        con.execute(
            f"""
            create table meta.editions as
            select * from ({earlier_editions})
            union all
            select $peildatum::date, $published_at::timestamptz, $run_id
            order by peildatum
            """,
            {"peildatum": peildatum, "published_at": published_at, "run_id": run_id},
        )
        _publish_run_ledger(con, run_id, published_at)
        if manifest is not None and not manifest.exists():
            progress(f"publish: {manifest} is missing; the tables get no descriptions")
        elif manifest is not None:
            from flows.dictionary import apply_comments, load_manifest

            undocumented = apply_comments(con, "published", load_manifest(manifest))
            if undocumented:
                progress(f"publish: no description for {', '.join(undocumented)}")
        con.execute("detach work")
        if has_previous:
            con.execute("detach previous")
        con.execute("checkpoint published")
        con.execute("use memory")
        con.execute("detach published")
    except BaseException:
        con.close()
        building.unlink(missing_ok=True)
        raise
    con.close()
    failpoint("publish")
    os.replace(building, published_db)
    progress(f"publish: edition {peildatum} published to {published_db}")


def _publish_run_ledger(
    con: duckdb.DuckDBPyConnection, run_id: str, published_at: datetime
) -> None:
    """How, when and from which deliveries each edition was made (the run ledger).

    The run that makes this file shows as published at its publication time; the dbt nodes
    are those of the runs behind the published editions. The file ledger carries no
    personal data (quarantined rows, which quote delivered records, stay in the work
    database).
    """
    con.execute(
        """
        create table meta.runs as
        select * replace (
            case when run_id = $run_id then 'published' else outcome end as outcome,
            case when run_id = $run_id then $published_at else finished_at end as finished_at
        )
        from work.meta.runs
        order by started_at
        """,
        {"run_id": run_id, "published_at": published_at},
    )
    con.execute("create table meta.run_stages as select * from work.meta.run_stages order by all")
    con.execute(
        """
        create table meta.dbt_node_results as
        select * from work.meta.dbt_node_results
        where run_id in (select run_id from meta.editions)
        order by run_id, unique_id
        """
    )
    con.execute(
        "create table meta.file_ledger as select * from work.meta.file_ledger order by file_id"
    )


def _has_table(con: duckdb.DuckDBPyConnection, catalog: str, schema: str, table: str) -> bool:
    row = con.execute(
        """
        select count(*) from duckdb_tables()
        where database_name = ? and schema_name = ? and table_name = ?
        """,
        [catalog, schema, table],
    ).fetchone()
    return bool(row and row[0])
