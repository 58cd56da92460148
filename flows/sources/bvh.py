"""BVH, the police's old system: full snapshots per entity, ``;``-separated Windows-1252.

DuckDB cannot read cp1252 without an extension that is downloaded at run time, and
latin-1 rejects the bytes 0x80-0x9F that cp1252 uses for the euro sign and curly quotes.
So each file is transcoded whole, streaming, to UTF-8 first (bytes in, bytes out); DuckDB's
``read_csv`` then does all parsing, and SQL checks every field in the same statement.
See docs/decisions/0004.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import duckdb

from flows.errors import RejectedFile
from flows.sources import common
from flows.sources.common import Admitted, Delivery, FileOutcome, PassFile, Scan, Tally

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
FILE_BY_FILE = True  # the next snapshot is transcoded while DuckDB reads the current one
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


def transcode_to_utf8(source: Path, target: Path) -> int:
    """Stream a cp1252 file to UTF-8; return its number of lines.

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
    return line_ends if last.endswith(b"\n") else line_ends + 1


def _parse_amount(text: str) -> Decimal | None:
    if not re.match(AMOUNT_PATTERN, text):
        return None
    return Decimal(text.replace(".", "").replace(",", "."))


def _records_sql(columns: list[tuple[str, str]], path: str) -> str:
    """SQL: the records of the CSV file at ``path`` (a literal), each field typed from the
    reader's text (named as the raw table's column) and checked against the text as
    delivered (``delivered_<i>``), with ``problem`` and, where it is set, ``raw_record``."""
    typed = []
    checks = []
    texts = [f"delivered_{number}" for number in range(len(columns))]
    for text, (name, kind) in zip(texts, columns, strict=True):
        column = name.lower()
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
    delivered = [f"{name} as {text}" for text, (name, _) in zip(texts, columns, strict=True)]
    raw_record = " || ';' || ".join(f"coalesce({text}, '')" for text in texts)
    return f"""
        select
            0 as file_index,
            * exclude ({", ".join(texts)}),
            case when problem is not null then {raw_record} end as raw_record
        from (
            select *, case {" ".join(checks)} end as problem
            from (
                select {", ".join(typed)}, {", ".join(delivered)}
                from {common.csv_reader_sql(path, ";", [name for name, _ in columns], "bvh")}
            ) as typed
        ) as records
    """


def admit(file: PassFile) -> Admitted:
    """The file transcoded to a UTF-8 copy in the scratch folder, then its header and
    trailer checked on the copy."""
    copy = file.ctx.scratch / f"{file.delivery.name}.utf8"
    try:
        return _check_copy(file, copy, transcode_to_utf8(file.delivery.path, copy))
    except RejectedFile:
        copy.unlink(missing_ok=True)
        raise


def _check_copy(file: PassFile, copy: Path, total_lines: int) -> Admitted:
    """Header and trailer of a snapshot's UTF-8 copy: the records its trailer declares."""
    assert file.delivery.entity is not None
    columns = ENTITIES[file.delivery.entity]
    with copy.open(encoding="utf-8", newline="") as handle:
        header = handle.readline().rstrip("\r\n")
    expected = ";".join(name for name, _ in columns)
    if header != expected:
        raise RejectedFile(f"header does not match the spec: got '{header}', expected '{expected}'")
    with copy.open("rb") as handle:
        size = handle.seek(0, 2)
        handle.seek(max(0, size - 4096))  # the trailer: the last line, in the last 4 KB
        tail = handle.read().decode("utf-8", errors="replace").rstrip("\r\n").splitlines()
    trailer = tail[-1] if tail else ""
    fields = trailer.split(";")
    if fields[0] != TRAILER_TAG or len(fields) != 3 or not fields[1].isdigit():
        raise RejectedFile(
            f"no valid trailer '#EINDE;<count>;<control total>' on the last line "
            f"(line {total_lines}: '{trailer[:60]}')"
        )
    declared = int(fields[1])
    if declared != total_lines - 2:
        raise RejectedFile(
            f"trailer declares {declared} data records, the file has {total_lines - 2} "
            f"between header and trailer",
            rows_declared=declared,
        )
    return Admitted(file, declared=declared, shape=(total_lines, fields[2]), copy=copy)


def unreadable(file: Admitted, exc: duckdb.Error) -> FileOutcome:
    """A snapshot DuckDB's reader cannot parse at all (its header and trailer were sound:
    ``admit`` found the records its trailer declares)."""
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return FileOutcome.rejected(
        f"cannot read as ';'-separated CSV: {first_line}", rows_declared=file.declared
    )


def scan(con: duckdb.DuckDBPyConnection, files: Sequence[Admitted]) -> Scan:
    """A snapshot's UTF-8 copy, parsed by DuckDB, every field typed and checked in the same
    statement. A record DuckDB cannot split into the specified fields lands in its rejects
    table with its line number (quarantined); the trailer is one of those (3 fields)."""
    (file,) = files
    entity = file.delivery.entity
    assert entity is not None and file.copy is not None
    columns = ENTITIES[entity]
    total_lines, control_total = file.shape

    def judge(tallies: Sequence[Tally]) -> list[int | FileOutcome]:
        misplaced = con.execute(
            f"""
            select min(line) from bvh_rejects
            where line < {total_lines} and csv_line like '%{TRAILER_TAG};%'
              and ltrim(csv_line, chr(10) || chr(13)) like '{TRAILER_TAG};%'
            """
        ).fetchone()
        if misplaced and misplaced[0] is not None:
            reason = f"trailer found at line {misplaced[0]}, it must be the last line"
            return [FileOutcome.rejected(reason)]
        if entity != "BESLAG":
            if control_total == "0":
                return [int(file.declared or 0)]
            reason = f"trailer control total must be 0 in {entity} files, got '{control_total}'"
            return [FileOutcome.rejected(reason)]
        row = con.execute("select sum(waarde) from pass_scan where problem is null").fetchone()
        actual = Decimal(row[0] or 0) if row else Decimal(0)
        if _parse_amount(control_total) == actual:
            return [int(file.declared or 0)]
        return [
            FileOutcome.rejected(
                f"trailer control total {control_total} does not match the sum of WAARDE "
                f"of the readable records ({actual:,.2f})",
                rows_declared=file.declared,
            )
        ]

    rejected = f"select distinct line from bvh_rejects where line < {total_lines}"
    return Scan(
        files,
        _records_sql(columns, common.sql_literal(str(file.copy))),
        raw_table(entity),
        [*(name.lower() for name, _ in columns), "delivery_date"],
        first_line=2,
        skipped=f"select 0 as file_index, line as line_number from ({rejected})",
        rejects=common.rejects_sql(
            "bvh_rejects",
            f"line < {total_lines}",
            "coalesce(column_name, '(record)')",
            "trim(csv_line, chr(10) || chr(13))",
        ),
        judge=judge,
        csv_rejects="bvh_rejects",
    )
