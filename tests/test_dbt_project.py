"""The dbt project itself: it lints clean, its docs generate, every model is documented."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from flows.settings import PROJECT_ROOT

DBT_PROJECT = PROJECT_ROOT / "dbt_project"
BIN = Path(sys.executable).parent


def test_sqlfluff_lint_is_clean():
    result = subprocess.run(
        [str(BIN / "sqlfluff"), "lint", "models", "--nocolor"],
        cwd=DBT_PROJECT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:]


def test_dbt_docs_generate_works(tmp_path, monkeypatch):
    monkeypatch.setenv("DWH_WORK_DB", str(tmp_path / "empty.duckdb"))
    monkeypatch.setenv("DWH_TEMP_DIR", str(tmp_path / "tmp"))
    result = subprocess.run(
        [
            str(BIN / "dbt"),
            "docs",
            "generate",
            "--profiles-dir",
            ".",
            "--target-path",
            str(tmp_path / "target"),
            "--log-path",
            str(tmp_path / "logs"),
        ],
        cwd=DBT_PROJECT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:]
    assert (tmp_path / "target" / "index.html").exists()
    assert (tmp_path / "target" / "catalog.json").exists()


def test_every_model_has_a_yml_entry_that_says_what_one_row_is():
    documented = {}
    for path in (DBT_PROJECT / "models").rglob("_*.yml"):
        for model in yaml.safe_load(path.read_text(encoding="utf-8")).get("models", []):
            documented[model["name"]] = model.get("description", "")
    models = {path.stem for path in (DBT_PROJECT / "models").rglob("*.sql")}
    assert models - set(documented) == set()
    for name in models:
        assert "row" in documented[name].lower(), f"{name}: say what one row is"


def test_spill_settings_are_given_when_the_database_opens_not_per_cursor():
    # dbt-duckdb runs `settings` as SET on every cursor it opens; once a large model has
    # spilled to disk, DuckDB refuses `SET temp_directory` ("Cannot switch temporary
    # directory after the current one has been used"), which failed scale-10 builds.
    output = yaml.safe_load((DBT_PROJECT / "profiles.yml").read_text(encoding="utf-8"))
    target = output["justice_dwh"]["outputs"]["work"]
    assert {"temp_directory", "memory_limit"} <= set(target["config_options"])
    assert not {"temp_directory", "memory_limit"} & set(target.get("settings", {}))
