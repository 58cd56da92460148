"""BVH, the police's old system: full snapshots per entity, ``;``-separated Windows-1252.

DuckDB cannot read cp1252 without an extension that is downloaded at run time, and
latin-1 rejects the bytes 0x80-0x9F that cp1252 uses for the euro sign and curly quotes.
So each file is transcoded whole, streaming, to UTF-8 first (bytes in, bytes out); DuckDB's
``read_csv`` then does all parsing, and SQL checks every field in the same statement. In a
pass of many snapshots (``scan``) a thread transcodes the next file while DuckDB
reads the current one. See docs/decisions/0004.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import duckdb

from flows.errors import RejectedFile
from flows.sources import common
from flows.sources.common import Admitted, Delivery, FileOutcome, PassFile

SYSTEM = "bvh"
NAME_PATTERN = re.compile(r"^BVH_(?P<entity>ONDERZOEK|BESLAG|EXECUTIE)_(\d{8})\.csv$")
TRAILER_TAG = "#EINDE"
AMOUNT_PATTERN = r"^-?(\d{1,3}(\.\d{3})+|\d+)(,\d{1,2})?$"

# Columns per entity as sources.md lists them, with how each is read.
ENTITIES: dict[str, list[tuple[str, str]]] = {
    "ONDERZOEK": [
        ("ONDERZOEKNUMMER", "key"),
        ("EENHEID", "text"),
        ("SOORT", "text"),
        ("STARTDATUM", "date"),
        ("EINDDATUM", "date"),
        ("INTERVENTIE", "text"),
        ("KEYPLAYER", "text"),
    ],
    "BESLAG": [
        ("BESLAGNUMMER", "key"),
        ("ONDERZOEKNUMMER", "text"),
        ("EENHEID", "text"),
        ("BESLAGDATUM", "date"),
        ("REGISTRATIEDATUM", "date"),
        ("GRONDSLAG", "text"),
        ("OBJECTSOORT", "text"),
        ("OMSCHRIJVING", "text"),
        ("WAARDE", "amount"),
    ],
    "EXECUTIE": [
        ("DOSSIERNUMMER", "key"),
        ("EENHEID", "text"),
        ("AANGEBODEN", "date"),
        ("KANSRIJK", "text"),
        ("AFGEDAAN", "date"),
        ("RESULTAAT", "text"),
    ],
}
# Read by ingest: at most this many bytes of snapshots in one pass (one transaction). The
# files of a pass are read one after the other, so memory does not grow with it.
BATCH_BYTES: int | None = 512 * 1024 * 1024
WORK_TABLES: tuple[str, ...] = ("bvh_checked", "bvh_rejects", "bvh_reject_scans", "bvh_lines")
COMPANIONS: tuple[str, ...] = ()
SQL_TYPES = {"key": "varchar", "text": "varchar", "date": "date", "amount": "decimal(18,2)"}


def raw_table(entity: str) -> str:
    return f"raw.bvh_{entity.lower()}"


def recognise(path: Path) -> Delivery | None:
    return common.dated_delivery(path, NAME_PATTERN, SYSTEM)


def ensure_raw_tables(con: duckdb.DuckDBPyConnection) -> None:
    for entity, columns in ENTITIES.items():
        typed = [(name.lower(), SQL_TYPES[kind]) for name, kind in columns]
        common.ensure_raw_table(
            con, raw_table(entity), [*typed, ("extraction_date", "date not null")]
        )


def delete_file_rows(con: duckdb.DuckDBPyConnection, file_id: int) -> None:
    for entity in ENTITIES:
        con.execute(f"delete from {raw_table(entity)} where _file_id = ?", [file_id])


def transcode_to_utf8(source: Path, target: Path) -> tuple[int, bool]:
    """Stream a cp1252 file to UTF-8; return (number of line ends, ends with a line end).

    cp1252 is one byte per character and equals ASCII below 0x80, so a chunk of ASCII
    bytes is already UTF-8 and is copied as it is; other chunks are decoded.
    Raises RejectedFile naming the line and byte of the first undecodable byte
    (cp1252 leaves 0x81, 0x8D, 0x8F, 0x90 and 0x9D undefined).
    """
    newlines = 0
    last = b""
    with target.open("wb") as dst:
        for chunk, offset, newlines in common.chunks(source):
            if chunk.isascii():
                dst.write(chunk)
            else:
                try:
                    dst.write(chunk.decode("cp1252").encode("utf-8"))
                except UnicodeDecodeError as exc:
                    where = common.byte_position(chunk, exc.start, offset, newlines)
                    raise RejectedFile(f"cannot decode as Windows-1252: {where}") from exc
            last = chunk
    line_ends = newlines + last.count(b"\n")
    return line_ends, last[-1:] == b"\n"


def _read_last_line(path: Path) -> str:
    with path.open("rb") as handle:
        handle.seek(0, 2)
        size = handle.tell()
        handle.seek(max(0, size - 4096))
        tail = handle.read().decode("utf-8", errors="replace")
    lines = tail.rstrip("\r\n").splitlines()
    return lines[-1] if lines else ""


def _parse_amount(text: str) -> Decimal | None:
    if not re.match(AMOUNT_PATTERN, text):
        return None
    return Decimal(text.replace(".", "").replace(",", "."))


def _typed_and_checks(columns: list[tuple[str, str]]) -> tuple[list[str], list[str]]:
    """SQL: each field typed from the reader's text (select items named as the raw table's
    columns), and the problem branches of a case over the typed fields and the texts, which
    a select beside the typed fields names ``delivered_<i>``."""
    typed = []
    checks = []
    for number, (name, kind) in enumerate(columns):
        text, column = f"delivered_{number}", name.lower()
        if kind == "date":
            typed.append(f"try_strptime({name}, '%d-%m-%Y')::date as {column}")
            checks.append(
                f"when {text} is not null and {column} is null "
                f"then '{name}|malformed date (expected DD-MM-JJJJ): ' || {text}"
            )
        elif kind == "amount":
            typed.append(
                f"case when regexp_matches({name}, '{AMOUNT_PATTERN}') then "
                f"replace(replace({name}, '.', ''), ',', '.')::decimal(18,2) end as {column}"
            )
            checks.append(
                f"when {text} is not null and {column} is null "
                f"then '{name}|malformed amount (expected 1.234,56): ' || {text}"
            )
        else:
            typed.append(f"{name} as {column}")
            if kind == "key":
                checks.append(f"when {column} is null then '{name}|key is empty'")
    return typed, checks


def _utf8_copy(delivery: Delivery, ctx: PassFile | Admitted) -> Path:
    return ctx.ctx.scratch / f"{delivery.name}.utf8"


def admit(file: PassFile) -> Admitted:
    """Header and trailer are checked on the UTF-8 copy the scan makes (one file ahead)."""
    return Admitted(file)


def unreadable(file: Admitted, exc: duckdb.Error) -> FileOutcome:
    """A snapshot DuckDB's reader cannot parse at all (its header and trailer were sound)."""
    fields = _read_last_line(file.delivery.path).split(";")
    declared = int(fields[1]) if len(fields) == 3 and fields[1].isdigit() else None
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return FileOutcome.rejected(
        f"cannot read as ';'-separated CSV: {first_line}", rows_declared=declared
    )


def scan(con: duckdb.DuckDBPyConnection, files: Sequence[Admitted]) -> list[FileOutcome | None]:
    """Read the snapshots one after the other, each transcoded to UTF-8 first; meanwhile a
    thread transcodes the next one (Python's codec holds the interpreter, DuckDB does not),
    so transcoding and reading overlap. A DuckDB error is raised."""
    copies = [_utf8_copy(file.delivery, file) for file in files]
    results: list[FileOutcome | None] = []
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="bvh-transcode") as pool:
            transcoded = pool.submit(transcode_to_utf8, files[0].delivery.path, copies[0])
            for number, (file, copy) in enumerate(zip(files, copies, strict=True)):
                current = transcoded
                if number + 1 < len(files):  # one file ahead, not more
                    following = files[number + 1].delivery.path
                    transcoded = pool.submit(transcode_to_utf8, following, copies[number + 1])
                try:
                    results.append(common.verdict(_load_utf8, file, copy, current))
                finally:
                    copy.unlink(missing_ok=True)
    finally:
        for copy in copies:
            copy.unlink(missing_ok=True)
    return results


def _load_utf8(file: Admitted, utf8: Path, transcoded: Future[tuple[int, bool]]) -> FileOutcome:
    """Load a snapshot from its UTF-8 copy; ``transcoded``: transcode_to_utf8 at work on it
    (it raises the file's rejection when the file is not Windows-1252)."""
    delivery, ctx = file.delivery, file.ctx
    assert delivery.entity is not None
    entity = delivery.entity
    columns = ENTITIES[entity]
    con = ctx.con
    line_ends, final_newline = transcoded.result()
    total_lines = line_ends if final_newline else line_ends + 1

    with utf8.open(encoding="utf-8", newline="") as handle:
        header = handle.readline().rstrip("\r\n")
    expected = ";".join(name for name, _ in columns)
    if header != expected:
        raise RejectedFile(f"header does not match the spec: got '{header}', expected '{expected}'")

    trailer = _read_last_line(utf8)
    fields = trailer.split(";")
    if fields[0] != TRAILER_TAG or len(fields) != 3 or not fields[1].isdigit():
        raise RejectedFile(
            f"no valid trailer '#EINDE;<count>;<control total>' on the last line "
            f"(line {total_lines}: '{trailer[:60]}')"
        )
    declared = int(fields[1])
    records_between = total_lines - 2
    if declared != records_between:
        raise RejectedFile(
            f"trailer declares {declared} data records, the file has {records_between} "
            f"between header and trailer",
            rows_declared=declared,
        )

    # DuckDB parses; a record it cannot split into the specified fields lands in the
    # rejects table with its line number. The trailer is one of those (3 fields). The same
    # statement types and checks every field; the record as delivered is kept only for the
    # records that are quarantined.
    column_spec = "{" + ", ".join(f"'{name}': 'VARCHAR'" for name, _ in columns) + "}"
    typed, checks = _typed_and_checks(columns)
    delivered = [f"{name} as delivered_{number}" for number, (name, _) in enumerate(columns)]
    raw_record = " || ';' || ".join(
        f"coalesce(delivered_{number}, '')" for number in range(len(columns))
    )
    con.execute("drop table if exists bvh_rejects; drop table if exists bvh_reject_scans")
    con.execute(
        f"""
        create or replace temp table bvh_checked as
        select
            * exclude ({", ".join(f"delivered_{number}" for number in range(len(columns)))}),
            case when problem is not null then {raw_record} end as raw_record
        from (
            select *, case {" ".join(checks)} end as problem
            from (
                select {", ".join(typed)}, {", ".join(delivered)}
                from read_csv(
                    {common.sql_literal(str(utf8))}, delim = ';', quote = '"', escape = '"',
                    header = true, auto_detect = false, columns = {column_spec},
                    store_rejects = true, rejects_table = 'bvh_rejects',
                    rejects_scan = 'bvh_reject_scans'
                )
            ) as typed
        ) as records
        """
    )
    misplaced = con.execute(
        f"""
        select min(line) from bvh_rejects
        where line < {total_lines} and csv_line like '%{TRAILER_TAG};%'
          and ltrim(csv_line, chr(10) || chr(13)) like '{TRAILER_TAG};%'
        """
    ).fetchone()
    if misplaced and misplaced[0] is not None:
        raise RejectedFile(f"trailer found at line {misplaced[0]}, it must be the last line")

    # Line numbers of readable records: the data lines that DuckDB did not reject, in order.
    # Without rejects other than the trailer, record k is on line k + 1. Record k is row k
    # of bvh_checked (``rowid`` k - 1): DuckDB keeps the reader's order in the table it
    # creates (preserve_insertion_order, which ``ingest_landing`` requires), and numbering
    # the records in the read (a window) would hold the whole statement on one thread.
    # (A table created in an open transaction numbers its rows from a large offset.)
    first_row, last_row, records = con.execute(
        "select coalesce(min(rowid), 0), coalesce(max(rowid), -1), count(*) from bvh_checked"
    ).fetchone() or (0, -1, 0)
    common.require_contiguous(first_row, last_row, records)
    rejected_lines = con.execute(
        f"select count(distinct line) from bvh_rejects where line < {total_lines}"
    ).fetchone()
    if rejected_lines and rejected_lines[0]:
        data_lines = f"select line_number from range(2, {total_lines}) as t(line_number)"
        rejected = (
            f"select distinct line as line_number from bvh_rejects where line < {total_lines}"
        )
        con.execute(
            "create or replace temp table bvh_lines as "
            + common.record_lines_sql(data_lines, rejected)
        )
        checked = f"""(
            select bvh_lines.line_number, bvh_checked.*
            from bvh_checked
            inner join bvh_lines on bvh_lines.record_index = bvh_checked.rowid - {first_row} + 1
        ) as checked"""
    else:
        checked = f"(select rowid - {first_row} + 2 as line_number, * from bvh_checked) as checked"

    quarantined = common.quarantine_rows(
        ctx,
        delivery.name,
        common.rejects_sql(
            "bvh_rejects",
            f"line < {total_lines}",
            "coalesce(column_name, '(record)')",
            "trim(csv_line, chr(10) || chr(13))",
        )
        + f" union all {common.checked_rows_sql(checked)}",
    )

    if entity == "BESLAG":
        expected_total = _parse_amount(fields[2])
        row = con.execute(
            "select coalesce(sum(waarde), 0) from bvh_checked where problem is null"
        ).fetchone()
        actual_total = Decimal(row[0]) if row else Decimal(0)
        if expected_total is None or expected_total != actual_total:
            raise RejectedFile(
                f"trailer control total {fields[2]} does not match the sum of WAARDE "
                f"of the readable records ({actual_total:,.2f})",
                rows_declared=declared,
            )
    elif fields[2] != "0":
        raise RejectedFile(f"trailer control total must be 0 in {entity} files, got '{fields[2]}'")

    names = ", ".join(name.lower() for name, _ in columns)
    con.execute(
        f"""
        insert into {raw_table(entity)}
        select {names}, ?, ?, line_number, ?
        from {checked} where problem is null
        """,
        [delivery.delivery_date, ctx.file_id, ctx.run_id],
    )
    row = con.execute("select count(*) from bvh_checked where problem is null").fetchone()
    loaded = int(row[0]) if row else 0
    return FileOutcome.loaded(declared, loaded, quarantined)
