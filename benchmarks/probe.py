"""Run one ``dwh`` command with its stages and fixed costs measured, for the benchmark.

    python -m benchmarks.probe OUT.json run --peildatum 2023-12-31

Runs ``flows.cli.main`` in this process exactly as ``dwh`` does, and wraps (in this
process only, nothing in flows/ changes):
- the body of each Prefect task of the nightly flow (ingest, transform, quality-gate,
  publish): wall time, CPU time of the process (all its threads), peak resident memory
  (Linux: the high-water mark is reset at the start of each stage through
  /proc/self/clear_refs);
- the fixed costs outside them: the night's planning (flows/planning.py), importing
  prefect with flows.nightly (after planning, when the night has something to do),
  starting and stopping Prefect's temporary server; inside the stages: importing dbt
  (the transform imports it when it runs), dbt's parse (and whether it was a partial
  parse) and the Great Expectations context (with its import: the gate imports it).
Ends as ``dwh run`` does (``flows.cli.exit_at_once``); writes OUT.json among the exit
hooks, after Prefect has stopped its server.
"""

from __future__ import annotations

import atexit
import functools
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

STARTED = time.perf_counter()
STARTED_EPOCH = time.time()  # compared with the parent's clock: the process's own start
CLEAR_REFS = Path("/proc/self/clear_refs")
STATUS = Path("/proc/self/status")

measured: dict[str, Any] = {
    "imports": {},
    "imports_in_stages": {},
    "stages": {},
    "fixed": {},
    "inside_stages": {},
}


def _status_kib(field: str) -> int | None:
    try:
        for line in STATUS.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    """Reset the high-water mark of resident memory; the process's peak so far is kept in
    ``measured`` (the kernel's own maximum, also what wait4 reports, is reset with it)."""
    _keep_process_peak()
    try:
        CLEAR_REFS.write_text("5")
        return True
    except OSError:
        return False


def _keep_process_peak() -> None:
    peak = _status_kib("VmHWM") or 0
    measured["process_peak_kib"] = max(measured.get("process_peak_kib", 0), peak)


def _stage(name: str, body: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(body)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        reset = _reset_peak()
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return body(*args, **kwargs)
        finally:
            peak = _status_kib("VmHWM") if reset else None
            measured["stages"][name] = {
                "wall_s": round(time.perf_counter() - wall, 3),
                "cpu_s": round(time.process_time() - cpu, 3),
                "peak_gib": round(peak / 2**20, 3) if peak else None,
            }

    return wrapper


def _timed(bucket: str, name: str, body: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(body)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return body(*args, **kwargs)
        finally:
            seconds = time.perf_counter() - started
            measured[bucket][name] = round(measured[bucket].get(name, 0.0) + seconds, 3)

    return wrapper


def _import(name: str) -> None:
    started = time.perf_counter()
    __import__(name)
    measured["imports"][name] = round(time.perf_counter() - started, 3)


def _write(out: Path) -> None:
    measured["probe_total_s"] = round(time.perf_counter() - STARTED, 3)
    measured["started_epoch"] = STARTED_EPOCH
    measured["written_epoch"] = time.time()
    _keep_process_peak()
    measured["peak_gib"] = round(measured.pop("process_peak_kib") / 2**20, 3)
    out.write_text(json.dumps(measured, indent=2) + "\n", encoding="utf-8")


def main() -> int:
    out = Path(sys.argv[1])
    argv = sys.argv[2:]
    atexit.register(_write, out)  # registered first, so it runs after Prefect's own exit hooks

    # As `dwh` does before it imports Prefect: Prefect reads its settings (PREFECT_HOME,
    # the server's start-up timeout) from the environment when it is imported.
    _import("flows.cli")
    from flows.settings import Settings, export_environment

    export_environment(Settings())
    from flows import cli, planning

    planning.plan_night = _then_patch_the_flow(_timed("fixed", "planning", planning.plan_night))

    started = time.perf_counter()
    code = cli.main(argv)
    measured["cli_s"] = round(time.perf_counter() - started, 3)
    measured["exit_code"] = code
    if argv and argv[0] == "run":
        cli.exit_at_once(code)  # as `dwh run` ends; runs _write among the exit hooks
    return code


def _then_patch_the_flow(plan_night: Callable[..., Any]) -> Callable[..., Any]:
    """A night that has something to do imports the flow (Prefect) after planning, as
    ``dwh run`` does: import it there, timed, and wrap its stages; a night with nothing to
    do imports neither."""

    @functools.wraps(plan_night)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        plan = plan_night(*args, **kwargs)
        if not plan.unchanged:
            _patch_the_flow()
        return plan

    return wrapper


def _patch_the_flow() -> None:
    _import("flows.nightly")
    from prefect.server.api.server import SubprocessASGIServer

    from flows import gate, nightly, transform

    for name, task in (
        ("ingest", nightly.ingest_task),
        ("transform", nightly.transform_task),
        ("quality-gate", nightly.gate_task),
        ("publish", nightly.publish_task),
    ):
        task.fn = _stage(name, task.fn)
    SubprocessASGIServer.start = _timed("fixed", "prefect_server_start", SubprocessASGIServer.start)
    SubprocessASGIServer.stop = _timed("fixed", "prefect_server_stop", SubprocessASGIServer.stop)
    transform.run_dbt = _with_dbt_measured(transform.run_dbt)
    # Includes importing Great Expectations, which the gate now does itself.
    gate._context = _timed("inside_stages", "ge_context", gate._context)


def _with_dbt_measured(run_dbt: Callable[..., Any]) -> Callable[..., Any]:
    """dbt is imported by the transform when it first runs: time that import (inside the
    stage) and dbt's parse."""

    @functools.wraps(run_dbt)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if "dbt.cli.main" not in sys.modules:
            started = time.perf_counter()
            from dbt.parser.manifest import ManifestLoader

            __import__("dbt.cli.main")
            measured["imports_in_stages"] = {
                "dbt.cli.main": round(time.perf_counter() - started, 3)
            }
            loader = ManifestLoader.get_full_manifest.__func__  # type: ignore[attr-defined]
            ManifestLoader.get_full_manifest = classmethod(  # type: ignore[method-assign]
                _timed("inside_stages", "dbt_parse", loader)
            )
        return run_dbt(*args, **kwargs)

    return wrapper


if __name__ == "__main__":
    sys.exit(main())
