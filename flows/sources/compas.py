"""COMPAS, the OM's old case system: fixed-width ISO-8859-1 snapshots of suspect-cases.

DuckDB reads the file as lines (one VARCHAR column, no delimiter or quoting,
``encoding='latin-1'``) and numbers them; SQL cuts the fields with ``substr``. In that same
first statement the personal fields (BSN, birth date, surname: positions 14-70) become
``bsn_status`` and keyed pseudonyms (flows/pseudonym.py) and are masked with ``*`` in the
line, so no table, not even a temporary one, holds them. A record of another length has
shifted fields: there positions 14-d to 70+d are masked, d the difference from 100.

Header (``0`` + extraction date) and trailer (``9`` + count, the last line) are checked
first; a file that fails them is rejected whole. A data record that cannot be read
(length, record type, a date, ``vervallen``) is quarantined alone; the reason never
quotes a personal field. ``vervallen`` is stored as a BOOLEAN (``J`` true, ``N`` false);
codes stay as delivered, without their blank padding; blank optional fields are NULL.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

import duckdb

from flows.errors import RejectedFile
from flows.pseudonym import key_parameters, pseudonym_columns_sql, require_key
from flows.sources.common import (
    CHUNK,
    Delivery,
    LoadContext,
    LoadResult,
    dated_delivery,
    quarantine_rows,
    sql_literal,
)

SYSTEM = "compas"
ENTITY = "VERDZAKEN"
NAME_PATTERN = re.compile(r"^COMPAS_VERDZAKEN_(\d{8})\.DAT$")
RAW_TABLE = "raw.compas_verdachtezaken"
RECORD_LENGTH = 100
PERSONAL_FIRST, PERSONAL_LAST = 14, 70  # bsn, geboortedatum, achternaam
# Four control characters as the "delimiter": no line is ever split into fields.
NO_DELIMITER = "chr(28) || chr(29) || chr(30) || chr(31)"
# ISO-8859-1 leaves 0x80-0x9F to control codes; DuckDB's latin-1 reader refuses them.
C1_BYTES = re.compile(rb"[\x80-\x9f]")


def recognise(path: Path) -> Delivery | None:
    return dated_delivery(path, NAME_PATTERN, SYSTEM, ENTITY)


def ensure_raw_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists raw")
    con.execute(
        f"""
        create table if not exists {RAW_TABLE} (
            parketnummer varchar not null,
            person_pseudonym varchar not null,
            name_pseudonym varchar not null,
            bsn_status varchar not null,
            instroomdatum date not null,
            aanleverende_instantie varchar,
            feitcode varchar,
            afdoening varchar,
            afdoeningsdatum date,
            vervallen boolean not null,
            extraction_date date not null,
            _file_id bigint not null,
            _line_number bigint not null,
            _run_id varchar not null
        )
        """
    )


def delete_file_rows(con: duckdb.DuckDBPyConnection, file_id: int) -> None:
    con.execute(f"delete from {RAW_TABLE} where _file_id = ?", [file_id])


def _locate_c1_byte(path: Path) -> str:
    """Line and byte offset of the first byte 0x80-0x9F (bytes in, no decoding)."""
    newlines = 0
    offset = 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            found = C1_BYTES.search(chunk)
            if found:
                line = newlines + chunk[: found.start()].count(b"\n") + 1
                return (
                    f"byte 0x{chunk[found.start()]:02X} at line {line} "
                    f"(byte offset {offset + found.start()})"
                )
            newlines += chunk.count(b"\n")
            offset += len(chunk)
    return "a byte DuckDB could not read"


def _read_masked_lines(delivery: Delivery, ctx: LoadContext, key: bytes) -> None:
    """Temp table compas_lines: every line numbered, personal fields replaced (see above)."""
    length = "length(line)"
    spread = f"abs({length} - {RECORD_LENGTH})"
    first = f"greatest(2, {PERSONAL_FIRST} - {spread})"
    last = f"least({length}, {PERSONAL_LAST} + {spread})"
    masked = f"""case when {last} >= {first}
        then substr(line, 1, {first} - 1) || repeat('*', {last} - {first} + 1)
             || substr(line, {last} + 1)
        else line end"""
    birth = "substr(line, 23, 8)"
    try:
        ctx.con.execute(
            f"""
            create or replace temp table compas_lines as
            with lines as (
                select row_number() over () as line_number, coalesce(line, '') as line
                from read_csv(
                    {sql_literal(str(delivery.path))}, columns = {{'line': 'VARCHAR'}},
                    delim = {NO_DELIMITER}, quote = '', escape = '', header = false,
                    auto_detect = false, encoding = 'latin-1', strict_mode = false
                )
            ),
            fields as (
                select
                    line_number,
                    line,
                    substr(line, 14, 9) as bsn,
                    case when regexp_full_match({birth}, '[0-9]{{8}}')
                        then try_strptime({birth}, '%Y%m%d')::date end as geboortedatum,
                    substr(line, 31, 40) as achternaam
                from lines
            )
            select
                line_number,
                {length} as record_length,
                left(line, 1) as record_type,
                {masked} as line,
                geboortedatum is not null as birth_date_readable,
                {pseudonym_columns_sql("bsn", "geboortedatum", "achternaam")}
            from fields
            """,
            key_parameters(key),
        )
    except duckdb.Error as exc:
        if "latin-1" in str(exc):
            raise RejectedFile(
                f"cannot decode as ISO-8859-1: {_locate_c1_byte(delivery.path)}; "
                f"bytes 0x80-0x9F are control codes, not text"
            ) from exc
        raise RejectedFile(f"cannot read as ISO-8859-1 text lines: {exc}") from exc


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = con.execute(sql).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _check_header_and_trailer(con: duckdb.DuckDBPyConnection, extraction: date) -> tuple[int, int]:
    """Reject the file unless header and trailer are right; return (lines, declared records)."""
    total = _count(con, "select count(*) from compas_lines")
    if total == 0:
        raise RejectedFile("file is empty: no header record")
    header = con.execute(
        "select record_type, record_length, substr(line, 2, 8) from compas_lines "
        "where line_number = 1"
    ).fetchone()
    assert header is not None
    record_type, length, stamp = header
    if record_type != "0" or length != RECORD_LENGTH:
        raise RejectedFile(
            f"line 1 is not a header record '0<JJJJMMDD>' of {RECORD_LENGTH} characters "
            f"(record type '{record_type}', {length} characters)"
        )
    try:
        header_date = (
            datetime.strptime(stamp, "%Y%m%d").date() if re.fullmatch(r"[0-9]{8}", stamp) else None
        )
    except ValueError:
        header_date = None
    if header_date is None:
        raise RejectedFile(f"header extraction date '{stamp}' is not a date JJJJMMDD")
    if header_date != extraction:
        raise RejectedFile(
            f"header extraction date {header_date:%Y%m%d} differs from the date in the "
            f"file name {extraction:%Y%m%d}"
        )

    misplaced = con.execute(
        f"""
        select min(line_number) filter (where record_type = '9' and line_number < {total}),
               min(line_number) filter (where record_type = '0' and line_number > 1)
        from compas_lines
        """
    ).fetchone()
    assert misplaced is not None
    if misplaced[0] is not None:
        raise RejectedFile(f"trailer found at line {misplaced[0]}, it must be the last line")
    if misplaced[1] is not None:
        raise RejectedFile(f"second header found at line {misplaced[1]}")

    trailer = con.execute(
        f"select record_type, record_length, substr(line, 2, 9) from compas_lines "
        f"where line_number = {total}"
    ).fetchone()
    assert trailer is not None
    record_type, length, count = trailer
    if (
        total < 2
        or record_type != "9"
        or length != RECORD_LENGTH
        or not re.fullmatch(r"[0-9]{9}", count)
    ):
        raise RejectedFile(
            f"no valid trailer '9<count of 9 digits>' of {RECORD_LENGTH} characters on the "
            f"last line (line {total}: record type '{record_type}', {length} characters)"
        )
    declared = int(count)
    if declared != total - 2:
        raise RejectedFile(
            f"trailer declares {declared} data records, the file has {total - 2} "
            f"between header and trailer",
            rows_declared=declared,
        )
    return total, declared


def _date_check(column: str, first: int, *, optional: bool) -> tuple[str, str]:
    """SQL for a ``JJJJMMDD`` field: (parsed value, problem branch of a case)."""
    text = f"substr(line, {first}, 8)"
    parsed = (
        f"case when regexp_full_match({text}, '[0-9]{{8}}') "
        f"then try_strptime({text}, '%Y%m%d')::date end"
    )
    blank_ok = f"trim({text}) <> '' and " if optional else ""
    problem = (
        f"when {blank_ok}({parsed}) is null "
        f"then '{column}|malformed date (expected JJJJMMDD): ''' || {text} || ''''"
    )
    return parsed, problem


def load(delivery: Delivery, ctx: LoadContext) -> LoadResult:
    key = require_key(ctx.pseudonym_key, delivery.name)
    con = ctx.con
    _read_masked_lines(delivery, ctx, key)
    total, declared = _check_header_and_trailer(con, delivery.delivery_date)

    instroom, instroom_problem = _date_check("instroomdatum", 71, optional=False)
    afdoening_date, afdoening_date_problem = _date_check("afdoeningsdatum", 92, optional=True)
    con.execute(
        f"""
        create or replace temp table compas_checked as
        select
            line_number,
            nullif(trim(substr(line, 2, 12)), '') as parketnummer,
            person_pseudonym,
            name_pseudonym,
            bsn_status,
            {instroom} as instroomdatum,
            nullif(trim(substr(line, 79, 4)), '') as aanleverende_instantie,
            nullif(trim(substr(line, 83, 6)), '') as feitcode,
            nullif(trim(substr(line, 89, 3)), '') as afdoening,
            {afdoening_date} as afdoeningsdatum,
            case substr(line, 100, 1) when 'J' then true when 'N' then false end as vervallen,
            case
                when record_length <> {RECORD_LENGTH} then '(record)|record of '
                    || record_length || ' characters, expected {RECORD_LENGTH}'
                when record_type <> '1' then '(record)|unknown record type ''' || record_type
                    || ''' (expected 1)'
                when nullif(trim(substr(line, 2, 12)), '') is null then 'parketnummer|key is empty'
                when not birth_date_readable then 'geboortedatum|malformed date (expected '
                    || 'JJJJMMDD; the value is personal data and not shown)'
                {instroom_problem}
                {afdoening_date_problem}
                when substr(line, 100, 1) not in ('J', 'N') then 'vervallen|expected J or N, got '''
                    || substr(line, 100, 1) || ''''
            end as problem,
            line as raw_record
        from compas_lines
        where line_number between 2 and {total - 1}
        """
    )
    quarantined = quarantine_rows(
        ctx,
        delivery.name,
        """
        select line_number, split_part(problem, '|', 1) as column_name,
               substr(problem, strpos(problem, '|') + 1) as reason, raw_record
        from compas_checked where problem is not null
        """,
    )
    con.execute(
        f"""
        insert into {RAW_TABLE}
        select parketnummer, person_pseudonym, name_pseudonym, bsn_status, instroomdatum,
               aanleverende_instantie, feitcode, afdoening, afdoeningsdatum, vervallen,
               ?, ?, line_number, ?
        from compas_checked where problem is null
        order by line_number
        """,
        [delivery.delivery_date, ctx.file_id, ctx.run_id],
    )
    loaded = _count(con, "select count(*) from compas_checked where problem is null")
    con.execute("drop table if exists compas_lines; drop table if exists compas_checked")
    return LoadResult(rows_declared=declared, rows_loaded=loaded, rows_quarantined=quarantined)
