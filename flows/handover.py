"""Hand-over: the raw layer and the file ledger leave the work database as Parquet for Spark.

Ingest stays in DuckDB (readers, ledger, quarantine, pseudonyms). For the Spark engine the
relations of schema ``raw`` (tables and views) and the bookkeeping tables dbt reads from
``meta`` are written under ``handover_dir/<schema>/<relation>/`` (docs/scale-out.md):

- every raw relation is cut into one part per ingest run that loaded it
  (``run-<run_id>.parquet``, by the ``_run_id`` every raw row carries). A hand-over
  writes only the parts whose run is new or whose row count changed, and removes the
  parts whose run left the raw layer, so a night with one new delivery writes one new
  part per relation it touched and leaves history alone. (Parts per delivered file were
  measured first: the demo's 1,721 GPS files made 1,721 tiny Parquet files, and Spark
  spent most of a build opening them; per run, a first night is one part.)
- the meta tables are small and change in place (a file becomes ``superseded``): they
  are rewritten whole, as one part, each time.

Each relation's folder holds ``_parts.json``, the row count per part: the next hand-over
compares it with the work database. Files are written under a temporary name and moved
into place, so a reader never sees half a part. Spark (``dbt_project/macros/spark.sql``)
declares one table per folder.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from flows.errors import DwhError
from flows.sources.common import sql_literal

log = logging.getLogger(__name__)

# Bookkeeping that dbt's sources read besides raw: rewritten whole on every hand-over.
WHOLE_TABLES: tuple[tuple[str, str], ...] = (
    ("meta", "file_ledger"),
    ("meta", "quarantined_rows"),
)
MANIFEST = "_parts.json"
PART_KEY = "_run_id"
EMPTY_PART = "empty.parquet"


class HandoverFailed(DwhError):
    """The raw layer could not be handed over to Spark."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"hand-over: {reason}")


@dataclass
class HandoverReport:
    relations: int = 0
    parts_written: int = 0
    parts_removed: int = 0
    parts_kept: int = 0
    rows_written: int = 0
    seconds: float = 0.0
    written: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        return (
            f"{self.relations} relations, {self.parts_written} parts written "
            f"({self.rows_written} rows), {self.parts_kept} unchanged, "
            f"{self.parts_removed} removed, in {self.seconds:.1f} s"
        )


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _columns(con: duckdb.DuckDBPyConnection, schema: str, relation: str) -> list[tuple[str, str]]:
    return [
        (str(name), str(data_type))
        for name, data_type in con.execute(
            """
            select column_name, data_type from information_schema.columns
            where table_schema = ? and table_name = ? order by ordinal_position
            """,
            [schema, relation],
        ).fetchall()
    ]


# DuckDB types that Spark 4.3 cannot read from Parquet, and what they leave as instead.
SPARK_READABLE_AS = {
    "JSON": "varchar",
    "TIME": "varchar",  # [UNSUPPORTED_TIME_TYPE]; e.g. the ledger's delivery_time
    "UUID": "varchar",
    "INTERVAL": "varchar",
    "HUGEINT": "decimal(38, 0)",
    "UHUGEINT": "decimal(38, 0)",
}


def _select_list(columns: list[tuple[str, str]]) -> str:
    """Columns as Spark reads them: the few types it lacks leave as text or decimal."""
    return ", ".join(
        f"cast({_quote(name)} as {SPARK_READABLE_AS[data_type]}) as {_quote(name)}"
        if data_type in SPARK_READABLE_AS
        else _quote(name)
        for name, data_type in columns
    )


def _raw_relations(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [
        str(row[0])
        for row in con.execute(
            """
            select table_name from information_schema.tables
            where table_schema = 'raw' order by table_name
            """
        ).fetchall()
    ]


def _read_manifest(folder: Path) -> dict[str, int]:
    path = folder / MANIFEST
    if not path.exists():
        return {}
    parts: dict[str, int] = json.loads(path.read_text())
    # A part listed but missing on disk (removed by hand, or a crash) is written again.
    return {name: rows for name, rows in parts.items() if (folder / name).exists()}


def _write_manifest(folder: Path, parts: dict[str, int]) -> None:
    temporary = folder / f".{MANIFEST}.tmp"
    temporary.write_text(json.dumps(dict(sorted(parts.items())), indent=1) + "\n")
    os.replace(temporary, folder / MANIFEST)


def _copy(con: duckdb.DuckDBPyConnection, query: str, target: Path) -> None:
    temporary = target.with_name(f".{target.name}.tmp")
    con.execute(
        f"copy ({query}) to {sql_literal(str(temporary))} (format parquet, compression zstd)"
    )
    os.replace(temporary, target)


def _part_name(key_column: str, key: object) -> str:
    # run ids are made of [0-9A-Za-z-]; anything else would not be a safe file name
    text = str(key)
    if not text.replace("-", "").replace("_", "").isalnum():
        raise HandoverFailed(f"{key_column} {text!r} cannot name a Parquet part")
    return f"run-{text}.parquet"


def _hand_over_parts(
    con: duckdb.DuckDBPyConnection, relation: str, folder: Path, report: HandoverReport
) -> None:
    columns = _columns(con, "raw", relation)
    key_column = PART_KEY
    if key_column not in [name for name, _ in columns]:
        raise HandoverFailed(f"raw.{relation} has no column {key_column} to cut it into parts")
    source = f"raw.{_quote(relation)}"
    counts = {
        _part_name(key_column, key): (key, int(rows))
        for key, rows in con.execute(
            f"select {key_column}, count(*) from {source} group by all"
        ).fetchall()
    }
    folder.mkdir(parents=True, exist_ok=True)
    handed_over = _read_manifest(folder)
    stale = [name for name, (_, rows) in counts.items() if handed_over.get(name) != rows]
    gone = [name for name in handed_over if name not in counts and name != EMPTY_PART]
    for name in gone:
        (folder / name).unlink(missing_ok=True)
        report.parts_removed += 1
    if stale:
        keys = [counts[name][0] for name in stale]
        # One pass writes every new part: DuckDB cuts the rows by key into hive folders,
        # which are then moved into place as one flat file per key.
        scratch = folder / ".writing"
        shutil.rmtree(scratch, ignore_errors=True)
        con.execute("create or replace temp table handover_keys (key varchar)")
        con.executemany("insert into handover_keys values (?)", [[str(key)] for key in keys])
        con.execute(
            f"""
            copy (
                select {_select_list(columns)}, {_quote(key_column)} as _part_key
                from {source}
                where cast({_quote(key_column)} as varchar) in (select key from handover_keys)
            ) to {sql_literal(str(scratch))}
            (format parquet, compression zstd, partition_by (_part_key))
            """
        )
        for key in keys:
            pieces = sorted((scratch / f"_part_key={key}").glob("*.parquet"))
            name = _part_name(key_column, key)
            if len(pieces) == 1:
                os.replace(pieces[0], folder / name)
            else:  # several pieces of one key: merge them into one part
                _copy(con, f"select * from read_parquet({sql_literal(str(pieces))})", folder / name)
        shutil.rmtree(scratch, ignore_errors=True)
        report.parts_written += len(stale)
        report.rows_written += sum(counts[name][1] for name in stale)
        report.written[f"raw.{relation}"] = len(stale)
    report.parts_kept += len(counts) - len(stale)
    parts = {name: rows for name, (_, rows) in counts.items()}
    # A relation with no rows yet still needs its columns on the Spark side: an empty part.
    empty = folder / EMPTY_PART
    if parts:
        empty.unlink(missing_ok=True)
    else:
        _copy(con, f"select {_select_list(columns)} from {source} where false", empty)
        parts[EMPTY_PART] = 0
    _write_manifest(folder, parts)


def _hand_over_whole(
    con: duckdb.DuckDBPyConnection, schema: str, table: str, folder: Path, report: HandoverReport
) -> None:
    columns = _columns(con, schema, table)
    if not columns:
        return
    folder.mkdir(parents=True, exist_ok=True)
    query = f"select {_select_list(columns)} from {schema}.{_quote(table)}"
    rows = int(con.execute(f"select count(*) from {schema}.{_quote(table)}").fetchone()[0])  # type: ignore[index]
    _copy(con, query, folder / "part-0.parquet")
    _write_manifest(folder, {"part-0.parquet": rows})
    report.parts_written += 1
    report.rows_written += rows
    report.written[f"{schema}.{table}"] = 1


def hand_over(
    con: duckdb.DuckDBPyConnection,
    target: Path,
    progress: Callable[[str], None] = log.info,
) -> HandoverReport:
    """Write what changed in raw (and the meta tables) since the last hand-over to ``target``."""
    started = time.perf_counter()
    report = HandoverReport()
    con.execute("set enable_progress_bar = false")
    for relation in _raw_relations(con):
        _hand_over_parts(con, relation, target / "raw" / relation, report)
        report.relations += 1
    for schema, table in WHOLE_TABLES:
        _hand_over_whole(con, schema, table, target / schema / table, report)
        report.relations += 1
    report.seconds = time.perf_counter() - started
    progress(f"hand-over: {report.summary()} to {target}")
    return report
