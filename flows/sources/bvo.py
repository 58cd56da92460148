"""BVO, the police's new system: change events as gzip JSON Lines, each file with a manifest.

DuckDB reads the gzip file as lines (one VARCHAR column, no quoting) so that every event
keeps its line number; SQL parses the JSON and checks each event. A file whose manifest
is missing or disagrees with it (name, record count, sha256) is rejected whole.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import re
import zlib
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import duckdb

from flows.errors import RejectedFile
from flows.sources.common import (
    Delivery,
    LoadContext,
    LoadResult,
    load_alone,
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
        with parsed as (
            select *, try(json(line)) as event from {lines}
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
            from (
                -- One extraction of the six texts (``event ->> key`` each parsed the JSON).
                select
                    *,
                    json_extract_string(
                        event, ['event_id', 'event_time', 'op', 'entity', 'id', 'version']
                    ) as texts,
                    event -> 'data' as data_value
                from parsed
            ) as extracted
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


# --- many files in one pass -----------------------------------------------------------------

# Bytes where DuckDB's line reader may end or split a line that Python's count does not (CR,
# control codes, the chr(31) "delimiter"): a file holding one is read alone, by ``load``.
LINE_BREAKING = bytes(sorted(set(range(0x20)) - {0x09, 0x0A}))
BATCH_TABLES = ("bvo_batch_checked", "bvo_batch_files")


def _line_count(path: Path) -> int | None:
    """Lines of a gzip file as DuckDB's line reader counts them; None when only it can tell.

    None for a file that is not sound gzip or UTF-8, that holds a CR or a control code, or
    that has no lines: ``load`` reads such a file alone and gives its verdict.
    """
    try:
        data = gzip.decompress(path.read_bytes())
        data.decode("utf-8")
    except (OSError, EOFError, zlib.error, UnicodeDecodeError):
        return None
    if not data or len(data.translate(None, LINE_BREAKING)) != len(data):
        return None
    return data.count(b"\n") + (not data.endswith(b"\n"))


def _probe(path: Path, declared: int) -> None:
    """Raise ``load``'s rejection when DuckDB cannot read the file (not gzip, not UTF-8).

    Read in a connection of its own: a DuckDB error in the pass's transaction would abort
    it, and with it the other files of the pass.
    """
    with duckdb.connect() as scratch:
        try:
            scratch.execute(_read_lines_sql(path))
        except duckdb.Error as exc:
            raise _unreadable(exc, declared) from exc


def load_batch(
    deliveries: Sequence[Delivery], ctxs: Sequence[LoadContext]
) -> list[LoadResult | RejectedFile]:
    """Load many BVO files in one pass: per file what ``load`` would return or raise.

    Per file first ``load``'s manifest checks (present, names the file, sha256 equal to
    the ledger's) and its line count, done in Python: a file whose manifest fails is
    rejected with ``load``'s reason. The files whose lines Python counted and whose count
    equals the manifest's records are read by one ``read_csv`` over all of them, in the
    order given; each line carries its file and its place in the scan, which gives its line
    number in the file, and is checked by the SQL ``load`` uses. Any other file (a count
    that differs, not gzip, not UTF-8, a CR or control code, no lines) is read alone by
    ``load``, which gives its verdict.

    Everything runs in the caller's transaction; a DuckDB error is raised, and the caller
    then reads the files one by one.
    """
    if len(deliveries) != len(ctxs):
        raise ValueError("load_batch needs one context per delivery")
    results: list[LoadResult | RejectedFile | None] = [None] * len(deliveries)
    counts: dict[int, int] = {}
    alone: list[int] = []
    for index, (delivery, ctx) in enumerate(zip(deliveries, ctxs, strict=True)):
        try:
            declared = _check_manifest(delivery, ctx)
        except RejectedFile as rejection:
            results[index] = rejection
            continue
        lines = _line_count(delivery.path)
        if lines is not None and lines == declared:
            counts[index] = lines
            continue
        try:
            _probe(delivery.path, declared)
        except RejectedFile as rejection:
            results[index] = rejection
        else:
            alone.append(index)
    if counts:
        con = ctxs[0].con
        try:
            _load_shared(con, deliveries, ctxs, counts, results)
        finally:
            with contextlib.suppress(duckdb.Error):
                con.execute("; ".join(f"drop table if exists {name}" for name in BATCH_TABLES))
    return load_alone(load, alone, deliveries, ctxs, results)


def _load_shared(
    con: duckdb.DuckDBPyConnection,
    deliveries: Sequence[Delivery],
    ctxs: Sequence[LoadContext],
    counts: dict[int, int],
    results: list[LoadResult | RejectedFile | None],
) -> None:
    """Read the files of ``counts`` (batch index: lines) in one scan and load them all."""
    read = list(counts)  # batch indexes in scan order: file_index i is read[i]
    files = "[" + ", ".join(sql_literal(str(deliveries[index].path)) for index in read) + "]"
    con.execute("; ".join(f"drop table if exists {name}" for name in BATCH_TABLES))
    # Read, parse and check in one statement: the lines are not stored apart.
    scan = f"""(
        select file_index, row_number() over () as global_index, line
        from read_csv(
            {files}, columns = {{'line': 'VARCHAR'}},
            delim = chr(31), quote = '', escape = '', header = false,
            auto_detect = false, compression = 'gzip', strict_mode = false
        )
    )"""
    con.execute(
        "create temp table bvo_batch_checked as "
        f"select * exclude (event) from ({_checked_sql(scan)}) as checked"
    )
    found = {
        file_index: (lines, first, last)
        for file_index, lines, first, last in con.execute(
            """
            select file_index, count(*), min(global_index), max(global_index)
            from bvo_batch_checked group by file_index
            """
        ).fetchall()
    }
    accepted = []
    for file_index, index in enumerate(read):
        lines, first, last = found.get(file_index, (0, 0, -1))
        if lines != counts[index] or last - first + 1 != lines:
            # DuckDB counted other lines than Python, or interleaved the files: fail the
            # pass, the caller reads the files one by one.
            raise RuntimeError("lines of a read of many BVO files do not match the files")
        ctx = ctxs[index]
        accepted.append((file_index, ctx.file_id, deliveries[index].name, ctx.run_id, first))
    con.execute(
        """
        create temp table bvo_batch_files (
            file_index bigint, file_id bigint, file_name varchar, run_id varchar,
            first_index bigint
        )
        """
    )
    columns = [list(column) for column in zip(*accepted, strict=True)]
    con.execute(
        f"insert into bvo_batch_files select {', '.join('unnest(?)' for _ in columns)}", columns
    )
    events = """(
        select files.file_id, files.file_name, files.run_id,
               checked.global_index - files.first_index + 1 as line_number, checked.*
        from bvo_batch_checked as checked
        inner join bvo_batch_files as files using (file_index)
    )"""
    con.execute(
        f"""
        insert into meta.quarantined_rows
        select file_id, file_name, line_number, split_part(problem, '|', 1) as column_name,
               split_part(problem, '|', 2) as reason, line as raw_record, run_id
        from {events} as events where problem is not null
        order by file_id, line_number
        """
    )
    con.execute(
        f"""
        insert into {RAW_TABLE}
        select event_id, event_time, event_time_text, op, entity, record_id, version, data,
               file_id, line_number, run_id
        from {events} as events where problem is null
        order by file_id, line_number
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
        loaded, quarantined = tally.get(ctxs[index].file_id, (0, 0))
        results[index] = LoadResult(
            rows_declared=counts[index], rows_loaded=loaded, rows_quarantined=quarantined
        )
