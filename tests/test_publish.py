"""Publish: editions accumulate, a peildatum published again is replaced, the swap is atomic."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from flows import ledger, runs
from flows.publish import PUBLISHED_TABLES, publish


def make_work_db(path: Path, peildatum: date, realisation: int) -> None:
    con = duckdb.connect(str(path))
    for schema in {schema for schema, _, _ in PUBLISHED_TABLES} | {"report"}:
        con.execute(f"create schema if not exists {schema}")
    con.execute(
        f"""
        create or replace table report.indicators as
        select
            date '{peildatum}' as peildatum, 2022 as report_year,
            'csv_onderzoeken' as indicator_code, 'ondermijning' as theme, 'count' as unit,
            1370.00::decimal(18,2) as target, {realisation}::decimal(18,2) as realisation,
            null::decimal(9,1) as realisation_pct_of_target, 'behaald' as status,
            'bvh+bvo' as registration_systems
        """
    )
    for schema, table, _ in PUBLISHED_TABLES:
        con.execute(f"create or replace table {schema}.{table} as select {realisation} as x")
    ledger.ensure_meta(con)
    runs.ensure_runs(con)
    con.close()


def editions(path: Path) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(
            "select peildatum::varchar, realisation::int from report.indicators order by 1"
        ).fetchall()
    finally:
        con.close()


def test_editions_accumulate_and_a_republished_peildatum_is_replaced(tmp_path):
    work, published = tmp_path / "work.duckdb", tmp_path / "published" / "warehouse.duckdb"
    make_work_db(work, date(2023, 2, 15), 1600)
    publish(work, published, peildatum=date(2023, 2, 15), run_id="r1", progress=print)
    make_work_db(work, date(2023, 3, 1), 1650)
    publish(work, published, peildatum=date(2023, 3, 1), run_id="r2", progress=print)
    assert editions(published) == [("2023-02-15", 1600), ("2023-03-01", 1650)]
    make_work_db(work, date(2023, 2, 15), 1610)
    publish(work, published, peildatum=date(2023, 2, 15), run_id="r3", progress=print)
    assert editions(published) == [("2023-02-15", 1610), ("2023-03-01", 1650)]
    con = duckdb.connect(str(published), read_only=True)
    assert con.execute("select run_id from meta.editions order by peildatum").fetchall() == [
        ("r3",),
        ("r2",),
    ]
    con.close()
    assert [p.name for p in published.parent.iterdir()] == ["warehouse.duckdb"]


def test_a_reader_of_the_old_file_keeps_its_edition_while_a_new_one_is_swapped_in(tmp_path):
    work, published = tmp_path / "work.duckdb", tmp_path / "published" / "warehouse.duckdb"
    make_work_db(work, date(2023, 2, 15), 1600)
    publish(work, published, peildatum=date(2023, 2, 15), run_id="r1", progress=print)
    analyst = duckdb.connect(str(published), read_only=True)
    make_work_db(work, date(2023, 2, 15), 1700)
    publish(work, published, peildatum=date(2023, 2, 15), run_id="r2", progress=print)
    assert analyst.execute("select realisation::int from report.indicators").fetchall() == [(1600,)]
    analyst.close()
    assert editions(published) == [("2023-02-15", 1700)]


def test_a_failed_publish_leaves_the_published_file_byte_identical(tmp_path):
    work, published = tmp_path / "work.duckdb", tmp_path / "published" / "warehouse.duckdb"
    make_work_db(work, date(2023, 2, 15), 1600)
    publish(work, published, peildatum=date(2023, 2, 15), run_id="r1", progress=print)
    before = published.read_bytes()
    con = duckdb.connect(str(work))
    con.execute("drop table marts.fct_onderzoeken")
    con.close()
    with pytest.raises(duckdb.CatalogException):
        publish(work, published, peildatum=date(2023, 3, 1), run_id="r2", progress=print)
    assert published.read_bytes() == before
    assert [p.name for p in published.parent.iterdir()] == ["warehouse.duckdb"]


def test_the_run_ledger_is_published_with_the_publishing_run_as_published(tmp_path):
    work, published = tmp_path / "work.duckdb", tmp_path / "published" / "warehouse.duckdb"
    make_work_db(work, date(2023, 2, 15), 1600)
    con = duckdb.connect(str(work))
    for run_id in ("r0", "r1"):
        runs.record_start(
            con,
            run_id=run_id,
            peildatum=date(2023, 2, 15),
            landing=tmp_path,
            engine="duckdb",
            prefect_flow_run_id="flow-1",
        )
        runs.record_dbt_nodes(
            con,
            run_id,
            [
                {
                    "unique_id": "model.x",
                    "resource_type": "model",
                    "status": "success",
                    "rows_affected": 3,
                    "seconds": 0.5,
                    "message": "OK",
                }
            ],
        )
    runs.record_outcome(con, "r0", "blocked", "dbt test failed")
    con.close()
    publish(work, published, peildatum=date(2023, 2, 15), run_id="r1", progress=print)
    reader = duckdb.connect(str(published), read_only=True)
    try:
        found = reader.execute(
            "select run_id, outcome, finished_at is not null, prefect_flow_run_id "
            "from meta.runs order by run_id"
        ).fetchall()
        nodes = reader.execute("select run_id, rows_affected from meta.dbt_node_results").fetchall()
        tables = {
            row[0]
            for row in reader.execute(
                "select table_name from duckdb_tables() where schema_name = 'meta'"
            ).fetchall()
        }
        ledger_columns = {
            row[0]
            for row in reader.execute(
                "select column_name from duckdb_columns() where table_name = 'file_ledger'"
            ).fetchall()
        }
    finally:
        reader.close()
    assert found == [("r0", "blocked", True, "flow-1"), ("r1", "published", True, "flow-1")]
    assert nodes == [("r1", 3)]  # only the runs behind published editions
    assert {"runs", "run_stages", "dbt_node_results", "file_ledger", "editions"} <= tables
    assert "quarantined_rows" not in tables  # they quote delivered records
    assert {"file_name", "sha256", "status", "rows_loaded", "run_id"} <= ledger_columns
