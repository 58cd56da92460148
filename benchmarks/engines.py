"""Benchmark both dbt engines on one set of demo exports: `dwh run` on DuckDB and on Spark.

For each engine a fresh warehouse home reads the same landing folder (the one
benchmarks/run.py generated for the scale, or a new one) and runs the nightly job once.
Written to benchmarks/results/engines-scale-<S>.json: wall time, the flow's stages and,
for Spark, where the transform's time went (hand-over, dbt build, copy back).
docs/scale-out.md quotes these numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent
DWH = str(Path(sys.executable).with_name("dwh"))
ENGINES = ("duckdb", "spark")
# The log lines of flows/transform.py, flows/spark.py and flows/handover.py.
TIMED_LINES = {
    "handover_seconds": re.compile(r"hand-over: .* in ([0-9.]+) s to"),
    "dbt_build_seconds": re.compile(r"transform: dbt build on .* nodes in ([0-9.]+) s"),
    "copy_back_seconds": re.compile(r"copied into the work database .* in ([0-9.]+) s"),
}


def run_engine(home: Path, landing: Path, engine: str, peildatum: str) -> dict[str, object]:
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    env = {**os.environ, "DWH_HOME": str(home)}
    env.pop("DWH_ENGINE", None)
    started = time.perf_counter()
    result = subprocess.run(
        [DWH, "run", "--landing", str(landing), "--peildatum", peildatum, "--engine", engine],
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    output = result.stdout + result.stderr
    if result.returncode != 0:
        print(output[-3000:])
        raise SystemExit(f"dwh run --engine {engine} failed with exit code {result.returncode}")
    con = duckdb.connect(str(home / "work" / "warehouse.duckdb"), read_only=True)
    stages = dict(
        con.execute(
            "select stage, round(seconds, 1) from meta.run_stages order by started_at"
        ).fetchall()
    )
    con.close()
    timed = {
        name: float(match.group(1))
        for name, pattern in TIMED_LINES.items()
        if (match := pattern.search(output))
    }
    return {"seconds": round(seconds, 1), "stages": stages, "transform_parts": timed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=20230215)
    parser.add_argument("--peildatum", default="2023-12-31")
    parser.add_argument("--work", type=Path, default=ROOT / "out")
    args = parser.parse_args()
    label = f"scale-{args.scale:g}"
    landing = args.work / label / "landing"
    if not landing.exists():
        subprocess.run(
            [DWH, "demo", "--scale", str(args.scale), "--seed", str(args.seed)]
            + ["--landing", str(landing), "--home", str(args.work / label)],
            check=True,
        )
    results = {
        engine: run_engine(args.work / f"engines-{label}" / engine, landing, engine, args.peildatum)
        for engine in ENGINES
    }
    report = {
        "scale": args.scale,
        "machine": {"cores": os.cpu_count(), "python": platform.python_version()},
        "load_average_at_end": [round(value, 1) for value in os.getloadavg()],
        "engines": results,
        "spark_vs_duckdb_run": round(results["spark"]["seconds"] / results["duckdb"]["seconds"], 1),
    }
    out = ROOT / "results" / f"engines-{label}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
