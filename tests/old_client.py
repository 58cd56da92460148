"""An old DuckDB client in its own virtual environment, made once and cached.

The published file must open in DuckDB 1.4 (the long-term-support line) and every newer
client (interface.md). Tests run the old client as a separate process from its own venv
under ``.cache/`` in the repository (git-ignored), made by the first test that needs it;
later runs reuse it. CI makes it on its fresh machine (about 15 s).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from flows.settings import PROJECT_ROOT

OLD_DUCKDB = "1.4.4"
# pytz: DuckDB 1.4's Python client needs it to fetch TIMESTAMP WITH TIME ZONE values.
OLD_CLIENT_PACKAGES = (f"duckdb=={OLD_DUCKDB}", "pytz==2026.6")
CACHE = PROJECT_ROOT / ".cache" / f"duckdb-{OLD_DUCKDB}"


def old_python() -> Path:
    """The interpreter of the cached venv with DuckDB 1.4; made when missing."""
    python = CACHE / "bin" / "python"
    ready = CACHE / ".ready"
    if ready.exists() and python.exists():
        return python
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(CACHE)], check=True)
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            *OLD_CLIENT_PACKAGES,
        ],
        check=True,
    )
    ready.write_text(" ".join(OLD_CLIENT_PACKAGES) + "\n", encoding="utf-8")
    return python


def run_old(python: Path, script: str, payload: object) -> object:
    """Run ``script`` in the old client with ``payload`` (JSON) as ``ARGS``; return its JSON.

    The script sets ``RESULT``; the old client's version must be the one asked for.
    """
    program = (
        "import json, sys, duckdb\n"
        f"assert duckdb.__version__ == {OLD_DUCKDB!r}, duckdb.__version__\n"
        "ARGS = json.loads(sys.stdin.read())\n"
        + textwrap.dedent(script)
        + "\nprint(json.dumps(RESULT, default=str))\n"
    )
    done = subprocess.run(
        [str(python), "-c", program],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout)
