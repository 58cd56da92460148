"""BVO, the police's new system: change events as gzip JSON Lines, each file with a manifest.

DuckDB reads the gzip file as lines (one VARCHAR column, no quoting) so that every event
keeps its line number; SQL parses the JSON and checks each event. A file whose manifest
is missing or disagrees with it (name, record count, sha256) is rejected whole.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import duckdb

from flows.errors import RejectedFile
from flows.sources.common import (
    Delivery,
    LoadContext,
    LoadResult,
    quarantine_rows,
    sql_literal,
)

SYSTEM = "bvo"
NAME_PATTERN = re.compile(r"^BVO_EVENTS_(\d{8}T\d{6})_(\d{6})\.jsonl\.gz$")
MANIFEST_SUFFIX = ".manifest.json"
RAW_TABLE = "raw.bvo_events"
OPS = ("create", "update", "delete")
ENTITIES = ("onderzoek", "beslagobject", "executiedossier")


def recognise(path: Path) -> Delivery | None:
    match = NAME_PATTERN.match(path.name)
    if not match:
        return None
    try:
        stamp = datetime.strptime(match.group(1), "%Y%m%dT%H%M%S")
    except ValueError:
        return None
    return Delivery(
        path=path,
        system=SYSTEM,
        entity=None,
        delivery_date=stamp.date(),
        delivery_time=stamp.time(),
        seq=int(match.group(2)),
        manifest=path.with_name(path.name + MANIFEST_SUFFIX),
    )


def ensure_raw_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists raw")
    con.execute(
        f"""
        create table if not exists {RAW_TABLE} (
            event_id varchar not null,
            event_time timestamptz not null,
            event_time_text varchar not null,
            op varchar not null,
            entity varchar not null,
            record_id varchar not null,
            version integer not null,
            data json,
            _file_id bigint not null,
            _line_number bigint not null,
            _run_id varchar not null
        )
        """
    )


def delete_file_rows(con: duckdb.DuckDBPyConnection, file_id: int) -> None:
    con.execute(f"delete from {RAW_TABLE} where _file_id = ?", [file_id])


def read_manifest(delivery: Delivery) -> dict:
    manifest = delivery.manifest
    assert manifest is not None
    if not manifest.exists():
        raise RejectedFile(f"manifest {manifest.name} is missing")
    try:
        content = json.loads(manifest.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RejectedFile(f"manifest {manifest.name} is not valid JSON: {exc}") from exc
    if not isinstance(content, dict) or not {"file", "records", "sha256"} <= content.keys():
        raise RejectedFile(f"manifest {manifest.name} lacks one of file, records, sha256")
    if content["file"] != delivery.name:
        raise RejectedFile(
            f"manifest {manifest.name} names file '{content['file']}', not '{delivery.name}'"
        )
    if not isinstance(content["records"], int) or content["records"] < 0:
        raise RejectedFile(f"manifest {manifest.name}: records is not a count")
    return content


def load(delivery: Delivery, ctx: LoadContext) -> LoadResult:
    manifest = read_manifest(delivery)
    declared = int(manifest["records"])
    if str(manifest["sha256"]).lower() != ctx.sha256:
        raise RejectedFile(
            f"sha256 {ctx.sha256} of the data file differs from its manifest "
            f"({manifest['sha256']})",
            rows_declared=declared,
        )
    con = ctx.con
    try:
        con.execute(
            f"""
            create or replace temp table bvo_lines as
            select row_number() over () as line_number, line
            from read_csv(
                {sql_literal(str(delivery.path))}, columns = {{'line': 'VARCHAR'}},
                delim = chr(31), quote = '', escape = '', header = false,
                auto_detect = false, compression = 'gzip', strict_mode = false
            )
            """
        )
    except duckdb.Error as exc:
        raise RejectedFile(
            f"cannot read as gzip UTF-8 JSON Lines: {exc}", rows_declared=declared
        ) from exc
    row = con.execute("select count(*) from bvo_lines").fetchone()
    lines = int(row[0]) if row else 0
    if lines != declared:
        raise RejectedFile(
            f"manifest declares {declared} records, the file has {lines} lines",
            rows_declared=declared,
        )

    ops = ", ".join(f"'{op}'" for op in OPS)
    entities = ", ".join(f"'{entity}'" for entity in ENTITIES)
    con.execute(
        f"""
        create or replace temp table bvo_checked as
        with parsed as (
            select line_number, line, try(json(line)) as event from bvo_lines
        ),
        fields as (
            select
                line_number,
                line,
                event,
                event ->> 'event_id' as event_id,
                event ->> 'event_time' as event_time_text,
                try_cast(event ->> 'event_time' as timestamptz) as event_time,
                event ->> 'op' as op,
                event ->> 'entity' as entity,
                event ->> 'id' as record_id,
                try_cast(event ->> 'version' as integer) as version,
                case when json_type(event -> 'data') = 'OBJECT' then event -> 'data' end as data
            from parsed
        )
        select
            *,
            case
                when event is null then 'line|not a JSON object'
                when event_id is null then 'event_id|missing'
                when event_time is null then 'event_time|not a timestamp: '
                    || coalesce(event_time_text, '(missing)')
                when op is null or op not in ({ops}) then 'op|unknown operation: '
                    || coalesce(op, '(missing)')
                when entity is null or entity not in ({entities}) then 'entity|unknown entity: '
                    || coalesce(entity, '(missing)')
                when record_id is null then 'id|missing'
                when version is null or version < 1 then 'version|not a positive integer'
                when op <> 'delete' and data is null then 'data|missing for ' || op
            end as problem
        from fields
        """
    )
    quarantined = quarantine_rows(
        ctx,
        delivery.name,
        """
        select line_number, split_part(problem, '|', 1) as column_name,
               split_part(problem, '|', 2) as reason, line as raw_record
        from bvo_checked where problem is not null
        """,
    )
    con.execute(
        f"""
        insert into {RAW_TABLE}
        select event_id, event_time, event_time_text, op, entity, record_id, version, data,
               ?, line_number, ?
        from bvo_checked where problem is null
        order by line_number
        """,
        [ctx.file_id, ctx.run_id],
    )
    row = con.execute("select count(*) from bvo_checked where problem is null").fetchone()
    loaded = int(row[0]) if row else 0
    return LoadResult(rows_declared=declared, rows_loaded=loaded, rows_quarantined=quarantined)
