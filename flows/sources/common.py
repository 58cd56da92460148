"""What every source reader shares: the delivery a file name describes, the reader's
interface and the outcome of a file, and the SQL and byte helpers of the readers."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, Literal, NamedTuple, Protocol

import duckdb

CHUNK = 1 << 20


@dataclass(frozen=True)
class Delivery:
    """A file in the landing folder that a source reader recognised by its name."""

    path: Path
    system: str
    entity: str | None
    delivery_date: date
    delivery_time: time | None = None
    seq: int | None = None
    manifest: Path | None = None

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def arrival_key(self) -> tuple:
        """sources.md: date (and time) in the name, then sequence number, then name."""
        return (self.delivery_date, self.delivery_time or time(0), self.seq or 0, self.name)


@dataclass(frozen=True)
class LoadContext:
    """Where a reader writes: the open work database, ids for lineage, a scratch folder."""

    con: duckdb.DuckDBPyConnection
    file_id: int
    run_id: str
    scratch: Path
    sha256: str
    # Key of the pseudonyms of personal data (COMPAS, GPS); repr=False keeps it out of logs.
    pseudonym_key: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True)
class PassFile:
    """A file of a pass: the delivery, and where and as what it is written."""

    delivery: Delivery
    ctx: LoadContext


@dataclass(frozen=True)
class Admitted:
    """A file that passed its reader's door checks (``SourceReader.admit``)."""

    file: PassFile
    declared: int | None = None  # records its manifest declares, when the door checks know
    shape: Any = None  # anything else the door checks learnt that the scan needs
    alone: bool = False  # to be read in a pass of its own
    copy: Path | None = None  # a scratch copy the scan reads; the engine removes it

    @property
    def delivery(self) -> Delivery:
        return self.file.delivery

    @property
    def ctx(self) -> LoadContext:
        return self.file.ctx


@dataclass(frozen=True)
class FileOutcome:
    """What a pass made of one file: ``loaded`` (rows declared = loaded + quarantined) or
    ``rejected`` with the reason (nothing of it stays in the raw tables)."""

    status: Literal["loaded", "rejected"]
    rows_declared: int | None
    rows_loaded: int = 0
    rows_quarantined: int = 0
    reason: str | None = None

    @classmethod
    def rejected(cls, reason: str, rows_declared: int | None = None) -> FileOutcome:
        return cls("rejected", rows_declared, reason=reason)


class Tally(NamedTuple):
    """A file's rows in the scan table: how many, and the position of its first."""

    rows: int
    first: int


@dataclass(frozen=True)
class Scan:
    """One SQL scan of admitted files, as a reader describes it; the pass engine
    (``flows/sources/engine.py``) runs it, numbers the lines, quarantines and stores."""

    files: Sequence[Admitted]
    # One row per record, each file's rows together and in the read's order (the engine
    # numbers lines by the ``rowid`` of the table it creates from it): ``file_index`` (the
    # file's place in ``files``), the ``columns``, ``problem`` (``column|reason`` of the first
    # failed check, NULL when sound) and ``raw_record`` (personal fields masked).
    sql: str
    table: str  # the raw table the sound records go to
    # Select items of a record, in the raw table's order; its lineage follows them. A
    # record has the scan's columns, the pass's ``delivery_date`` and what ``joins`` adds.
    columns: Sequence[str]
    first_line: int = 1  # the line of a file's first row when every line holds one
    parameters: dict[str, Any] | None = None
    # Rows at either end of a file that are no records (a header, a trailer), and SQL
    # joined to the numbered rows (what a record needs beyond the scan). With either, every
    # other row is one record and the bad ones are those quarantined (no ``rejects``).
    frame: int = 0
    joins: str = ""
    # SQL: file_index, line_number of the lines after ``first_line`` that hold no row.
    skipped: str | None = None
    # SQL: file_index, line_number, column_name, reason, raw_record of lines quarantined
    # that are no rows of the scan (the records DuckDB's CSV reader rejects).
    rejects: str | None = None
    # The rejects table of DuckDB's CSV reader over the one file of the scan: the engine
    # numbers its lines from their byte offsets (renumber_rejects) before any use.
    csv_rejects: str | None = None
    # Per file: the rows it declares (then read it), its rejection, or None (read it again
    # in a pass of its own). None here: the declared rows of ``admit``, else those scanned.
    judge: Callable[[Sequence[Tally]], Sequence[int | FileOutcome | None]] | None = None
    # Store the sound records of a query; how many it stored. None: insert into ``table``.
    store: Callable[[str], int] | None = None


class SourceReader(Protocol):
    """A source system, as ingest and the pass engine see it: each module of
    ``flows/sources/`` in ``registry.py`` is one (docs/adding-a-source.md)."""

    SYSTEM: str
    # Bytes of files read in one pass at most (the first file always); None: ingest's default.
    BATCH_BYTES: int | None
    # Suffixes of files that travel with a delivery (a manifest) and are no delivery themselves.
    COMPANIONS: tuple[str, ...]
    # Each file a scan of its own, the next file's door checks done meanwhile (BVH).
    FILE_BY_FILE: bool

    def recognise(self, path: Path) -> Delivery | None:
        """The delivery a file name describes (system, entity, date or sequence), or None."""

    def ensure_raw_tables(self, con: duckdb.DuckDBPyConnection) -> None:
        """Create the raw tables (their columns in one place per system)."""

    def delete_file_rows(self, con: duckdb.DuckDBPyConnection, file_id: int) -> None:
        """Remove what a file stored (its correction replaces it)."""

    def admit(self, file: PassFile) -> Admitted:
        """The checks in Python before any reading (encoding, header, trailer, manifest);
        raises ``RejectedFile`` for a file that fails them."""

    def scan(self, con: duckdb.DuckDBPyConnection, files: Sequence[Admitted]) -> Scan:
        """The one SQL scan of the admitted files."""

    def unreadable(self, file: Admitted, exc: duckdb.Error) -> FileOutcome | None:
        """The verdict on a file alone in its pass that DuckDB could not read; None when
        the error is not the file's (it is then raised)."""


def sha256_of(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def sql_literal(text: str) -> str:
    """A string as a SQL literal (for file paths in table functions, which take no parameters)."""
    return "'" + text.replace("'", "''") + "'"


def paths_sql(files: Sequence[Admitted]) -> str:
    """SQL: the files' paths as a list literal, for a reader over all of them."""
    return "[" + ", ".join(sql_literal(str(file.delivery.path)) for file in files) + "]"


def date_of(text: str) -> date | None:
    """A ``JJJJMMDD`` text as a date, None when it is not one."""
    try:
        return datetime.strptime(text, "%Y%m%d").date() if re.fullmatch(r"\d{8}", text) else None
    except ValueError:
        return None


def dated_delivery(
    path: Path, pattern: re.Pattern[str], system: str, entity: str | None = None
) -> Delivery | None:
    """A snapshot or delta named ``..._<JJJJMMDD>...``: its delivery, or None when the name
    does not match ``pattern`` or its date is not a date. ``pattern``'s last group is the
    date; a group named ``entity`` (if any) gives the entity."""
    match = pattern.match(path.name)
    delivered = date_of(match.group(match.lastindex or 0)) if match else None
    if match is None or delivered is None:
        return None
    found = match.groupdict().get("entity", entity)
    return Delivery(path=path, system=system, entity=found, delivery_date=delivered)


def values_table(
    con: duckdb.DuckDBPyConnection, table: str, columns: str, rows: Sequence[tuple]
) -> None:
    """A temporary table of ``columns`` (``name type, ...``) holding rows of Python values,
    passed as a list per column and unnested side by side, in one statement."""
    names = [column.split() for column in columns.split(",")]
    lists = [list(values) for values in zip(*rows, strict=True)] or [[] for _ in names]
    items = ", ".join(f"unnest(?::{kind}[]) as {name}" for name, kind in names)
    con.execute(f"create or replace temp table {table} as select {items}", lists)


def ensure_raw_table(
    con: duckdb.DuckDBPyConnection, table: str, columns: Sequence[tuple[str, str]]
) -> None:
    """A raw table: the system's columns (name, SQL type), then the lineage of every row."""
    typed = ", ".join(f"{name} {kind}" for name, kind in columns)
    con.execute(
        f"""
        create schema if not exists raw;
        create table if not exists {table} (
            {typed}, _file_id bigint not null, _line_number bigint not null,
            _run_id varchar not null
        )
        """
    )


def chunks(path: Path) -> Iterator[tuple[bytes, int, int]]:
    """A file's bytes in chunks, each with its byte offset and the line ends before it."""
    newlines = 0
    offset = 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk, offset, newlines
            newlines += chunk.count(b"\n")
            offset += len(chunk)


def byte_position(chunk: bytes, index: int, offset: int, newlines: int) -> str:
    """Byte ``index`` of a chunk from ``chunks``: its value, line and byte offset in the file."""
    line = newlines + chunk[:index].count(b"\n") + 1
    return f"byte 0x{chunk[index]:02X} at line {line} (byte offset {offset + index})"


# Four control characters as the "delimiter": no line is ever split into fields.
NO_DELIMITER = "chr(28) || chr(29) || chr(30) || chr(31)"


def line_reader_sql(files: str, **options: str) -> str:
    """SQL: DuckDB's reader of ``files`` (a path or list literal) as lines, one VARCHAR
    column ``line``, no quoting: what every reader uses to see lines as delivered."""
    extra = "".join(f", {name} = {value}" for name, value in options.items())
    return f"""read_csv(
            {files}, columns = {{'line': 'VARCHAR'}}, delim = {NO_DELIMITER}, quote = '',
            escape = '', header = false, auto_detect = false, strict_mode = false{extra}
        )"""


# DuckDB's CSV buffer in bytes; None: its default (32 MB). Tests make it small to put
# buffer boundaries where a small file has them (renumber_rejects).
CSV_BUFFER_BYTES: int | None = None


def csv_reader_sql(files: str, delim: str, names: Sequence[str], prefix: str) -> str:
    """SQL: DuckDB's reader of ``files`` (a path or list literal) as CSV with a header, every
    field of ``names`` VARCHAR, RFC 4180 quoting; records it cannot split into those fields
    go to the temporary tables ``<prefix>_rejects`` and ``<prefix>_reject_scans``."""
    spec = ", ".join(f"'{name}': 'VARCHAR'" for name in names)
    buffer = f", buffer_size = {CSV_BUFFER_BYTES}" if CSV_BUFFER_BYTES else ""
    return f"""read_csv(
            {files}, delim = '{delim}', quote = '"', escape = '"', header = true,
            auto_detect = false, columns = {{{spec}}}, store_rejects = true,
            rejects_table = '{prefix}_rejects', rejects_scan = '{prefix}_reject_scans'{buffer}
        )"""


def renumber_rejects(con: duckdb.DuckDBPyConnection, rejects: str, path: Path) -> None:
    """Set the ``line`` of the CSV rejects of a read of ``path`` alone from their byte
    offset, which DuckDB gets right: DuckDB 2.0 counts lines per buffer and can lose one at
    a buffer's end ("The lines of DuckDB's CSV rejects", decision 0013)."""
    offsets = [
        offset
        for (offset,) in con.execute(
            f"select distinct line_byte_position from {rejects} "
            "where line_byte_position is not null order by 1"
        ).fetchall()
    ]
    if not offsets:
        return
    numbered: list[int] = []
    for chunk, offset, newlines in chunks(path):
        cursor, counted = 0, newlines
        while len(numbered) < len(offsets) and offsets[len(numbered)] < offset + len(chunk):
            target = offsets[len(numbered)] - offset
            counted += chunk.count(b"\n", cursor, target)
            cursor = target
            numbered.append(counted + 1)
        if len(numbered) == len(offsets):
            break
    con.execute(
        f"""
        update {rejects} set line = numbered.line
        from (select unnest($offsets) as offset, unnest($lines) as line) as numbered
        where {rejects}.line_byte_position = numbered.offset
        """,
        {"offsets": offsets[: len(numbered)], "lines": numbered},
    )


def rejects_sql(rejects: str, where: str, column_sql: str, raw_record_sql: str) -> str:
    """SQL: ``Scan.rejects`` of a scan of one file, the records DuckDB's CSV reader put in
    its ``rejects`` table, one per line (its first column)."""
    return f"""
        select
            0 as file_index,
            line as line_number,
            {column_sql} as column_name,
            'unreadable record: ' || lower(error_type::varchar) || ' — ' || error_message
                as reason,
            {raw_record_sql} as raw_record
        from (
            select *, row_number() over (partition by line order by column_idx) as nth
            from {rejects} where {where}
        ) where nth = 1
    """
