"""Equal figures on both engines: the demo through `dwh run` on DuckDB and on Spark.

One set of demo exports, two warehouse homes: one built with the default engine, one
with `--engine spark` (dbt-spark in session mode on a local Spark), each for two
peildata. The published databases must hold the same figures: every indicator x year
of both editions, the fact tables, and the audit tables the quality gate checked, with
the same column types. The scale is the smallest at which every indicator has a
non-zero figure (asserted), so that no indicator passes by being empty on both sides.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

DWH = str(Path(sys.executable).with_name("dwh"))
SCALE = "0.03"
SEED = "7"
PEILDATA = ("2023-02-15", "2023-12-31")
FACT_TABLES = ("fct_onderzoeken", "fct_beslag", "fct_executiedossiers", "fct_verdachtezaken")
COMPARED = (
    "report.indicators",
    "report.periodieke_rapportages",
    *(f"marts.{table}" for table in FACT_TABLES),
    "marts.dim_datum",
    "audit.deliveries",
    "audit.layers",
    "audit.facts",
    "audit.indicators",
)

pytestmark = [pytest.mark.spark, pytest.mark.e2e]


def dwh(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DWH_HOME": str(home), "DWH_SPARK_DRIVER_MEMORY": "1g"}
    env.pop("DWH_LANDING", None)
    env.pop("DWH_ENGINE", None)
    return subprocess.run(
        [DWH, *args], env=env, capture_output=True, text=True, timeout=1800, check=False
    )


@pytest.fixture(scope="module")
def homes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    if shutil.which("java") is None:
        pytest.fail("Spark needs Java 17: `make test` installs openjdk-17-jre-headless")
    root = tmp_path_factory.mktemp("engines")
    landing = root / "landing"
    made = dwh(root / "demo", "demo", "--scale", SCALE, "--seed", SEED, "--landing", str(landing))
    assert made.returncode == 0, made.stderr
    homes = {"duckdb": root / "duckdb", "spark": root / "spark"}
    for engine, home in homes.items():
        if engine == "spark":  # one pseudonym key, so that person pseudonyms can be equal
            key = homes["duckdb"] / "secrets" / "pseudonym.key"
            (home / "secrets").mkdir(parents=True, mode=0o700)
            shutil.copy2(key, home / "secrets" / "pseudonym.key")
        for peildatum in PEILDATA:
            run = dwh(
                home, "run", "--landing", str(landing), "--peildatum", peildatum,
                *(["--engine", "spark"] if engine == "spark" else []),
            )  # fmt: skip
            assert run.returncode == 0, f"{engine} {peildatum}:\n{run.stdout}\n{run.stderr}"
            built_on = "dbt build on spark" if engine == "spark" else "dbt build on duckdb"
            assert built_on in run.stdout + run.stderr, "the output names the engine"
    return homes


def published(home: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(home / "published" / "warehouse.duckdb"), read_only=True)


def test_every_indicator_has_a_figure_to_compare(homes):
    con = published(homes["duckdb"])
    try:
        zero = con.execute(
            """
            select indicator_code from report.indicators
            group by indicator_code having max(coalesce(realisation, 0)) = 0
            """
        ).fetchall()
        editions = con.execute("select count(distinct peildatum) from report.indicators")
        assert editions.fetchone() == (len(PEILDATA),)
    finally:
        con.close()
    assert zero == [], "raise SCALE: these indicators are 0 in every year"


@pytest.mark.parametrize("table", COMPARED)
def test_both_engines_publish_the_same_rows_with_the_same_types(homes, table):
    con = duckdb.connect()
    try:
        for engine, home in homes.items():
            path = str(home / "published" / "warehouse.duckdb").replace("'", "''")
            con.execute(f"attach '{path}' as {engine} (read_only)")
        schema, name = table.split(".")
        types = {
            engine: con.execute(
                """
                select column_name, data_type from duckdb_columns()
                where database_name = ? and schema_name = ? and table_name = ?
                order by column_index
                """,
                [engine, schema, name],
            ).fetchall()
            for engine in homes
        }
        assert types["spark"] == types["duckdb"]
        counts = [con.execute(f"select count(*) from {e}.{table}").fetchone() for e in homes]
        assert counts[0] == counts[1]
        for first, second in (("duckdb", "spark"), ("spark", "duckdb")):
            differing = con.execute(
                f"select * from {first}.{table} except all select * from {second}.{table} limit 5"
            ).fetchall()
            assert differing == [], f"rows only {first} published in {table}"
    finally:
        con.close()


def test_the_spark_run_reads_the_handed_over_parquet(homes):
    handover = homes["spark"] / "handover"
    events = sorted((handover / "raw" / "bvo_events").glob("run-*.parquet"))
    # two runs over one landing: the second loaded nothing, so wrote no second raw part
    assert len(events) == 1
    assert (handover / "meta" / "file_ledger" / "part-0.parquet").exists()
    assert not (homes["duckdb"] / "handover").exists(), "DuckDB runs hand nothing over"
