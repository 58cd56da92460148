"""``dwh status`` and the status summary that alerts carry.

Status also recognises dead runs: when nobody holds the run lock, a run without an outcome
died, and status marks it ``abandoned`` (flows/runs.py) before it shows the runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from flows import ledger, runs
from flows.errors import DwhError
from flows.settings import Settings
from flows.sources.common import sql_literal


def summary(con: duckdb.DuckDBPyConnection, published_db: Path) -> dict[str, Any]:
    """Files per system and status, files waiting for a correction, the latest edition."""
    files = con.execute(
        """
        select source_system, status, count(*), sum(rows_loaded), sum(rows_quarantined)
        from meta.file_ledger group by all order by all
        """
    ).fetchall()
    rejected = con.execute(
        "select file_name, reason from meta.file_ledger where status = 'rejected' order by file_id"
    ).fetchall()
    last_runs = con.execute(
        """
        select run_id, peildatum::varchar, outcome, started_at::varchar
        from meta.runs order by started_at desc limit 5
        """
    ).fetchall()
    editions = runs.published_editions(published_db)
    latest = max(editions.items(), key=lambda item: item[1], default=None)
    return {
        "files": [
            {
                "source_system": system,
                "status": status,
                "files": count,
                "rows_loaded": loaded,
                "rows_quarantined": quarantined,
            }
            for system, status, count, loaded, quarantined in files
        ],
        "rejected_files": [{"file": name, "reason": reason} for name, reason in rejected],
        "last_runs": [
            {"run_id": run_id, "peildatum": peildatum, "outcome": outcome, "started_at": started}
            for run_id, peildatum, outcome, started in last_runs
        ],
        "latest_published_edition": (
            {"peildatum": latest[1].isoformat(), "run_id": latest[0]} if latest else None
        ),
        "published_editions": len(editions),
    }


def summary_of(settings: Settings) -> dict[str, Any]:
    """:func:`summary` of the work database, or why it is unavailable (alerts carry it)."""
    try:
        con = duckdb.connect(str(settings.work_db), read_only=True)
    except duckdb.Error as exc:
        return {"error": f"status unavailable: {exc}"}
    try:
        return summary(con, settings.published_db)
    finally:
        con.close()


def _mark_dead_runs(settings: Settings) -> list[runs.AbandonedRun]:
    """Mark dead runs abandoned (the caller holds the run lock); alert as a run would."""
    try:
        con = duckdb.connect(str(settings.work_db))
    except duckdb.IOException:
        return []  # someone reads the work database this moment: the next look marks them
    try:
        ledger.ensure_meta(con)
        dead = runs.mark_abandoned(con, runs.published_editions(settings.published_db))
        if dead:
            from flows import alerts

            status = summary(con, settings.published_db)
            for run in dead:
                alerts.send(settings, alerts.abandoned(settings, run, status), warn=print)
        return dead
    finally:
        con.close()


def print_status(settings: Settings) -> None:
    if not settings.work_db.exists():
        print(f"no runs yet under {settings.home_dir}")
        return
    lock = runs.probe(settings.home_dir)
    live = lock is None
    dead: list[runs.AbandonedRun] = []
    if lock is None:
        print(f"Run in progress: {runs.describe_holder(runs.holder(settings.home_dir))}")
    else:
        try:
            dead = _mark_dead_runs(settings)
        finally:
            lock.release()
    for run in dead:
        print(f"Marked run {run.run_id} (peildatum {run.peildatum}) abandoned: {run.reason}")
    con = duckdb.connect(":memory:")
    try:
        try:
            con.execute(f"attach {sql_literal(str(settings.work_db))} as work (read_only)")
        except duckdb.IOException as exc:
            if live:
                print("The run holds the work database now; its details show when it ends.")
                return
            raise DwhError(f"cannot read {settings.work_db}: {exc}") from exc
        con.execute("use work")
        print("Last runs:")
        con.sql(
            """
            select
                run_id,
                peildatum,
                coalesce(outcome, 'running') as outcome,
                strftime(started_at, '%Y-%m-%d %H:%M:%S') as started,
                strftime(coalesce(finished_at, found_abandoned_at), '%Y-%m-%d %H:%M:%S')
                    as ended_or_found_dead,
                left(split_part(coalesce(reason, ''), chr(10), 1), 90) as first_reason
            from meta.runs order by started_at desc limit 10
            """
        ).show(max_width=200)
        print("Files per system:")
        con.sql(
            """
            select source_system, status, count(*) as files, sum(rows_loaded) as rows_loaded,
                   sum(rows_quarantined) as rows_quarantined
            from meta.file_ledger group by all order by all
            """
        ).show(max_width=200)
        rejected = """
            select file_name, reason from meta.file_ledger
            where status = 'rejected' order by file_id
        """
        if con.execute(rejected).fetchall():
            print("Rejected files (waiting for a correction):")
            con.sql(rejected).show(max_width=200)
        if settings.published_db.exists():
            con.execute(
                f"attach {sql_literal(str(settings.published_db))} as published (read_only)"
            )
            print("Published editions:")
            con.sql(
                "select peildatum, published_at, run_id from published.meta.editions order by 1"
            ).show(max_width=200)
        else:
            print("Nothing published yet.")
    finally:
        con.close()
