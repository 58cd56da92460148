"""The quality gate: Great Expectations validates the audit tables that dbt computed.

Each suite in ``expectations/`` is JSON under version control; its ``meta.audit_relation``
names the aggregate table (computed in DuckDB by the dbt models under ``models/audit``)
it validates. GE reads those small tables through its pandas data source, which works
on GE 1.24 unpatched and keeps the gate's cost independent of the data volume
(docs/decisions/0003). Every result is stored in ``meta.validation_results``, as JSON
and as Great Expectations Data Docs (HTML) under ``DWH_HOME/validation/<run_id>/``.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from flows.errors import Reason
from flows.failpoints import failpoint
from flows.sources.common import sql_literal

log = logging.getLogger(__name__)

RESULTS_DDL = """
create schema if not exists meta;
create table if not exists meta.validation_results (
    run_id varchar not null,
    peildatum date not null,
    suite varchar not null,
    expectation_type varchar not null,
    column_name varchar,
    severity varchar not null,
    success boolean not null,
    failure varchar,
    unexpected_count bigint,
    unexpected_examples varchar,
    validated_at timestamptz not null default current_timestamp
);
"""


@dataclass
class GateReport:
    failures: list[Reason] = field(default_factory=list)
    warnings: list[Reason] = field(default_factory=list)
    expectations: int = 0

    @property
    def passed(self) -> bool:
        return not self.failures


def compare_with_previous_edition(
    con: duckdb.DuckDBPyConnection, published_db: Path, peildatum: date
) -> None:
    """Build ``audit_edition_changes``: this edition's figures next to the latest published
    edition with an earlier peildatum (suite ``editions``). Empty when there is none."""
    con.execute(
        """
        create or replace temp table audit_edition_changes (
            indicator_code varchar, report_year integer, unit varchar,
            previous_peildatum date, previous_realisation decimal(18, 2),
            realisation decimal(18, 2), relative_change double, point_change double
        )
        """
    )
    if not published_db.exists():
        return
    con.execute(f"attach {sql_literal(str(published_db))} as previous_edition (read_only)")
    try:
        con.execute(
            """
            insert into audit_edition_changes
            with previous as (
                select * from previous_edition.report.indicators
                where peildatum = (
                    select max(peildatum) from previous_edition.report.indicators
                    where peildatum < $peildatum
                )
            )
            select
                current_edition.indicator_code,
                current_edition.report_year,
                current_edition.unit,
                previous.peildatum,
                previous.realisation,
                current_edition.realisation,
                case
                    when current_edition.unit <> 'percent' and previous.realisation > 0
                        then current_edition.realisation / previous.realisation - 1
                end,
                case
                    when current_edition.unit = 'percent'
                        then current_edition.realisation - previous.realisation
                end
            from report.indicators as current_edition
            inner join previous using (indicator_code, report_year)
            """,
            {"peildatum": peildatum},
        )
    finally:
        con.execute("detach previous_edition")


def load_suites(directory: Path) -> list[dict[str, Any]]:
    return [
        json.loads(path.read_text(encoding="utf-8")) for path in sorted(directory.glob("*.json"))
    ]


def _context():
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = {"globally": False, "metric_calculations": False}
    return gx, context


def validate_suites(
    con: duckdb.DuckDBPyConnection,
    suites: list[dict[str, Any]],
    *,
    run_id: str,
    peildatum: str,
    results_dir: Path,
    progress: Callable[[str], None] = log.info,
    built_relations: set[str] | None = None,
) -> GateReport:
    """Validate every suite against its audit relation; store and return the outcome.

    ``built_relations`` (``schema.table``), when given, are the dbt models this run built: a
    suite whose audit table is not among them (dbt skipped it after a failing test) is not
    validated against a table left from an earlier run, but fails as not validated.
    """
    gx, context = _context()
    docs_dir = results_dir / "data_docs"
    context.add_data_docs_site(
        site_name="dwh",
        site_config={
            "class_name": "SiteBuilder",
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(docs_dir),
            },
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        },
    )
    source = context.data_sources.add_pandas("audit")
    con.execute(RESULTS_DDL)
    results_dir.mkdir(parents=True, exist_ok=True)
    report = GateReport()
    for suite_json in suites:
        name = suite_json["name"]
        relation = suite_json["meta"]["audit_relation"]
        detail_columns = suite_json["meta"].get("detail_columns", [])
        if built_relations is not None and "." in relation and relation not in built_relations:
            report.failures.append(
                Reason(
                    f"{name} suite",
                    f"not validated: its audit table {relation} was not built by this run "
                    "(dbt skipped it after a failing test or model upstream)",
                )
            )
            continue
        frame = con.execute(f"select * from {relation}").df()
        suite = context.suites.add(gx.ExpectationSuite(**suite_json))
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(
                name=name,
                data=source.add_dataframe_asset(name).add_batch_definition_whole_dataframe("all"),
                suite=suite,
            )
        )
        result = definition.run(
            batch_parameters={"dataframe": frame},
            result_format={
                "result_format": "COMPLETE",
                "unexpected_index_column_names": detail_columns,
            },
        )
        (results_dir / f"{name}.json").write_text(
            json.dumps(result.to_json_dict(), indent=1, default=str), encoding="utf-8"
        )
        for outcome in result.results:
            report.expectations += 1
            _record(con, outcome, name, run_id, peildatum, report)
        failpoint("gate")
    context.build_data_docs(site_names=["dwh"])
    progress(
        f"gate: {report.expectations} expectations in {len(suites)} suites, "
        f"{len(report.failures)} failing, {len(report.warnings)} warnings"
    )
    for warning in report.warnings:
        progress(f"gate: warning: {warning}")
    return report


def _record(
    con: duckdb.DuckDBPyConnection,
    outcome: Any,
    suite: str,
    run_id: str,
    peildatum: str,
    report: GateReport,
) -> None:
    config = outcome.expectation_config
    kwargs = config.kwargs
    column = kwargs.get("column") or ",".join(
        str(kwargs[key]) for key in ("column_A", "column_B") if key in kwargs
    )
    failure = (config.meta or {}).get("failure", config.type)
    details = outcome.result or {}
    examples = details.get("unexpected_index_list") or details.get("unexpected_list") or []
    shown = "; ".join(_describe(example) for example in examples[:5])
    unexpected_count = details.get("unexpected_count")
    severity = str(getattr(config, "severity", None) or "critical").lower().rsplit(".", 1)[-1]
    if not outcome.success:
        check = f"{suite} / {config.type}({column})"
        if examples:
            found = [_reason(check, failure, example) for example in examples]
        else:
            observed = details.get("observed_value")
            where = "" if _is_missing(observed) else f" (observed {_text(observed)})"
            found = [Reason(check, f"{failure}{where}")]
        (report.failures if severity == "critical" else report.warnings).extend(found)
    con.execute(
        """
        insert into meta.validation_results
            (run_id, peildatum, suite, expectation_type, column_name, severity, success,
             failure, unexpected_count, unexpected_examples)
        values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """,
        [
            run_id,
            peildatum,
            suite,
            config.type,
            column or None,
            severity,
            bool(outcome.success),
            None if outcome.success else failure,
            unexpected_count,
            shown or None,
        ],
    )


def _is_missing(value: Any) -> bool:
    """None, or a pandas/numpy missing value (NaN, NaT, NA) that must not reach a message."""
    if value is None:
        return True
    try:
        import pandas as pd

        return bool(pd.isna(value)) if not isinstance(value, list | dict | tuple) else False
    except (TypeError, ValueError):
        return False


def _text(value: Any) -> str:
    """A value as an operator reads it: 3 rather than 3.0, dates as JJJJ-MM-DD."""
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        text = value.isoformat()
        return text[:10] if text.endswith("T00:00:00") else text
    return str(value)


def _describe(example: Any) -> str:
    if isinstance(example, dict):
        return ", ".join(
            f"{key}={_text(value)}" for key, value in example.items() if not _is_missing(value)
        )
    return _text(example)


def _reason(check: str, failure: str, example: Any) -> Reason:
    """One failing row of an audit table as a reason; a file it names becomes its file."""
    if not isinstance(example, dict):
        return Reason(check, f"{failure}: {_describe(example)}")
    rest = {key: value for key, value in example.items() if key != "file_name"}
    file_name = example.get("file_name")
    detail = _describe(rest)
    return Reason(
        check,
        f"{failure}: {detail}" if detail else failure,
        file=None if _is_missing(file_name) else str(file_name),
    )
