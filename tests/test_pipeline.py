"""The whole nightly job through the real stack: demo exports -> dwh run -> published figures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

DWH = str(Path(sys.executable).with_name("dwh"))
SCALE = "0.05"
SEED = "7"
PEILDATA = ("2022-06-30", "2023-02-15")

pytestmark = pytest.mark.e2e


def dwh(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DWH_HOME": str(home)}
    env.pop("DWH_LANDING", None)
    return subprocess.run(
        [DWH, *args], env=env, capture_output=True, text=True, timeout=900, check=False
    )


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("e2e") / "dwh_home"
    result = dwh(home, "demo", "--scale", SCALE, "--seed", SEED)
    assert result.returncode == 0, result.stderr
    return home


@pytest.fixture(scope="module")
def runs(demo_home: Path) -> dict[str, subprocess.CompletedProcess[str]]:
    return {peildatum: dwh(demo_home, "run", "--peildatum", peildatum) for peildatum in PEILDATA}


def truth(home: Path, peildatum: str, indicator: str) -> dict[int, tuple[str | None, str | None]]:
    data = json.loads((home / "demo" / "ground_truth.json").read_text(encoding="utf-8"))
    return {
        entry["report_year"]: (entry["realisation"], entry["registration_systems"])
        for entry in data["peildata"][peildatum]
        if entry["indicator_code"] == indicator
    }


def published(
    home: Path, peildatum: str, indicator: str
) -> dict[int, tuple[str | None, str | None]]:
    con = duckdb.connect(str(home / "published" / "warehouse.duckdb"), read_only=True)
    try:
        found = con.execute(
            """
            select report_year, realisation, unit, registration_systems
            from report.indicators where peildatum = ? and indicator_code = ?
            """,
            [peildatum, indicator],
        ).fetchall()
    finally:
        con.close()
    return {
        year: (
            None if value is None else (str(int(value)) if unit == "count" else str(value)),
            systems,
        )
        for year, value, unit, systems in found
    }


@pytest.mark.parametrize("peildatum", PEILDATA)
def test_dwh_run_publishes_and_prints_the_edition(runs, peildatum):
    result = runs[peildatum]
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert f"Published edition peildatum {peildatum}" in result.stdout
    assert "csv_onderzoeken" in result.stdout


@pytest.mark.parametrize("peildatum", PEILDATA)
def test_published_csv_onderzoeken_equals_the_ground_truth(demo_home, runs, peildatum):
    assert runs[peildatum].returncode == 0
    expected = truth(demo_home, peildatum, "csv_onderzoeken")
    assert sorted(expected) == list(range(2019, int(peildatum[:4]) + 1))
    assert published(demo_home, peildatum, "csv_onderzoeken") == expected


def test_both_editions_stay_published_with_the_interface_columns(demo_home, runs):
    assert all(result.returncode == 0 for result in runs.values())
    con = duckdb.connect(str(demo_home / "published" / "warehouse.duckdb"), read_only=True)
    try:
        columns = con.execute(
            """
            select column_name, data_type from information_schema.columns
            where table_schema = 'report' and table_name = 'indicators'
            order by ordinal_position
            """
        ).fetchall()
        editions = con.execute(
            "select distinct peildatum::varchar from report.indicators order by 1"
        ).fetchall()
    finally:
        con.close()
    assert columns == [
        ("peildatum", "DATE"),
        ("report_year", "INTEGER"),
        ("indicator_code", "VARCHAR"),
        ("theme", "VARCHAR"),
        ("unit", "VARCHAR"),
        ("target", "DECIMAL(18,2)"),
        ("realisation", "DECIMAL(18,2)"),
        ("realisation_pct_of_target", "DECIMAL(9,1)"),
        ("status", "VARCHAR"),
        ("registration_systems", "VARCHAR"),
    ]
    assert editions == [(p,) for p in PEILDATA]
