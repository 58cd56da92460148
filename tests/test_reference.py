"""The bare-DuckDB reference of the benchmarks (benchmarks/reference/) computes the figures
the warehouse publishes.

- against the demo generator's ground truth at every peildatum the truth holds (no
  pipeline: fast);
- against the figures the nightly job published for the demo at scale 0.1, every
  indicator x year, for the last delivered day and for an annual edition in the past
  (e2e: one demo, two nights).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from benchmarks.reference import MissingSnapshot, compute
from flows.demo import generate

SCALE = 0.1
SEED = 20230215
DWH = str(Path(sys.executable).with_name("dwh"))
EDITIONS = ("2023-12-31", "2023-02-15")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("reference") / "dwh_home"
    generate(home / "landing", home / "demo" / "ground_truth.json", scale=SCALE, seed=SEED)
    return home


def _truth(home: Path) -> dict[str, dict[tuple[int, str], tuple[Decimal | None, str | None]]]:
    document = json.loads((home / "demo" / "ground_truth.json").read_text(encoding="utf-8"))
    return {
        peildatum: {
            (entry["report_year"], entry["indicator_code"]): (
                None if entry["realisation"] is None else Decimal(entry["realisation"]),
                entry["registration_systems"],
            )
            for entry in entries
        }
        for peildatum, entries in document["peildata"].items()
    }


def test_reference_equals_the_ground_truth_at_every_peildatum(demo: Path) -> None:
    truth = _truth(demo)
    assert len(truth) >= 8
    for peildatum, figures in truth.items():
        reference = compute(demo / "landing", date.fromisoformat(peildatum))
        assert reference.figures == figures, peildatum
        assert len(figures) == 12 * (int(peildatum[:4]) - 2018)


def test_reference_refuses_a_peildatum_before_the_first_bvh_snapshot(demo: Path) -> None:
    with pytest.raises(MissingSnapshot, match="no BVH snapshot of ONDERZOEK, BESLAG, EXECUTIE"):
        compute(demo / "landing", date(2019, 3, 30))


def test_reference_refuses_a_byte_cp1252_leaves_undefined(demo: Path, tmp_path: Path) -> None:
    """The BVH snapshot in force holds cp1252 bytes 0x80-0x9F (euro sign, quotes), which
    DuckDB's latin-1 reader refuses: the runner transcodes them, and a byte cp1252 does
    not define (0x81) stops it rather than turning into a wrong character."""
    landing = tmp_path / "landing"
    landing.mkdir()
    for path in (demo / "landing").glob("BVH_*.csv"):
        shutil.copyfile(path, landing / path.name)
    beslag = sorted(landing.glob("BVH_BESLAG_*.csv"))[-1]
    data = bytearray(beslag.read_bytes())
    position = next(i for i, byte in enumerate(data) if 0x80 <= byte <= 0x9F)
    data[position] = 0x81
    beslag.write_bytes(bytes(data))
    with pytest.raises(UnicodeDecodeError, match="0x81"):
        compute(landing, date(2023, 12, 31))


@pytest.mark.e2e
def test_reference_equals_the_published_figures(demo: Path) -> None:
    env = {**os.environ, "DWH_HOME": str(demo)}
    env.pop("DWH_LANDING", None)
    for peildatum in EDITIONS:
        run = subprocess.run(
            [DWH, "run", "--peildatum", peildatum],
            env=env,
            capture_output=True,
            text=True,
            timeout=1200,
            check=False,
        )
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    con = duckdb.connect(str(demo / "published" / "warehouse.duckdb"), read_only=True)
    try:
        published = con.execute(
            """
            select peildatum::varchar, report_year, indicator_code, realisation,
                   registration_systems
            from report.indicators
            """
        ).fetchall()
    finally:
        con.close()
    for peildatum in EDITIONS:
        figures = {
            (year, code): (realisation, systems)
            for edition, year, code, realisation, systems in published
            if edition == peildatum
        }
        assert len(figures) == 12 * (int(peildatum[:4]) - 2018)
        reference = compute(demo / "landing", date.fromisoformat(peildatum))
        differing = {
            key: (value, reference.figures.get(key))
            for key, value in figures.items()
            if reference.figures.get(key) != value
        }
        assert not differing, f"{peildatum}: published vs reference {differing}"
