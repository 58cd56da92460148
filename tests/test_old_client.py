"""The published file opens in DuckDB 1.4 LTS: every table reads back, with its comments."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from old_client import OLD_DUCKDB, run_old

pytestmark = pytest.mark.e2e

READ_EVERY_TABLE = """
con = duckdb.connect(ARGS["path"], read_only=True)
RESULT = {
    "version": con.execute("select version()").fetchone()[0],
    "tables": {},
}
for schema, table in con.execute(
    "select schema_name, table_name from duckdb_tables() order by all"
).fetchall():
    rows = con.execute(f'select * from "{schema}"."{table}"').fetchall()
    RESULT["tables"][f"{schema}.{table}"] = len(rows)
RESULT["comments"] = con.execute(
    "select schema_name || '.' || table_name || '.' || column_name, comment "
    "from duckdb_columns() where comment is not null order by 1"
).fetchall()
RESULT["table_comments"] = con.execute(
    "select schema_name || '.' || table_name, comment from duckdb_tables() "
    "where comment is not null order by 1"
).fetchall()
con.close()
"""


def published_tables(path: Path) -> dict[str, int]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = con.execute(
            "select schema_name, table_name from duckdb_tables() order by all"
        ).fetchall()
        return {
            f"{schema}.{table}": con.execute(
                f'select count(*) from "{schema}"."{table}"'
            ).fetchone()[0]
            for schema, table in tables
        }
    finally:
        con.close()


def test_duckdb_1_4_reads_every_published_table(analyst_warehouse, old_duckdb):
    published = analyst_warehouse / "published" / "warehouse.duckdb"
    found = run_old(old_duckdb, READ_EVERY_TABLE, {"path": str(published)})
    assert found["version"] == f"v{OLD_DUCKDB}"
    expected = published_tables(published)
    assert len(expected) >= 18
    assert expected["report.indicators"] == 2 * 12 * 5  # two editions, 2019-2023 each
    assert found["tables"] == expected


def test_duckdb_1_4_refuses_a_file_written_in_the_default_format(tmp_path, old_duckdb):
    # The guard the storage version answers: without it the old client cannot open the file.
    plain = tmp_path / "plain.duckdb"
    con = duckdb.connect(str(plain))
    con.execute("create table t as select 1 as x")
    con.close()
    script = """
try:
    duckdb.connect(ARGS["path"], read_only=True)
    RESULT = "opened"
except duckdb.Error as exc:
    RESULT = str(exc)
"""
    assert "version number" in run_old(old_duckdb, script, {"path": str(plain)})
