"""The data dictionary travels with the data: every published column carries its description."""

from __future__ import annotations

import duckdb
import pytest
from old_client import run_old

from flows.dictionary import apply_comments, published_docs


def test_apply_comments_describes_what_dbt_describes_and_names_what_it_does_not():
    manifest = {
        "nodes": {
            "model.p.fct_x": {
                "resource_type": "model",
                "schema": "marts",
                "name": "fct_x",
                "alias": "fct_x",
                "description": "One row per x.",
                "columns": {"id": {"description": "The key."}, "blank": {"description": " "}},
            }
        },
        "sources": {
            "source.p.meta.editions": {
                "schema": "meta",
                "name": "editions",
                "identifier": "editions",
                "description": "One row per edition.",
                "columns": {"peildatum": {"description": "The peildatum."}},
            }
        },
    }
    con = duckdb.connect(":memory:")
    con.execute("attach ':memory:' as published")
    for ddl in (
        "create schema published.marts",
        "create schema published.meta",
        "create table published.marts.fct_x (id int, blank int, extra int)",
        "create table published.meta.editions (peildatum date)",
        "create table published.meta.undescribed (x int)",
    ):
        con.execute(ddl)
    missing = apply_comments(con, "published", manifest)
    assert missing == [
        "marts.fct_x.blank",
        "marts.fct_x.extra",
        "meta.undescribed",
        "meta.undescribed.x",
    ]
    comments = con.execute(
        """
        select table_name, column_name, comment from duckdb_columns()
        where database_name = 'published' and comment is not null order by all
        """
    ).fetchall()
    assert comments == [("editions", "peildatum", "The peildatum."), ("fct_x", "id", "The key.")]
    assert set(published_docs(manifest)) == {("marts", "fct_x"), ("meta", "editions")}


def published_comments(con: duckdb.DuckDBPyConnection) -> tuple[list, list]:
    columns = con.execute(
        """
        select schema_name || '.' || table_name || '.' || column_name, comment
        from duckdb_columns() where not internal order by 1
        """
    ).fetchall()
    tables = con.execute(
        """
        select schema_name || '.' || table_name, comment
        from duckdb_tables() where not internal order by 1
        """
    ).fetchall()
    return columns, tables


@pytest.mark.e2e
def test_every_column_of_every_published_table_has_a_description(analyst_warehouse):
    con = duckdb.connect(str(analyst_warehouse / "published" / "warehouse.duckdb"), read_only=True)
    try:
        columns, tables = published_comments(con)
    finally:
        con.close()
    assert len(columns) >= 161
    assert [name for name, comment in tables if not (comment or "").strip()] == []
    assert [name for name, comment in columns if not (comment or "").strip()] == []


@pytest.mark.e2e
def test_duckdb_1_4_reads_the_comments_back(analyst_warehouse, old_duckdb):
    path = analyst_warehouse / "published" / "warehouse.duckdb"
    con = duckdb.connect(str(path), read_only=True)
    try:
        columns, tables = published_comments(con)
    finally:
        con.close()
    script = """
con = duckdb.connect(ARGS["path"], read_only=True)
RESULT = [
    con.execute(
        "select schema_name || '.' || table_name || '.' || column_name, comment "
        "from duckdb_columns() where not internal order by 1"
    ).fetchall(),
    con.execute(
        "select schema_name || '.' || table_name, comment "
        "from duckdb_tables() where not internal order by 1"
    ).fetchall(),
]
"""
    old_columns, old_tables = run_old(old_duckdb, script, {"path": str(path)})
    assert [tuple(row) for row in old_columns] == columns
    assert [tuple(row) for row in old_tables] == tables
    assert all(comment for _, comment in old_columns)


@pytest.mark.e2e
def test_the_dictionary_page_holds_every_published_table(analyst_warehouse):
    page = (analyst_warehouse / "published" / "dictionary.html").read_text(encoding="utf-8")
    assert '"MANIFEST.JSON INLINE DATA"' not in page
    assert '"CATALOG.JSON INLINE DATA"' not in page
    for described in ("One row per published peildatum", "behaald (target met)"):
        assert described in page


def test_publish_writes_the_comments_into_the_new_file_and_goes_on_without_a_manifest(tmp_path):
    import json
    from datetime import date

    from flows import ledger, runs
    from flows.publish import PUBLISHED_TABLES, publish

    work = tmp_path / "work.duckdb"
    con = duckdb.connect(str(work))
    for schema in {schema for schema, _, _ in PUBLISHED_TABLES} | {"report"}:
        con.execute(f"create schema if not exists {schema}")
    con.execute(
        "create table report.indicators as select date '2023-12-31' as peildatum, "
        "2023 as report_year, 'csv_onderzoeken' as indicator_code, 1 as x"
    )
    for schema, table, _ in PUBLISHED_TABLES:
        con.execute(f"create table {schema}.{table} as select 1 as x")
    ledger.ensure_meta(con)  # publish carries the run ledger too
    runs.ensure_runs(con)
    con.close()
    manifest = tmp_path / "manifest.json"
    manifest.write_text(
        json.dumps(
            {
                "nodes": {
                    "model.p.indicators": {
                        "resource_type": "model",
                        "schema": "report",
                        "name": "indicators",
                        "alias": "indicators",
                        "description": "One row per figure.",
                        "columns": {"x": {"description": "The figure."}},
                    }
                }
            }
        ),
        encoding="utf-8",
    )
    published = tmp_path / "published" / "warehouse.duckdb"
    said: list[str] = []
    publish(
        work,
        published,
        peildatum=date(2023, 12, 31),
        run_id="r1",
        progress=said.append,
        manifest=manifest,
    )
    con = duckdb.connect(str(published), read_only=True)
    try:
        comment = con.execute(
            """
            select comment from duckdb_columns()
            where schema_name = 'report' and table_name = 'indicators' and column_name = 'x'
            """
        ).fetchone()
    finally:
        con.close()
    assert comment == ("The figure.",)
    assert any("no description for" in line and "meta.editions" in line for line in said)

    said.clear()
    publish(
        work,
        published,
        peildatum=date(2023, 12, 31),
        run_id="r2",
        progress=said.append,
        manifest=tmp_path / "absent.json",
    )
    assert any("absent.json is missing; the tables get no descriptions" in line for line in said)
    assert any("published to" in line for line in said)
