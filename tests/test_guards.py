"""Every blocking guard bites: a planted defect, one at a time, blocks publication.

One demo warehouse is built and published once (module-scoped). Each case copies that
DWH_HOME to a fresh folder and runs the real ``dwh run`` in-process with
``flows.transform.run_dbt`` replaced by a wrapper that plants one defect with SQL in the
work database's tables and then rebuilds only the audit models (plus, for the dbt data
test case, the staging view the test checks) through the real ``run_dbt``. Nothing new
is ingested, so a case costs the audit rebuild and the gate. Each case must exit 3,
name the check (the expectation's ``meta.failure`` text and the file, layer, check,
indicator or test it found), record exactly that blocking expectation as failed in
``meta.validation_results``, and leave the published file byte-identical.

``test_every_blocking_expectation_has_a_planted_fault`` fails when a blocking
(critical) expectation is added to ``expectations/`` without a case here.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import io
import json
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import dbt.cli.main
import duckdb
import pytest
import yaml

from flows import planning, transform
from flows.settings import PROJECT_ROOT, Settings, export_environment

SCALE = "0.05"
SEED = "7"
PEILDATUM = "2023-12-31"
DBT_TEST = ("dbt", "a dbt data test fails")

Plant = Callable[[duckdb.DuckDBPyConnection], list[str]]


def blocking_expectations() -> set[tuple[str, str]]:
    """(suite, meta.failure) of every expectation in expectations/ that blocks."""
    found = set()
    for path in sorted((PROJECT_ROOT / "expectations").glob("*.json")):
        suite = json.loads(path.read_text(encoding="utf-8"))
        for expectation in suite["expectations"]:
            if str(expectation.get("severity", "critical")).lower() == "critical":
                found.add((suite["name"], expectation["meta"]["failure"]))
    return found


@dataclass(frozen=True)
class Fault:
    """A defect, planted after the transform; ``plant`` returns what the message must name."""

    id: str
    expectation: tuple[str, str]  # (suite, meta.failure) the defect exists for
    plant: Plant
    rebuild: str = "audit"  # the dbt selection rebuilt after planting
    fact_check: tuple[str, str] | None = None  # (fact_table, check_name) of audit.facts
    layer: str | None = None  # the `layers` of audit.layers a record fault breaks


def one(con: duckdb.DuckDBPyConnection, sql: str) -> object:
    row = con.execute(sql).fetchone()
    assert row is not None and row[0] is not None, sql
    return row[0]


# --- deliveries -------------------------------------------------------------------


def rejected_without_correction(con: duckdb.DuckDBPyConnection) -> list[str]:
    # A new delivery was turned away at the door and nothing has replaced it.
    name = "BVH_ONDERZOEK_20231231.csv"
    reason = "planted: the trailer declares 120 rows, the file has 119"
    con.execute(
        """
        insert into meta.file_ledger
        select * replace (
            (select max(file_id) + 1 from meta.file_ledger) as file_id,
            $name as file_name,
            'rejected' as status,
            $reason as reason,
            120 as rows_declared,
            0 as rows_loaded,
            0 as rows_quarantined
        )
        from meta.file_ledger
        where file_name like 'BVH_ONDERZOEK_%' and status = 'loaded'
        order by file_id desc
        limit 1
        """,
        {"name": name, "reason": reason},
    )
    return [name, reason]


def declared_differs_from_accounted(con: duckdb.DuckDBPyConnection) -> list[str]:
    name = one(con, "select min(file_name) from meta.file_ledger where status = 'loaded'")
    con.execute(
        "update meta.file_ledger set rows_declared = rows_declared + 1 where file_name = ?",
        [name],
    )
    return [str(name)]


def too_many_quarantined(con: duckdb.DuckDBPyConnection) -> list[str]:
    # Declared = loaded + quarantined still holds: only the share is wrong.
    name = one(
        con,
        "select max(file_name) from meta.file_ledger where status = 'loaded' and rows_loaded > 1",
    )
    con.execute(
        """
        update meta.file_ledger
        set rows_declared = rows_declared + rows_loaded, rows_quarantined = rows_loaded
        where file_name = ?
        """,
        [name],
    )
    return [str(name)]


# --- reconciliation ---------------------------------------------------------------


def raw_doubles_a_row(con: duckdb.DuckDBPyConnection) -> list[str]:
    con.execute("insert into raw.bvh_onderzoek select * from raw.bvh_onderzoek limit 1")
    return ["bvh", "onderzoek", "ledger -> raw"]


def staging_loses_a_row(con: duckdb.DuckDBPyConnection) -> list[str]:
    con.execute("alter view staging.stg_gps__verdachtezaken rename to stg_gps__planted_source")
    con.execute(
        """
        create view staging.stg_gps__verdachtezaken as
        select * from staging.stg_gps__planted_source offset 1
        """
    )
    return ["gps", "verdachtezaken", "raw -> staging"]


def facts_lose_a_row(con: duckdb.DuckDBPyConnection) -> list[str]:
    con.execute(
        """
        delete from marts.fct_executiedossiers
        where dossier_key = (select min(dossier_key) from marts.fct_executiedossiers)
        """
    )
    return ["executie", "as of peildatum -> facts"]


def euros_do_not_reconcile(con: duckdb.DuckDBPyConnection) -> list[str]:
    con.execute(
        """
        update marts.fct_beslag set value_eur = value_eur + 0.01
        where beslag_key = (select min(beslag_key) from marts.fct_beslag where value_eur > 0)
        """
    )
    return ["beslag", "as of peildatum -> facts"]


# --- facts ------------------------------------------------------------------------

FACT_KEYS = {
    "fct_onderzoeken": "onderzoek_key",
    "fct_beslag": "beslag_key",
    "fct_executiedossiers": "dossier_key",
    "fct_verdachtezaken": "verdachtezaak_key",
}


def set_on_one_record(table: str, assignment: str, where: str = "true") -> Plant:
    """Plant ``assignment`` on the record with the smallest key (among ``where``)."""
    key = FACT_KEYS[table]

    def plant(con: duckdb.DuckDBPyConnection) -> list[str]:
        changed = con.execute(
            f"""
            update marts.{table} set {assignment}
            where {key} = (select min({key}) from marts.{table} where {where})
            """
        ).fetchone()
        assert changed == (1,), f"{table}: {assignment} changed {changed} records"
        return [table]

    return plant


def duplicate_key(table: str) -> Plant:
    """Give one record the key of another: a duplicate without a record more or less."""
    key = FACT_KEYS[table]
    return set_on_one_record(
        table,
        f"{key} = (select max({key}) from marts.{table})",
    )


def negative_seizure_value(con: duckdb.DuckDBPyConnection) -> list[str]:
    # -v on one seizure and +2v on another keep the euro sums equal, so that only the
    # facts check sees the defect.
    low, high = con.execute(
        """
        select min(beslag_key), max(beslag_key) from marts.fct_beslag where value_eur > 0
        """
    ).fetchone()
    value = one(con, f"select value_eur from marts.fct_beslag where beslag_key = {low!r}")
    con.execute("update marts.fct_beslag set value_eur = -value_eur where beslag_key = ?", [low])
    con.execute(
        "update marts.fct_beslag set value_eur = value_eur + 2 * ? where beslag_key = ?",
        [value, high],
    )
    return ["fct_beslag"]


def fact(table: str, check_name: str, plant: Plant) -> Fault:
    return Fault(
        id=f"facts: {table}: {check_name}",
        expectation=("facts", "fact records violate a check"),
        plant=plant,
        fact_check=(table, check_name),
    )


# --- indicators -------------------------------------------------------------------


def indicator_missing(con: duckdb.DuckDBPyConnection) -> list[str]:
    con.execute(
        """
        delete from report.indicators
        where indicator_code = 'oskm_keyplayers' and report_year = 2021
        """
    )
    return ["oskm_keyplayers", "2021"]


def percentage_above_100(con: duckdb.DuckDBPyConnection) -> list[str]:
    con.execute(
        """
        update report.indicators set realisation = 100.1
        where indicator_code = 'executie_positief_pct' and report_year = 2022
        """
    )
    return ["executie_positief_pct", "100.1"]


def negative_realisation(con: duckdb.DuckDBPyConnection) -> list[str]:
    con.execute(
        """
        update report.indicators set realisation = -1
        where indicator_code = 'csv_onderzoeken' and report_year = 2020
        """
    )
    return ["csv_onderzoeken", "-1"]


# --- dbt data test ----------------------------------------------------------------


def unmapped_code(con: duckdb.DuckDBPyConnection) -> list[str]:
    con.execute(
        """
        update raw.bvh_onderzoek set soort = 'PLANTED'
        where onderzoeknummer = (select min(onderzoeknummer) from raw.bvh_onderzoek)
        """
    )
    return ["code_is_mapped", "stg_bvh__onderzoeken", "PLANTED"]


FAULTS = [
    Fault(
        "deliveries: a rejected file without correction",
        ("deliveries", "a delivered file was rejected at the door and no correction has arrived"),
        rejected_without_correction,
    ),
    Fault(
        "deliveries: rows declared differ from loaded + quarantined",
        (
            "deliveries",
            "rows declared by trailer or manifest differ from rows loaded + rows quarantined",
        ),
        declared_differs_from_accounted,
    ),
    Fault(
        "deliveries: more than 0.1% quarantined",
        ("deliveries", "more than 0.1% of a file's rows were quarantined (interface.md)"),
        too_many_quarantined,
    ),
    Fault(
        "reconciliation: raw doubles a row",
        ("reconciliation", "record counts do not reconcile between layers"),
        raw_doubles_a_row,
        layer="ledger -> raw",
    ),
    Fault(
        "reconciliation: staging loses a row",
        ("reconciliation", "record counts do not reconcile between layers"),
        staging_loses_a_row,
        layer="raw -> staging",
    ),
    Fault(
        "reconciliation: facts lose a row",
        ("reconciliation", "record counts do not reconcile between layers"),
        facts_lose_a_row,
        layer="as of peildatum -> facts",
    ),
    Fault(
        "reconciliation: euros do not reconcile",
        ("reconciliation", "euro sums of seizures do not reconcile between layers"),
        euros_do_not_reconcile,
    ),
    fact("fct_onderzoeken", "key null or duplicate", duplicate_key("fct_onderzoeken")),
    fact(
        "fct_onderzoeken",
        "police unit not in the code list",
        set_on_one_record("fct_onderzoeken", "police_unit_code = 'PL99'"),
    ),
    fact(
        "fct_onderzoeken",
        "start after end, or dates outside 1990 .. peildatum",
        set_on_one_record("fct_onderzoeken", "start_date = end_date + 1", "end_date is not null"),
    ),
    fact("fct_beslag", "key null or duplicate", duplicate_key("fct_beslag")),
    fact(
        "fct_beslag",
        "police unit not in the code list",
        set_on_one_record("fct_beslag", "police_unit_code = 'PL99'"),
    ),
    fact("fct_beslag", "negative value", negative_seizure_value),
    fact(
        "fct_beslag",
        "seizure date missing or outside 1990 .. peildatum",
        set_on_one_record("fct_beslag", "seizure_date = date '1989-12-31'"),
    ),
    fact("fct_executiedossiers", "key null or duplicate", duplicate_key("fct_executiedossiers")),
    fact(
        "fct_executiedossiers",
        "police unit not in the code list",
        set_on_one_record("fct_executiedossiers", "police_unit_code = 'PL99'"),
    ),
    fact(
        "fct_executiedossiers",
        "offered date missing or outside 1990 .. peildatum",
        set_on_one_record("fct_executiedossiers", "offered_date = null"),
    ),
    fact("fct_verdachtezaken", "key null or duplicate", duplicate_key("fct_verdachtezaken")),
    fact(
        "fct_verdachtezaken",
        "no person pseudonym",
        set_on_one_record("fct_verdachtezaken", "person_pseudonym = null"),
    ),
    fact(
        "fct_verdachtezaken",
        "parket not in the code list",
        set_on_one_record("fct_verdachtezaken", "parket_code = '99'"),
    ),
    fact(
        "fct_verdachtezaken",
        "inflow date missing or outside 1990 .. peildatum",
        set_on_one_record("fct_verdachtezaken", f"inflow_date = date '{PEILDATUM}' + 1"),
    ),
    Fault(
        "indicators: an indicator x year is missing",
        ("indicators", "an indicator x report year of the edition is missing"),
        indicator_missing,
    ),
    Fault(
        "indicators: a percentage above 100",
        ("indicators", "a percentage lies outside 0-100"),
        percentage_above_100,
    ),
    Fault(
        "indicators: a negative realisation",
        ("indicators", "a realisation is negative"),
        negative_realisation,
    ),
    Fault(
        "dbt: an unmapped code fails a data test",
        DBT_TEST,
        unmapped_code,
        rebuild="audit stg_bvh__onderzoeken",
    ),
]


def test_every_blocking_expectation_has_a_planted_fault():
    planted = {fault.expectation for fault in FAULTS}
    assert blocking_expectations() - planted == set(), "add a Fault for each"
    assert planted - blocking_expectations() == {DBT_TEST}, "a Fault names a stale failure"
    assert len({fault.id for fault in FAULTS}) == len(FAULTS)


# --- the runs ---------------------------------------------------------------------


@contextlib.contextmanager
def environment_kept() -> Iterator[None]:
    """The CLI exports DWH_HOME, PREFECT_HOME and dbt's variables; put them back after."""
    saved = dict(os.environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def dwh(*args: str) -> tuple[int, str]:
    """``dwh ARGS`` in this process: its exit code and what it wrote to stderr.

    Not capsys: Prefect's console handler keeps the stream it first saw, and capsys closes
    its stream after each test. A buffer that is never closed is harmless.
    """
    from flows.cli import main

    buffer = io.StringIO()
    with environment_kept(), contextlib.redirect_stderr(buffer):
        os.environ.pop("DWH_LANDING", None)
        exit_code = main(list(args))
    return exit_code, buffer.getvalue()


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small demo warehouse with edition PEILDATUM published (in this process, so that
    the cases reuse its Prefect server and imports)."""
    home = tmp_path_factory.mktemp("guards") / "dwh_home"
    exit_code, stderr = dwh("demo", "--home", str(home), "--scale", SCALE, "--seed", SEED)
    assert exit_code == 0, stderr[-3000:]
    exit_code, stderr = dwh("run", "--home", str(home), "--peildatum", PEILDATUM)
    assert exit_code == 0, stderr[-3000:]
    return home


_MANIFEST: list = []
real_dbt_runner = dbt.cli.main.dbtRunner
real_dbt_args = transform.dbt_args


def parsed_once(settings, peildatum):
    """The dbt project parsed once for every case: parsing is most of a small build."""
    if not _MANIFEST:
        result = real_dbt_runner().invoke(real_dbt_args(settings, "parse", peildatum))
        assert result.success, result.exception
        _MANIFEST.append(result.result)
    return _MANIFEST[0]


@dataclass
class FaultRun:
    exit_code: int
    stderr: str
    named: list[str]
    failed: set[tuple[str, str]]
    published_unchanged: bool


def run_with_fault(
    baseline: Path, folder: Path, fault: Fault, monkeypatch: pytest.MonkeyPatch
) -> FaultRun:
    home = folder / "dwh_home"
    # The landing folder is only read: the copy reads the baseline's (nothing new in it).
    shutil.copytree(
        baseline, home, ignore=lambda folder, names: ["landing"] if Path(folder) == baseline else []
    )
    published = home / "published" / "warehouse.duckdb"
    before = published.read_bytes()
    real_run_dbt = transform.run_dbt
    named: list[str] = []

    def only_the_rebuild(settings, command, peildatum, target=None):
        return [*real_dbt_args(settings, command, peildatum, target), "--select", fault.rebuild]

    def run_dbt_with_fault(settings, peildatum, command="build", progress=None, engine="duckdb"):
        con = duckdb.connect(str(settings.work_db))
        try:
            named.extend(fault.plant(con))
        finally:
            con.close()
        monkeypatch.setattr(transform, "dbt_args", only_the_rebuild)
        monkeypatch.setattr(
            dbt.cli.main,
            "dbtRunner",
            functools.partial(real_dbt_runner, manifest=parsed_once(settings, peildatum)),
        )
        kwargs = {} if progress is None else {"progress": progress}
        return real_run_dbt(settings, peildatum, command, engine=engine, **kwargs)

    monkeypatch.setattr(transform, "run_dbt", run_dbt_with_fault)
    # The fault is planted inside the transform, on a copy with nothing new in landing:
    # planning would (rightly, from what it sees) end the night before the transform.
    monkeypatch.setattr(
        planning, "plan_night", lambda *args: planning.Plan(False, "a fault is to be planted")
    )
    # Planted behind the file ledger's back, the fault is invisible to an incremental build
    # (decision 0014): the rebuild is full, as an operator would run it after such an edit.
    monkeypatch.setenv("DWH_INCREMENTAL", "0")
    exit_code, stderr = dwh(
        "run", "--home", str(home), "--landing", str(baseline / "landing"), "--peildatum", PEILDATUM
    )
    con = duckdb.connect(str(home / "work" / "warehouse.duckdb"), read_only=True)
    try:
        failed = set(
            con.execute(
                """
                select suite, failure from meta.validation_results
                where not success and severity = 'critical'
                """
            ).fetchall()
        )
    finally:
        con.close()
    assert named, f"the fault was not planted (exit {exit_code}):\n{stderr[-3000:]}"
    return FaultRun(
        exit_code=exit_code,
        stderr=stderr,
        named=named,
        failed=failed,
        published_unchanged=published.read_bytes() == before,
    )


@pytest.mark.e2e
@pytest.mark.parametrize("fault", FAULTS, ids=[fault.id for fault in FAULTS])
def test_a_planted_fault_blocks_publication_naming_its_check(
    fault, baseline, tmp_path, monkeypatch
):
    result = run_with_fault(baseline, tmp_path, fault, monkeypatch)
    assert result.exit_code == 3, result.stderr[-3000:]
    assert "quality gate blocked publication" in result.stderr
    assert "Traceback" not in result.stderr
    suite, failure = fault.expectation
    if fault.expectation == DBT_TEST:
        assert result.failed == set()
    else:
        assert result.failed == {fault.expectation}
        assert failure in result.stderr
        assert suite in result.stderr
    for word in result.named:
        assert word in result.stderr, f"{word!r} not named in:\n{result.stderr[-3000:]}"
    if fault.fact_check:
        assert fault.fact_check[1] in result.stderr
    assert result.published_unchanged


@pytest.mark.e2e
def test_every_fact_check_and_every_pair_of_layers_has_a_planted_fault(baseline):
    """audit.facts holds one row per fact table and check, audit.layers one per pair of
    layers: each check and each kind of pair has its own case above."""
    con = duckdb.connect(str(baseline / "work" / "warehouse.duckdb"), read_only=True)
    try:
        checks = set(con.execute("select fact_table, check_name from audit.facts").fetchall())
        layers = {
            row[0] for row in con.execute("select distinct layers from audit.layers").fetchall()
        }
    finally:
        con.close()
    assert checks == {fault.fact_check for fault in FAULTS if fault.fact_check}
    assert layers == {fault.layer for fault in FAULTS if fault.layer}


@pytest.mark.e2e
def test_a_fact_date_that_dim_datum_lacks_blocks_publication(baseline, tmp_path, monkeypatch):
    """dim_datum starts on the first date audit.facts accepts (macro first_accepted_date),
    so a fact dated before it has no day in dim_datum and the facts suite blocks it."""
    con = duckdb.connect(str(baseline / "work" / "warehouse.duckdb"), read_only=True)
    try:
        first_day = con.execute("select min(date_day) from marts.dim_datum").fetchone()
    finally:
        con.close()
    assert first_day == (date(1990, 1, 1),)
    fault = Fault(
        "facts: fct_onderzoeken: a start date dim_datum does not have",
        ("facts", "fact records violate a check"),
        set_on_one_record("fct_onderzoeken", "start_date = date '1989-12-31'"),
    )
    result = run_with_fault(baseline, tmp_path, fault, monkeypatch)
    assert result.exit_code == 3, (
        f"published a fact whose date dim_datum does not have:\n{result.stderr[-3000:]}"
    )
    assert "fct_onderzoeken" in result.stderr
    assert result.published_unchanged


# --- target, % of target and status of report.indicators -----------------------------


def expected_target_columns(
    indicator_code: str, report_year: int, realisation: Decimal | None
) -> tuple[Decimal | None, Decimal | None, str]:
    """Target, realisation as % of target and status as indicators.md defines them,
    computed from seeds/doelstellingen.csv alone."""
    targets = {
        (row["indicator_code"], int(row["jaar"])): (Decimal(row["doelstelling"]), row["richting"])
        for row in csv.DictReader((PROJECT_ROOT / "seeds" / "doelstellingen.csv").open())
    }
    if (indicator_code, report_year) not in targets:
        return None, None, "geen doelstelling"
    target, direction = targets[(indicator_code, report_year)]
    if realisation is None:
        return target, None, "niet behaald"
    pct = (realisation * 100 / target).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    met = realisation >= target if direction == "min" else realisation <= target
    return target, pct, "behaald" if met else "niet behaald"


def test_the_independent_computation_rounds_half_away_from_zero():
    # Decimal's ROUND_HALF_UP rounds ties away from zero; float round() would not.
    assert expected_target_columns("csv_onderzoeken", 2019, Decimal("1370.685")) == (
        Decimal("1370"),
        Decimal("100.1"),  # 100.05
        "behaald",
    )
    assert expected_target_columns("csv_onderzoeken", 2019, Decimal("1369.315"))[1:] == (
        Decimal("100.0"),  # 99.95
        "niet behaald",
    )
    assert expected_target_columns("oskm_onderzoeken", 2019, Decimal("482")) == (
        None,
        None,
        "geen doelstelling",
    )


@pytest.mark.e2e
def test_published_target_pct_and_status_equal_an_independent_computation(baseline):
    con = duckdb.connect(str(baseline / "published" / "warehouse.duckdb"), read_only=True)
    try:
        published = con.execute(
            """
            select indicator_code, report_year, realisation, target,
                   realisation_pct_of_target, status
            from report.indicators where peildatum = ?
            """,
            [PEILDATUM],
        ).fetchall()
    finally:
        con.close()
    indicators = list(csv.DictReader((PROJECT_ROOT / "seeds" / "indicatoren.csv").open()))
    assert len(published) == len(indicators) * (int(PEILDATUM[:4]) - 2019 + 1)
    computed = {
        (code, year): expected_target_columns(code, year, realisation)
        for code, year, realisation, *_ in published
    }
    assert {(code, year): tuple(rest) for code, year, _, *rest in published} == computed
    # Not vacuous: the edition holds every status and targets met and missed.
    assert {status for *_, status in computed.values()} == {
        "behaald",
        "niet behaald",
        "geen doelstelling",
    }


def unit_test_names() -> set[str]:
    names = set()
    for path in (PROJECT_ROOT / "dbt_project" / "models").rglob("_*.yml"):
        for unit_test in yaml.safe_load(path.read_text(encoding="utf-8")).get("unit_tests") or []:
            names.add(unit_test["name"])
    return names


def test_the_report_models_have_unit_tests_for_target_and_status():
    names = unit_test_names()
    assert {
        "indicators_target_pct_and_status_at_the_edges",
        "indicators_a_maximum_target_is_met_at_or_below_it",
    } <= names


@pytest.mark.e2e
def test_every_dbt_unit_test_passes(baseline, tmp_path, monkeypatch):
    """The unit tests (intermediate and report) on a copy of the demo's work database,
    where the relations they read exist (dbt takes the column types from there)."""
    home = tmp_path / "dwh_home"
    shutil.copytree(baseline / "work", home / "work")
    with environment_kept():
        monkeypatch.setenv("DWH_HOME", str(home))
        settings = Settings()
        export_environment(settings)
        try:
            result = real_dbt_runner(
                manifest=parsed_once(settings, date.fromisoformat(PEILDATUM))
            ).invoke(
                [
                    *real_dbt_args(settings, "test", date.fromisoformat(PEILDATUM)),
                    "--select",
                    "test_type:unit",
                ]
            )
        finally:
            transform.release_dbt_database()
    assert result.exception is None, result.exception
    outcomes = {  # without the on-run-start hook (the Spark sources; nothing on DuckDB)
        node.node.name: str(node.status)
        for node in result.result
        if str(node.node.resource_type) == "unit_test"
    }
    assert outcomes == {name: "pass" for name in unit_test_names()}
