"""Delivering the whole demo landing folder three times, also under other names, loads it once."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import duckdb
import pytest

from flows.demo import generate
from flows.ingest import ingest_landing

pytestmark = pytest.mark.e2e

RAW_TABLES = (
    "raw.bvh_onderzoek",
    "raw.bvh_beslag",
    "raw.bvh_executie",
    "raw.bvo_events",
    "raw.compas_verdachtezaken",  # a view over the next two
    "raw.compas_record_versions",
    "raw.compas_snapshot_lines",
    "raw.gps_verdachtezaken",
)


def raw_state(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    """Every raw table's rows, without the run that loaded them."""
    return {
        table: con.execute(f"select * exclude (_run_id) from {table} order by all").fetchall()
        for table in RAW_TABLES
    }


def renamed(name: str) -> str:
    """The same delivery under another name: every year in the name moved a century on."""
    return re.sub(r"_(20)(\d{6})", lambda m: f"_21{m.group(2)}", name, count=1)


def test_three_deliveries_of_the_demo_yield_the_raw_tables_of_one(tmp_path):
    landing = tmp_path / "landing"
    generate(landing, tmp_path / "truth.json", scale=0.02, seed=11)
    con = duckdb.connect(str(tmp_path / "work.duckdb"))
    key = b"k" * 32

    def ingest() -> object:
        return ingest_landing(
            con,
            landing,
            run_id="run",
            scratch=tmp_path / "scratch",
            quarantine_dir=tmp_path / "quarantine",
            progress=lambda line: None,
            pseudonym_key=key,
        )

    first = ingest()
    assert first.rejected == [] and len(first.loaded) > 100
    once = raw_state(con)
    ledger_rows = con.execute("select count(*) from meta.file_ledger").fetchone()[0]

    # Second delivery: the same files again, rewritten in place (same bytes, new mtime).
    for path in sorted(landing.iterdir()):
        data = path.read_bytes()
        path.unlink()
        path.write_bytes(data)
    second = ingest()
    assert second.loaded == [] and second.duplicates == []
    assert raw_state(con) == once
    assert con.execute("select count(*) from meta.file_ledger").fetchone()[0] == ledger_rows

    # Third delivery: every file once more under another name.
    originals = sorted(path for path in landing.iterdir() if not path.name.endswith(".json"))
    for path in sorted(landing.iterdir()):
        shutil.copy2(path, landing / renamed(path.name))
    third = ingest()
    assert third.loaded == [] and third.rejected == []
    assert len(third.duplicates) == len(originals)
    assert raw_state(con) == once
    con.close()


def test_a_corrected_snapshot_replaces_its_predecessor_entirely(tmp_path):
    landing = tmp_path / "landing"
    generate(landing, tmp_path / "truth.json", scale=0.02, seed=11)
    snapshots = sorted(landing.glob("BVH_BESLAG_*.csv"))
    for path in landing.iterdir():
        if path not in snapshots[-2:]:
            path.unlink()
    con = duckdb.connect(str(tmp_path / "work.duckdb"))

    def ingest() -> object:
        return ingest_landing(
            con,
            landing,
            run_id="run",
            scratch=tmp_path / "scratch",
            quarantine_dir=tmp_path / "quarantine",
            progress=lambda line: None,
        )

    ingest()
    older, newer = snapshots[-2:]
    before = con.execute(
        "select count(*) from raw.bvh_beslag where extraction_date = ?",
        [_date_of(newer)],
    ).fetchone()[0]
    assert before > 0
    # The correction of the newer snapshot: the older snapshot's content under its name,
    # with the header's and trailer's shape intact (a valid extract with other records).
    shutil.copyfile(older, newer)
    report = ingest()
    assert report.corrected == [newer.name]
    rows = con.execute(
        """
        select count(*), count(distinct _file_id) from raw.bvh_beslag
        where extraction_date = ?
        """,
        [_date_of(newer)],
    ).fetchone()
    older_rows = con.execute(
        "select count(*) from raw.bvh_beslag where extraction_date = ?", [_date_of(older)]
    ).fetchone()[0]
    assert rows == (older_rows, 1)
    statuses = con.execute(
        "select status from meta.file_ledger where file_name = ? order by file_id", [newer.name]
    ).fetchall()
    assert statuses == [("superseded",), ("loaded",)]
    con.close()


def _date_of(path: Path) -> str:
    digits = re.search(r"_(\d{8})\.", path.name).group(1)
    return f"{digits[:4]}-{digits[4:6]}-{digits[6:]}"
