"""``dwh``: the command-line entry point (interface.md).

Exit codes of ``dwh run``: 0 published, 3 blocked by the quality gate, 4 another run is in
progress on this DWH_HOME, 2 wrong usage, 1 any other failure; every non-zero exit prints a
short, specific reason, and a traceback only for an unexpected error or with DWH_DEBUG.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import traceback
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from flows.errors import DwhError, UsageError

if TYPE_CHECKING:
    from flows.settings import Settings


def _peildatum(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date JJJJ-MM-DD: {text!r}") from exc


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--home",
        type=Path,
        default=argparse.SUPPRESS,  # given before or after the command, neither overrides
        help="the warehouse's state folder (default: $DWH_HOME or ./dwh_home)",
    )
    parser = argparse.ArgumentParser(
        prog="dwh", description="Justice-chain data warehouse.", parents=[common]
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo", parents=[common], help="write demo exports of all four source systems"
    )
    demo.add_argument("--scale", type=float, default=1.0, help="volume; 1.0 is national size")
    demo.add_argument("--seed", type=int, default=20230215)
    demo.add_argument("--faults", action="store_true", help="add invalid deliveries")
    demo.add_argument("--landing", type=Path, help="target folder (default: DWH_HOME/landing)")

    run = commands.add_parser(
        "run", parents=[common], help="ingest, transform, quality gate, publish"
    )
    run.add_argument("--landing", type=Path, help="exports to read (default: DWH_HOME/landing)")
    run.add_argument(
        "--peildatum", type=_peildatum, help="figures as known at this date (default: today)"
    )
    run.add_argument(
        "--from",
        dest="first",
        type=_peildatum,
        metavar="JJJJ-MM-DD",
        help="backfill: the first peildatum (with --to); one ingest, one edition per peildatum",
    )
    run.add_argument(
        "--to", dest="last", type=_peildatum, metavar="JJJJ-MM-DD", help="backfill: the last"
    )
    run.add_argument(
        "--every",
        choices=("day", "month"),
        help="backfill: an edition every day (default) or every month (the same day, or "
        "every month end when --from is one)",
    )
    run.add_argument(
        "--engine",
        choices=("duckdb", "spark"),
        help="what dbt builds the models on (default: $DWH_ENGINE or duckdb; docs/scale-out.md)",
    )

    serve = commands.add_parser(
        "serve", parents=[common], help="run the nightly job on a schedule until stopped"
    )
    serve.add_argument("--cron", default="0 2 * * *", help="schedule (default: 02:00 daily)")
    serve.add_argument("--landing", type=Path)

    sql = commands.add_parser(
        "sql", parents=[common], help="query the published database (read-only)"
    )
    sql.add_argument("query", nargs="?", help="SQL to run; without it, an interactive prompt")

    commands.add_parser(
        "status", parents=[common], help="last runs, loads, quarantine, published editions"
    )

    report = commands.add_parser(
        "report", parents=[common], help="render a published edition as one offline HTML page"
    )
    report.add_argument(
        "--peildatum", type=_peildatum, help="the edition to show (default: the latest)"
    )
    report.add_argument(
        "--compare",
        type=_peildatum,
        help="the edition to show revisions against (default: the one published before)",
    )
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    if getattr(args, "home", None) is not None:
        os.environ["DWH_HOME"] = str(args.home)
    if getattr(args, "landing", None) is not None:
        os.environ["DWH_LANDING"] = str(args.landing)
    from flows.settings import Settings, export_environment

    settings = Settings()
    export_environment(settings)
    return settings


def cmd_demo(args: argparse.Namespace) -> int:
    settings = _settings(args)
    from flows.demo import generate

    if args.scale <= 0:
        raise UsageError(f"--scale must be positive, got {args.scale}")
    summary = generate(
        settings.landing_dir,
        settings.demo_truth_file,
        scale=args.scale,
        seed=args.seed,
        faults=args.faults,
        progress=lambda line: print(f"demo: {line}", flush=True),
    )
    per_system = ", ".join(f"{system} {count}" for system, count in summary.files.items())
    print(
        f"demo: wrote {summary.total_files} files ({per_system}; "
        f"{summary.total_bytes / 1e6:.0f} MB), deliveries {summary.first_delivery} .. "
        f"{summary.last_delivery}, into {settings.landing_dir}"
    )
    return 0


def _editions(args: argparse.Namespace) -> list[date]:
    """The peildata a ``dwh run`` publishes: one, or a backfill's; wrong usage exits 2."""
    backfill = args.first is not None or args.last is not None
    if not backfill:
        if args.every:
            raise UsageError("--every belongs to a backfill: give --from and --to too")
        from flows.runs import today

        return [args.peildatum or today()]
    if args.peildatum:
        raise UsageError("give either --peildatum or a backfill's --from/--to, not both")
    if args.first is None or args.last is None:
        raise UsageError("a backfill needs both --from and --to")
    if args.first > args.last:
        raise UsageError(f"--from {args.first} lies after --to {args.last}")
    from flows.runs import backfill_peildata

    editions = backfill_peildata(args.first, args.last, args.every or "day")
    if not editions:
        raise UsageError(f"no {args.every} from {args.first} to {args.last}")
    return editions


def cmd_run(args: argparse.Namespace) -> int:
    settings = _settings(args)
    editions = _editions(args)
    if not settings.landing_dir.is_dir():
        raise UsageError(
            f"landing folder {settings.landing_dir} does not exist: deliver exports there "
            f"(or run 'dwh demo'), or name another with --landing"
        )
    from flows import runs

    run_id = runs.new_run_id()
    # Before Prefect starts: a refused run (exit 4) touches nothing and costs nothing.
    runs.acquire(
        settings.home_dir,
        run_id=run_id,
        peildatum=editions[0].isoformat(),
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    try:
        if len(editions) == 1:
            plan = _plan(settings, run_id, editions[0], args.engine or settings.engine)
            if plan is not None:
                return plan
        from flows.nightly import nightly

        state = nightly(
            str(settings.home_dir),
            str(settings.landing_dir),
            peildata=editions,
            run_id=run_id,
            engine=args.engine,
            return_state=True,
        )
    finally:
        runs.release(settings.home_dir)
    if state.is_failed() or state.is_crashed() or state.is_cancelled():
        outcome = state.result(raise_on_failure=False)
        if isinstance(outcome, BaseException):
            raise outcome
        raise DwhError(state.message or f"the run ended {state.type.value.lower()}")
    from flows.report import print_edition

    if len(editions) > 1:
        print(f"Published {len(editions)} editions, peildatum {editions[0]} .. {editions[-1]}")
    print_edition(settings.published_db, editions[-1])
    return 0


def _plan(settings: Settings, run_id: str, peildatum: date, engine: str) -> int | None:
    """A night with nothing to do ends here, before Prefect, dbt or the gate start: it is
    recorded (outcome ``unchanged``) and the published edition is printed. None: run."""
    from flows import planning

    plan = planning.plan_night(settings, peildatum, engine)
    if not plan.unchanged:
        return None
    planning.record_unchanged(settings, run_id, peildatum, engine, plan)
    from flows import alerts
    from flows.errors import Reason
    from flows.status import summary_of

    # interface.md: every run that does not publish alerts. The edition in force is still
    # right, but a night without deliveries is something an operator wants to hear about.
    document = alerts.document(
        settings,
        run_id=run_id,
        peildatum=peildatum,
        outcome=planning.UNCHANGED,
        reasons=[Reason("plan", plan.reason)],
        engine=engine,
        stages=["plan"],
        status=summary_of(settings),
    )
    alerts.send(settings, document)
    from flows.report import print_edition

    print(f"dwh run: {plan.reason}; the published file stays as it is (run {run_id}).")
    print_edition(settings.published_db, peildatum)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    settings = _settings(args)
    from flows.serve import serve

    serve(settings, args.cron)
    return 0


def cmd_sql(args: argparse.Namespace) -> int:
    settings = _settings(args)
    from flows.report import interactive_sql, run_sql

    if args.query:
        run_sql(settings.published_db, args.query)
    else:
        interactive_sql(settings.published_db)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    settings = _settings(args)
    from flows.status import print_status

    print_status(settings)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    settings = _settings(args)
    from flows.report_page import write_report

    page = write_report(settings, args.peildatum, args.compare)
    print(f"report: {page}")
    return 0


COMMANDS = {
    "demo": cmd_demo,
    "run": cmd_run,
    "serve": cmd_serve,
    "sql": cmd_sql,
    "status": cmd_status,
    "report": cmd_report,
}


def exit_at_once(code: int) -> NoReturn:
    """End the process the way the interpreter would, without its slow last part.

    The interpreter's own shutdown first joins threads and runs their exit callbacks
    (Prefect drains its log and event workers), then runs the ``atexit`` hooks (Prefect
    stops its temporary server, logging flushes), and then tears down every imported module
    one by one: 3-10 s with Prefect, dbt and Great Expectations loaded
    (docs/performance.md, finding 4). This does the first two and skips the third.
    """
    import atexit
    import threading

    threading._shutdown()  # type: ignore[attr-defined]  # what Py_Finalize does first
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    """The ``dwh`` command; with ``argv`` None (the console script), ``dwh run`` ends the
    process itself once everything is flushed (:func:`exit_at_once`). Called with
    arguments (tests, other Python code), it returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)  # exits 2 with a message on wrong usage
    code = _dispatch(args)
    if argv is None and args.command == "run":
        exit_at_once(code)
    return code


def _dispatch(args: argparse.Namespace) -> int:
    try:
        return COMMANDS[args.command](args)
    except DwhError as error:
        if os.environ.get("DWH_DEBUG"):
            traceback.print_exc()
        print(f"dwh {args.command}: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print(f"dwh {args.command}: interrupted", file=sys.stderr)
        return 1
    except Exception as error:  # noqa: BLE001 - the operator gets a reason, not a traceback
        if os.environ.get("DWH_DEBUG"):
            traceback.print_exc()
        print(f"dwh {args.command}: failed: {type(error).__name__}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
