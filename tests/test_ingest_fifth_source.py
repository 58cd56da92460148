"""A fifth source system is one reader module and one line in the registry
(docs/adding-a-source.md): this test's reader is the guide's example, loaded by ingest."""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from pathlib import Path

import duckdb
import pytest

from flows import ingest as ingest_module
from flows.errors import RejectedFile
from flows.sources import common
from flows.sources.common import Admitted, Delivery, FileOutcome, PassFile, Scan
from flows.sources.registry import READERS

from conftest import ledger, rows

# --- the guide's example reader: "ABC", ';'-separated UTF-8 with a header -------------------

SYSTEM = "abc"
NAME_PATTERN = re.compile(r"^ABC_ZAKEN_(\d{8})\.csv$")
RAW_TABLE = "raw.abc_zaken"
HEADER = "zaak;datum"
BATCH_BYTES: int | None = None  # ingest's default
COMPANIONS: tuple[str, ...] = ()
FILE_BY_FILE = False


def recognise(path: Path) -> Delivery | None:
    return common.dated_delivery(path, NAME_PATTERN, SYSTEM, "ZAKEN")


def ensure_raw_tables(con: duckdb.DuckDBPyConnection) -> None:
    columns = [("zaak", "varchar not null"), ("datum", "date not null")]
    common.ensure_raw_table(con, RAW_TABLE, columns)


def delete_file_rows(con: duckdb.DuckDBPyConnection, file_id: int) -> None:
    con.execute(f"delete from {RAW_TABLE} where _file_id = ?", [file_id])


def admit(file: PassFile) -> Admitted:
    with file.delivery.path.open(encoding="utf-8") as handle:
        if handle.readline().rstrip("\r\n") != HEADER:
            raise RejectedFile(f"header does not match the spec (expected '{HEADER}')")
    return Admitted(file)


def scan(con: duckdb.DuckDBPyConnection, files: Sequence[Admitted]) -> Scan:
    sql = f"""
        select file_index, zaak, try_strptime(datum, '%Y-%m-%d')::date as datum,
            case when zaak is null then 'zaak|key is empty'
                when try_strptime(datum, '%Y-%m-%d') is null
                    then 'datum|malformed date: ' || coalesce(datum, '') end as problem,
            coalesce(zaak, '') || ';' || coalesce(datum, '') as raw_record
        from read_csv({common.paths_sql(files)}, delim = ';', header = true, auto_detect = false,
            columns = {{'zaak': 'VARCHAR', 'datum': 'VARCHAR'}})
    """
    return Scan(files, sql, RAW_TABLE, ["zaak", "datum"], first_line=2)


def unreadable(file: Admitted, exc: duckdb.Error) -> FileOutcome:
    return FileOutcome.rejected(f"cannot read as ';'-separated UTF-8 CSV: {exc}")


# --- the test --------------------------------------------------------------------------------


@pytest.fixture
def fifth(monkeypatch: pytest.MonkeyPatch) -> None:
    """This module is the reader; the registry gets its line (flows/sources/registry.py)."""
    monkeypatch.setattr(ingest_module, "READERS", (*READERS, sys.modules[__name__]))


def test_a_fifth_system_loads_through_the_one_interface(fifth, landing, ingest, work_con):
    (landing / "ABC_ZAKEN_20220131.csv").write_text(
        "zaak;datum\nZ1;2022-01-02\nZ2;2022-13-01\n;2022-01-03\nZ4;2022-01-04\n", encoding="utf-8"
    )
    (landing / "ABC_ZAKEN_20220228.csv").write_text("zaak;datum\nZ5;2022-02-01\n", encoding="utf-8")
    (landing / "ABC_ZAKEN_20220331.csv").write_text("zaak,datum\nZ6,2022-03-01\n", encoding="utf-8")
    report = ingest()
    assert report.loaded == ["ABC_ZAKEN_20220131.csv", "ABC_ZAKEN_20220228.csv"]
    assert report.rejected == [
        ("ABC_ZAKEN_20220331.csv", "header does not match the spec (expected 'zaak;datum')")
    ]
    assert ledger(work_con)["ABC_ZAKEN_20220131.csv"][:4] == ("loaded", 4, 2, 2)
    assert rows(
        work_con,
        "select zaak, datum::varchar, _line_number from raw.abc_zaken order by _file_id, 3",
    ) == [("Z1", "2022-01-02", 2), ("Z4", "2022-01-04", 5), ("Z5", "2022-02-01", 2)]
    assert rows(
        work_con, "select line_number, column_name from meta.quarantined_rows order by 1"
    ) == [(3, "datum"), (4, "zaak")]
    # A correction under the same name replaces the file's rows, as for every system.
    (landing / "ABC_ZAKEN_20220228.csv").write_text("zaak;datum\nZ7;2022-02-02\n", encoding="utf-8")
    assert ingest().corrected == ["ABC_ZAKEN_20220228.csv"]
    assert rows(work_con, "select zaak from raw.abc_zaken where _line_number = 2 order by 1") == [
        ("Z1",),
        ("Z7",),
    ]
