"""Full or incremental: how ``dbt build`` brings the models to a peildatum (decision 0014).

The models that cost most keep their state between runs on DuckDB (the latest GPS row per
case; the COMPAS cases in force, which change only when a snapshot arrives). A build is
incremental only when the state they hold can be brought exactly to this peildatum from
what changed since it was built:

- the engine is DuckDB (Spark always builds in full);
- the last build finished (its state is recorded in ``meta.transform_state``; a build that
  starts removes the record, a build that ends without a model error writes it again, so a
  build that died or failed leaves none);
- this peildatum is on or after that build's (a past edition, a backfill going back: full);
- no file was superseded since (a correction retracts rows: full), and the dbt project,
  seeds and code are those of that build (a changed model: full);
- ``DWH_INCREMENTAL`` is not switched off.

What changed since is handed to the models in ``meta.build_delta``: the peildatum and the
highest file id of the last build. A model recomputes the keys of rows in files loaded
since, and of rows dated after the last build's peildatum up to this one (an old file can
hold rows that were in the future then). Rejected and duplicate files load no rows, so
they change nothing here. Otherwise ``dbt build --full-refresh`` rebuilds everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from flows.settings import Settings

STATE_DDL = """
create schema if not exists meta;
create table if not exists meta.transform_state (
    peildatum date not null,
    max_file_id bigint not null,
    project_fingerprint varchar not null,
    engine varchar not null
);
create or replace table meta.build_delta (
    incremental boolean not null,
    since_peildatum date,
    since_file_id bigint,
    peildatum date not null
);
"""


@dataclass(frozen=True)
class BuildPlan:
    incremental: bool
    reason: str
    since_peildatum: date | None = None
    since_file_id: int | None = None


def _has_ledger(con: duckdb.DuckDBPyConnection) -> bool:
    row = con.execute(
        "select count(*) from duckdb_tables() "
        "where schema_name = 'meta' and table_name = 'file_ledger'"
    ).fetchone()
    return bool(row and row[0])


def decide(
    con: duckdb.DuckDBPyConnection, settings: Settings, peildatum: date, engine: str
) -> BuildPlan:
    """Incremental or full, and why; reads ``meta.transform_state`` and the ledger."""
    from flows.planning import project_fingerprint

    if engine != "duckdb":
        return BuildPlan(False, f"the {engine} target always builds in full")
    if not settings.incremental:
        return BuildPlan(False, "DWH_INCREMENTAL is off")
    con.execute(STATE_DDL)
    state = con.execute(
        "select peildatum, max_file_id, project_fingerprint, engine from meta.transform_state"
    ).fetchall()
    if len(state) != 1:
        return BuildPlan(False, "no finished build to continue from")
    since_peildatum, since_file_id, fingerprint, built_on = state[0]
    if built_on != engine:
        return BuildPlan(False, f"the last build ran on {built_on}")
    if peildatum < since_peildatum:
        return BuildPlan(False, f"the peildatum lies before the last build's ({since_peildatum})")
    if fingerprint != project_fingerprint():
        return BuildPlan(False, "the dbt project, seeds or code changed since the last build")
    if not _has_ledger(con):
        return BuildPlan(False, "no file ledger")
    superseded = con.execute(
        "select count(*) from meta.file_ledger where superseded_by > ?", [since_file_id]
    ).fetchone()
    if superseded and superseded[0]:
        return BuildPlan(False, "a correction superseded a file since the last build")
    return BuildPlan(
        True,
        f"continues the build at peildatum {since_peildatum} (files after id {since_file_id})",
        since_peildatum,
        since_file_id,
    )


def prepare(
    con: duckdb.DuckDBPyConnection, settings: Settings, peildatum: date, engine: str
) -> BuildPlan:
    """Decide, hand the delta to the models, and forget the last build's state until this
    one finishes."""
    plan = decide(con, settings, peildatum, engine)
    con.execute(STATE_DDL)
    con.execute("delete from meta.transform_state")
    con.execute(
        "insert into meta.build_delta values (?, ?, ?, ?)",
        [plan.incremental, plan.since_peildatum, plan.since_file_id, peildatum],
    )
    return plan


def record_finished(
    con: duckdb.DuckDBPyConnection, peildatum: date, max_file_id: int, engine: str
) -> None:
    """The state the models now hold: the next build can continue from it."""
    from flows.planning import project_fingerprint

    con.execute(STATE_DDL.split("create or replace table meta.build_delta")[0])
    con.execute("delete from meta.transform_state")
    con.execute(
        "insert into meta.transform_state values (?, ?, ?, ?)",
        [peildatum, max_file_id, project_fingerprint(), engine],
    )


def max_file_id(con: duckdb.DuckDBPyConnection) -> int:
    if not _has_ledger(con):
        return 0
    row = con.execute("select coalesce(max(file_id), 0) from meta.file_ledger").fetchone()
    return int(row[0]) if row else 0
