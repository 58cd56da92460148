"""What every source reader shares: the delivery a file name describes, the reader's
interface and the outcome of a file, and the SQL and byte helpers of the readers."""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, Literal, Protocol

import duckdb

from flows.errors import RejectedFile

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
    def loaded(cls, declared: int, loaded: int, quarantined: int) -> FileOutcome:
        return cls("loaded", declared, loaded, quarantined)

    @classmethod
    def rejected(cls, reason: str, rows_declared: int | None = None) -> FileOutcome:
        return cls("rejected", rows_declared, reason=reason)

    @classmethod
    def of(cls, rejection: RejectedFile) -> FileOutcome:
        return cls.rejected(rejection.reason, rejection.rows_declared)


class SourceReader(Protocol):
    """A source system, as ingest and the pass engine (``flows/sources/engine.py``) see it.

    Each module of ``flows/sources/`` is one (a module can satisfy a Protocol); the
    registry of the systems is ``flows/sources/registry.py``, and docs/adding-a-source.md
    says how to add one.
    """

    SYSTEM: str
    # Bytes of files read in one pass at most (the first file always); None: ingest's default.
    BATCH_BYTES: int | None
    # Suffixes of files that travel with a delivery (a manifest) and are no delivery themselves.
    COMPANIONS: tuple[str, ...]
    # Temporary tables a scan may leave; the engine drops them after every scan.
    WORK_TABLES: tuple[str, ...]

    def recognise(self, path: Path) -> Delivery | None:
        """The delivery a file name describes (system, entity, date or sequence), or None."""

    def ensure_raw_tables(self, con: duckdb.DuckDBPyConnection) -> None:
        """Create the raw tables (their columns in one place per system)."""

    def delete_file_rows(self, con: duckdb.DuckDBPyConnection, file_id: int) -> None:
        """Remove what a file stored (its correction replaces it)."""

    def admit(self, file: PassFile) -> Admitted:
        """The checks in Python before any reading (encoding, header, manifest); raises
        ``RejectedFile`` for a file that fails them."""

    def scan(
        self, con: duckdb.DuckDBPyConnection, files: Sequence[Admitted]
    ) -> list[FileOutcome | None]:
        """Read the files in one scan, store their sound rows and quarantine the others;
        per file its outcome, or None for a file to read again in a pass of its own (never
        in a pass of one). A DuckDB error is raised."""

    def unreadable(self, file: Admitted, exc: duckdb.Error) -> FileOutcome | None:
        """The verdict on a file alone in its pass that DuckDB could not read; None when
        the error is not the file's (it is then raised)."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def sql_literal(text: str) -> str:
    """A string as a SQL literal (for file paths in table functions, which take no parameters)."""
    return "'" + text.replace("'", "''") + "'"


# A check's verdict is ``column|reason``; the reason itself may hold a ``|``.
PROBLEM_COLUMN_SQL = "split_part(problem, '|', 1)"
PROBLEM_REASON_SQL = "substr(problem, strpos(problem, '|') + 1)"


def quarantine_pass_rows(
    con: duckdb.DuckDBPyConnection, records_sql: str, raw_record: str = "raw_record"
) -> None:
    """Append the records of a pass with a ``problem`` to the quarantine. ``records_sql``
    gives file_id, file_name, line_number, problem, run_id and ``raw_record``."""
    con.execute(
        f"""
        insert into meta.quarantined_rows
        select
            file_id, file_name, line_number, {PROBLEM_COLUMN_SQL} as column_name,
            {PROBLEM_REASON_SQL} as reason, {raw_record} as raw_record, run_id
        from ({records_sql}) as records
        where problem is not null
        """
    )


def quarantine_rows(ctx: LoadContext, file_name: str, bad_rows_sql: str) -> int:
    """Append rows of a query (line_number, column_name, reason, raw_record) to the quarantine."""
    ctx.con.execute(
        f"""
        insert into meta.quarantined_rows
        select ?, ?, line_number, column_name, reason, raw_record, ?
        from ({bad_rows_sql})
        """,
        [ctx.file_id, file_name, ctx.run_id],
    )
    row = ctx.con.execute(
        "select count(*) from meta.quarantined_rows where file_id = ?", [ctx.file_id]
    ).fetchone()
    assert row is not None
    return int(row[0])


def dated_delivery(
    path: Path, pattern: re.Pattern[str], system: str, entity: str | None = None
) -> Delivery | None:
    """A snapshot or delta named ``..._<JJJJMMDD>...``: its delivery, or None when the name
    does not match ``pattern`` or its date is not a date. ``pattern``'s last group is the
    date; a group named ``entity`` (if any) gives the entity."""
    match = pattern.match(path.name)
    if not match:
        return None
    try:
        delivered = datetime.strptime(match.group(match.lastindex or 0), "%Y%m%d").date()
    except ValueError:
        return None
    found = match.groupdict().get("entity", entity)
    return Delivery(path=path, system=system, entity=found, delivery_date=delivered)


def drop_tables(con: duckdb.DuckDBPyConnection, names: Sequence[str]) -> None:
    """Drop a reader's work tables; in an aborted transaction (the caller rolls it back,
    which drops them too) the error is ignored."""
    with contextlib.suppress(duckdb.Error):
        con.execute("; ".join(f"drop table if exists {name}" for name in names))


def values_table(
    con: duckdb.DuckDBPyConnection, table: str, columns: str, rows: Sequence[tuple]
) -> None:
    """A temporary table of ``columns`` (SQL) holding rows of Python values, inserted as a
    list per column, unnested side by side (the files of a pass, with what SQL needs)."""
    con.execute(f"create or replace temp table {table} ({columns})")
    if rows:
        values = [list(column) for column in zip(*rows, strict=True)]
        con.execute(f"insert into {table} select {', '.join('unnest(?)' for _ in values)}", values)


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


def record_lines_sql(data_lines: str, skipped: str, *keys: str) -> str:
    """SQL: per data line that holds a record (``data_lines`` minus ``skipped``, queries of
    ``keys`` and line_number) its record's index: record k is on the k-th such line."""
    partition = f"partition by {', '.join(keys)} " if keys else ""
    return f"""
        select {"".join(f"{key}, " for key in keys)}line_number,
            row_number() over ({partition}order by line_number) as record_index
        from ({data_lines}) as data_lines
        anti join ({skipped}) as skipped using ({", ".join((*keys, "line_number"))})
    """


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


def require_contiguous(first: int, last: int, count: int) -> None:
    """Line numbers count on the rows of a file being one run of the scan. Should DuckDB ever
    interleave files, fail the pass: ingest then reads the files one by one."""
    if last - first + 1 != count:
        raise RuntimeError("rows of one file are not contiguous in a read of many files")


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


def rejects_sql(rejects: str, where: str, column_sql: str, raw_record_sql: str) -> str:
    """SQL: the quarantine rows (line_number, column_name, reason, raw_record) of the records
    DuckDB's CSV reader put in its ``rejects`` table, one per line (its first column)."""
    return f"""
        select
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


def checked_rows_sql(checked: str) -> str:
    """SQL: the quarantine rows of a checked query (line_number, problem, raw_record)."""
    return f"""
        select
            line_number,
            {PROBLEM_COLUMN_SQL} as column_name,
            {PROBLEM_REASON_SQL} as reason,
            raw_record
        from {checked} where problem is not null
    """


def verdict(check: Callable[..., FileOutcome], *args: Any) -> FileOutcome:
    """``check(*args)``, a reader's check chain that raises ``RejectedFile``, as a file's
    outcome."""
    try:
        return check(*args)
    except RejectedFile as rejection:
        return FileOutcome.of(rejection)
