"""GPS, the OM's new case system: daily deltas, ``,``-separated UTF-8 CSV with a BOM.

Door checks in Python, from one read: UTF-8 (an undecodable byte rejects the file, naming
line and offset), the header of sources.md, and the count of data lines (rows declared;
empty lines are no records). DuckDB's ``read_csv`` parses the records (every column
VARCHAR, ``store_rejects`` for a wrong field count) and in the same statement turns BSN,
birth date and surname into ``bsn_status`` and keyed pseudonyms (flows/pseudonym.py): the
personal fields are never written to a table, and a quarantined record has them masked.
A night's hundreds of small files are one ``read_csv`` (``scan``).
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import duckdb

from flows.errors import RejectedFile
from flows.pseudonym import key_parameters, pseudonym_columns_sql, require_key
from flows.sources import common
from flows.sources.common import Admitted, Delivery, FileOutcome, PassFile, Scan, Tally

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
BATCH_BYTES: int | None = None  # ingest's default
COMPANIONS: tuple[str, ...] = ()
DATE_PATTERN = "[0-9]{4}-[0-9]{2}-[0-9]{2}"
TIMESTAMP_PATTERN = (
    "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}([.][0-9]+)?"
    "(Z|[+-](0[0-9]|1[0-4]):[0-5][0-9])"
)
# One CSV field after a comma (prefix the record with one): quoted, or plain up to , or ".
FIELD_PATTERN = r',("(?:[^"]|"")*"|[^,"]*)'
HEADER_LIMIT = 1 << 16  # bytes of the first line that the header check reads at most


def recognise(path: Path) -> Delivery | None:
    return common.dated_delivery(path, NAME_PATTERN, SYSTEM, ENTITY)


# The raw table's fields of a record, with their types; its lineage columns follow them.
RECORD_COLUMNS = (
    ("zaak_id", "bigint not null"),
    ("parketnummer", "varchar"),
    ("compas_parketnummer", "varchar"),
    ("person_pseudonym", "varchar not null"),
    ("name_pseudonym", "varchar not null"),
    ("bsn_status", "varchar not null"),
    ("instroomdatum", "date not null"),
    ("aanleverende_instantie", "varchar"),
    ("wetsartikel", "varchar"),
    ("afdoening", "varchar"),
    ("afdoeningsdatum", "date"),
    ("gewijzigd_op", "timestamptz not null"),
    ("gewijzigd_op_text", "varchar not null"),
    ("verwijderd", "boolean not null"),
)


def ensure_raw_tables(con: duckdb.DuckDBPyConnection) -> None:
    common.ensure_raw_table(con, RAW_TABLE, [*RECORD_COLUMNS, ("delivery_date", "date not null")])


def delete_file_rows(con: duckdb.DuckDBPyConnection, file_id: int) -> None:
    con.execute(f"delete from {RAW_TABLE} where _file_id = ?", [file_id])


def check_utf8(data: bytes) -> None:
    """Reject the file at its first byte that is not UTF-8, naming line and byte offset."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.reason == "unexpected end of data":
            where = f"the file ends inside a character (byte offset {len(data)})"
        else:
            where = common.byte_position(data, exc.start, 0, 0)
        raise RejectedFile(f"cannot decode as UTF-8: {where}") from exc


def check_header(first: bytes) -> None:
    """Reject the file unless its first line (bytes, with its line end, if any) holds
    exactly the specified columns."""
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


def _masked_record_sql() -> str:
    """SQL: the parsed fields as a CSV record (a field quoted when it holds , " or a line
    end), the personal fields replaced by the mask."""
    field = """case
        when {0} is null then ''
        when regexp_matches({0}, '[",\\n\\r]') then '"' || replace({0}, '"', '""') || '"'
        else {0}
    end"""
    return " || ',' || ".join(
        f"'{MASK}'" if name in PERSONAL else field.format(name) for name in COLUMNS
    )


def _masked_line_sql(line: str) -> str:
    """SQL: an unreadable record with its personal fields masked.

    Its fields are found with FIELD_PATTERN. With d the difference between their number
    and 13, fields 4-d to 6+d are masked: a field too few or too many before or inside the
    personal fields shifts them by at most d.
    """
    fields = f"regexp_extract_all(',' || {line}, {common.sql_literal(FIELD_PATTERN)}, 1)"
    personal_first = COLUMNS.index(PERSONAL[0]) + 1
    personal_last = COLUMNS.index(PERSONAL[-1]) + 1
    spread = f"abs(len({fields}) - {len(COLUMNS)})"
    return f"""array_to_string(list_transform({fields}, lambda field, position:
        case when position between {personal_first} - {spread} and {personal_last} + {spread}
            then '{MASK}' else field end), ',')"""


ISO_DATE = "case when regexp_full_match({0}, '{1}') then try_strptime({0}, '%Y-%m-%d')::date end"


def _checked_sql(reader: str) -> str:
    """SQL: the records of ``reader`` typed, checked and pseudonymised (``Scan.sql``).

    The pseudonyms are computed once per distinct (BSN, birth date, surname) of the read
    and joined; the personal fields live only inside this statement (``typed`` is
    materialised so that the files are read once). ``scan_index`` restores the read's
    order, which the join loses ("Line numbers", decision 0013).
    """
    return f"""
        with typed as materialized (
            select
                *,
                case when regexp_full_match(zaak_id, '[0-9]{{1,18}}')
                    then cast(zaak_id as bigint) end as zaak_id_value,
                {ISO_DATE.format("verdachte_geboortedatum", DATE_PATTERN)} as birth_date,
                {ISO_DATE.format("instroomdatum", DATE_PATTERN)} as instroomdatum_value,
                {ISO_DATE.format("afdoeningsdatum", DATE_PATTERN)} as afdoeningsdatum_value,
                case when regexp_full_match(gewijzigd_op, '{TIMESTAMP_PATTERN}')
                    then try_cast(gewijzigd_op as timestamptz) end as gewijzigd_op_value,
                case verwijderd when 'true' then true when 'false' then false
                    end as verwijderd_value
            from (
                select file_index, row_number() over () as scan_index, * from {reader}
            ) as fields
        ),
        identities as (
            select
                verdachte_bsn as identity_bsn,
                birth_date as identity_birth_date,
                verdachte_achternaam as identity_surname,
                {pseudonym_columns_sql("verdachte_bsn", "birth_date", "verdachte_achternaam")}
            from (
                select distinct verdachte_bsn, birth_date, verdachte_achternaam from typed
            ) as distinct_identities
        ),
        checked as (
            select
                typed.*,
                bsn_status,
                person_pseudonym,
                name_pseudonym,
                case
                    when zaak_id is null then 'zaak_id|key is empty'
                    when zaak_id_value is null
                        then 'zaak_id|not an integer: ''' || zaak_id || ''''
                    when birth_date is null
                        then 'verdachte_geboortedatum|missing or malformed date '
                        || '(expected JJJJ-MM-DD; the value is personal data and not shown)'
                    when instroomdatum_value is null
                        then 'instroomdatum|missing or malformed date '
                        || '(expected JJJJ-MM-DD): ''' || coalesce(instroomdatum, '') || ''''
                    when afdoeningsdatum is not null and afdoeningsdatum_value is null
                        then 'afdoeningsdatum|malformed date (expected JJJJ-MM-DD): '''
                        || afdoeningsdatum || ''''
                    when gewijzigd_op_value is null then 'gewijzigd_op|missing or malformed '
                        || 'timestamp (expected JJJJ-MM-DDTHH:MM:SS+HH:MM): '''
                        || coalesce(gewijzigd_op, '') || ''''
                    when verwijderd_value is null
                        then 'verwijderd|expected true or false, got '''
                        || coalesce(verwijderd, '') || ''''
                end as problem
            from typed
            left join identities
                on verdachte_bsn is not distinct from identity_bsn
                and birth_date is not distinct from identity_birth_date
                and verdachte_achternaam is not distinct from identity_surname
        )
        select
            file_index, zaak_id_value as zaak_id, parketnummer, compas_parketnummer,
            bsn_status, person_pseudonym, name_pseudonym, instroomdatum_value as instroomdatum,
            aanleverende_instantie, wetsartikel, afdoening,
            afdoeningsdatum_value as afdoeningsdatum, gewijzigd_op_value as gewijzigd_op,
            gewijzigd_op as gewijzigd_op_text, verwijderd_value as verwijderd, problem,
            case when problem is not null then {_masked_record_sql()} end as raw_record
        from checked
        order by scan_index
    """


# Bytes where DuckDB's line reader may end a line that Python's count does not (CR, control
# codes): a file holding one is not read with the others but in a pass of its own.
LINE_BREAKING = bytes(sorted(set(range(0x20)) - {0x09, 0x0A}))
FILE_BY_FILE = False


class _Shape(NamedTuple):
    """The physical lines of a file as DuckDB's line reader counts them (see ``_line_shape``)."""

    lines: int
    empty: tuple[int, ...]

    @property
    def declared(self) -> int:
        """Data lines: every line after the header that is not empty."""
        return max(self.lines - 1, 0) - sum(1 for number in self.empty if number > 1)


def _line_shape(data: bytes) -> _Shape | None:
    """Lines and empty lines of a file's bytes, counted in Python; None for a CR or control code.

    For a file whose lines end in LF only, DuckDB's line reader (``_duckdb_shape``) returns
    one row per physical line, empty lines included, and none after a final LF:
    so does this count (tests/test_ingest_batch.py compares the two).
    """
    if len(data.translate(None, LINE_BREAKING)) != len(data):
        return None
    if not data:
        return _Shape(0, ())
    lines = data.count(b"\n") + (not data.endswith(b"\n"))
    if not data.startswith(b"\n") and b"\n\n" not in data:
        return _Shape(lines, ())
    pieces = data.split(b"\n")[:lines]
    return _Shape(lines, tuple(n for n, line in enumerate(pieces, start=1) if not line))


def admit(file: PassFile) -> Admitted:
    """The checks before reading (UTF-8, header) and the file's count of data lines, done
    in Python from one read. A file with a CR or a control code is read in a pass of its
    own (Python's line count is made for LF only)."""
    require_key(file.ctx.pseudonym_key, file.delivery.name)
    data = file.delivery.path.read_bytes()
    check_utf8(data)
    end = data.find(b"\n", 0, HEADER_LIMIT)
    check_header(data[: end + 1] if end >= 0 else data[:HEADER_LIMIT])
    shape = _line_shape(data)
    declared = None if shape is None else shape.declared
    return Admitted(file, declared=declared, shape=shape, alone=shape is None)


def unreadable(file: Admitted, exc: duckdb.Error) -> None:
    """DuckDB's reader copes with any UTF-8 file with the right header: an error is not
    the file's."""
    return None


def _duckdb_shape(con: duckdb.DuckDBPyConnection, path: str) -> tuple[_Shape, int | None]:
    """The lines of a file as DuckDB's line reader counts them, and the first line with an
    odd number of quotes (None if none)."""
    con.execute(
        f"""
        create temp table gps_lines as
        select
            coalesce(line, '') = '' as empty,
            (length(line) - length(replace(line, '"', ''))) % 2 = 1 as odd_quotes
        from {common.line_reader_sql(path)}
        """
    )
    found = con.execute(
        """
        select count(*), coalesce(list(line_number) filter (empty), []),
            min(line_number) filter (odd_quotes)
        from (select rowid - min(rowid) over () + 1 as line_number, * from gps_lines)
        """
    ).fetchone()
    assert found is not None
    return _Shape(found[0], tuple(found[1])), found[2]


def scan(con: duckdb.DuckDBPyConnection, files: Sequence[Admitted]) -> Scan:
    """One ``read_csv`` over the files, typed, checked and pseudonymised by ``_checked_sql``.

    A file alone is read the careful way: DuckDB's line reader counts its lines, its
    unreadable records are quarantined, and records that do not add up to its data lines
    reject it. In a pass of many, a file with an unreadable record or too few records is
    read again alone: DuckDB's rejects of a read over many files can miss some (an
    unterminated quote in a later file, seen with DuckDB 2.0).
    """
    key = require_key(files[0].ctx.pseudonym_key, files[0].delivery.name)
    paths = common.paths_sql(files)
    alone, odd = len(files) == 1, None
    shapes = [file.shape for file in files]
    if alone:
        shapes[0], odd = _duckdb_shape(con, paths)
    skips = [
        (index, line) for index, shape in enumerate(shapes) for line in shape.empty if line > 1
    ]
    common.values_table(con, "gps_skips", "file_index bigint, line_number bigint", skips)
    reader = common.csv_reader_sql(paths, ",", COLUMNS, "gps")

    def judge(tallies: Sequence[Tally]) -> list[int | FileOutcome | None]:
        declared = [shape.declared for shape in shapes]
        if not alone:
            unread = con.execute(
                "select distinct file_path from gps_rejects "
                "inner join gps_reject_scans using (scan_id, file_id)"
            ).fetchall()
            with_rejects = {path for (path,) in unread}
            return [
                count
                if str(file.delivery.path) not in with_rejects and tally.rows == count
                else None
                for file, tally, count in zip(files, tallies, declared, strict=True)
            ]
        empty = ", ".join(str(line) for line in shapes[0].empty) or "0"
        found = con.execute(
            f"""
            select count(distinct line), count(*) filter (
                where line < 2 or line > {shapes[0].lines} or line in ({empty})
            ) from gps_rejects
            """
        ).fetchone()
        rejected, strays = found or (0, 0)
        if tallies[0].rows + rejected == declared[0] and not strays:
            return declared
        hint = f" (first line with an odd number of quotes: {odd})" if odd else ""
        return [
            FileOutcome.rejected(
                f"the file has {declared[0]} data lines but the CSV reader found "
                f"{tallies[0].rows + rejected} records: a quoted field spans a line end or a "
                f"quote is not closed{hint}",
                rows_declared=declared[0],
            )
        ]

    unreadable_column = (
        "case when error_type in ('MISSING COLUMNS', 'TOO MANY COLUMNS') then '(record)' "
        "else coalesce(column_name, '(record)') end"
    )
    raw_line = _masked_line_sql("trim(csv_line, chr(10) || chr(13))")
    return Scan(
        files,
        _checked_sql(reader),
        RAW_TABLE,
        [*(name for name, _ in RECORD_COLUMNS), "delivery_date"],
        first_line=2,
        parameters=key_parameters(key),
        skipped="select file_index, line_number from gps_skips"
        + (" union all select 0, line from gps_rejects" if alone else ""),
        rejects=common.rejects_sql("gps_rejects", "true", unreadable_column, raw_line)
        if alone
        else None,
        judge=judge,
        csv_rejects="gps_rejects" if alone else None,
    )
