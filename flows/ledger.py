"""The file ledger: one row per delivered file the warehouse has seen, and what became of it.

Status values:
- ``loaded``: its rows are in the raw tables (rows declared = loaded + quarantined);
- ``rejected``: it failed its own checks; nothing of it is in the raw tables;
- ``duplicate``: byte-identical to a file already loaded under another name; loads nothing;
- ``superseded``: a later file under the same name (a correction) replaced it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, time

import duckdb

LEDGER_DDL = """
create schema if not exists meta;
create sequence if not exists meta.file_id_seq start 1;
create table if not exists meta.file_ledger (
    file_id bigint primary key,
    file_name varchar not null,
    source_system varchar not null,
    entity varchar,
    delivery_date date not null,
    delivery_time time,
    delivery_seq integer,
    size_bytes bigint not null,
    stat_fingerprint varchar not null,
    sha256 varchar not null,
    manifest_sha256 varchar,
    rows_declared bigint,
    rows_loaded bigint,
    rows_quarantined bigint,
    status varchar not null,
    reason varchar,
    arrival_seq bigint not null,
    loaded_at timestamptz not null,
    load_seconds double,
    run_id varchar not null,
    superseded_by bigint
);
create table if not exists meta.quarantined_rows (
    file_id bigint not null,
    file_name varchar not null,
    line_number bigint,
    column_name varchar,
    reason varchar not null,
    raw_record varchar,
    run_id varchar not null
);
"""


@dataclass(frozen=True)
class InForce:
    """The ledger row in force (not superseded) under a file name: what ingest compares a
    file in landing with."""

    file_id: int
    stat_fingerprint: str
    sha256: str
    manifest_sha256: str | None
    status: str


@dataclass(frozen=True)
class Entry:
    """One row of meta.file_ledger, as ingest writes it (its columns, in their order)."""

    file_id: int
    file_name: str
    source_system: str
    entity: str | None
    delivery_date: date
    delivery_time: time | None
    delivery_seq: int | None
    size_bytes: int
    stat_fingerprint: str
    sha256: str
    manifest_sha256: str | None
    rows_declared: int | None
    rows_loaded: int
    rows_quarantined: int
    status: str  # loaded, rejected or duplicate (superseded is set by ``supersede``)
    reason: str | None
    arrival_seq: int
    loaded_at: datetime
    load_seconds: float
    run_id: str
    superseded_by: int | None = None


def ensure_meta(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(LEDGER_DDL)


def in_force(con: duckdb.DuckDBPyConnection) -> dict[str, InForce]:
    """The row in force of every file name, in one query."""
    cursor = con.execute(
        """
        select file_name, file_id, stat_fingerprint, sha256, manifest_sha256, status
        from meta.file_ledger
        where status <> 'superseded'
        order by file_id
        """
    )
    entries: dict[str, InForce] = {}
    for name, *values in cursor.fetchall():
        entries.setdefault(name, InForce(*values))
    return entries


def touch(con: duckdb.DuckDBPyConnection, file_id: int, stat_fingerprint: str) -> None:
    """The same bytes with a new modification time: remember it, so the file is not hashed
    again."""
    con.execute(
        "update meta.file_ledger set stat_fingerprint = ? where file_id = ?",
        [stat_fingerprint, file_id],
    )


def supersede(con: duckdb.DuckDBPyConnection, file_id: int, by: int) -> None:
    """A correction (file ``by``) replaces the file under its name."""
    con.execute(
        "update meta.file_ledger set status = 'superseded', superseded_by = ? where file_id = ?",
        [by, file_id],
    )


def loaded_twins(
    con: duckdb.DuckDBPyConnection, sha256s: Sequence[str], source_system: str
) -> dict[str, str]:
    """Per sha256: the name of the first loaded file of the system with exactly these bytes."""
    if not sha256s:
        return {}
    twins: dict[str, str] = {}
    for sha, name in con.execute(
        """
        select sha256, file_name from meta.file_ledger
        where source_system = ? and status = 'loaded' and sha256 in (select unnest(?))
        order by arrival_seq
        """,
        [source_system, list(sha256s)],
    ).fetchall():
        twins.setdefault(sha, name)
    return twins


def new_file_ids(con: duckdb.DuckDBPyConnection, count: int) -> list[int]:
    """``count`` file ids, ascending."""
    return sorted(
        int(row[0])
        for row in con.execute(
            "select nextval('meta.file_id_seq') from range(?)", [count]
        ).fetchall()
    )


def next_arrival_seq(con: duckdb.DuckDBPyConnection) -> int:
    row = con.execute("select coalesce(max(arrival_seq), 0) + 1 from meta.file_ledger").fetchone()
    assert row is not None
    return int(row[0])


def record(con: duckdb.DuckDBPyConnection, entries: Sequence[Entry]) -> None:
    """Insert entries in one statement: a list per column, unnested side by side."""
    if not entries:
        return
    rows = [asdict(entry) for entry in entries]
    columns = list(rows[0])
    con.execute(
        f"insert into meta.file_ledger ({', '.join(columns)}) "
        f"select {', '.join('unnest(?)' for _ in columns)}",
        [[row[column] for row in rows] for column in columns],
    )


def forget_quarantined(con: duckdb.DuckDBPyConnection, file_ids: Sequence[int]) -> None:
    """Rejected files keep no quarantined rows: the file itself is quarantined whole."""
    if file_ids:
        con.execute(
            "delete from meta.quarantined_rows where file_id in (select unnest(?))",
            [list(file_ids)],
        )
