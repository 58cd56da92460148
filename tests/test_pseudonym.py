"""Keyed pseudonyms: the SQL HMAC equals Python's, one person gets one pseudonym across
COMPAS and GPS, an invalid BSN falls back to birth date and surname, the key stays secret."""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
import unicodedata
from pathlib import Path

import duckdb
import pytest

from flows.ingest import ingest_landing
from flows.pseudonym import (
    PseudonymKeyError,
    bsn_status_sql,
    hmac_sha256_sql,
    key_parameters,
    load_or_create_key,
    normalised_surname_sql,
)
from flows.settings import Settings
from flows.sources.common import LoadContext

from conftest import rows

KEY = bytes.fromhex("8f" * 16 + "00" * 8 + "a5" * 8)


def python_hmac(key: bytes, message: str) -> str:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).hexdigest()


def python_casefold_surname(text: str) -> str:
    """The reference the SQL normalisation must equal: collapse spaces, NFC, casefold."""
    return unicodedata.normalize("NFC", " ".join(text.split())).casefold()


def sql_values(expression: str, values: list[str], key: bytes = KEY) -> list[str]:
    con = duckdb.connect()
    result = con.execute(
        f"select {expression} from unnest($values) with ordinality as t(value, n) order by n",
        {"values": values, **(key_parameters(key) if "$hmac" in expression else {})},
    ).fetchall()
    return [row[0] for row in result]


def test_hmac_computed_in_sql_equals_python_hmac():
    messages = [
        "bsn:123456782",
        "gbn:1980-01-02:hoëvenaar",
        "gbn:1991-12-31:çelik",
        'gbn:1988-09-09:bakker, "jr"',
        "gbn:1970-07-07:lynden tot sandenburg-hoëvenaar, van",
        "",
    ]
    for key in (KEY, os.urandom(32), b"short key", os.urandom(100)):
        expected = [python_hmac(key, message) for message in messages]
        assert sql_values(hmac_sha256_sql("value"), messages, key) == expected


def test_surname_normalisation_in_sql_equals_python_casefold_on_latin1_letters():
    letters = [chr(code) for code in range(0xC0, 0x100) if chr(code).isalpha()]
    names = [
        "  van  der\u00a0Berg ",
        "HOE\u0308VENAAR",  # decomposed Ë becomes one character
        "Großmann",
        "\tD'Ancona\n",
        *("Na" + letter + "me" for letter in letters),
    ]
    assert sql_values(normalised_surname_sql("value"), names) == [
        python_casefold_surname(name) for name in names
    ]
    assert sql_values(normalised_surname_sql("value"), names[:3]) == [
        "van der berg",
        "hoëvenaar",
        "grossmann",
    ]


def test_bsn_status_follows_the_elfproef():
    bsns = ["123456782", "111222333", "123456789", "000000000", "12345678", "1234567820", "",
            "   ", "12345678A"]  # fmt: skip
    assert sql_values(bsn_status_sql("value"), bsns) == [
        "valid",
        "valid",
        "invalid",  # 9 digits, fails the elfproef
        "invalid",  # passes the sum, but all zeros
        "invalid",
        "invalid",
        "missing",
        "missing",
        "invalid",
    ]


@pytest.fixture
def ingested(home: Path, landing: Path, work_con: duckdb.DuckDBPyConnection, deliver) -> bytes:
    deliver("compas/compas_valid.DAT", "COMPAS_VERDZAKEN_20220131.DAT")
    deliver("gps/gps_valid.csv", "GPS_VERDACHTEZAKEN_20220421.csv")
    key = load_or_create_key(Settings().pseudonym_key)
    ingest_landing(
        work_con,
        landing,
        run_id="test-run-1",
        scratch=home / "scratch",
        quarantine_dir=home / "quarantine",
        progress=lambda line: None,
        pseudonym_key=key,
    )
    return key


def test_the_same_person_gets_the_same_pseudonym_in_compas_and_gps(ingested, work_con):
    pairs = rows(
        work_con,
        """
        select compas.parketnummer, gps.zaak_id, compas.bsn_status, gps.bsn_status,
               compas.person_pseudonym = gps.person_pseudonym,
               compas.name_pseudonym = gps.name_pseudonym
        from raw.compas_verdachtezaken as compas
        inner join raw.gps_verdachtezaken as gps
            on gps.zaak_id = case compas.parketnummer
                when '16/100001-21' then 2001  -- valid BSN, a new parketnummer in GPS
                when '16/100002-21' then 2002  -- no BSN; GPS spaces the surname differently
                when '16/100003-21' then 2003  -- invalid BSN; GPS quotes 'Bakker, "jr"'
                when '15/100004-21' then 2004  -- valid BSN; COMPAS Jansen, GPS JANSEN
            end
        where gps._line_number <> 5
        order by 1
        """,
    )
    assert pairs == [
        ("15/100004-21", 2004, "valid", "valid", True, True),
        ("16/100001-21", 2001, "valid", "valid", True, True),
        ("16/100002-21", 2002, "missing", "missing", True, True),
        ("16/100003-21", 2003, "invalid", "invalid", True, True),
    ]
    assert rows(
        work_con,
        """
        select count(distinct person_pseudonym) from (
            select person_pseudonym from raw.compas_verdachtezaken
            union all select person_pseudonym from raw.gps_verdachtezaken
        )
        """,
    ) == [(4,)]


def test_an_invalid_bsn_is_flagged_and_falls_back_to_birth_date_and_surname(ingested, work_con):
    key = ingested
    row = rows(
        work_con,
        "select bsn_status, person_pseudonym from raw.compas_verdachtezaken "
        "where parketnummer = '16/100003-21'",
    )
    assert row == [("invalid", python_hmac(key, 'gbn:1988-09-09:bakker, "jr"'))]
    assert row[0][1] != python_hmac(key, "bsn:123456789")


def test_a_valid_bsn_decides_regardless_of_name(ingested, work_con):
    key = ingested
    assert rows(
        work_con,
        "select person_pseudonym, name_pseudonym from raw.compas_verdachtezaken "
        "where parketnummer = '15/100004-21'",
    ) == [(python_hmac(key, "bsn:111222333"), python_hmac(key, "gbn:1979-11-11:jansen"))]


def test_the_key_file_is_created_once_with_mode_0600(tmp_path):
    path = tmp_path / "home" / "secrets" / "pseudonym.key"
    previous = os.umask(0)  # even a permissive umask must not widen the mode
    try:
        key = load_or_create_key(path)
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(key) == 32
    assert path.read_text(encoding="ascii") == key.hex() + "\n"
    assert load_or_create_key(path) == key
    assert [p.name for p in path.parent.iterdir()] == ["pseudonym.key"]


def test_a_damaged_key_file_is_refused_rather_than_replaced(tmp_path):
    path = tmp_path / "pseudonym.key"
    path.write_text("not hex\n", encoding="ascii")
    with pytest.raises(PseudonymKeyError, match="does not hold 32 bytes as hex"):
        load_or_create_key(path)
    assert path.read_text(encoding="ascii") == "not hex\n"


def test_the_key_is_not_shown_in_the_load_context(tmp_path):
    ctx = LoadContext(
        con=duckdb.connect(),
        file_id=1,
        run_id="r",
        scratch=tmp_path,
        sha256="0",
        pseudonym_key=KEY,
    )
    assert KEY.hex() not in repr(ctx) and repr(KEY) not in repr(ctx)
