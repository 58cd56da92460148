"""Publish: editions accumulate, a peildatum published again is replaced, the swap is atomic."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

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
