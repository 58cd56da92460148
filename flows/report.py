"""What analysts read: the published edition and ad-hoc SQL (``dwh status``: flows/status.py)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb

from flows.errors import DwhError


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
