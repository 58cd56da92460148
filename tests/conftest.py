"""Shared fixtures: a fresh DWH_HOME per test, tiny hand-made exports in tests/data/."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pytest

from flows.ingest import IngestReport, ingest_landing
from flows.pseudonym import load_or_create_key
from flows.settings import Settings

DATA = Path(__file__).parent / "data"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "dwh_home"
    home.mkdir()
    monkeypatch.setenv("DWH_HOME", str(home))
    monkeypatch.delenv("DWH_LANDING", raising=False)
    return home


@pytest.fixture
def landing(home: Path) -> Path:
    folder = home / "landing"
    folder.mkdir()
    return folder


@pytest.fixture
def deliver(landing: Path) -> Callable[..., Path]:
    """Copy a file from tests/data into the landing folder, under its own or another name."""

    def _deliver(source: str, name: str | None = None) -> Path:
        src = DATA / source
        target = landing / (name or src.name)
        shutil.copyfile(src, target)
        manifest = src.with_name(src.name + ".manifest.json")
        if manifest.exists():
            shutil.copyfile(manifest, target.with_name(target.name + ".manifest.json"))
        return target

    return _deliver


@pytest.fixture
def work_con(home: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    # The work database where the nightly run keeps it, so dbt builds on what was ingested.
    (home / "work").mkdir(exist_ok=True)
    con = duckdb.connect(str(home / "work" / "warehouse.duckdb"))
    yield con
    con.close()


@pytest.fixture
def key(home: Path) -> bytes:
    """The pseudonym key of this DWH_HOME, created as the nightly run creates it."""
    return load_or_create_key(Settings().pseudonym_key)


@pytest.fixture
def ingest(
    work_con: duckdb.DuckDBPyConnection, landing: Path, home: Path, key: bytes
) -> Callable[[], IngestReport]:
    runs = iter(range(1, 1000))

    def _ingest() -> IngestReport:
        return ingest_landing(
            work_con,
            landing,
            run_id=f"test-run-{next(runs)}",
            scratch=home / "scratch",
            quarantine_dir=home / "quarantine",
            progress=lambda line: None,
            pseudonym_key=key,
        )

    return _ingest


def rows(con: duckdb.DuckDBPyConnection, sql: str, *params: object) -> list[tuple]:
    return con.execute(sql, list(params)).fetchall()


def ledger(con: duckdb.DuckDBPyConnection) -> dict[str, tuple]:
    """The ledger rows in force by file name: status, declared, loaded, quarantined, reason."""
    return {
        name: (status, declared, loaded, quarantined, reason)
        for name, status, declared, loaded, quarantined, reason in rows(
            con,
            """
            select file_name, status, rows_declared, rows_loaded, rows_quarantined, reason
            from meta.file_ledger where status <> 'superseded'
            """,
        )
    }
