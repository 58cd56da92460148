"""What every source module shares: the delivery a file name describes, and load results."""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, Protocol

import duckdb

CHUNK = 1 << 20


@dataclass(frozen=True)
class Delivery:
    """A file in the landing folder that a source module recognised by its name."""

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
class LoadResult:
    rows_declared: int
    rows_loaded: int
    rows_quarantined: int


@dataclass(frozen=True)
class LoadContext:
    """Where a module writes: the open work database, ids for lineage, a scratch folder."""

    con: duckdb.DuckDBPyConnection
    file_id: int
    run_id: str
    scratch: Path
    sha256: str
    # Key of the pseudonyms of personal data (COMPAS, GPS); repr=False keeps it out of logs.
    pseudonym_key: bytes | None = field(default=None, repr=False)


class SourceModule(Protocol):
    SYSTEM: str

    def recognise(self, path: Path) -> Delivery | None: ...

    def ensure_raw_tables(self, con: duckdb.DuckDBPyConnection) -> None: ...

    def load(self, delivery: Delivery, ctx: LoadContext) -> LoadResult: ...

    def delete_file_rows(self, con: duckdb.DuckDBPyConnection, file_id: int) -> None: ...


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


def finish_pass(
    load: Callable[[Delivery, LoadContext], LoadResult],
    read_shared: Callable[..., list[int]],
    selected: dict[int, Any],
    work_tables: Sequence[str],
    alone: list[int],
    deliveries: Sequence[Delivery],
    ctxs: Sequence[LoadContext],
    results: list[Any],
) -> list[Any]:
    """The end of a module's ``load_batch``: read the ``selected`` files of the pass in one
    scan (``read_shared(con, deliveries, ctxs, selected, results)``, which fills in their
    results and returns the ones it leaves to ``load``), drop the pass's work tables, then
    read the files left ``alone`` one by one. Returns every result in batch order."""
    from flows.errors import RejectedFile

    if selected:
        con = ctxs[0].con
        try:
            alone = alone + read_shared(con, deliveries, ctxs, selected, results)
        finally:
            drop_tables(con, work_tables)
    for index in sorted(alone):
        try:
            results[index] = load(deliveries[index], ctxs[index])
        except RejectedFile as rejection:
            results[index] = rejection
    return [result for result in results if result is not None]


def drop_tables(con: duckdb.DuckDBPyConnection, names: Sequence[str]) -> None:
    """Drop a module's work tables; in an aborted transaction (the caller rolls it back,
    which drops them too) the error is ignored."""
    with contextlib.suppress(duckdb.Error):
        con.execute("; ".join(f"drop table if exists {name}" for name in names))


def insert_values(con: duckdb.DuckDBPyConnection, table: str, rows: list[tuple]) -> None:
    """Insert rows of Python values into a table: a list per column, unnested side by side."""
    if rows:
        columns = [list(column) for column in zip(*rows, strict=True)]
        con.execute(
            f"insert into {table} select {', '.join('unnest(?)' for _ in columns)}", columns
        )
