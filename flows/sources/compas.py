"""COMPAS, the OM's old case system: fixed-width ISO-8859-1 snapshots of suspect-cases.

DuckDB reads the files as lines (``encoding='latin-1'``), many snapshots in one scan; SQL
cuts the fields with ``substr``. Every distinct line of a scan is typed, checked and
pseudonymised once (``compas_batch_parsed``) and stored as a record version (decision 0009).

Personal fields (positions 14-70) become ``bsn_status`` and keyed pseudonyms
(flows/pseudonym.py) once per distinct identity block; a line kept as ``raw_record`` has
them masked by ``*`` (positions 14-d to 70+d in a record d characters off 100). Header and
trailer are judged per file (a file that fails them is rejected whole); a data record that
cannot be read is quarantined alone, its reason never quoting a personal field.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import NamedTuple

import duckdb

from flows.errors import DwhError
from flows.pseudonym import key_parameters, pseudonym_columns_sql, require_key
from flows.sources import common
from flows.sources.common import Admitted, Delivery, FileOutcome, PassFile, Scan, Tally
from flows.sources.engine import FILES, SCAN

SYSTEM = "compas"
ENTITY = "VERDZAKEN"
NAME_PATTERN = re.compile(r"^COMPAS_VERDZAKEN_(\d{8})\.DAT$")
VERSIONS_TABLE = "raw.compas_record_versions"
LINES_TABLE = "raw.compas_snapshot_lines"
RAW_TABLE = "raw.compas_verdachtezaken"
RECORD_LENGTH = 100
PERSONAL_FIRST, PERSONAL_LAST = 14, 70  # bsn, geboortedatum, achternaam
# Read by ingest: at most this many bytes of snapshots in one scan (memory: decision 0009).
BATCH_BYTES: int | None = 2 * 1024 * 1024 * 1024
COMPANIONS: tuple[str, ...] = ()
FILE_BY_FILE = False
# How a line of a scan finds its distinct text, the next key where two lines share one
# (decision 0009); in a temporary table only: an unkeyed digest of personal data.
LINE_KEYS = ("hash(line)", "md5_number(line)")
# ISO-8859-1 leaves 0x80-0x9F to control codes; DuckDB's latin-1 reader refuses them.
C1_BYTES = re.compile(rb"[\x80-\x9f]")
# The fields of a record version, with their types, in the order of the view's columns.
RECORD_COLUMNS = (
    ("parketnummer", "varchar not null"),
    ("person_pseudonym", "varchar not null"),
    ("name_pseudonym", "varchar not null"),
    ("bsn_status", "varchar not null"),
    ("instroomdatum", "date not null"),
    ("aanleverende_instantie", "varchar"),
    ("feitcode", "varchar"),
    ("afdoening", "varchar"),
    ("afdoeningsdatum", "date"),
    ("vervallen", "boolean not null"),
)
FIELDS = ", ".join(name for name, _ in RECORD_COLUMNS)


def recognise(path: Path) -> Delivery | None:
    return common.dated_delivery(path, NAME_PATTERN, SYSTEM, ENTITY)


def ensure_raw_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        f"""
        create schema if not exists raw;
        create table if not exists {VERSIONS_TABLE} (
            record_version_id bigint not null,
            {", ".join(f"{name} {kind}" for name, kind in RECORD_COLUMNS)},
            _run_id varchar not null
        );
        create table if not exists {LINES_TABLE} (
            _file_id bigint not null,
            _line_number bigint not null,
            record_version_id bigint not null,
            extraction_date date not null,
            _run_id varchar not null
        )
        """
    )
    kind = con.execute(
        "select table_type from information_schema.tables "
        "where table_schema = 'raw' and table_name = 'compas_verdachtezaken'"
    ).fetchone()
    if kind and kind[0] == "BASE TABLE":
        _move_rows_of_the_former_table(con)
    con.execute(
        f"""
        create view if not exists {RAW_TABLE} as
        select
            {", ".join(f"versions.{name}" for name, _ in RECORD_COLUMNS)},
            lines.extraction_date, lines._file_id, lines._line_number, lines._run_id
        from {LINES_TABLE} as lines
        inner join {VERSIONS_TABLE} as versions using (record_version_id)
        """
    )


def _move_rows_of_the_former_table(con: duckdb.DuckDBPyConnection) -> None:
    """A warehouse from before the versions: its table of one row per delivered record
    becomes a version per row and that row's line, then the view takes its name."""
    con.execute("begin transaction")
    try:
        con.execute(
            f"""
            insert into {VERSIONS_TABLE} select rowid + 1, {FIELDS}, _run_id from {RAW_TABLE};
            insert into {LINES_TABLE}
            select _file_id, _line_number, rowid + 1, extraction_date, _run_id
            from {RAW_TABLE};
            drop table {RAW_TABLE}
            """
        )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise


def delete_file_rows(con: duckdb.DuckDBPyConnection, file_id: int) -> None:
    """Remove a file's records, and the versions no other file holds."""
    con.execute(f"delete from {LINES_TABLE} where _file_id = ?", [file_id])
    con.execute(
        f"""
        delete from {VERSIONS_TABLE}
        where record_version_id not in (select record_version_id from {LINES_TABLE})
        """
    )


def _locate_c1_byte(path: Path) -> str:
    """Line and byte offset of the first byte 0x80-0x9F (bytes in, no decoding)."""
    for chunk, offset, newlines in common.chunks(path):
        found = C1_BYTES.search(chunk)
        if found:
            return common.byte_position(chunk, found.start(), offset, newlines)
    return "a byte DuckDB could not read"


def _date_sql(text: str) -> str:
    """SQL: a ``JJJJMMDD`` text as a DATE, NULL when it is not one."""
    return (
        f"case when regexp_full_match({text}, '[0-9]{{8}}') "
        f"then try_strptime({text}, '%Y%m%d')::date end"
    )


def _date_problem(column: str, first: int, *, optional: bool) -> str:
    """SQL: the problem branch of a case for the typed ``JJJJMMDD`` field ``column``,
    delivered at position ``first``."""
    text = f"substr(line, {first}, 8)"
    blank_ok = f"trim({text}) <> '' and " if optional else ""
    return (
        f"when {blank_ok}{column} is null "
        f"then '{column}|malformed date (expected JJJJMMDD): ''' || {text} || ''''"
    )


def _read_sql(files: str) -> str:
    """SQL: the lines of ``files`` (a list literal), in order, with the index of their file."""
    return f"""
        select file_index, coalesce(line, '') as line
        from {common.line_reader_sql(files, encoding="'latin-1'")}
    """


def _parsed_sql(files: str, line_key: str) -> str:
    """SQL: every distinct line of the scan once, with its key, typed, pseudonymised and
    checked."""
    length = "length(line)"
    spread = f"abs({length} - {RECORD_LENGTH})"
    first = f"greatest(2, {PERSONAL_FIRST} - {spread})"
    last = f"least({length}, {PERSONAL_LAST} + {spread})"
    masked = f"""case when {last} >= {first}
        then substr(line, 1, {first} - 1) || repeat('*', {last} - {first} + 1)
             || substr(line, {last} + 1)
        else line end"""
    block = f"substr(line, {PERSONAL_FIRST}, {PERSONAL_LAST - PERSONAL_FIRST + 1})"
    birth = _date_sql("substr(block, 10, 8)")
    return f"""
        with compas_batch_distinct as materialized (
            select {line_key} as line_key, line
            from (select distinct line from ({_read_sql(files)}) as scan) as distinct_lines
        ),
        identities as (
            select
                block,
                {birth} is not null as birth_date_readable,
                {pseudonym_columns_sql("substr(block, 1, 9)", birth, "substr(block, 18, 40)")}
            from (select distinct {block} as block from compas_batch_distinct) as blocks
        ),
        fields as (
            select
                distinct_lines.line_key,
                distinct_lines.line,
                {length} as record_length,
                left(distinct_lines.line, 1) as record_type,
                nullif(trim(substr(distinct_lines.line, 2, 12)), '') as parketnummer,
                identities.* exclude (block),
                {_date_sql("substr(distinct_lines.line, 71, 8)")} as instroomdatum,
                nullif(trim(substr(distinct_lines.line, 79, 4)), '') as aanleverende_instantie,
                nullif(trim(substr(distinct_lines.line, 83, 6)), '') as feitcode,
                nullif(trim(substr(distinct_lines.line, 89, 3)), '') as afdoening,
                {_date_sql("substr(distinct_lines.line, 92, 8)")} as afdoeningsdatum,
                case substr(distinct_lines.line, 100, 1) when 'J' then true when 'N' then false
                end as vervallen
            from compas_batch_distinct as distinct_lines
            inner join identities on {block} = identities.block
        ),
        checked as (
            select
                *,
                case
                    when record_length <> {RECORD_LENGTH} then '(record)|record of '
                        || record_length || ' characters, expected {RECORD_LENGTH}'
                    when record_type <> '1' then '(record)|unknown record type '''
                        || record_type || ''' (expected 1)'
                    when parketnummer is null then 'parketnummer|key is empty'
                    when not birth_date_readable then 'geboortedatum|malformed date (expected '
                        || 'JJJJMMDD; the value is personal data and not shown)'
                    {_date_problem("instroomdatum", 71, optional=False)}
                    {_date_problem("afdoeningsdatum", 92, optional=True)}
                    when vervallen is null
                        then 'vervallen|expected J or N, got ''' || substr(line, 100, 1) || ''''
                end as problem
            from fields
        )
        select
            * exclude (line, birth_date_readable),
            case when problem is not null then {masked} end as raw_record
        from checked
    """


class _Summary(NamedTuple):
    """What the header and trailer checks need of one file of a scan."""

    lines: int
    header: tuple[str, int, str | None]  # record type, length, positions 2-9
    trailer: tuple[str, int, str | None]  # record type, length, positions 2-10
    misplaced_trailer: int | None  # line number of a '9' record before the last line
    second_header: int | None  # line number of a '0' record after the first line


def _summaries(con: duckdb.DuckDBPyConnection) -> dict[int, _Summary]:
    rows = con.execute(
        """
        with files as (
            select
                file_index, count(*) as lines, min(rowid) as first_index,
                max(rowid) as last_index, arg_min(line_key, rowid) as first_key,
                arg_max(line_key, rowid) as last_key
            from pass_scan group by file_index
        ),
        misplaced as (
            select
                files.file_index,
                min(lines.rowid) filter (
                    where marks.record_type = '9' and lines.rowid < files.last_index
                ) - any_value(files.first_index) + 1 as trailer_at,
                min(lines.rowid) filter (
                    where marks.record_type = '0' and lines.rowid > files.first_index
                ) - any_value(files.first_index) + 1 as header_at
            from pass_scan as lines
            inner join files using (file_index)
            inner join compas_batch_parsed as marks using (line_key)
            where marks.record_type in ('0', '9')
            group by files.file_index
        )
        select
            files.file_index, files.lines,
            head.record_type, head.record_length, substr(head.raw_record, 2, 8),
            tail.record_type, tail.record_length, substr(tail.raw_record, 2, 9),
            misplaced.trailer_at, misplaced.header_at
        from files
        inner join compas_batch_parsed as head on files.first_key = head.line_key
        inner join compas_batch_parsed as tail on files.last_key = tail.line_key
        left join misplaced using (file_index)
        """
    ).fetchall()
    return {row[0]: _Summary(row[1], row[2:5], row[5:8], row[8], row[9]) for row in rows}


def _check_header_and_trailer(summary: _Summary | None, extraction: date) -> int | FileOutcome:
    """The declared records when header and trailer are right, else the rejection."""
    if summary is None:
        return FileOutcome.rejected("file is empty: no header record")
    total = summary.lines
    record_type, length, stamp = summary.header
    if record_type != "0" or length != RECORD_LENGTH:
        return FileOutcome.rejected(
            f"line 1 is not a header record '0<JJJJMMDD>' of {RECORD_LENGTH} characters "
            f"(record type '{record_type}', {length} characters)"
        )
    stamp = stamp or ""
    # In Python, not SQL: DuckDB takes '00000101' for a date (decision 0013, Measured).
    header_date = common.date_of(stamp)
    if header_date is None:
        return FileOutcome.rejected(f"header extraction date '{stamp}' is not a date JJJJMMDD")
    if header_date != extraction:
        return FileOutcome.rejected(
            f"header extraction date {header_date:%Y%m%d} differs from the date in the "
            f"file name {extraction:%Y%m%d}"
        )
    if summary.misplaced_trailer is not None:
        return FileOutcome.rejected(
            f"trailer found at line {summary.misplaced_trailer}, it must be the last line"
        )
    if summary.second_header is not None:
        return FileOutcome.rejected(f"second header found at line {summary.second_header}")

    record_type, length, count = summary.trailer
    count = count or ""
    trailer = record_type == "9" and length == RECORD_LENGTH and re.fullmatch(r"[0-9]{9}", count)
    if total < 2 or not trailer:
        return FileOutcome.rejected(
            f"no valid trailer '9<count of 9 digits>' of {RECORD_LENGTH} characters on the "
            f"last line (line {total}: record type '{record_type}', {length} characters)"
        )
    declared = int(count)
    if declared != total - 2:
        return FileOutcome.rejected(
            f"trailer declares {declared} data records, the file has {total - 2} "
            f"between header and trailer",
            rows_declared=declared,
        )
    return declared


def admit(file: PassFile) -> Admitted:
    """Nothing to check before reading but the key: header and trailer come from the scan."""
    require_key(file.ctx.pseudonym_key, file.delivery.name)
    return Admitted(file)


def unreadable(file: Admitted, exc: duckdb.Error) -> FileOutcome:
    if "latin-1" in str(exc):
        return FileOutcome.rejected(
            f"cannot decode as ISO-8859-1: {_locate_c1_byte(file.delivery.path)}; "
            f"bytes 0x80-0x9F are control codes, not text"
        )
    return FileOutcome.rejected(f"cannot read as ISO-8859-1 text lines: {exc}")


def scan(con: duckdb.DuckDBPyConnection, files: Sequence[Admitted]) -> Scan:
    """Many snapshots in one scan (a byte the latin-1 reader refuses, in any file, is a
    DuckDB error): the distinct lines parsed first, then the lines of the scan, which the
    records join by their key; header and trailer judged per file; the records of the sound
    files stored as versions and lines (decision 0009)."""
    key = require_key(files[0].ctx.pseudonym_key, files[0].delivery.name)
    paths = common.paths_sql(files)
    for line_key in LINE_KEYS:
        con.execute(
            f"create or replace temp table compas_batch_parsed as {_parsed_sql(paths, line_key)}",
            key_parameters(key),
        )
        row = con.execute(
            "select count(*) = count(distinct line_key) from compas_batch_parsed"
        ).fetchone()
        if row and row[0]:
            break  # every distinct line has a key of its own
    else:
        names = [file.delivery.name for file in files]
        raise DwhError(
            f"two different COMPAS lines share a key under {' and '.join(LINE_KEYS)} in "
            f"a scan of {len(names)} snapshot(s) ({names[0]} .. {names[-1]}); nothing "
            f"of them was stored"
        )

    def judge(tallies: Sequence[Tally]) -> list[int | FileOutcome]:
        summaries = _summaries(con)
        return [
            _check_header_and_trailer(summaries.get(index), file.delivery.delivery_date)
            for index, file in enumerate(files)
        ]

    return Scan(
        files,
        # Per line its file and key; the rowid of the scan table is the line's place.
        f"select file_index, {line_key} as line_key from ({_read_sql(paths)}) as scan",
        LINES_TABLE,
        (),
        frame=1,  # header and trailer
        joins="""inner join (
            select rowid as parsed_index, line_key, problem, raw_record
            from compas_batch_parsed
        ) as parsed using (line_key)""",
        judge=judge,
        store=lambda records: _store(con, files, records),
    )


def _store(con: duckdb.DuckDBPyConnection, files: Sequence[Admitted], records: str) -> int:
    """Store the sound ``records`` of the kept files: their versions, then their lines."""
    # Ids follow every id given out before; a version is stored only when a kept file
    # holds it (decision 0009).
    (base,) = con.execute(
        f"""
        select coalesce(max(record_version_id), 0)
            - (select coalesce(min(rowid), 0) from compas_batch_parsed) + 1
        from {VERSIONS_TABLE}
        """
    ).fetchone() or (0,)
    (kept,) = con.execute(f"select count(*) from {FILES}").fetchone() or (0,)
    held = (
        ""
        if kept == len(files)
        else f"""and line_key in (
            select line_key from {SCAN} where file_index in (select file_index from {FILES})
        )"""
    )
    con.execute(
        f"""
        insert into {VERSIONS_TABLE}
        select {base} + rowid as record_version_id, {FIELDS}, $run_id
        from compas_batch_parsed
        where problem is null {held}
        """,
        {"run_id": files[0].ctx.run_id},
    )
    (stored,) = con.execute(
        f"""
        insert into {LINES_TABLE}
        select file_id, line_number, {base} + parsed_index, delivery_date, run_id
        from ({records}) as records where problem is null
        """
    ).fetchone() or (0,)
    return int(stored)
