"""Planning: a night with nothing new ends before Prefect, dbt and the gate start; any new,
corrected or rejected file, another peildatum, a changed project or setting runs the night.

The published edition here is made by hand (its ``meta.editions`` row and the inputs the
flow records after a publish) on tiny hand-made exports; tests/test_pipeline.py shows the
shortcut on a real repeat night.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pytest

from flows import planning
from flows.cli import main
from flows.settings import PROJECT_ROOT, Settings

from conftest import ALERT_KEYS, rows

PEILDATUM = date(2022, 7, 31)


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    """A copy of the dbt project and seeds that the project fingerprint reads."""
    copy = tmp_path / "project"
    for part in ("dbt_project", "seeds"):
        shutil.copytree(
            PROJECT_ROOT / part, copy / part, ignore=shutil.ignore_patterns("target", "logs")
        )
    monkeypatch.setattr(planning, "PROJECT_PARTS", (copy / "dbt_project", copy / "seeds"))
    return copy


@pytest.fixture
def published(home, deliver, ingest, work_con, project):
    """Two deliveries loaded and edition PEILDATUM published from them (by hand)."""
    deliver("bvh_onderzoek_valid.csv", "BVH_ONDERZOEK_20220331.csv")
    deliver("bvo/BVO_EVENTS_20220704T020000_000001.jsonl.gz")
    ingest()
    planning.record_inputs(work_con, Settings(), "run-1", PEILDATUM, "duckdb")
    publish_by_hand(home, "run-1", PEILDATUM)
    return home


def publish_by_hand(home: Path, run_id: str, peildatum: date) -> None:
    path = home / "published" / "warehouse.duckdb"
    path.parent.mkdir(exist_ok=True)
    con = duckdb.connect(str(path))
    try:
        con.execute("create schema if not exists meta")
        con.execute(
            "create table if not exists meta.editions "
            "(peildatum date, published_at timestamptz, run_id varchar)"
        )
        con.execute(
            "insert into meta.editions values (?, ?, ?)", [peildatum, datetime.now(UTC), run_id]
        )
        con.execute("create schema if not exists report")
        con.execute(
            """
            create table if not exists report.indicators as
            select ?::date as peildatum, 2022 as report_year, 'csv_onderzoeken' as indicator_code,
                null::decimal(18, 2) as target, 1.0 as realisation,
                null::decimal(9, 1) as realisation_pct_of_target, 'geen_norm' as status,
                'bvh' as registration_systems
            """,
            [peildatum],
        )
    finally:
        con.close()


def night(con: duckdb.DuckDBPyConnection, peildatum: date = PEILDATUM, engine: str = "duckdb"):
    con.execute("checkpoint")
    return planning.plan_night(Settings(), peildatum, engine)


def test_a_repeat_night_has_nothing_to_do(published, work_con):
    found = night(work_con)
    assert found.unchanged, found.reason
    assert "nothing new since the published edition 2022-07-31" in found.reason


def test_a_new_file_runs_the_night(published, work_con, deliver):
    deliver("bvo/BVO_EVENTS_20220711T020000_000003.jsonl.gz")
    found = night(work_con)
    assert not found.unchanged
    assert "1 new or changed files in landing (BVO_EVENTS_20220711T020000_000003" in found.reason


def test_a_correction_runs_the_night(published, work_con, deliver):
    deliver("bvh_onderzoek_unknown_code.csv", "BVH_ONDERZOEK_20220331.csv")
    found = night(work_con)
    assert not found.unchanged
    assert "BVH_ONDERZOEK_20220331.csv" in found.reason


def test_a_file_loaded_or_rejected_by_a_night_that_did_not_publish_runs_the_night(
    published, work_con, deliver, ingest
):
    """The landing folder matches the ledger again, but the ledger moved on since the
    published edition (a blocked night read a rejected file)."""
    deliver("bvh_onderzoek_no_trailer.csv", "BVH_ONDERZOEK_20220630.csv")
    report = ingest()
    assert [name for name, _ in report.rejected] == ["BVH_ONDERZOEK_20220630.csv"]
    found = night(work_con)
    assert not found.unchanged
    assert found.reason == "the file ledger changed since the published edition"


def test_another_peildatum_runs_the_night(published, work_con):
    found = night(work_con, peildatum=date(2022, 8, 1))
    assert not found.unchanged
    assert found.reason == "the last published edition has peildatum 2022-07-31"


@pytest.mark.parametrize(
    "changed", ["dbt_project/models/marts/dim_feiten.sql", "seeds/feitcodes.csv"]
)
def test_a_changed_model_or_seed_runs_the_night(published, work_con, project, changed):
    path = project / changed
    path.write_text(path.read_text() + "\n", encoding="utf-8")
    found = night(work_con)
    assert not found.unchanged
    assert "the dbt project, seeds, suites or code changed" in found.reason


def test_another_engine_or_setting_runs_the_night(published, work_con, monkeypatch):
    assert not night(work_con, engine="spark").unchanged
    monkeypatch.setenv("DWH_MEMORY_LIMIT", "2GB")
    found = night(work_con)
    assert not found.unchanged
    assert found.reason == "the settings changed since the published edition"


def test_a_run_that_died_runs_the_night(published, work_con):
    work_con.execute("create schema if not exists meta")
    from flows import runs

    runs.ensure_runs(work_con)
    work_con.execute(
        "insert into meta.runs (run_id, started_at, peildatum, landing) values (?, ?, ?, ?)",
        ["dead", datetime.now(UTC), PEILDATUM, "x"],
    )
    found = night(work_con)
    assert not found.unchanged
    assert found.reason == "a run ended without an outcome"


def test_dwh_run_records_an_unchanged_night_and_leaves_the_published_file(
    published, work_con, capsys, monkeypatch, tmp_path
):
    work_con.close()
    alert = tmp_path / "alert.json"
    monkeypatch.setenv("DWH_ALERT_COMMAND", f"cat > {alert}")
    published_file = published / "published" / "warehouse.duckdb"
    before = published_file.read_bytes()
    assert main(["run", "--peildatum", PEILDATUM.isoformat()]) == 0
    assert published_file.read_bytes() == before
    out = capsys.readouterr().out
    assert "nothing new since the published edition 2022-07-31" in out
    assert "Published edition peildatum 2022-07-31" in out
    con = duckdb.connect(str(published / "work" / "warehouse.duckdb"), read_only=True)
    try:
        assert rows(con, "select outcome, engine from meta.runs") == [("unchanged", "duckdb")]
        assert rows(con, "select stage from meta.run_stages") == [("plan",)]
    finally:
        con.close()
    # A run that does not publish alerts (interface.md), with why it had nothing to do.
    sent = json.loads(alert.read_text())
    assert (sent["outcome"], sent["peildatum"]) == ("unchanged", "2022-07-31")
    assert "nothing new since the published edition" in sent["reasons"][0]["message"]
    assert set(sent) == {"schema_version", *ALERT_KEYS}  # the keys of every other alert
    assert sent["stages_completed"] == ["plan"] and sent["status"]["files"]
