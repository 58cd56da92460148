"""Ingest against the bare reader for two versions of the code, runs interleaved.

    python -m benchmarks.ingest_interleaved --before DIR --after DIR --home DIR --rounds 2

``--before`` and ``--after`` each hold a copy of ``flows/`` and ``benchmarks/`` (e.g.
``git archive <commit> flows benchmarks | tar -x -C DIR``); ``--home`` holds the demo
exports in ``landing/`` (``dwh demo --scale 1 --home DIR``). Each run measures, in a
fresh process on that version of the code, the bare readers and ingest as
``benchmarks/run.py`` does (best of three each) and their ratio per system. Runs go
before, after, before, after, ...: on a shared machine the load changes from minute to
minute, and a ratio taken within one run is what compares. Prints one JSON document.
Not a test: nothing asserts.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ONE_RUN = """
import json, sys
from pathlib import Path
from benchmarks import run
home = Path(sys.argv[1])
bare = run.bare_read(home / "landing", home / "bare-scratch")
ingest = run.ingest_alone(home / "landing", home / "ingest-scratch")
print("RESULT " + json.dumps({
    "ingest_mb_per_s": {s: m["mb_per_s"] for s, m in ingest.items()},
    "bare_memory_mb_per_s": {s: m["mb_per_s"] for s, m in bare["memory"].items()},
    "ratios": {
        target: {s: round(ingest[s]["mb_per_s"] / bare[target][s]["mb_per_s"], 2)
                 for s in bare[target]}
        for target in run.BARE_TARGETS
    },
}))
"""


def one_run(code: Path, home: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(code)}
    result = subprocess.run(
        [sys.executable, "-c", ONE_RUN, str(home)],
        cwd=code,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    line = next(line for line in result.stdout.splitlines() if line.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True)
    parser.add_argument("--after", type=Path, required=True)
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    runs = []
    for number in range(1, args.rounds + 1):
        for side in ("before", "after"):
            measured = one_run(getattr(args, side), args.home)
            runs.append({"side": side, "round": number, **measured})
            print(json.dumps(runs[-1]), file=sys.stderr, flush=True)
    print(json.dumps(runs, indent=2))


if __name__ == "__main__":
    main()
