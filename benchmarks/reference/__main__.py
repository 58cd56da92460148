"""python -m benchmarks.reference --landing DIR [--peildatum JJJJ-MM-DD]: print the figures."""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path

from benchmarks.reference import compute


def peak_gib() -> float | None:
    """This process's peak resident memory (Linux), for the benchmark: what wait4 reports
    for a child also counts the parent's memory at the fork."""
    try:
        status = Path("/proc/self/status").read_text(encoding="ascii")
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 2**20, 3)
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--landing", type=Path, required=True)
    parser.add_argument("--peildatum", type=date.fromisoformat, default=date(2023, 12, 31))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--memory-limit", default="3GB")
    parser.add_argument("--json", type=Path, help="also write the figures and seconds here")
    args = parser.parse_args()
    result = compute(
        args.landing, args.peildatum, threads=args.threads, memory_limit=args.memory_limit
    )
    for (year, code), (realisation, systems) in result.figures.items():
        print(f"{year}  {code:<28} {str(realisation):>16}  {systems or ''}")
    if args.json:
        document = {
            "peildatum": args.peildatum.isoformat(),
            "seconds": result.seconds,
            "peak_gib": peak_gib(),
            "figures": [
                {
                    "report_year": year,
                    "indicator_code": code,
                    "realisation": None if realisation is None else str(realisation),
                    "registration_systems": systems,
                }
                for (year, code), (realisation, systems) in result.figures.items()
            ],
        }
        args.json.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    print("seconds: " + ", ".join(f"{name} {value:.2f}" for name, value in result.seconds.items()))


if __name__ == "__main__":
    main()
