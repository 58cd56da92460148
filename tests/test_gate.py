"""The quality gate: GE suites from expectations/ on audit tables; failures named, results kept."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import duckdb
import pytest

from flows.gate import compare_with_previous_edition, load_suites, validate_suites
from flows.settings import PROJECT_ROOT

SUITES = load_suites(PROJECT_ROOT / "expectations")


def audit_tables(con: duckdb.DuckDBPyConnection, *, rejected: bool, miscount: bool) -> None:
    compare_with_previous_edition(con, Path("/nonexistent/warehouse.duckdb"), date(2023, 2, 15))
    con.execute("create schema audit")
    con.execute(
        f"""
        create table audit.deliveries as
        select * from (values
            ('BVH_ONDERZOEK_20220331.csv', 'loaded', null, 3, 3, 0, 3, 0.0),
            ('GPS_VERDACHTEZAKEN_20220401.csv', 'loaded', null, 2000, 1999, 1,
             {1999 if miscount else 2000}, 0.0005),
            ('BVO_EVENTS_20220404T230000_000002.jsonl.gz',
             '{"rejected" if rejected else "loaded"}',
             {"'manifest declares 5 records, the file has 4 lines'" if rejected else "null"},
             5, {0 if rejected else 5}, 0, {0 if rejected else 5}, 0.0)
        ) as t(file_name, status, reason, rows_declared, rows_loaded, rows_quarantined,
               rows_accounted, quarantined_share)
        """
    )
    con.execute(
        """
        create table audit.layers as
        select 'bvh+bvo' as source_system, 'beslag' as entity, 'as of peildatum -> facts' as layers,
               10 as records_from, 8 as records_to, 2 as explained_difference,
               0 as discrepancy, 0.00 as euro_discrepancy
        """
    )
    con.execute(
        """
        create table audit.facts as
        select 'fct_beslag' as fact_table, 'negative value' as check_name, 0 as violations
        """
    )
    con.execute(
        """
        create table audit.indicators as
        select * from (values
            ('csv_onderzoeken', 'count', 2021, true, 1600.0, 4.0, null),
            ('csv_onderzoeken', 'count', 2022, true, 400.0, -0.75, null),
            ('executie_positief_pct', 'percent', 2022, true, 80.0, null, 10.0)
        ) as t(indicator_code, unit, report_year, is_present, realisation,
               relative_change_vs_previous_year, point_change_vs_previous_year)
        """
    )


@pytest.fixture
def con(tmp_path):
    connection = duckdb.connect(str(tmp_path / "work.duckdb"))
    yield connection
    connection.close()


def test_a_clean_audit_passes_with_plausibility_only_warned(con, tmp_path):
    audit_tables(con, rejected=False, miscount=False)
    report = validate_suites(
        con, SUITES, run_id="r1", peildatum="2023-02-15", results_dir=tmp_path / "r1"
    )
    assert report.passed
    # A warning per row: one quarantined row; a rise of +400% and a drop of -75%.
    warnings = [str(warning) for warning in report.warnings]
    assert len(warnings) == 3
    assert any("rows_quarantined" in warning for warning in warnings)
    assert sum("relative_change_vs_previous_year" in warning for warning in warnings) == 2
    quarantined = next(w for w in report.warnings if "rows_quarantined" in w.check)
    assert quarantined.file == "GPS_VERDACHTEZAKEN_20220401.csv"


def test_messages_show_no_missing_value_artefacts(con, tmp_path):
    """A loaded file has no reason (NULL): its message must not read reason=nan or None."""
    audit_tables(con, rejected=False, miscount=True)
    report = validate_suites(
        con, SUITES, run_id="r5", peildatum="2023-02-15", results_dir=tmp_path / "r5"
    )
    messages = [str(reason) for reason in report.failures + report.warnings]
    assert messages
    for message in messages:
        assert not re.search(r"\b(nan|None|NaT|<NA>)\b", message), message
    assert any("1999" in message for message in messages)


def test_a_suite_whose_audit_table_this_run_did_not_build_blocks(con, tmp_path):
    """dbt skips the audit models after a failing test upstream; the tables an earlier run
    left must not be validated as if they were this run's."""
    audit_tables(con, rejected=False, miscount=False)
    built = {"audit.deliveries", "audit.layers", "audit.indicators"}  # not audit.facts
    report = validate_suites(
        con,
        SUITES,
        run_id="r6",
        peildatum="2023-02-15",
        results_dir=tmp_path / "r6",
        built_relations=built,
    )
    assert [str(failure) for failure in report.failures] == [
        "facts suite: not validated: its audit table audit.facts was not built by this run "
        "(dbt skipped it after a failing test or model upstream)"
    ]


def test_a_rejected_file_and_a_miscount_block_with_file_and_reason_named(con, tmp_path):
    audit_tables(con, rejected=True, miscount=True)
    report = validate_suites(
        con, SUITES, run_id="r2", peildatum="2023-02-15", results_dir=tmp_path / "r2"
    )
    assert not report.passed
    assert len(report.failures) == 2
    rejected, miscount = sorted(str(failure) for failure in report.failures)
    assert "expect_column_pair_values_to_be_equal" in rejected or "status" in rejected
    assert {failure.file for failure in report.failures} == {
        "BVO_EVENTS_20220404T230000_000002.jsonl.gz",
        "GPS_VERDACHTEZAKEN_20220401.csv",
    }
    joined = "\n".join(str(failure) for failure in report.failures)
    assert "BVO_EVENTS_20220404T230000_000002.jsonl.gz" in joined
    assert "manifest declares 5 records" in joined
    assert "GPS_VERDACHTEZAKEN_20220401.csv" in joined
    assert miscount


def test_every_result_is_stored_as_table_json_and_data_docs(con, tmp_path):
    audit_tables(con, rejected=True, miscount=False)
    validate_suites(con, SUITES, run_id="r3", peildatum="2023-02-15", results_dir=tmp_path / "r3")
    stored = con.execute(
        """
        select suite, count(*), count(*) filter (where not success and severity = 'critical')
        from meta.validation_results where run_id = 'r3' group by 1 order by 1
        """
    ).fetchall()
    expected_per_suite = {suite["name"]: len(suite["expectations"]) for suite in SUITES}
    assert {suite: total for suite, total, _ in stored} == expected_per_suite
    assert dict((suite, failed) for suite, _, failed in stored)["deliveries"] == 1
    for suite in expected_per_suite:
        result = json.loads((tmp_path / "r3" / f"{suite}.json").read_text(encoding="utf-8"))
        assert "results" in result
    assert (tmp_path / "r3" / "data_docs" / "index.html").exists()
    assert list((tmp_path / "r3" / "data_docs" / "validations").rglob("*.html"))


def test_every_suite_names_an_audit_relation_and_says_what_it_guards():
    assert {suite["name"] for suite in SUITES} == {
        "deliveries",
        "reconciliation",
        "facts",
        "indicators",
        "editions",
    }
    for suite in SUITES:
        assert suite["meta"]["audit_relation"].startswith("audit")
        assert suite["meta"]["guards"]
        for expectation in suite["expectations"]:
            assert expectation["meta"]["failure"]


def test_a_figure_that_moved_since_the_previous_edition_is_warned(con, tmp_path):
    published = tmp_path / "published.duckdb"
    previous = duckdb.connect(str(published))
    previous.execute("create schema report")
    previous.execute(
        """
        create table report.indicators as
        select * from (values
            (date '2023-01-15', 2022, 'csv_onderzoeken', 'count', 1000.00),
            (date '2023-01-15', 2022, 'executie_positief_pct', 'percent', 50.0),
            (date '2023-02-15', 2022, 'csv_onderzoeken', 'count', 9999.00)
        ) as t(peildatum, report_year, indicator_code, unit, realisation)
        """
    )
    previous.close()
    con.execute("create schema report")
    con.execute(
        """
        create table report.indicators as
        select * from (values
            (2022, 'csv_onderzoeken', 'count', 1400.00),
            (2022, 'executie_positief_pct', 'percent', 55.0)
        ) as t(report_year, indicator_code, unit, realisation)
        """
    )
    compare_with_previous_edition(con, published, date(2023, 2, 15))
    changes = con.execute(
        """
        select indicator_code, previous_peildatum::varchar, relative_change, point_change
        from audit_edition_changes order by 1
        """
    ).fetchall()
    assert changes == [
        ("csv_onderzoeken", "2023-01-15", pytest.approx(0.4), None),
        ("executie_positief_pct", "2023-01-15", None, pytest.approx(5.0)),
    ]
    editions = [suite for suite in SUITES if suite["name"] == "editions"]
    report = validate_suites(
        con, editions, run_id="r4", peildatum="2023-02-15", results_dir=tmp_path / "r4"
    )
    assert report.passed
    assert len(report.warnings) == 1 and "csv_onderzoeken" in str(report.warnings[0])
