"""docs/queries.md: every analyst query runs on the demo warehouse in DuckDB 2.0 and 1.4."""

from __future__ import annotations

import re

import duckdb
import pytest
from old_client import run_old

from flows.settings import PROJECT_ROOT

QUERIES_MD = PROJECT_ROOT / "docs" / "queries.md"


def queries() -> list[str]:
    return re.findall(r"```sql\n(.*?)```", QUERIES_MD.read_text(encoding="utf-8"), re.S)


def test_queries_md_holds_at_least_ten_questions_each_with_sql():
    questions = re.findall(r"^## \d+\. ", QUERIES_MD.read_text(encoding="utf-8"), re.M)
    assert len(questions) >= 10
    assert len(queries()) >= len(questions)


@pytest.mark.e2e
def test_every_query_answers_on_the_demo_warehouse_in_both_clients(analyst_warehouse, old_duckdb):
    path = analyst_warehouse / "published" / "warehouse.duckdb"
    con = duckdb.connect(str(path), read_only=True)
    try:
        new_counts = [len(con.execute(query).fetchall()) for query in queries()]
    finally:
        con.close()
    script = """
con = duckdb.connect(ARGS["path"], read_only=True)
RESULT = [len(con.execute(query).fetchall()) for query in ARGS["queries"]]
"""
    old_counts = run_old(old_duckdb, script, {"path": str(path), "queries": queries()})
    # Every question has an answer on the demo data, and both clients give the same one.
    assert all(count > 0 for count in new_counts), dict(enumerate(new_counts, 1))
    assert old_counts == new_counts
