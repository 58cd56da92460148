"""The bare-DuckDB reference: the twelve indicators for one peildatum straight from the files.

    python -m benchmarks.reference --landing DIR --peildatum 2023-12-31

``indicators.sql`` does the work in one DuckDB connection; this runner only picks the BVH
snapshots in force by their names and transcodes them from Windows-1252 to UTF-8 (DuckDB
2.0.1 cannot read cp1252 without an extension it downloads at run time; STACK.md), then
sets the script's variables and runs it. It shares no code with the warehouse: no ledger,
dbt, gate or pseudonyms. It trusts the files (see the head of indicators.sql).
"""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "indicators.sql"
SEEDS = HERE.parents[1] / "seeds"
BVH_ENTITIES = ("ONDERZOEK", "BESLAG", "EXECUTIE")
_BVH_NAME = re.compile(r"^BVH_(ONDERZOEK|BESLAG|EXECUTIE)_(\d{8})\.csv$")
_CHUNK = 4 << 20


class MissingSnapshot(RuntimeError):
    """The landing folder lacks what the reference needs for this peildatum."""


@dataclass
class Reference:
    """The figures (report_year, indicator_code) -> (realisation, registration_systems)
    and where the time went."""

    figures: dict[tuple[int, str], tuple[Decimal | None, str | None]]
    seconds: dict[str, float] = field(default_factory=dict)


def bvh_in_force(landing: Path, peildatum: date) -> dict[str, Path]:
    """Per BVH entity the snapshot with the latest extraction date on or before the peildatum."""
    latest: dict[str, tuple[str, Path]] = {}
    for path in landing.glob("BVH_*.csv"):
        match = _BVH_NAME.match(path.name)
        if not match or match.group(2) > peildatum.strftime("%Y%m%d"):
            continue
        entity, stamp = match.groups()
        if entity not in latest or stamp > latest[entity][0]:
            latest[entity] = (stamp, path)
    missing = [entity for entity in BVH_ENTITIES if entity not in latest]
    if missing:
        raise MissingSnapshot(
            f"no BVH snapshot of {', '.join(missing)} on or before {peildatum} in {landing}"
        )
    return {entity: path for entity, (_, path) in latest.items()}


def transcode(source: Path, target: Path) -> None:
    """Windows-1252 to UTF-8, streaming: bytes in, bytes out (one byte is one character)."""
    with source.open("rb") as reading, target.open("wb") as writing:
        while chunk := reading.read(_CHUNK):
            writing.write(chunk.decode("cp1252").encode("utf-8"))


def compute(
    landing: Path,
    peildatum: date,
    *,
    threads: int = 2,
    memory_limit: str = "3GB",
    scratch: Path | None = None,
) -> Reference:
    """Run the reference over ``landing`` for ``peildatum`` in a fresh in-memory DuckDB."""
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="reference-", dir=scratch))
    try:
        snapshots = bvh_in_force(landing, peildatum)
        copies = {entity: work / f"{path.name}.utf8" for entity, path in snapshots.items()}
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(transcode, snapshots.values(), copies.values()))
        seconds["transcode_bvh"] = time.perf_counter() - started
        con = duckdb.connect(
            config={
                "threads": threads,
                "memory_limit": memory_limit,
                "temp_directory": str(work / "duckdb_tmp"),
            }
        )
        try:
            con.execute("set enable_progress_bar = false")
            variables = {
                "peildatum": peildatum,
                "landing": str(landing),
                "seeds": str(SEEDS),
                **{f"bvh_{entity.lower()}": str(copy) for entity, copy in copies.items()},
            }
            for name, value in variables.items():
                con.execute(f"set variable {name} = $value", {"value": value})
            sql_started = time.perf_counter()
            rows = con.execute(SCRIPT.read_text(encoding="utf-8")).fetchall()
            seconds["sql"] = time.perf_counter() - sql_started
        finally:
            con.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    seconds["total"] = time.perf_counter() - started
    return Reference(
        figures={(year, code): (value, systems) for year, code, value, systems in rows},
        seconds={name: round(value, 3) for name, value in seconds.items()},
    )
