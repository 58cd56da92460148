"""Choosing the engine dbt builds on (docs/scale-out.md), without starting Spark."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from flows.cli import build_parser
from flows.settings import PROJECT_ROOT, Settings
from flows.spark import HandBackFailed, handed_back_models, local_path, prepare
from flows.transform import dbt_args, dbt_target

DBT_PROJECT = PROJECT_ROOT / "dbt_project"
BIN = Path(sys.executable).parent


def test_the_engine_option_defaults_to_the_environment_and_refuses_others(capsys):
    parser = build_parser()
    assert parser.parse_args(["run"]).engine is None  # then DWH_ENGINE, else duckdb
    assert parser.parse_args(["run", "--engine", "spark"]).engine == "spark"
    with pytest.raises(SystemExit) as exited:
        parser.parse_args(["run", "--engine", "postgres"])
    assert exited.value.code == 2
    assert "invalid choice: 'postgres'" in capsys.readouterr().err


def test_settings_choose_the_target_and_where_spark_reads_and_writes(home, monkeypatch):
    assert Settings().engine == "duckdb"
    assert dbt_target(Settings(), "duckdb") == "work"
    assert dbt_target(Settings(), "spark") == "spark"
    monkeypatch.setenv("DWH_SPARK_METHOD", "thrift")
    monkeypatch.setenv("DWH_HANDOVER", "/mnt/shared/handover")
    monkeypatch.setenv("DWH_SPARK_REMOTE", "sc://spark:15002")
    settings = Settings()
    assert dbt_target(settings, "spark") == "spark_thrift"
    environment = settings.spark_environment()
    assert environment["DWH_HANDOVER_DIR"] == "/mnt/shared/handover"
    assert environment["SPARK_REMOTE"] == "sc://spark:15002"
    assert environment["DWH_SPARK_MODELS"] == str(home.resolve() / "work" / "spark" / "models")
    with pytest.raises(ValueError, match="unknown engine 'postgres'"):
        dbt_target(settings, "postgres")
    monkeypatch.setenv("DWH_ENGINE", "postgres")
    with pytest.raises(ValueError, match="engine"):
        Settings()


def test_each_target_has_its_own_dbt_folder_and_duckdb_keeps_its_own(home):
    settings = Settings()
    duckdb_args = dbt_args(settings, "build", date(2023, 12, 31))
    spark_args = dbt_args(settings, "build", date(2023, 12, 31), "spark")
    assert "--target" not in duckdb_args  # the DuckDB run is called as before
    assert duckdb_args[duckdb_args.index("--target-path") + 1] == str(settings.dbt_target_dir)
    assert spark_args[spark_args.index("--target") + 1] == "spark"
    assert spark_args[spark_args.index("--target-path") + 1].endswith("dbt_target_spark")


def test_the_spark_profiles_run_in_utc_without_a_metastore_in_the_working_directory():
    outputs = yaml.safe_load((DBT_PROJECT / "profiles.yml").read_text())["justice_dwh"]["outputs"]
    assert outputs["work"]["type"] == "duckdb"
    session = outputs["spark"]
    assert (session["type"], session["method"]) == ("spark", "session")
    parameters = session["server_side_parameters"]
    assert parameters["spark.sql.session.timeZone"] == "UTC"
    assert parameters["spark.sql.catalogImplementation"] == "in-memory"
    assert outputs["spark_thrift"]["method"] == "thrift"
    assert outputs["spark_thrift"]["server_side_parameters"]["spark.sql.session.timeZone"] == "UTC"


def node(name, schema, status="success", location_root="/models/marts", kind="model"):
    return SimpleNamespace(
        status=status,
        node=SimpleNamespace(
            name=name,
            schema=schema,
            alias=name,
            resource_type=kind,
            config={"location_root": location_root},
        ),
    )


def test_only_built_marts_report_and_audit_come_back():
    results = [
        node("fct_beslag", "marts"),
        node("stg_bvh__beslagen", "staging"),
        node("not_null_x", "marts", status="pass", kind="test"),
        node("indicators", "report", location_root="file:/models/report"),
    ]
    assert handed_back_models(results) == [
        ("marts", "fct_beslag", "/models/marts/fct_beslag"),
        ("report", "indicators", "/models/report/indicators"),
    ]
    # Skipped after a failing test: not copied, so the gate finds audit.layers not built by
    # this run and blocks publication (tests/test_gate.py).
    assert handed_back_models([node("layers", "audit", status="skipped")]) == []
    with pytest.raises(HandBackFailed, match="dbt model layers has no location_root"):
        handed_back_models([node("layers", "audit", location_root=None)])
    assert local_path("file:///data/models") == "/data/models"


def test_sqlfluff_lints_the_models_as_spark_sql():
    result = subprocess.run(
        [str(BIN / "sqlfluff"), "lint", "--config", ".sqlfluff-spark", "models", "--nocolor"],
        cwd=DBT_PROJECT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:]


def test_preparing_a_spark_build_hands_over_and_forgets_last_nights_model_files(
    deliver, ingest, work_con, home, monkeypatch
):
    deliver("bvo/BVO_EVENTS_20220704T020000_000001.jsonl.gz")
    ingest()
    work_con.close()  # the flow's stages each open the work database themselves
    settings = Settings()
    stale = Path(settings.spark_models_dir) / "reference" / "eenheden" / "part-0.parquet"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"last night")
    for key in settings.spark_environment():
        monkeypatch.delenv(key, raising=False)  # prepare exports them; undone after the test
    lines: list[str] = []
    prepare(settings, lines.append)
    # a seed's table is created over its folder: old files would be read as rows again
    assert not stale.exists()
    assert (Path(settings.handover_dir) / "raw" / "bvo_events").is_dir()
    assert lines and lines[0].startswith("hand-over: ")
    assert os.environ["DWH_HANDOVER_DIR"] == settings.handover_dir
