"""Ingest of the OM exports (COMPAS, GPS): each spec quirk loads right, each broken file
or row is turned away with a reason, and no personal data reaches any table."""

from __future__ import annotations

import hashlib
import hmac
from datetime import date

import duckdb
import pytest

from flows.ingest import ingest_landing
from flows.pseudonym import PseudonymKeyError

from conftest import DATA, ledger, rows

COMPAS_VALID = "COMPAS_VERDZAKEN_20220131.DAT"
GPS_VALID = "GPS_VERDACHTEZAKEN_20220421.csv"


def pseudonym(key: bytes, identity: str) -> str:
    return hmac.new(key, identity.encode("utf-8"), hashlib.sha256).hexdigest()


# --- COMPAS -------------------------------------------------------------------------------


def test_compas_snapshot_loads_every_record_between_header_and_trailer(deliver, ingest, work_con):
    deliver("compas/compas_valid.DAT", COMPAS_VALID)
    report = ingest()
    assert report.loaded == [COMPAS_VALID]
    assert ledger(work_con)[COMPAS_VALID][:4] == ("loaded", 4, 4, 0)
    loaded = rows(
        work_con,
        """
        select parketnummer, bsn_status, instroomdatum::varchar, aanleverende_instantie,
               feitcode, afdoening, afdoeningsdatum::varchar, vervallen,
               extraction_date::varchar, _line_number
        from raw.compas_verdachtezaken order by _line_number
        """,
    )
    assert loaded == [
        ("16/100001-21", "valid", "2021-03-15", "PL09", "273F01", "DAG", "2021-06-01", False,
         "2022-01-31", 2),
        ("16/100002-21", "missing", "2021-04-20", "KMAR", "273F01", None, None, False,
         "2022-01-31", 3),
        ("16/100003-21", "invalid", "2021-05-02", "PL09", "420B01", "SEP", "2021-07-01", True,
         "2022-01-31", 4),
        ("15/100004-21", "valid", "2021-10-01", "FIOD", "420B01", "TRA", "2021-12-01", False,
         "2022-01-31", 5),
    ]  # fmt: skip


def test_compas_latin1_accents_and_blank_bsn_reach_the_pseudonym_intact(
    deliver, ingest, work_con, key
):
    deliver("compas/compas_valid.DAT", COMPAS_VALID)
    ingest()
    pseudonyms = rows(
        work_con,
        """
        select parketnummer, person_pseudonym, name_pseudonym
        from raw.compas_verdachtezaken order by _line_number
        """,
    )
    assert pseudonyms[0] == (
        "16/100001-21",
        pseudonym(key, "bsn:123456782"),
        pseudonym(key, "gbn:1980-01-02:hoëvenaar"),  # byte 0xEB read as ë
    )
    # Blank BSN: birth date and surname identify the person, both pseudonyms agree.
    by_name = pseudonym(key, "gbn:1975-05-06:van der berg")
    assert pseudonyms[1] == ("16/100002-21", by_name, by_name)


def test_unreadable_compas_records_are_quarantined_alone_with_line_column_and_reason(
    deliver, ingest, work_con
):
    deliver("compas/compas_bad_rows.DAT", "COMPAS_VERDZAKEN_20220228.DAT")
    ingest()
    status, declared, loaded, quarantined, _ = ledger(work_con)["COMPAS_VERDZAKEN_20220228.DAT"]
    assert (status, declared, loaded, quarantined) == ("loaded", 6, 2, 4)
    assert declared == loaded + quarantined
    bad = rows(
        work_con,
        "select line_number, column_name, reason from meta.quarantined_rows order by 1",
    )
    assert bad == [
        (3, "(record)", "record of 99 characters, expected 100"),
        (
            4,
            "geboortedatum",
            "malformed date (expected JJJJMMDD; the value is personal data and not shown)",
        ),
        (5, "instroomdatum", "malformed date (expected JJJJMMDD): '20221345'"),
        (6, "vervallen", "expected J or N, got 'X'"),
    ]
    assert rows(
        work_con, "select parketnummer, _line_number from raw.compas_verdachtezaken order by 2"
    ) == [("16/100001-21", 2), ("15/100004-21", 7)]


def test_quarantined_compas_records_keep_their_layout_with_personal_fields_masked(
    deliver, ingest, work_con
):
    deliver("compas/compas_bad_rows.DAT", "COMPAS_VERDZAKEN_20220228.DAT")
    ingest()
    records = dict(rows(work_con, "select line_number, raw_record from meta.quarantined_rows"))
    assert records[6] == "116/100001-21" + "*" * 57 + "20210315PL09273F01DAG20210601X"
    # 99 characters: fields may have shifted by one, so one more position each side.
    assert records[3] == "116/100003-2" + "*" * 59 + "210502PL09420B01SEP20210701J"


def test_broken_compas_files_are_rejected_whole_and_copied_to_quarantine(
    deliver, ingest, work_con, landing, home
):
    cases = {
        "COMPAS_VERDZAKEN_20220301.DAT": (
            "compas_trailer_count_wrong.DAT",
            "trailer declares 3 data records, the file has 2 between header and trailer",
        ),
        "COMPAS_VERDZAKEN_20220302.DAT": (
            "compas_no_trailer.DAT",
            "no valid trailer '9<count of 9 digits>' of 100 characters on the last line "
            "(line 3: record type '1', 100 characters)",
        ),
        "COMPAS_VERDZAKEN_20220303.DAT": (
            "compas_trailer_not_last.DAT",
            "trailer found at line 3, it must be the last line",
        ),
        "COMPAS_VERDZAKEN_20220304.DAT": (
            "compas_c1_byte.DAT",
            "cannot decode as ISO-8859-1: byte 0x85 at line 3 (byte offset 243); "
            "bytes 0x80-0x9F are control codes, not text",
        ),
        "COMPAS_VERDZAKEN_20220306.DAT": (
            "compas_header_date_wrong.DAT",
            "header extraction date 20220305 differs from the date in the file name 20220306",
        ),
    }
    for name, (source, _) in cases.items():
        deliver(f"compas/{source}", name)
    before = {path.name: path.read_bytes() for path in landing.iterdir()}
    report = ingest()
    assert report.loaded == []
    entries = ledger(work_con)
    for name, (_, expected) in cases.items():
        status, _, loaded, _, reason = entries[name]
        assert (status, loaded, reason) == ("rejected", 0, expected)
        copies = list((home / "quarantine" / "files").glob(f"*_{name}"))
        assert len(copies) == 1
    assert entries["COMPAS_VERDZAKEN_20220301.DAT"][1] == 3  # declared by the trailer
    assert rows(work_con, "select count(*) from raw.compas_verdachtezaken") == [(0,)]
    assert rows(work_con, "select count(*) from meta.quarantined_rows") == [(0,)]
    assert {path.name: path.read_bytes() for path in landing.iterdir()} == before


def test_a_compas_file_without_a_pseudonym_key_is_refused_and_nothing_is_stored(
    deliver, work_con, landing, home
):
    deliver("compas/compas_valid.DAT", COMPAS_VALID)
    with pytest.raises(PseudonymKeyError, match="COMPAS_VERDZAKEN_20220131.DAT holds personal"):
        ingest_landing(
            work_con,
            landing,
            run_id="test-run-1",
            scratch=home / "scratch",
            quarantine_dir=home / "quarantine",
            progress=lambda line: None,
        )
    assert rows(work_con, "select count(*) from raw.compas_verdachtezaken") == [(0,)]
    assert rows(work_con, "select count(*) from meta.file_ledger") == [(0,)]


# --- GPS ----------------------------------------------------------------------------------


def test_gps_delta_with_bom_quotes_and_offsets_loads_every_row(deliver, ingest, work_con):
    source = deliver("gps/gps_valid.csv", GPS_VALID)
    assert source.read_bytes().startswith(b"\xef\xbb\xbfzaak_id,")
    ingest()
    assert ledger(work_con)[GPS_VALID][:4] == ("loaded", 5, 5, 0)
    work_con.execute("set timezone = 'UTC'")
    loaded = rows(
        work_con,
        """
        select zaak_id, parketnummer, compas_parketnummer, bsn_status, instroomdatum::varchar,
               aanleverende_instantie, wetsartikel, afdoening, afdoeningsdatum::varchar,
               strftime(gewijzigd_op, '%Y-%m-%d %H:%M:%S UTC'), gewijzigd_op_text, verwijderd,
               delivery_date::varchar, _line_number
        from raw.gps_verdachtezaken order by _line_number
        """,
    )
    assert loaded == [
        (2001, "16/200001-22", "16/100001-21", "valid", "2021-03-15", "politie:PL09",
         "Sr:273f", "dagvaarding", "2021-06-01", "2022-02-01 08:15:00 UTC",
         "2022-02-01T09:15:00+01:00", False, "2022-04-21", 2),
        (2002, "16/100002-21", "16/100002-21", "missing", "2021-04-20", "kmar", "Sr:273f",
         None, None, "2022-02-01 09:30:00 UTC", "2022-02-01T10:30:00+01:00", False,
         "2022-04-21", 3),
        (2003, "16/200003-22", None, "invalid", "2022-01-15", "politie:PL09", "Sr:420bis",
         None, None, "2022-04-01 06:00:00 UTC", "2022-04-01T08:00:00+02:00", False,
         "2022-04-21", 4),
        (2003, "16/200003-22", None, "invalid", "2022-01-15", "politie:PL09", "Sr:420bis",
         None, None, "2022-04-01 06:00:00 UTC", "2022-04-01T06:00:00+00:00", True,
         "2022-04-21", 5),
        (2004, "15/200004-22", None, "valid", "2022-03-01", "fiod", "Sr:420bis", "transactie",
         "2022-04-20", "2022-04-21 16:45:10 UTC", "2022-04-21T16:45:10Z", False,
         "2022-04-21", 6),
    ]  # fmt: skip


def test_gps_quoted_surname_with_comma_and_doubled_quote_is_read_whole(
    deliver, ingest, work_con, key
):
    deliver("gps/gps_valid.csv", GPS_VALID)
    ingest()
    assert rows(
        work_con,
        "select distinct person_pseudonym from raw.gps_verdachtezaken where zaak_id = 2003",
    ) == [(pseudonym(key, 'gbn:1988-09-09:bakker, "jr"'),)]


def test_gps_offsets_are_compared_as_instants(deliver, ingest, work_con):
    deliver("gps/gps_valid.csv", GPS_VALID)
    ingest()
    # 08:00+02:00 and 06:00+00:00 are one instant: a tie, which the later line decides.
    assert rows(
        work_con,
        """
        select count(distinct gewijzigd_op), max(_line_number) filter (where verwijderd)
        from raw.gps_verdachtezaken where zaak_id = 2003
        """,
    ) == [(1, 5)]


def test_gps_file_without_bom_loads_the_same_rows(landing, ingest, work_con):
    data = (DATA / "gps" / "gps_valid.csv").read_bytes()
    (landing / GPS_VALID).write_bytes(data.removeprefix(b"\xef\xbb\xbf"))
    ingest()
    assert ledger(work_con)[GPS_VALID][:4] == ("loaded", 5, 5, 0)
    assert rows(
        work_con, "select zaak_id, _line_number from raw.gps_verdachtezaken order by 2"
    ) == [(2001, 2), (2002, 3), (2003, 4), (2003, 5), (2004, 6)]


def test_unreadable_gps_rows_are_quarantined_alone_with_line_column_and_reason(
    deliver, ingest, work_con
):
    deliver("gps/gps_bad_rows.csv", "GPS_VERDACHTEZAKEN_20220422.csv")
    ingest()
    status, declared, loaded, quarantined, _ = ledger(work_con)["GPS_VERDACHTEZAKEN_20220422.csv"]
    assert (status, declared, loaded, quarantined) == ("loaded", 5, 2, 3)
    assert declared == loaded + quarantined
    bad = rows(
        work_con,
        "select line_number, column_name, reason, raw_record from meta.quarantined_rows order by 1",
    )
    assert bad == [
        (
            3,
            "instroomdatum",
            "missing or malformed date (expected JJJJ-MM-DD): '2022-13-45'",
            "2004,15/200004-22,,***,***,***,2022-13-45,fiod,Sr:420bis,transactie,2022-04-20,"
            "2022-04-21T16:45:10Z,false",
        ),
        (
            4,
            "(record)",
            "unreadable record: missing columns — Expected Number of Columns: 13 Found: 12",
            # One field too few: the mask widens by one field on each side.
            "2001,16/200001-22,***,***,***,***,***,politie:PL09,Sr:273f,dagvaarding,"
            "2022-02-01T09:15:00+01:00,false",
        ),
        (
            5,
            "verdachte_geboortedatum",
            "missing or malformed date (expected JJJJ-MM-DD; the value is personal data and "
            "not shown)",
            "2002,16/100002-21,16/100002-21,***,***,***,2021-04-20,kmar,Sr:273f,,,"
            "2022-02-01T10:30:00+01:00,false",
        ),
    ]
    assert rows(
        work_con, "select zaak_id, _line_number from raw.gps_verdachtezaken order by 2"
    ) == [(2001, 2), (2004, 6)]


def test_broken_gps_files_are_rejected_whole(deliver, ingest, work_con, home):
    cases = {
        "GPS_VERDACHTEZAKEN_20220501.csv": (
            "gps_wrong_header.csv",
            "header does not match the spec: column 5 is 'verdachte_geb_datum', expected "
            "'verdachte_geboortedatum'",
        ),
        "GPS_VERDACHTEZAKEN_20220502.csv": (
            "gps_undecodable.csv",
            "cannot decode as UTF-8: byte 0xFF at line 3 (byte offset 396)",
        ),
        "GPS_VERDACHTEZAKEN_20220503.csv": (
            "gps_unclosed_quote.csv",
            "the file has 3 data lines but the CSV reader found 2 records: a quoted field "
            "spans a line end or a quote is not closed (first line with an odd number of "
            "quotes: 3)",
        ),
    }
    for name, (source, _) in cases.items():
        deliver(f"gps/{source}", name)
    report = ingest()
    assert report.loaded == []
    entries = ledger(work_con)
    for name, (_, expected) in cases.items():
        status, _, loaded, _, reason = entries[name]
        assert (status, loaded) == ("rejected", 0)
        assert reason.startswith(expected), reason
        assert len(list((home / "quarantine" / "files").glob(f"*_{name}"))) == 1
    assert rows(work_con, "select count(*) from raw.gps_verdachtezaken") == [(0,)]
    assert rows(work_con, "select count(*) from meta.quarantined_rows") == [(0,)]
    # DuckDB's rejects table held records as delivered: it must be gone.
    assert rows(work_con, "select count(*) from duckdb_tables() where database_name = 'temp'") == [
        (0,)
    ]


def test_a_gps_file_without_a_pseudonym_key_is_refused(deliver, work_con, landing, home):
    deliver("gps/gps_valid.csv", GPS_VALID)
    with pytest.raises(PseudonymKeyError, match="no pseudonym key was given"):
        ingest_landing(
            work_con,
            landing,
            run_id="test-run-1",
            scratch=home / "scratch",
            quarantine_dir=home / "quarantine",
            progress=lambda line: None,
        )
    assert rows(work_con, "select count(*) from raw.gps_verdachtezaken") == [(0,)]


# --- personal data ------------------------------------------------------------------------

BSNS = ("123456782", "123456789", "111222333")
BIRTH_DATES = (date(1980, 1, 2), date(1975, 5, 6), date(1988, 9, 9), date(1979, 11, 11))
SURNAMES = ("hoëvenaar", "ho?venaar", "van der", "berg", "bakker", "jansen", "jans")


def _needles(key: bytes) -> list[str]:
    dates = [
        text
        for day in BIRTH_DATES
        for text in (
            day.isoformat(),
            f"{day:%Y%m%d}",
            f"{day:%d-%m-%Y}",
            f"{day:%d%m%Y}",
            f"{day:%d/%m/%Y}",
        )
    ]
    return [*BSNS, *dates, *SURNAMES, key.hex()]


def _personal_data_in_tables(con: duckdb.DuckDBPyConnection, needles: list[str]) -> list:
    """(database, schema, table, column, needle) wherever a column's text holds a needle."""
    columns = rows(
        con,
        "select database_name, schema_name, table_name, column_name "
        "from duckdb_columns() where not internal",
    )
    found = []
    for database, schema, table, column in columns:
        for needle in needles:
            hits = rows(
                con,
                f'select count(*) from "{database}"."{schema}"."{table}" '
                f'where contains(lower(cast("{column}" as varchar)), ?)',
                needle,
            )[0][0]
            if hits:
                found.append((database, schema, table, column, needle))
    return found


def test_no_table_holds_a_bsn_birth_date_or_surname_of_the_test_data(
    deliver, ingest, work_con, key
):
    # The search itself finds what it looks for (in any table, as text of any type).
    work_con.execute("create table scan_control as select date '1988-09-09' as born")
    assert _personal_data_in_tables(work_con, _needles(key)) == [
        ("warehouse", "main", "scan_control", "born", "1988-09-09")
    ]
    work_con.execute("drop table scan_control")

    for source in sorted((DATA / "compas").iterdir()):
        # Named after the header date; the file with the wrong header date a day later.
        day = int(source.read_bytes()[1:9]) + ("header_date_wrong" in source.name)
        deliver(f"compas/{source.name}", f"COMPAS_VERDZAKEN_{day}.DAT")
    for number, source in enumerate(sorted((DATA / "gps").iterdir()), start=1):
        deliver(f"gps/{source.name}", f"GPS_VERDACHTEZAKEN_202205{number:02d}.csv")
    report = ingest()
    assert len(report.loaded) == 4 and len(report.rejected) == 8
    assert rows(work_con, "select count(*) from meta.quarantined_rows") == [(7,)]
    tables = rows(work_con, "select count(distinct table_name) from duckdb_columns()")
    assert tables[0][0] >= 8  # raw.*, meta.*: every column of every table is searched
    assert _personal_data_in_tables(work_con, _needles(key)) == []


# --- COMPAS: every kind of record gives what the first version of the loader gave -------------


def _compas_medley() -> bytes:
    """A COMPAS snapshot of many kinds of records, sound and not (ISO-8859-1 bytes)."""
    sound = [
        line
        for line in (DATA / "compas" / "compas_valid.DAT").read_bytes().splitlines()
        + (DATA / "compas" / "compas_bad_rows.DAT").read_bytes().splitlines()
        if line[:1] == b"1" and len(line) == 100
    ]
    surnames = [
        b"Ho\xebvenaar", b"  van\xa0der   Berg ", b"Stra\xdfe", b"\xb5ller", b"O'Brien-Smit",
        b"\tDe  Vries\t", b"", b"JANSEN", b"jansen", b"M\xfcller\xa0\xa0",
    ]  # fmt: skip
    bsns = [b"123456782", b"         ", b"000000000", b"12345678 ", b"111222333", b"abcdefghi"]
    births = [b"19800102", b"19750506", b"19800230", b"1980010 ", b"        ", b"20001231"]
    records = []
    for number in range(600):
        base = bytearray(sound[number % len(sound)])
        base[14 - 1 : 14 - 1 + 9] = bsns[number % len(bsns)]
        base[23 - 1 : 23 - 1 + 8] = births[(number // 6) % len(births)]
        base[31 - 1 : 70] = surnames[(number // 3) % len(surnames)].ljust(40)
        if number % 7 == 0:
            base[71 - 1 : 78] = [b"20210315", b"20211345", b"        ", b"2021031x"][number % 4]
        if number % 11 == 0:
            base[92 - 1 : 99] = [b"        ", b"20210230", b"2021  01", b"20220101"][number % 4]
        if number % 13 == 0:
            base[99] = b"JNX "[number % 4]
        if number % 17 == 0:
            base[0] = ord("2")
        if number % 19 == 0:
            base[1:13] = b" " * 12
        if number % 23 == 0:
            cut = [0, 1, 13, 30, 70, 99, 101, 150][number % 8]
            base = base[:cut] if cut <= 100 else base + b"x" * (cut - 100)
        records.append(bytes(base))
    header = b"0" + b"20220331".ljust(99)
    trailer = b"9" + str(len(records)).rjust(9, "0").encode().ljust(99)
    return b"\n".join([header, *records, trailer]) + b"\n"


# sha256 of the raw rows and quarantine of ``_compas_medley`` as loaded by the loader before
# its first speed-up (key b"k" * 32), so every later version must give the same.
COMPAS_MEDLEY_DIGEST = "67fa0ea094ad5d182b51680b1511bfb98052bebc9bf0e29779f8e4a50a31b368"


def _compas_medley_digest(work_con) -> str:
    raw = rows(
        work_con,
        "select * exclude (_run_id, _file_id) from raw.compas_verdachtezaken order by _line_number",
    )
    quarantine = rows(
        work_con,
        "select line_number, column_name, reason, raw_record from meta.quarantined_rows "
        "order by line_number",
    )
    return hashlib.sha256(repr((raw, quarantine)).encode()).hexdigest()


def test_a_compas_snapshot_of_every_kind_of_record_loads_as_it_always_did(landing, work_con, home):
    (landing / "COMPAS_VERDZAKEN_20220331.DAT").write_bytes(_compas_medley())
    report = ingest_landing(
        work_con,
        landing,
        run_id="medley",
        scratch=home / "scratch",
        quarantine_dir=home / "quarantine",
        progress=lambda line: None,
        pseudonym_key=b"k" * 32,
    )
    assert report.loaded == ["COMPAS_VERDZAKEN_20220331.DAT"]
    counts = "select rows_declared, rows_loaded, rows_quarantined from meta.file_ledger"
    assert rows(work_con, counts) == [(600, 172, 428)]
    assert _compas_medley_digest(work_con) == COMPAS_MEDLEY_DIGEST
