"""The file ledger: one row per delivered file the warehouse has seen, and what became of it.

Status values:
- ``loaded``: its rows are in the raw tables (rows declared = loaded + quarantined);
- ``rejected``: it failed its own checks; nothing of it is in the raw tables;
- ``duplicate``: byte-identical to a file already loaded under another name; loads nothing;
- ``superseded``: a later file under the same name (a correction) replaced it.
"""

from __future__ import annotations

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
create table if not exists meta.run_stages (
    run_id varchar not null,
    stage varchar not null,
    started_at timestamptz not null,
    seconds double not null
);
create table if not exists meta.runs (
    run_id varchar primary key,
    started_at timestamptz not null,
    finished_at timestamptz,
    peildatum date not null,
    landing varchar not null,
    outcome varchar,
    reason varchar
);
"""


def ensure_meta(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(LEDGER_DDL)


def loaded_twin(con: duckdb.DuckDBPyConnection, sha256: str, source_system: str) -> str | None:
    """Name of a loaded file of the same system with exactly these bytes, if any."""
    row = con.execute(
        """
        select file_name from meta.file_ledger
        where sha256 = ? and source_system = ? and status = 'loaded'
        order by arrival_seq limit 1
        """,
        [sha256, source_system],
    ).fetchone()
    return row[0] if row else None


def next_arrival_seq(con: duckdb.DuckDBPyConnection) -> int:
    row = con.execute("select coalesce(max(arrival_seq), 0) + 1 from meta.file_ledger").fetchone()
    assert row is not None
    return int(row[0])
