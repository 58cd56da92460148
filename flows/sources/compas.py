"""COMPAS, the OM's old case system: fixed-width ISO-8859-1 snapshots of suspect-cases.

DuckDB reads the files as lines (one VARCHAR column, no delimiter or quoting,
``encoding='latin-1'``), many snapshots in one scan (``load_batch``; ``load`` is a scan of
one). Each line carries its file (``file_index``) and its place in the scan
(``global_index``): DuckDB keeps the files and their lines in order, so a line's number in
its file is its place minus the place of the file's first line, plus one. SQL cuts the
fields with ``substr``.

Personal fields (BSN, birth date, surname: positions 14-70) become ``bsn_status`` and
keyed pseudonyms (flows/pseudonym.py) in that same first statement: once per distinct
identity block of the scan, not per line (a person is in every snapshot of a scan), then
joined back to the lines on the block. No table, not even a temporary one, holds them:
what the statement stores are the typed other fields, the pseudonyms, and, for the lines
that are not sound data records (header, trailer, the ones quarantined), the line with the
personal positions masked by ``*``. A record of another length has shifted fields: there
positions 14-d to 70+d are masked, d the difference from 100.

Header (``0`` + extraction date) and trailer (``9`` + count, the last line) are checked per
file from one summary query; a file that fails them is rejected whole. A data record that
cannot be read (length, record type, a date, ``vervallen``) is quarantined alone; the
reason never quotes a personal field. ``vervallen`` is stored as a BOOLEAN (``J`` true,
``N`` false); codes stay as delivered, without their blank padding; blank optional fields
are NULL.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
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
    drop_tables,
    insert_values,
    quarantine_pass_rows,
    sql_literal,
)

SYSTEM = "compas"
ENTITY = "VERDZAKEN"
NAME_PATTERN = re.compile(r"^COMPAS_VERDZAKEN_(\d{8})\.DAT$")
RAW_TABLE = "raw.compas_verdachtezaken"
RECORD_LENGTH = 100
PERSONAL_FIRST, PERSONAL_LAST = 14, 70  # bsn, geboortedatum, achternaam
# Read by ingest: at most this many bytes of snapshots in one scan (the first file always).
# The more snapshots a scan holds, the fewer times a person's pseudonyms are computed; a
# scan of 256 MB keeps the process near 2 GiB (scale 10).
BATCH_BYTES = 256 * 1024 * 1024
BATCH_TABLES = ("compas_batch_checked", "compas_batch_files")
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


def _checked_sql(files: str) -> str:
    """SQL: every line of ``files`` (a list literal) typed, pseudonymised and checked."""
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
        with lines as materialized (
            select
                file_index,
                row_number() over () as global_index,
                coalesce(line, '') as line
            from read_csv(
                {files}, columns = {{'line': 'VARCHAR'}},
                delim = {NO_DELIMITER}, quote = '', escape = '', header = false,
                auto_detect = false, encoding = 'latin-1', strict_mode = false
            )
        ),
        distinct_lines as (select distinct line from lines),
        identities as (
            select
                block,
                {birth} is not null as birth_date_readable,
                {pseudonym_columns_sql("substr(block, 1, 9)", birth, "substr(block, 18, 40)")}
            from (select distinct {block} as block from distinct_lines) as blocks
        ),
        fields as (
            select
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
            from distinct_lines inner join identities on {block} = identities.block
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
        ),
        parsed as (
            select
                * exclude (birth_date_readable),
                case when problem is not null then {masked} end as raw_record
            from checked
        )
        select lines.file_index, lines.global_index, parsed.* exclude (line)
        from lines inner join parsed using (line)
    """


@dataclass(frozen=True)
class _Summary:
    """What the header and trailer checks need of one file of a scan."""

    lines: int
    first_index: int
    header: tuple[str, int, str | None]  # record type, length, positions 2-9
    trailer: tuple[str, int, str | None]  # record type, length, positions 2-10
    misplaced_trailer: int | None  # line number of a '9' record before the last line
    second_header: int | None  # line number of a '0' record after the first line


def _summaries(con: duckdb.DuckDBPyConnection) -> dict[int, _Summary]:
    found = {}
    for row in con.execute(
        """
        with files as (
            select file_index, count(*) as lines, min(global_index) as first_index,
                   max(global_index) as last_index
            from compas_batch_checked group by file_index
        )
        select
            files.file_index, files.lines, files.first_index, files.last_index,
            arg_min(checked.record_type, checked.global_index),
            arg_min(checked.record_length, checked.global_index),
            arg_min(substr(checked.raw_record, 2, 8), checked.global_index),
            arg_max(checked.record_type, checked.global_index),
            arg_max(checked.record_length, checked.global_index),
            arg_max(substr(checked.raw_record, 2, 9), checked.global_index),
            min(checked.global_index) filter (
                where checked.record_type = '9' and checked.global_index < files.last_index
            ),
            min(checked.global_index) filter (
                where checked.record_type = '0' and checked.global_index > files.first_index
            )
        from compas_batch_checked as checked
        inner join files using (file_index)
        group by all
        """
    ).fetchall():
        file_index, lines, first, last, *ends, trailer_at, header_at = row
        if last - first + 1 != lines:
            # Line numbers count on the lines of a file being one run of the scan. Should
            # DuckDB ever interleave files, fail the pass: the caller reads them one by one.
            raise RuntimeError("lines of one file are not contiguous in a read of many files")
        found[file_index] = _Summary(
            lines=lines,
            first_index=first,
            header=(ends[0], ends[1], ends[2]),
            trailer=(ends[3], ends[4], ends[5]),
            misplaced_trailer=None if trailer_at is None else trailer_at - first + 1,
            second_header=None if header_at is None else header_at - first + 1,
        )
    return found


def _check_header_and_trailer(summary: _Summary | None, extraction: date) -> int:
    """Reject the file unless header and trailer are right; return the declared records."""
    if summary is None:
        raise RejectedFile("file is empty: no header record")
    total = summary.lines
    record_type, length, stamp = summary.header
    if record_type != "0" or length != RECORD_LENGTH:
        raise RejectedFile(
            f"line 1 is not a header record '0<JJJJMMDD>' of {RECORD_LENGTH} characters "
            f"(record type '{record_type}', {length} characters)"
        )
    stamp = stamp or ""
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
    if summary.misplaced_trailer is not None:
        raise RejectedFile(
            f"trailer found at line {summary.misplaced_trailer}, it must be the last line"
        )
    if summary.second_header is not None:
        raise RejectedFile(f"second header found at line {summary.second_header}")

    record_type, length, count = summary.trailer
    count = count or ""
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
    return declared


def load(delivery: Delivery, ctx: LoadContext) -> LoadResult:
    """Load one snapshot (a scan of one file); raises ``RejectedFile``."""
    (result,) = _load_scan([delivery], [ctx], alone=True)
    if isinstance(result, RejectedFile):
        raise result
    return result


def load_batch(
    deliveries: Sequence[Delivery], ctxs: Sequence[LoadContext]
) -> list[LoadResult | RejectedFile]:
    """Load many snapshots in one scan: per file what ``load`` returns or raises.

    Everything runs in the caller's transaction. A DuckDB error (a byte the latin-1 reader
    refuses, in any file) is raised: the caller then reads the files one by one, and
    ``load`` names the file and the byte.
    """
    return _load_scan(deliveries, ctxs, alone=False)


def _load_scan(
    deliveries: Sequence[Delivery], ctxs: Sequence[LoadContext], *, alone: bool
) -> list[LoadResult | RejectedFile]:
    if len(deliveries) != len(ctxs):
        raise ValueError("load_batch needs one context per delivery")
    key = b""
    for delivery, ctx in zip(deliveries, ctxs, strict=True):
        key = require_key(ctx.pseudonym_key, delivery.name)
    con = ctxs[0].con
    files = "[" + ", ".join(sql_literal(str(delivery.path)) for delivery in deliveries) + "]"
    try:
        try:
            con.execute(
                f"create or replace temp table compas_batch_checked as {_checked_sql(files)}",
                key_parameters(key),
            )
        except duckdb.Error as exc:
            if not alone:
                raise
            if "latin-1" in str(exc):
                raise RejectedFile(
                    f"cannot decode as ISO-8859-1: {_locate_c1_byte(deliveries[0].path)}; "
                    f"bytes 0x80-0x9F are control codes, not text"
                ) from exc
            raise RejectedFile(f"cannot read as ISO-8859-1 text lines: {exc}") from exc
        return _store(con, deliveries, ctxs, _summaries(con))
    finally:
        drop_tables(con, BATCH_TABLES)


def _store(
    con: duckdb.DuckDBPyConnection,
    deliveries: Sequence[Delivery],
    ctxs: Sequence[LoadContext],
    summaries: dict[int, _Summary],
) -> list[LoadResult | RejectedFile]:
    """Reject the files whose header or trailer fail; store the records of the others."""
    results: list[LoadResult | RejectedFile] = []
    sound: list[tuple] = []
    for file_index, (delivery, ctx) in enumerate(zip(deliveries, ctxs, strict=True)):
        summary = summaries.get(file_index)
        try:
            declared = _check_header_and_trailer(summary, delivery.delivery_date)
        except RejectedFile as rejection:
            results.append(rejection)
            continue
        assert summary is not None
        results.append(LoadResult(rows_declared=declared, rows_loaded=0, rows_quarantined=0))
        sound.append(
            (file_index, ctx.file_id, delivery.name, delivery.delivery_date, ctx.run_id)
            + (summary.first_index, summary.lines)
        )
    if not sound:
        return results
    con.execute(
        """
        create or replace temp table compas_batch_files (
            file_index bigint, file_id bigint, file_name varchar, extraction_date date,
            run_id varchar, first_index bigint, lines bigint
        )
        """
    )
    insert_values(con, "compas_batch_files", sound)
    records = """
        select
            files.*,
            checked.global_index - files.first_index + 1 as line_number,
            checked.* exclude (file_index)
        from compas_batch_checked as checked
        inner join compas_batch_files as files using (file_index)
        where checked.global_index > files.first_index
          and checked.global_index < files.first_index + files.lines - 1
    """
    quarantine_pass_rows(con, records)
    con.execute(
        f"""
        insert into {RAW_TABLE}
        select parketnummer, person_pseudonym, name_pseudonym, bsn_status, instroomdatum,
               aanleverende_instantie, feitcode, afdoening, afdoeningsdatum, vervallen,
               extraction_date, file_id, line_number, run_id
        from ({records}) as records
        where problem is null
        """
    )
    counts = {
        file_index: (loaded, quarantined)
        for file_index, loaded, quarantined in con.execute(
            f"""
            select file_index, count(*) filter (where problem is null),
                   count(*) filter (where problem is not null)
            from ({records}) as records group by file_index
            """
        ).fetchall()
    }
    for file_index, *_ in sound:
        loaded, quarantined = counts.get(file_index, (0, 0))
        declared = results[file_index]
        assert isinstance(declared, LoadResult)
        results[file_index] = LoadResult(declared.rows_declared, loaded, quarantined)
    return results
