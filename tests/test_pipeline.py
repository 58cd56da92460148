"""The whole nightly job through the real stack: demo exports -> dwh run -> published figures.

One warehouse home goes through a realistic sequence of nights:
1. exports delivered up to 2023-08-31; edition 2023-02-15 is built;
2. the same edition is rebuilt from the same deliveries;
3. the remaining deliveries arrive (all their source times lie after 2023-02-15) and the
   edition 2023-02-15 is rebuilt once more;
4. editions 2022-03-31 (before BVO went live) and 2023-12-31 (the last delivered day).
Every published indicator x year must equal the generator's ground truth, and the three
builds of 2023-02-15 must be identical (indicators.md: an edition is reproducible).
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest

from conftest import ALERT_KEYS

DWH = str(Path(sys.executable).with_name("dwh"))
SCALE = "0.05"
SEED = "7"
FIRST_CUT = date(2023, 8, 31)
EDITION = "2023-02-15"
INDICATORS = 12

pytestmark = pytest.mark.e2e


def dwh(home: Path, *args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DWH_HOME": str(home), **extra_env}
    env.pop("DWH_LANDING", None)
    return subprocess.run(
        [DWH, *args], env=env, capture_output=True, text=True, timeout=1200, check=False
    )


def delivery_date(name: str) -> date:
    stamp = re.search(r"_(\d{8})(?:T\d{6}_\d{6})?\.", name)
    assert stamp, name
    text = stamp.group(1)
    return date(int(text[:4]), int(text[4:6]), int(text[6:]))


def deliver(outbox: Path, landing: Path, *, after: date | None, until: date | None) -> int:
    """Copy the exports (with their manifests) whose delivery date lies in (after, until]."""
    landing.mkdir(parents=True, exist_ok=True)
    copied = 0
    for path in sorted(outbox.iterdir()):
        data_name = path.name.removesuffix(".manifest.json")
        day = delivery_date(data_name)
        if (after is None or day > after) and (until is None or day <= until):
            shutil.copy2(path, landing / path.name)
            copied += 1
    return copied


def edition(home: Path, peildatum: str) -> dict[tuple[int, str], tuple]:
    con = duckdb.connect(str(home / "published" / "warehouse.duckdb"), read_only=True)
    try:
        found = con.execute(
            """
            select report_year, indicator_code, target, realisation,
                   realisation_pct_of_target, status, registration_systems, unit
            from report.indicators where peildatum = ?
            """,
            [peildatum],
        ).fetchall()
    finally:
        con.close()
    return {(row[0], row[1]): row[2:] for row in found}


def as_truth(figures: dict[tuple[int, str], tuple]) -> dict[tuple[int, str], tuple]:
    """Published figures in the ground truth's notation (counts whole, euro 2, percent 1)."""
    formatted = {}
    for key, (_, realisation, _, _, systems, unit) in figures.items():
        if realisation is None:
            text = None
        elif unit == "count":
            text = str(int(realisation))
        elif unit == "percent":
            text = f"{realisation:.1f}"
        else:
            text = f"{realisation:.2f}"
        formatted[key] = (text, systems)
    return formatted


def truth(home: Path, peildatum: str) -> dict[tuple[int, str], tuple]:
    data = json.loads((home / "demo" / "ground_truth.json").read_text(encoding="utf-8"))
    return {
        (entry["report_year"], entry["indicator_code"]): (
            entry["realisation"],
            entry["registration_systems"],
        )
        for entry in data["peildata"][peildatum]
    }


@pytest.fixture(scope="module")
def nights(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("e2e")
    home = root / "dwh_home"
    outbox = root / "outbox"
    made = dwh(home, "demo", "--scale", SCALE, "--seed", SEED, "--landing", str(outbox))
    assert made.returncode == 0, made.stderr
    landing = home / "landing"
    results: dict[str, object] = {"home": home}

    deliver(outbox, landing, after=None, until=FIRST_CUT)
    results["first"] = dwh(home, "run", "--peildatum", EDITION)
    results["first_edition"] = edition(home, EDITION)
    published = home / "published" / "warehouse.duckdb"
    results["published_before_repeat"] = published.read_bytes()
    results["same_deliveries"] = dwh(home, "run", "--peildatum", EDITION)
    results["same_deliveries_edition"] = edition(home, EDITION)
    results["published_after_repeat"] = published.read_bytes()
    results["late_files"] = deliver(outbox, landing, after=FIRST_CUT, until=None)
    results["more_deliveries"] = dwh(home, "run", "--peildatum", EDITION)
    results["more_deliveries_edition"] = edition(home, EDITION)
    results["2022-03-31"] = dwh(home, "run", "--peildatum", "2022-03-31")
    # An analyst keeps a read-only connection on the published file through a whole run.
    analyst = duckdb.connect(str(home / "published" / "warehouse.duckdb"), read_only=True)
    editions_sql = "select distinct peildatum::varchar from report.indicators order by 1"
    results["analyst_before"] = analyst.execute(editions_sql).fetchall()
    results["2023-12-31"] = dwh(home, "run", "--peildatum", "2023-12-31")
    results["analyst_during"] = analyst.execute(editions_sql).fetchall()
    analyst.close()
    fresh = duckdb.connect(str(home / "published" / "warehouse.duckdb"), read_only=True)
    results["analyst_after"] = fresh.execute(editions_sql).fetchall()
    fresh.close()

    # A night of invalid deliveries: the --faults versions of four files arrive under
    # their own names (corrections that are themselves broken) ...
    faulty = root / "faulty"
    made = dwh(home, "demo", "--scale", SCALE, "--seed", SEED, "--faults", "--landing", str(faulty))
    assert made.returncode == 0, made.stderr
    faults = json.loads((home / "demo" / "ground_truth.json").read_text(encoding="utf-8"))["faults"]
    results["faults"] = faults
    published = home / "published" / "warehouse.duckdb"
    results["published_before_faults"] = published.read_bytes()
    for fault in faults:
        for name in (fault["file"], fault["file"] + ".manifest.json"):
            if (faulty / name).exists():
                shutil.copy2(faulty / name, landing / name)
    alert_file = root / "alert.json"
    results["alert_file"] = alert_file
    results["blocked"] = dwh(
        home, "run", "--peildatum", "2023-12-31", DWH_ALERT_COMMAND=f"cat > {alert_file}"
    )
    results["published_after_faults"] = published.read_bytes()
    results["status_blocked"] = dwh(home, "status")
    # ... and the next night the good versions arrive again.
    for fault in faults:
        for name in (fault["file"], fault["file"] + ".manifest.json"):
            if (outbox / name).exists():
                shutil.copy2(outbox / name, landing / name)
    results["repaired"] = dwh(home, "run", "--peildatum", "2023-12-31")
    return results


def assert_published(result: subprocess.CompletedProcess[str], peildatum: str) -> None:
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert f"Published edition peildatum {peildatum}" in result.stdout


def test_the_first_night_publishes_and_prints_the_edition(nights):
    assert_published(nights["first"], EDITION)
    assert "csv_onderzoeken" in nights["first"].stdout
    assert "mensenhandel_verdachten" in nights["first"].stdout


@pytest.mark.parametrize("peildatum", ["2022-03-31", EDITION, "2023-12-31"])
def test_every_indicator_equals_the_ground_truth(nights, peildatum):
    home = nights["home"]
    if peildatum == EDITION:
        assert_published(nights["more_deliveries"], EDITION)
    else:
        assert_published(nights[peildatum], peildatum)
    expected = truth(home, peildatum)
    years = int(peildatum[:4]) - 2019 + 1
    assert len(expected) == INDICATORS * years
    assert as_truth(edition(home, peildatum)) == expected


def test_a_repeat_night_with_the_same_deliveries_has_nothing_to_do(nights):
    """Nothing new, the same peildatum, project and settings (flows/planning.py): the night
    is recorded as unchanged and the published file is left exactly as it was. (That a
    rebuild from the same deliveries is identical, the next night shows: its new files
    all lie after the peildatum.)"""
    assert_published(nights["same_deliveries"], EDITION)
    assert "nothing new since the published edition 2023-02-15" in nights["same_deliveries"].stdout
    assert nights["same_deliveries_edition"] == nights["first_edition"]
    assert nights["published_after_repeat"] == nights["published_before_repeat"]
    con = duckdb.connect(str(nights["home"] / "work" / "warehouse.duckdb"), read_only=True)
    try:
        runs = con.execute("select outcome from meta.runs order by started_at").fetchall()
        outcomes = [outcome for (outcome,) in runs]
    finally:
        con.close()
    assert outcomes[:2] == ["published", "unchanged"]


def test_deliveries_with_later_source_times_leave_the_edition_unchanged(nights):
    assert nights["late_files"] > 0
    assert_published(nights["more_deliveries"], EDITION)
    assert nights["more_deliveries_edition"] == nights["first_edition"]
    assert as_truth(nights["first_edition"]) == truth(nights["home"], EDITION)


def test_every_edition_stays_published_with_the_interface_columns(nights):
    home = nights["home"]
    con = duckdb.connect(str(home / "published" / "warehouse.duckdb"), read_only=True)
    try:
        columns = con.execute(
            """
            select column_name, data_type from information_schema.columns
            where table_schema = 'report' and table_name = 'indicators'
            order by ordinal_position
            """
        ).fetchall()
        editions = con.execute(
            "select distinct peildatum::varchar from report.indicators order by 1"
        ).fetchall()
    finally:
        con.close()
    assert columns == [
        ("peildatum", "DATE"),
        ("report_year", "INTEGER"),
        ("indicator_code", "VARCHAR"),
        ("theme", "VARCHAR"),
        ("unit", "VARCHAR"),
        ("target", "DECIMAL(18,2)"),
        ("realisation", "DECIMAL(18,2)"),
        ("realisation_pct_of_target", "DECIMAL(9,1)"),
        ("status", "VARCHAR"),
        ("registration_systems", "VARCHAR"),
    ]
    assert editions == [("2022-03-31",), (EDITION,), ("2023-12-31",)]


def test_planted_faults_block_publication_each_named_and_the_published_file_untouched(nights):
    blocked = nights["blocked"]
    assert blocked.returncode == 3, blocked.stdout[-3000:] + blocked.stderr[-3000:]
    assert "quality gate blocked publication" in blocked.stderr
    faults = nights["faults"]
    assert {fault["system"] for fault in faults} == {"bvh", "bvo", "compas", "gps"}
    for fault in faults:
        delivery = fault["file"].removesuffix(".manifest.json")
        assert delivery in blocked.stderr, f"{fault} not named in:\n{blocked.stderr}"
    assert "unmapped_code=999999" in blocked.stderr
    # An expected outcome: a short message, no Python traceback, no missing-value artefacts.
    assert "Traceback" not in blocked.stdout + blocked.stderr
    assert not re.search(r"\b(nan|None|NaT)\b", blocked.stderr), blocked.stderr
    # The alert command received one JSON document naming every faulty file.
    alert = json.loads(nights["alert_file"].read_text(encoding="utf-8"))
    assert alert["outcome"] == "blocked" and alert["peildatum"] == "2023-12-31"
    assert set(alert) == {"schema_version", *ALERT_KEYS}
    assert alert["run_id"] in blocked.stderr or alert["run_id"] in blocked.stdout
    named = {reason["file"] for reason in alert["reasons"] if reason["file"]}
    for fault in faults:
        assert fault["file"].removesuffix(".manifest.json") in named, (fault, alert["reasons"])
    assert alert["status"]["rejected_files"]
    assert nights["published_after_faults"] == nights["published_before_faults"]
    status = nights["status_blocked"].stdout
    assert "blocked" in status
    assert "Rejected files (waiting for a correction)" in status
    rejected = [fault["file"] for fault in faults if fault["system"] == "bvh"]
    assert rejected and rejected[0] in status


def test_once_corrected_the_next_night_publishes_the_ground_truth_again(nights):
    assert_published(nights["repaired"], "2023-12-31")
    assert as_truth(edition(nights["home"], "2023-12-31")) == truth(nights["home"], "2023-12-31")


def demo_personal_data(outbox: Path) -> set[str]:
    """BSNs, surnames and birth dates (in every format a column might hold) of the demo."""
    found: set[str] = set()

    def add(bsn: str, birth: str, surname: str) -> None:
        if bsn.strip():
            found.add(bsn.strip())
        if surname.strip():
            found.add(surname.strip().lower())
        digits = birth.replace("-", "").strip()
        if len(digits) == 8:
            year, month, day = digits[:4], digits[4:6], digits[6:]
            found.update({digits, f"{year}-{month}-{day}", f"{day}-{month}-{year}"})

    for path in sorted(outbox.glob("GPS_VERDACHTEZAKEN_*.csv")):
        with path.open(encoding="utf-8-sig", newline="") as handle:
            for row in csv.DictReader(handle):
                add(
                    row["verdachte_bsn"],
                    row["verdachte_geboortedatum"],
                    row["verdachte_achternaam"],
                )
    for path in sorted(outbox.glob("COMPAS_VERDZAKEN_*.DAT"))[-3:]:
        for line in path.read_text(encoding="latin-1").splitlines():
            if line.startswith("1") and len(line) == 100:
                add(line[13:22], line[22:30], line[30:70])
    return found


def test_no_duckdb_file_under_dwh_home_holds_a_bsn_surname_or_birth_date(nights):
    home = nights["home"]
    personal = demo_personal_data(home.parent / "outbox")
    assert len(personal) > 1000
    databases = sorted(home.rglob("*.duckdb"))
    assert {path.name for path in databases} >= {"warehouse.duckdb"}
    assert len(databases) >= 2  # the work and the published database
    scan = duckdb.connect()
    scan.execute("create table personal (value varchar)")
    scan.executemany("insert into personal values (?)", [[value] for value in personal])
    leaks = []
    for number, database in enumerate(databases):
        scan.execute(f"attach '{database}' as db{number} (read_only)")
        columns = scan.execute(
            """
            select schema_name, table_name, column_name from duckdb_columns()
            where database_name = ? and data_type = 'VARCHAR'
            """,
            [f"db{number}"],
        ).fetchall()
        for schema, table, column in columns:
            relation = f'db{number}."{schema}"."{table}"'
            hits = scan.execute(
                f"""
                select count(*) from {relation} as t
                where lower(trim(t."{column}")) in (select value from personal)
                   or (
                       -- a BSN inside longer text; hashes (hex) are not text
                       not regexp_full_match(t."{column}", '[0-9a-f]{{64}}')
                       and exists (
                           select 1
                           from unnest(regexp_extract_all(t."{column}", '\\d{{9}}')) as d(x)
                           where d.x in (select value from personal)
                       )
                   )
                """
            ).fetchone()[0]
            if hits:
                leaks.append(f"{database.name} {schema}.{table}.{column}: {hits} values")
        scan.execute(f"detach db{number}")
    scan.close()
    assert leaks == []


def test_an_analyst_connection_held_through_a_run_keeps_the_old_edition(nights):
    assert_published(nights["2023-12-31"], "2023-12-31")
    assert nights["analyst_before"] == [("2022-03-31",), (EDITION,)]
    assert nights["analyst_during"] == nights["analyst_before"]
    assert nights["analyst_after"] == [("2022-03-31",), (EDITION,), ("2023-12-31",)]
