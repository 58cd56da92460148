"""What operators and analysts read: the published edition, ad-hoc SQL, the status."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb

from flows.errors import DwhError
from flows.settings import Settings
from flows.sources.common import sql_literal


def _open_published(path: Path) -> duckdb.DuckDBPyConnection:
    if not path.exists():
        raise DwhError(f"nothing is published yet: {path} does not exist (run 'dwh run' first)")
    return duckdb.connect(str(path), read_only=True)


def print_edition(published_db: Path, peildatum: date) -> None:
    con = _open_published(published_db)
    try:
        relation = con.sql(
            """
            select report_year, indicator_code, target, realisation,
                   realisation_pct_of_target as pct_of_target, status, registration_systems
            from report.indicators
            where peildatum = $peildatum
            order by indicator_code, report_year
            """,
            params={"peildatum": peildatum},
        )
        print(f"Published edition peildatum {peildatum} ({published_db}):")
        relation.show(max_width=200, max_rows=500)
    finally:
        con.close()


def run_sql(published_db: Path, query: str) -> None:
    con = _open_published(published_db)
    try:
        relation = con.sql(query)
        if relation is not None:
            relation.show(max_width=200, max_rows=1000)
    except duckdb.Error as exc:
        raise DwhError(f"query failed: {exc}") from exc
    finally:
        con.close()


def interactive_sql(published_db: Path) -> None:
    print(f"{published_db} (read-only). End statements with ';', quit with Ctrl-D.")
    buffer: list[str] = []
    while True:
        try:
            line = input("dwh> " if not buffer else "...> ")
        except EOFError:
            print()
            return
        buffer.append(line)
        if line.rstrip().endswith(";"):
            try:
                run_sql(published_db, "\n".join(buffer))
            except DwhError as exc:
                print(exc)
            buffer = []


def print_status(settings: Settings) -> None:
    if not settings.work_db.exists():
        print(f"no runs yet under {settings.home_dir}")
        return
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"attach {sql_literal(str(settings.work_db))} as work (read_only)")
        print("Last runs:")
        con.sql(
            """
            select run_id, peildatum, outcome, started_at, finished_at,
                   left(coalesce(reason, ''), 120) as reason
            from work.meta.runs order by started_at desc limit 10
            """
        ).show(max_width=200)
        print("Files per system:")
        con.sql(
            """
            select source_system, status, count(*) as files, sum(rows_loaded) as rows_loaded,
                   sum(rows_quarantined) as rows_quarantined
            from work.meta.file_ledger group by all order by all
            """
        ).show(max_width=200)
        rejected = """
            select file_name, reason from work.meta.file_ledger
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
    except duckdb.IOException as exc:
        raise DwhError(
            f"cannot read {settings.work_db} while a run holds it ({exc}); try again later"
        ) from exc
    finally:
        con.close()
