"""Shared fixtures: a fresh DWH_HOME per test, tiny hand-made exports in tests/data/."""

from __future__ import annotations

import shutil
import sys
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


# --- Two test workers (make test: pytest -n 2) ---

# The modules that take longest, in the order they start: a worker that takes one late
# would leave the other idle at the end. The rest follow in their usual order.
LONGEST_FIRST = (
    "test_operations",
    "test_spark",
    "test_pipeline",
    "test_guards",
    "test_incremental",
    "test_reference",
    "test_transform",
)
# Session fixtures too expensive to build twice, or that write one shared place (.cache/),
# and the modules that use them: these run on one worker, which builds them once.
SHARED_SESSION_FIXTURES = {"analyst_warehouse", "old_duckdb"}
SHARING_MODULES = {"test_dictionary", "test_old_client", "test_queries", "test_report_page"}

# An xdist worker's __main__ has no file; pyspark (which Great Expectations imports when it
# is installed) takes such a __main__ for its own doctest run and exits the worker.
_main = sys.modules["__main__"]
if getattr(_main, "__spec__", None) is None and not hasattr(_main, "__file__"):
    _main.__file__ = "<pytest-xdist worker>"


def _module(item: pytest.Item) -> str:
    return item.module.__name__ if isinstance(item, pytest.Function) else item.nodeid


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Longest modules first; a module that uses a shared session fixture must be listed."""
    unlisted = {
        _module(item)
        for item in items
        if isinstance(item, pytest.Function)
        and SHARED_SESSION_FIXTURES.intersection(item.fixturenames)
    } - SHARING_MODULES
    if unlisted:
        raise pytest.UsageError(
            f"{', '.join(sorted(unlisted))} use a shared session fixture: add them to "
            "SHARING_MODULES in tests/conftest.py, so that one worker builds it once"
        )

    def rank(item: pytest.Item) -> int:
        module = _module(item)
        return LONGEST_FIRST.index(module) if module in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """Whole modules to a worker (their module fixtures are built once), the sharing modules
    together, in the order collected (longest first, not xdist's most-tests-first)."""
    from xdist.scheduler import LoadScopeScheduling

    class ByModule(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return "shared" if Path(module).stem in SHARING_MODULES else module

    config.option.loadscopereorder = False
    return ByModule(config, log)


# Every alert carries these keys besides schema_version, whatever its outcome (docs/runbook.md).
ALERT_KEYS = {
    "run_id", "prefect_flow_run_id", "peildatum", "outcome", "engine", "home",
    "stages_completed", "reasons", "warnings", "status",
}  # fmt: skip


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


# --- The analysts' published demo warehouse (issue 11: report page, old client, queries) ---

ANALYST_EDITIONS = ("2023-02-15", "2023-12-31")


@pytest.fixture(scope="session")
def analyst_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DWH_HOME with two published demo editions, each written by ``dwh run``.

    The demo at a small scale (as tests/test_pipeline.py runs it), all deliveries at once,
    then the annual edition 2023-02-15 and the last delivered day 2023-12-31: the latest
    edition's report compares itself with the one before. Tests only read it.
    """
    import os
    import subprocess
    import sys

    home = tmp_path_factory.mktemp("analyst") / "dwh_home"
    dwh = str(Path(sys.executable).with_name("dwh"))
    env = {**os.environ, "DWH_HOME": str(home)}
    env.pop("DWH_LANDING", None)
    for args in (
        ["demo", "--scale", "0.05", "--seed", "7"],
        *(["run", "--peildatum", peildatum] for peildatum in ANALYST_EDITIONS),
    ):
        done = subprocess.run(
            [dwh, *args], env=env, capture_output=True, text=True, timeout=1200, check=False
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return home


@pytest.fixture(scope="session")
def old_duckdb() -> Path:
    """The Python interpreter of a cached venv with DuckDB 1.4 (tests/old_client.py)."""
    from old_client import old_python

    return old_python()
