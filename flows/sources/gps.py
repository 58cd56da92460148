"""GPS, the OM's new case system: daily deltas, ``,``-separated UTF-8 CSV with a BOM.

The file is first checked to be UTF-8, streaming (bytes in, nothing out), so an
undecodable byte rejects it whole, naming line and byte offset; then its header must
hold exactly the columns of sources.md. DuckDB's ``read_csv`` parses the records (every
column VARCHAR, RFC 4180 quoting, ``store_rejects`` for a wrong field count; it skips the
BOM itself) and, in the same statement, turns BSN, birth date and surname into
``bsn_status`` and keyed pseudonyms (flows/pseudonym.py): the parsed personal fields are
never written to a table. SQL then checks every field; a row that fails is quarantined
alone, with the personal fields of its record replaced by ``***``.

Rows declared = data lines of the file (empty lines are not records: DuckDB skips them).
Line numbers come from DuckDB's reject lines, which count physical lines as long as no
quoted field spans a line end; a file where the records found do not add up to its data
lines (a quoted field with a line end, or an unclosed quote that swallowed the next line)
is rejected, because its rows can no longer be told apart reliably.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import re
from datetime import datetime
from pathlib import Path

import duckdb

from flows.errors import RejectedFile
from flows.pseudonym import key_parameters, pseudonym_columns_sql, require_key
from flows.sources.common import (
    CHUNK,
    Delivery,
    LoadContext,
    LoadResult,
    quarantine_rows,
    sql_literal,
)

SYSTEM = "gps"
ENTITY = "VERDACHTEZAKEN"
NAME_PATTERN = re.compile(r"^GPS_VERDACHTEZAKEN_(\d{8})\.csv$")
RAW_TABLE = "raw.gps_verdachtezaken"
BOM = codecs.BOM_UTF8
COLUMNS = (
    "zaak_id",
    "parketnummer",
    "compas_parketnummer",
    "verdachte_bsn",
    "verdachte_geboortedatum",
    "verdachte_achternaam",
    "instroomdatum",
    "aanleverende_instantie",
    "wetsartikel",
    "afdoening",
    "afdoeningsdatum",
    "gewijzigd_op",
    "verwijderd",
)
PERSONAL = ("verdachte_bsn", "verdachte_geboortedatum", "verdachte_achternaam")
MASK = "***"
NO_DELIMITER = "chr(28) || chr(29) || chr(30) || chr(31)"
DATE_PATTERN = "[0-9]{4}-[0-9]{2}-[0-9]{2}"
TIMESTAMP_PATTERN = (
    "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}([.][0-9]+)?"
    "(Z|[+-](0[0-9]|1[0-4]):[0-5][0-9])"
)
# One CSV field after a comma (prefix the record with one): quoted, or plain up to , or ".
FIELD_PATTERN = r',("(?:[^"]|"")*"|[^,"]*)'


def recognise(path: Path) -> Delivery | None:
    match = NAME_PATTERN.match(path.name)
    if not match:
        return None
    try:
        delivered = datetime.strptime(match.group(1), "%Y%m%d").date()
    except ValueError:
        return None
    return Delivery(path=path, system=SYSTEM, entity=ENTITY, delivery_date=delivered)


def ensure_raw_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists raw")
    con.execute(
        f"""
        create table if not exists {RAW_TABLE} (
            zaak_id bigint not null,
            parketnummer varchar,
            compas_parketnummer varchar,
            person_pseudonym varchar not null,
            name_pseudonym varchar not null,
            bsn_status varchar not null,
            instroomdatum date not null,
            aanleverende_instantie varchar,
            wetsartikel varchar,
            afdoening varchar,
            afdoeningsdatum date,
            gewijzigd_op timestamptz not null,
            gewijzigd_op_text varchar not null,
            verwijderd boolean not null,
            delivery_date date not null,
            _file_id bigint not null,
            _line_number bigint not null,
            _run_id varchar not null
        )
        """
    )


def delete_file_rows(con: duckdb.DuckDBPyConnection, file_id: int) -> None:
    con.execute(f"delete from {RAW_TABLE} where _file_id = ?", [file_id])


def check_utf8(path: Path) -> None:
    """Reject the file at its first byte that is not UTF-8, naming line and byte offset."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")
    newlines = 0
    offset = 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                start = max(0, min(exc.start, len(chunk) - 1))
                line = newlines + chunk[:start].count(b"\n") + 1
                raise RejectedFile(
                    f"cannot decode as UTF-8: byte 0x{chunk[start]:02X} at line {line} "
                    f"(byte offset {offset + start})"
                ) from exc
            newlines += chunk.count(b"\n")
            offset += len(chunk)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise RejectedFile(
            f"cannot decode as UTF-8: the file ends inside a character (byte offset {offset})"
        ) from exc


def check_header(path: Path) -> None:
    """Reject the file unless its first line holds exactly the specified columns."""
    with path.open("rb") as handle:
        first = handle.readline(1 << 16)
    text = first.removeprefix(BOM).decode("utf-8").rstrip("\r\n")
    found = next(csv.reader([text]), [])
    if tuple(found) == COLUMNS:
        return
    expected = ",".join(COLUMNS)
    for position, (got, wanted) in enumerate(zip(found, COLUMNS, strict=False), start=1):
        if got != wanted:
            # Show what was found only when it looks like a column name: a file that
            # starts with a data row must not put personal data into the ledger.
            shown = f"'{got}'" if re.fullmatch(r"[a-z_]{1,40}", got) else "a value"
            raise RejectedFile(
                f"header does not match the spec: column {position} is {shown}, expected "
                f"'{wanted}' (the columns are {expected})"
            )
    raise RejectedFile(
        f"header does not match the spec: {len(found)} columns, expected {len(COLUMNS)} "
        f"({expected})"
    )


def _csv_field_sql(value: str) -> str:
    """SQL: a text value as one CSV field (quoted when it holds , " or a line end)."""
    return f"""case
        when {value} is null then ''
        when regexp_matches({value}, '[",\\n\\r]') then '"' || replace({value}, '"', '""') || '"'
        else {value}
    end"""


def _masked_record_sql() -> str:
    """SQL: the parsed fields as a CSV record, the personal fields replaced by the mask."""
    fields = [f"'{MASK}'" if name in PERSONAL else _csv_field_sql(name) for name in COLUMNS]
    return " || ',' || ".join(fields)


def _masked_line_sql(line: str) -> str:
    """SQL: an unreadable record with its personal fields masked.

    Its fields are found with FIELD_PATTERN. With d the difference between their number
    and 13, fields 4-d to 6+d are masked: a field too few or too many before or inside the
    personal fields shifts them by at most d.
    """
    fields = f"regexp_extract_all(',' || {line}, {sql_literal(FIELD_PATTERN)}, 1)"
    personal_first = COLUMNS.index(PERSONAL[0]) + 1
    personal_last = COLUMNS.index(PERSONAL[-1]) + 1
    spread = f"abs(len({fields}) - {len(COLUMNS)})"
    return f"""array_to_string(list_transform({fields}, lambda field, position:
        case when position between {personal_first} - {spread} and {personal_last} + {spread}
            then '{MASK}' else field end), ',')"""


def _read_checked(delivery: Delivery, ctx: LoadContext, key: bytes) -> None:
    """Temp tables gps_lines (line number, empty?, odd quote count?) and gps_checked."""
    con = ctx.con
    path = sql_literal(str(delivery.path))
    con.execute(
        f"""
        create or replace temp table gps_lines as
        select
            row_number() over () as line_number,
            coalesce(line, '') = '' as empty,
            (length(line) - length(replace(line, '"', ''))) % 2 = 1 as odd_quotes
        from read_csv(
            {path}, columns = {{'line': 'VARCHAR'}}, delim = {NO_DELIMITER}, quote = '',
            escape = '', header = false, auto_detect = false, strict_mode = false
        )
        """
    )
    column_spec = "{" + ", ".join(f"'{name}': 'VARCHAR'" for name in COLUMNS) + "}"
    con.execute("drop table if exists gps_rejects; drop table if exists gps_reject_scans")
    iso_date = (
        "case when regexp_full_match({0}, '{1}') then try_strptime({0}, '%Y-%m-%d')::date end"
    )
    con.execute(
        f"""
        create or replace temp table gps_checked as
        with fields as (
            select row_number() over () as record_index, *
            from read_csv(
                {path}, delim = ',', quote = '"', escape = '"', header = true,
                auto_detect = false, columns = {column_spec}, store_rejects = true,
                rejects_table = 'gps_rejects', rejects_scan = 'gps_reject_scans'
            )
        ),
        typed as (
            select
                *,
                case when regexp_full_match(zaak_id, '[0-9]{{1,18}}')
                    then cast(zaak_id as bigint) end as zaak_id_value,
                {iso_date.format("verdachte_geboortedatum", DATE_PATTERN)} as birth_date,
                {iso_date.format("instroomdatum", DATE_PATTERN)} as instroomdatum_value,
                {iso_date.format("afdoeningsdatum", DATE_PATTERN)} as afdoeningsdatum_value,
                case when regexp_full_match(gewijzigd_op, '{TIMESTAMP_PATTERN}')
                    then try_cast(gewijzigd_op as timestamptz) end as gewijzigd_op_value,
                case verwijderd when 'true' then true when 'false' then false
                    end as verwijderd_value
            from fields
        )
        select
            record_index,
            zaak_id_value as zaak_id,
            parketnummer,
            compas_parketnummer,
            {pseudonym_columns_sql("verdachte_bsn", "birth_date", "verdachte_achternaam")},
            instroomdatum_value as instroomdatum,
            aanleverende_instantie,
            wetsartikel,
            afdoening,
            afdoeningsdatum_value as afdoeningsdatum,
            gewijzigd_op_value as gewijzigd_op,
            gewijzigd_op as gewijzigd_op_text,
            verwijderd_value as verwijderd,
            case
                when zaak_id is null then 'zaak_id|key is empty'
                when zaak_id_value is null then 'zaak_id|not an integer: ''' || zaak_id || ''''
                when birth_date is null then 'verdachte_geboortedatum|missing or malformed date '
                    || '(expected JJJJ-MM-DD; the value is personal data and not shown)'
                when instroomdatum_value is null then 'instroomdatum|missing or malformed date '
                    || '(expected JJJJ-MM-DD): ''' || coalesce(instroomdatum, '') || ''''
                when afdoeningsdatum is not null and afdoeningsdatum_value is null
                    then 'afdoeningsdatum|malformed date (expected JJJJ-MM-DD): '''
                    || afdoeningsdatum || ''''
                when gewijzigd_op_value is null then 'gewijzigd_op|missing or malformed '
                    || 'timestamp (expected JJJJ-MM-DDTHH:MM:SS+HH:MM): '''
                    || coalesce(gewijzigd_op, '') || ''''
                when verwijderd_value is null then 'verwijderd|expected true or false, got '''
                    || coalesce(verwijderd, '') || ''''
            end as problem,
            {_masked_record_sql()} as raw_record
        from typed
        """,
        key_parameters(key),
    )


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = con.execute(sql).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def load(delivery: Delivery, ctx: LoadContext) -> LoadResult:
    key = require_key(ctx.pseudonym_key, delivery.name)
    con = ctx.con
    check_utf8(delivery.path)
    check_header(delivery.path)
    try:
        return _load_checked(delivery, ctx, key)
    finally:
        # The rejects table holds unreadable records as delivered: personal data. (When
        # DuckDB itself failed, the rollback of the file's transaction drops them.)
        with contextlib.suppress(duckdb.Error):
            con.execute(
                "drop table if exists gps_rejects; drop table if exists gps_reject_scans; "
                "drop table if exists gps_lines; drop table if exists gps_checked"
            )


def _load_checked(delivery: Delivery, ctx: LoadContext, key: bytes) -> LoadResult:
    con = ctx.con
    _read_checked(delivery, ctx, key)
    data_lines = "select line_number from gps_lines where line_number > 1 and not empty"
    declared = _count(con, f"select count(*) from ({data_lines})")
    parsed = _count(con, "select count(*) from gps_checked")
    rejected = _count(con, "select count(distinct line) from gps_rejects")
    strays = _count(con, f"select count(*) from gps_rejects where line not in ({data_lines})")
    if parsed + rejected != declared or strays:
        odd = _count(con, "select min(line_number) from gps_lines where odd_quotes")
        hint = f" (first line with an odd number of quotes: {odd})" if odd else ""
        raise RejectedFile(
            f"the file has {declared} data lines but the CSV reader found "
            f"{parsed + rejected} records: a quoted field spans a line end or a quote is "
            f"not closed{hint}",
            rows_declared=declared,
        )

    # Line numbers of readable records: the data lines that DuckDB did not reject, in order.
    con.execute(
        f"""
        create or replace temp table gps_record_lines as
        select line_number, row_number() over (order by line_number) as record_index
        from ({data_lines}) as data_lines
        anti join (select distinct line as line_number from gps_rejects) as rejected
            using (line_number)
        """
    )
    quarantined = quarantine_rows(
        ctx,
        delivery.name,
        f"""
        select
            line as line_number,
            case when error_type in ('MISSING COLUMNS', 'TOO MANY COLUMNS') then '(record)'
                else coalesce(column_name, '(record)') end as column_name,
            'unreadable record: ' || lower(error_type::varchar) || ' — ' || error_message
                as reason,
            {_masked_line_sql("trim(csv_line, chr(10) || chr(13))")} as raw_record
        from (
            select *, row_number() over (partition by line order by column_idx) as nth
            from gps_rejects
        ) where nth = 1
        union all
        select
            line_number,
            split_part(problem, '|', 1) as column_name,
            substr(problem, strpos(problem, '|') + 1) as reason,
            raw_record
        from gps_checked
        inner join gps_record_lines using (record_index)
        where problem is not null
        """,
    )
    con.execute(
        f"""
        insert into {RAW_TABLE}
        select zaak_id, parketnummer, compas_parketnummer, person_pseudonym, name_pseudonym,
               bsn_status, instroomdatum, aanleverende_instantie, wetsartikel, afdoening,
               afdoeningsdatum, gewijzigd_op, gewijzigd_op_text, verwijderd,
               ?, ?, line_number, ?
        from gps_checked
        inner join gps_record_lines using (record_index)
        where problem is null
        order by line_number
        """,
        [delivery.delivery_date, ctx.file_id, ctx.run_id],
    )
    loaded = _count(con, "select count(*) from gps_checked where problem is null")
    con.execute("drop table if exists gps_record_lines")
    return LoadResult(rows_declared=declared, rows_loaded=loaded, rows_quarantined=quarantined)
