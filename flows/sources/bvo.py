"""BVO, the police's new system: change events as gzip JSON Lines, each file with a manifest.

DuckDB reads the gzip file as lines (one VARCHAR column, no quoting) so that every event
keeps its line number; SQL parses the JSON and checks each event. A file whose manifest
is missing or disagrees with it (name, record count, sha256) is rejected whole.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import duckdb

from flows.errors import RejectedFile
from flows.sources.common import (
    PROBLEM_COLUMN_SQL,
    PROBLEM_REASON_SQL,
    Delivery,
    LoadContext,
    LoadResult,
    finish_pass,
    insert_values,
    quarantine_pass_rows,
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


def _check_manifest(delivery: Delivery, ctx: LoadContext) -> int:
    """The manifest's checks before reading (present, names the file, sha256): its record count."""
    manifest = read_manifest(delivery)
    declared = int(manifest["records"])
    if str(manifest["sha256"]).lower() != ctx.sha256:
        raise RejectedFile(
            f"sha256 {ctx.sha256} of the data file differs from its manifest "
            f"({manifest['sha256']})",
            rows_declared=declared,
        )
    return declared


def _checked_sql(lines: str) -> str:
    """SQL: the events of table ``lines`` (line_number, line, any more keys) parsed and checked.

    The result has every column of ``lines``, the event's fields and ``problem``
    (``column|reason`` of the first failed check, NULL when the event is sound).
    """
    ops = ", ".join(f"'{op}'" for op in OPS)
    entities = ", ".join(f"'{entity}'" for entity in ENTITIES)
    return f"""
        with extracted as (
            select
                *,
                coalesce(json_valid(line), false) as is_json,
                -- One extraction of the six texts and one of data, from the line as read.
                case when is_json then json_extract_string(
                    line, ['event_id', 'event_time', 'op', 'entity', 'id', 'version']
                ) end as texts,
                case when is_json then line -> 'data' end as data_value
            from {lines}
        ),
        fields as (
            select
                * exclude (texts, data_value),
                texts[1] as event_id,
                texts[2] as event_time_text,
                try_cast(texts[2] as timestamptz) as event_time,
                texts[3] as op,
                texts[4] as entity,
                texts[5] as record_id,
                try_cast(texts[6] as integer) as version,
                case when json_type(data_value) = 'OBJECT' then data_value end as data
            from extracted
        )
        select
            * exclude (is_json),
            case
                when not is_json then 'line|not a JSON object'
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


def _read_lines_sql(path: Path) -> str:
    """SQL: temp table bvo_lines, every line of the gzip file numbered (one VARCHAR column)."""
    return f"""
        create or replace temp table bvo_lines as
        select row_number() over () as line_number, line
        from read_csv(
            {sql_literal(str(path))}, columns = {{'line': 'VARCHAR'}},
            delim = chr(31), quote = '', escape = '', header = false,
            auto_detect = false, compression = 'gzip', strict_mode = false
        )
    """


def _unreadable(exc: duckdb.Error, declared: int) -> RejectedFile:
    return RejectedFile(f"cannot read as gzip UTF-8 JSON Lines: {exc}", rows_declared=declared)


def load(delivery: Delivery, ctx: LoadContext) -> LoadResult:
    declared = _check_manifest(delivery, ctx)
    con = ctx.con
    try:
        con.execute(_read_lines_sql(delivery.path))
    except duckdb.Error as exc:
        raise _unreadable(exc, declared) from exc
    row = con.execute("select count(*) from bvo_lines").fetchone()
    lines = int(row[0]) if row else 0
    if lines != declared:
        raise RejectedFile(
            f"manifest declares {declared} records, the file has {lines} lines",
            rows_declared=declared,
        )

    con.execute(f"create or replace temp table bvo_checked as {_checked_sql('bvo_lines')}")
    quarantined = quarantine_rows(
        ctx,
        delivery.name,
        f"""
        select line_number, {PROBLEM_COLUMN_SQL} as column_name,
               {PROBLEM_REASON_SQL} as reason, line as raw_record
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


# --- many files in one pass -----------------------------------------------------------------

GZIP_MAGIC = b"\x1f\x8b"
BATCH_TABLES = ("bvo_batch_checked", "bvo_batch_files")


def load_batch(
    deliveries: Sequence[Delivery], ctxs: Sequence[LoadContext]
) -> list[LoadResult | RejectedFile]:
    """Load many BVO files in one pass: per file what ``load`` would return or raise.

    Per file first ``load``'s manifest checks (present, names the file, sha256 equal to
    the ledger's): a file whose manifest fails is rejected with ``load``'s reason. A file
    that does not start as gzip does is read alone by ``load``, which gives its verdict.
    The others are read by one ``read_csv`` over all of them, in the order given (the
    reader ``load`` uses, so DuckDB splits and counts each file's lines as it does when
    reading it alone); each line carries its file and its place in the scan, which gives
    its line number in the file, and is checked by the SQL ``load`` uses. A file whose
    count of lines differs from its manifest's records is left out of the pass and read
    alone by ``load``, which rejects it with the counts.

    Everything runs in the caller's transaction; a DuckDB error (a file that is not sound
    gzip or UTF-8) is raised, and the caller then reads the files one by one.
    """
    if len(deliveries) != len(ctxs):
        raise ValueError("load_batch needs one context per delivery")
    results: list[LoadResult | RejectedFile | None] = [None] * len(deliveries)
    declared: dict[int, int] = {}
    alone: list[int] = []
    for index, (delivery, ctx) in enumerate(zip(deliveries, ctxs, strict=True)):
        try:
            records = _check_manifest(delivery, ctx)
        except RejectedFile as rejection:
            results[index] = rejection
            continue
        with delivery.path.open("rb") as handle:
            is_gzip = handle.read(len(GZIP_MAGIC)) == GZIP_MAGIC
        if is_gzip:
            declared[index] = records
        else:
            alone.append(index)
    return finish_pass(load, _load_shared, declared, BATCH_TABLES, alone, deliveries, ctxs, results)


def _load_shared(
    con: duckdb.DuckDBPyConnection,
    deliveries: Sequence[Delivery],
    ctxs: Sequence[LoadContext],
    declared: dict[int, int],
    results: list[LoadResult | RejectedFile | None],
) -> list[int]:
    """Read the files of ``declared`` (batch index: records) in one scan; load the ones
    whose lines DuckDB counted as declared. Returns the batch indexes of the others."""
    read = list(declared)  # batch indexes in scan order: file_index i is read[i]
    files = "[" + ", ".join(sql_literal(str(deliveries[index].path)) for index in read) + "]"
    con.execute("; ".join(f"drop table if exists {name}" for name in BATCH_TABLES))
    # Read, parse and check in one statement: the lines are not stored apart. DuckDB keeps
    # the scan's order in the table it creates (preserve_insertion_order, which
    # ``ingest_landing`` requires), so a row's
    # ``rowid`` is its place in the scan. Numbering the rows in the scan instead (a window)
    # would hold the whole statement, JSON parsing included, on one thread.
    scan = f"""(
        select file_index, line
        from read_csv(
            {files}, columns = {{'line': 'VARCHAR'}},
            delim = chr(31), quote = '', escape = '', header = false,
            auto_detect = false, compression = 'gzip', strict_mode = false
        )
    )"""
    con.execute(
        "create temp table bvo_batch_checked as "
        "select * exclude (line), case when problem is not null then line end as line "
        f"from ({_checked_sql(scan)}) as checked"
    )
    found = {
        file_index: (lines, first, last)
        for file_index, lines, first, last in con.execute(
            """
            select file_index, count(*), min(rowid), max(rowid)
            from bvo_batch_checked group by file_index
            """
        ).fetchall()
    }
    accepted = []
    alone = []
    for file_index, index in enumerate(read):
        lines, first, last = found.get(file_index, (0, 0, -1))
        if last - first + 1 != lines:
            # Line numbers count on the lines of a file being one run of the scan. Should
            # DuckDB ever interleave files, fail the pass: the caller reads them one by one.
            raise RuntimeError("lines of one file are not contiguous in a read of many files")
        if lines != declared[index]:
            alone.append(index)
            continue
        ctx = ctxs[index]
        accepted.append((file_index, ctx.file_id, deliveries[index].name, ctx.run_id, first))
    if not accepted:
        return alone
    con.execute(
        """
        create temp table bvo_batch_files (
            file_index bigint, file_id bigint, file_name varchar, run_id varchar,
            first_index bigint
        )
        """
    )
    insert_values(con, "bvo_batch_files", accepted)
    events = """(
        select files.file_id, files.file_name, files.run_id,
               checked.rowid - files.first_index + 1 as line_number, checked.*
        from bvo_batch_checked as checked
        inner join bvo_batch_files as files using (file_index)
    )"""
    quarantine_pass_rows(con, events, raw_record="line")
    con.execute(
        f"""
        insert into {RAW_TABLE}
        select event_id, event_time, event_time_text, op, entity, record_id, version, data,
               file_id, line_number, run_id
        from {events} as events where problem is null
        """
    )
    tally = {
        file_id: (loaded, quarantined)
        for file_id, loaded, quarantined in con.execute(
            f"""
            select file_id, count(*) filter (problem is null),
                   count(*) filter (problem is not null)
            from {events} as events group by file_id
            """
        ).fetchall()
    }
    for index in read:
        if index in alone:
            continue
        loaded, quarantined = tally.get(ctxs[index].file_id, (0, 0))
        results[index] = LoadResult(
            rows_declared=declared[index], rows_loaded=loaded, rows_quarantined=quarantined
        )
    return alone
