"""Transform: dbt joins BVH and BVO as known at the peildatum (run on tiny hand-made exports)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import duckdb
import pytest
from dbt.cli.main import dbtRunner

from flows.ingest import ingest_landing
from flows.settings import Settings
from flows.transform import dbt_args, release_dbt_database, run_dbt

from conftest import rows


@pytest.fixture
def built(home, deliver, ingest, work_con):
    """Ingest the BVH snapshot and BVO events, then build at a peildatum; return the figures."""
    deliver("bvh_onderzoek_valid.csv", "BVH_ONDERZOEK_20220331.csv")
    deliver("bvo/BVO_EVENTS_20220704T020000_000001.jsonl.gz")
    deliver("bvo/BVO_EVENTS_20220711T020000_000003.jsonl.gz")
    ingest()
    work_con.close()
    settings = Settings()

    def _build(peildatum: date) -> dict[int, tuple[Decimal, str | None]]:
        report = run_dbt(settings, peildatum, progress=lambda line: None)
        assert report.failed_tests == []
        # dbt's DuckDB handle is released: a connection with other settings opens.
        con = duckdb.connect(str(settings.work_db), config={"threads": 1})
        try:
            return {
                year: (realisation, systems)
                for year, realisation, systems in rows(
                    con,
                    """
                    select report_year, realisation, registration_systems
                    from report.indicators where indicator_code = 'csv_onderzoeken'
                    """,
                )
            }
        finally:
            con.close()

    return _build


def test_before_the_move_only_bvh_counts(built):
    assert built(date(2022, 3, 31)) == {
        2019: (Decimal("2.00"), "bvh"),
        2020: (Decimal("2.00"), "bvh"),
        2021: (Decimal("1.00"), "bvh"),
        2022: (Decimal("1.00"), "bvh"),
    }


def test_a_migrated_record_is_counted_once_with_bvo_state(built):
    # ON-PL01-2019-000001 was migrated as BVO record ...0001; a new BVO investigation
    # started 2022-04-05. Its closing update at 23:30 UTC on 30 June is 1 July in
    # Amsterdam, so at peildatum 30 June it is still open.
    assert built(date(2022, 6, 30)) == {
        2019: (Decimal("2.00"), "bvh+bvo"),
        2020: (Decimal("2.00"), "bvh+bvo"),
        2021: (Decimal("1.00"), "bvo"),
        2022: (Decimal("2.00"), "bvo"),
    }


def test_a_deleted_bvo_record_takes_its_bvh_predecessor_with_it(built):
    # BVO deleted the migrated record on 5 July; the event delivered twice counts once.
    assert built(date(2022, 7, 10)) == {
        2019: (Decimal("1.00"), "bvh"),
        2020: (Decimal("1.00"), "bvh"),
        2021: (Decimal("0.00"), None),
        2022: (Decimal("1.00"), "bvo"),
    }


def test_an_unmapped_code_fails_a_test_naming_the_code_file_and_line(
    home, deliver, ingest, work_con
):
    deliver("bvh_onderzoek_unknown_code.csv", "BVH_ONDERZOEK_20220331.csv")
    ingest()
    work_con.close()
    report = run_dbt(Settings(), date(2022, 6, 30), progress=lambda line: None)
    unmapped = [failure for failure in report.failed_tests if "code_is_mapped" in failure.check]
    assert len(unmapped) == 1
    assert "stg_bvh__onderzoeken_investigation_kind" in unmapped[0].check
    assert "unmapped_code=XYZ" in unmapped[0].message
    assert (unmapped[0].file, unmapped[0].row) == ("BVH_ONDERZOEK_20220331.csv", 3)
    assert "(file BVH_ONDERZOEK_20220331.csv, line 3)" in str(unmapped[0])


def _compiled_test(settings: Settings, name: str) -> str:
    """The SQL dbt last ran for the data test `name`."""
    (path,) = (settings.dbt_target_dir / "run").rglob(f"{name}.sql")
    return path.read_text(encoding="utf-8")


def test_an_incremental_build_tests_the_staging_rows_of_its_new_files_and_a_failure_leaves_no_state(  # noqa: E501
    home, deliver, ingest, work_con, key
):
    """Decision 0014: staging tests read only the rows of files loaded since the last
    build; they still catch a bad code in a new file, and a failing test leaves no state,
    so the next build is full and tests every row again."""
    deliver("bvh_onderzoek_valid.csv", "BVH_ONDERZOEK_20220331.csv")
    ingest()
    work_con.close()
    settings = Settings()
    first = run_dbt(settings, date(2022, 6, 30), progress=lambda line: None)
    assert not first.incremental and first.failed_tests == []
    check = "code_is_mapped_stg_bvh__onderzoeken_investigation_kind"
    not_null = "not_null_stg_bvh__onderzoeken_onderzoeknummer"
    assert "source_file_id >" not in _compiled_test(settings, not_null)

    deliver("bvh_onderzoek_unknown_code.csv", "BVH_ONDERZOEK_20220430.csv")
    con = duckdb.connect(str(settings.work_db))
    try:
        ingest_landing(
            con, settings.landing_dir, run_id="second", scratch=home / "scratch",
            quarantine_dir=home / "quarantine", progress=lambda line: None, pseudonym_key=key,
        )  # fmt: skip
        (first_file,) = con.execute(
            "select file_id from meta.file_ledger where file_name = 'BVH_ONDERZOEK_20220331.csv'"
        ).fetchone()
    finally:
        con.close()
    second = run_dbt(settings, date(2022, 6, 30), progress=lambda line: None)
    assert second.incremental, second.build_reason
    compiled = _compiled_test(settings, not_null)
    assert f"(source_file_id > {first_file} or source_file_id is null)" in compiled
    (unmapped,) = [failure for failure in second.failed_tests if check in failure.check]
    assert "unmapped_code=XYZ" in unmapped.message
    assert (unmapped.file, unmapped.row) == ("BVH_ONDERZOEK_20220430.csv", 3)
    # A hand-run `dbt test` tests every row: meta.build_delta still holds the night's delta.
    hand_run = dbtRunner().invoke([*dbt_args(settings, "test", date(2022, 6, 30)), "-s", not_null])
    release_dbt_database()
    assert hand_run.success, hand_run.exception
    assert "source_file_id >" not in _compiled_test(settings, not_null)

    third = run_dbt(settings, date(2022, 6, 30), progress=lambda line: None)
    assert not third.incremental and third.build_reason == "no finished build to continue from"
    assert "source_file_id >" not in _compiled_test(settings, not_null)
    assert [failure.file for failure in third.failed_tests if check in failure.check] == [
        "BVH_ONDERZOEK_20220430.csv"
    ]


def test_a_night_with_another_peildatum_keeps_dbts_partial_parse(home, deliver, ingest, work_con):
    """The peildatum reaches dbt in the environment, not as --vars: a new peildatum every
    night re-parses only the models that read it, and they compute with the new date."""
    deliver("bvh_onderzoek_valid.csv", "BVH_ONDERZOEK_20220331.csv")
    deliver("bvo/BVO_EVENTS_20220704T020000_000001.jsonl.gz")
    deliver("bvo/BVO_EVENTS_20220711T020000_000003.jsonl.gz")
    ingest()
    work_con.close()
    settings = Settings()
    first = run_dbt(settings, date(2022, 6, 30), progress=lambda line: None)
    second = run_dbt(settings, date(2022, 7, 10), progress=lambda line: None)
    assert first.parse == "full"  # a new DWH_HOME has no saved parse
    assert second.parse == "partial", second.parse_reason
    con = duckdb.connect(str(settings.work_db), config={"threads": 1})
    try:
        figures = rows(
            con,
            """
            select distinct peildatum, report_year, realisation from report.indicators
            where indicator_code = 'csv_onderzoeken' order by report_year
            """,
        )
    finally:
        con.close()
    # The figures of test_a_deleted_bvo_record_takes_its_bvh_predecessor_with_it.
    assert [(year, value) for _, year, value in figures] == [
        (2019, Decimal("1.00")),
        (2020, Decimal("1.00")),
        (2021, Decimal("0.00")),
        (2022, Decimal("1.00")),
    ]
    assert {peildatum for peildatum, _, _ in figures} == {date(2022, 7, 10)}
