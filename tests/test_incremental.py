"""An incremental build equals a full rebuild on the same inputs (decision 0014).

One demo warehouse goes through nights of deliveries, a past edition, a rejected file and a
correction. After each build that continues from the last one, the same peildatum is
rebuilt in full (``DWH_INCREMENTAL=0``) in the same home, and every table of the models
(intermediate, marts, report, audit: everything publish copies, and what it is made of)
must hold exactly the same rows.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from flows.demo import generate
from flows.ingest import ingest_landing
from flows.pseudonym import load_or_create_key
from flows.settings import Settings
from flows.transform import TransformReport, run_dbt

pytestmark = pytest.mark.e2e

SCALE = 0.02
SEED = 7
SCHEMAS = ("intermediate", "marts", "report", "audit")


def deliver_between(outbox: Path, landing: Path, after: date | None, until: date) -> None:
    from test_pipeline import deliver

    deliver(outbox, landing, after=after, until=until)


def ingest(settings: Settings, run: str) -> object:
    settings.work_dir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(settings.work_db))
    try:
        return ingest_landing(
            con,
            settings.landing_dir,
            run_id=run,
            scratch=settings.work_dir / "scratch",
            quarantine_dir=settings.quarantine_dir,
            progress=lambda line: None,
            pseudonym_key=load_or_create_key(settings.pseudonym_key),
        )
    finally:
        con.close()


def models(settings: Settings) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(settings.work_db), read_only=True)
    try:
        tables = con.execute(
            "select schema_name, table_name from duckdb_tables() "
            "where schema_name in (select unnest(?)) order by all",
            [list(SCHEMAS)],
        ).fetchall()
        return {
            f"{schema}.{table}": con.execute(f"from {schema}.{table} order by all").fetchall()
            for schema, table in tables
        }
    finally:
        con.close()


def build(settings: Settings, peildatum: date) -> TransformReport:
    return run_dbt(settings, peildatum, progress=lambda line: None)


def assert_equals_a_full_rebuild(
    settings: Settings, peildatum: date, monkeypatch: pytest.MonkeyPatch
) -> None:
    incremental = models(settings)
    with monkeypatch.context() as patched:
        patched.setenv("DWH_INCREMENTAL", "0")
        full = build(Settings(), peildatum)
    assert not full.incremental
    rebuilt = models(settings)
    assert rebuilt.keys() == incremental.keys()
    differing = [name for name in rebuilt if rebuilt[name] != incremental[name]]
    assert differing == [], f"incremental build at {peildatum} differs in {differing}"


def test_incremental_builds_equal_full_rebuilds(tmp_path, monkeypatch):
    home = tmp_path / "dwh_home"
    monkeypatch.setenv("DWH_HOME", str(home))
    monkeypatch.delenv("DWH_LANDING", raising=False)
    outbox, other_seed = tmp_path / "outbox", tmp_path / "other"
    generate(outbox, tmp_path / "truth.json", scale=SCALE, seed=SEED)
    generate(other_seed, tmp_path / "truth-other.json", scale=SCALE, seed=SEED + 1)
    settings = Settings()
    landing = settings.landing_dir

    # Night 1: the first build is full.
    deliver_between(outbox, landing, None, date(2023, 6, 30))
    ingest(settings, "night-1")
    first = build(settings, date(2023, 6, 30))
    assert not first.incremental and first.build_reason == "no finished build to continue from"

    # Night 2: three months of deliveries (GPS deltas, BVO events, COMPAS and BVH snapshots).
    deliver_between(outbox, landing, date(2023, 6, 30), date(2023, 9, 30))
    ingest(settings, "night-2")
    second = build(settings, date(2023, 9, 30))
    assert second.incremental, second.build_reason
    assert_equals_a_full_rebuild(settings, date(2023, 9, 30), monkeypatch)

    # A past edition is built in full; the nightly edition after it continues from it, over
    # every row dated between the two peildata.
    past = build(settings, date(2023, 3, 31))
    assert not past.incremental and "before the last build's" in (past.build_reason or "")
    again = build(settings, date(2023, 9, 30))
    assert again.incremental, again.build_reason
    assert_equals_a_full_rebuild(settings, date(2023, 9, 30), monkeypatch)

    # Night 3: a month of deliveries and a GPS delta that is rejected (loads nothing).
    deliver_between(outbox, landing, date(2023, 9, 30), date(2023, 10, 31))
    broken = sorted(outbox.glob("GPS_VERDACHTEZAKEN_202311*.csv"))[0]
    (landing / broken.name).write_bytes(broken.read_bytes() + b"\xff\xfe not UTF-8\n")
    report = ingest(settings, "night-3")
    assert [name for name, _ in report.rejected] == [broken.name]  # type: ignore[attr-defined]
    third = build(settings, date(2023, 10, 31))
    assert third.incremental, third.build_reason
    assert_equals_a_full_rebuild(settings, date(2023, 10, 31), monkeypatch)

    # Night 4: a correction of a loaded GPS delta (other rows, same name) retracts its rows:
    # the build is full.
    corrected = sorted(landing.glob("GPS_VERDACHTEZAKEN_202309*.csv"))[0].name
    shutil.copy2(other_seed / corrected, landing / corrected)
    for manifest in other_seed.glob(corrected + ".*"):
        shutil.copy2(manifest, landing / manifest.name)
    report = ingest(settings, "night-4")
    assert report.corrected == [corrected]  # type: ignore[attr-defined]
    fourth = build(settings, date(2023, 10, 31))
    assert not fourth.incremental and "correction" in (fourth.build_reason or "")

    # Night 5: November arrives, with the good version of the rejected delta: it supersedes
    # the rejected file, and the simple rule (any file superseded: full) builds in full.
    deliver_between(outbox, landing, date(2023, 10, 31), date(2023, 11, 30))
    ingest(settings, "night-5")
    fifth = build(settings, date(2023, 11, 30))
    assert not fifth.incremental and "correction" in (fifth.build_reason or "")

    # Night 6: December, after the corrections, continues incrementally again.
    deliver_between(outbox, landing, date(2023, 11, 30), date(2023, 12, 31))
    ingest(settings, "night-6")
    sixth = build(settings, date(2023, 12, 31))
    assert sixth.incremental, sixth.build_reason
    assert_equals_a_full_rebuild(settings, date(2023, 12, 31), monkeypatch)
