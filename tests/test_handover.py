"""The Parquet hand-over of the raw layer to Spark (flows/handover.py): only what changed."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from flows.handover import EMPTY_PART, HandoverFailed, hand_over

FIRST = "bvo/BVO_EVENTS_20220704T020000_000001.jsonl.gz"
SECOND = "bvo/BVO_EVENTS_20220711T020000_000003.jsonl.gz"


def parts(folder: Path) -> dict[str, int]:
    return {path.name: path.stat().st_mtime_ns for path in folder.glob("*.parquet")}


def test_a_second_delivery_adds_one_part_and_leaves_the_first_untouched(
    deliver, ingest, work_con, tmp_path
):
    target = tmp_path / "handover"
    deliver(FIRST)
    ingest()
    first = hand_over(work_con, target, progress=lambda line: None)
    folder = target / "raw" / "bvo_events"
    before = parts(folder)
    assert len(before) == 1 and first.parts_written >= 1

    # nothing new: no raw part is written again (the meta tables always are: 2 parts)
    again = hand_over(work_con, target, progress=lambda line: None)
    assert again.parts_written == 2 and parts(folder) == before

    deliver(SECOND)
    ingest()
    hand_over(work_con, target, progress=lambda line: None)
    after = parts(folder)
    assert len(after) == 2
    assert {name: after[name] for name in before} == before  # history not rewritten

    # the parts together are the raw table, row for row
    handed = (
        duckdb.connect()
        .execute(
            f"select count(*), count(distinct _file_id) from read_parquet('{folder}/*.parquet')"
        )
        .fetchone()
    )
    raw = work_con.execute(
        "select count(*), count(distinct _file_id) from raw.bvo_events"
    ).fetchone()
    assert handed == raw
    manifest = json.loads((folder / "_parts.json").read_text())
    assert sum(manifest.values()) == raw[0]


def test_a_part_whose_rows_changed_or_vanished_is_rewritten_or_removed(
    deliver, ingest, work_con, tmp_path
):
    target = tmp_path / "handover"
    deliver(FIRST)
    ingest()
    deliver(SECOND)
    ingest()
    hand_over(work_con, target, progress=lambda line: None)
    folder = target / "raw" / "bvo_events"
    runs = [
        row[0]
        for row in work_con.execute(
            "select distinct _run_id from raw.bvo_events order by 1"
        ).fetchall()
    ]
    assert len(parts(folder)) == 2

    work_con.execute("delete from raw.bvo_events where _run_id = ?", [runs[0]])
    work_con.execute(
        "delete from raw.bvo_events where _run_id = ? and _line_number = "
        "(select min(_line_number) from raw.bvo_events)",
        [runs[1]],
    )
    report = hand_over(work_con, target, progress=lambda line: None)
    assert report.parts_removed == 1
    assert report.written["raw.bvo_events"] == 1
    handed = (
        duckdb.connect()
        .execute(f"select count(*) from read_parquet('{folder}/*.parquet')")
        .fetchone()
    )
    assert handed == work_con.execute("select count(*) from raw.bvo_events").fetchone()


def test_an_empty_raw_relation_still_hands_over_its_columns(work_con, tmp_path):
    work_con.execute("create schema raw")
    work_con.execute(
        "create table raw.example (code varchar, moment time, data json, _run_id varchar)"
    )
    hand_over(work_con, tmp_path, progress=lambda line: None)
    empty = tmp_path / "raw" / "example" / EMPTY_PART
    described = (
        duckdb.connect().execute(f"describe select * from read_parquet('{empty}')").fetchall()
    )
    # Spark cannot read DuckDB's TIME or JSON: they leave as text
    assert [(row[0], row[1]) for row in described] == [
        ("code", "VARCHAR"),
        ("moment", "VARCHAR"),
        ("data", "VARCHAR"),
        ("_run_id", "VARCHAR"),
    ]


def test_a_raw_relation_without_run_ids_is_refused_by_name(work_con, tmp_path):
    work_con.execute("create schema raw")
    work_con.execute("create table raw.orphan (code varchar)")
    with pytest.raises(HandoverFailed, match="raw.orphan has no column _run_id"):
        hand_over(work_con, tmp_path, progress=lambda line: None)
