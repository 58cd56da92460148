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
from flows.sources import common
from flows.sources.common import Admitted, Delivery, FileOutcome, PassFile, Scan, Tally

SYSTEM = "bvo"
NAME_PATTERN = re.compile(r"^BVO_EVENTS_(\d{8}T\d{6})_(\d{6})\.jsonl\.gz$")
MANIFEST_SUFFIX = ".manifest.json"
RAW_TABLE = "raw.bvo_events"
BATCH_BYTES: int | None = None  # ingest's default
COMPANIONS: tuple[str, ...] = (MANIFEST_SUFFIX,)
FILE_BY_FILE = False
GZIP_MAGIC = b"\x1f\x8b"
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


# The raw table's fields of an event, with their types; its lineage columns follow them.
RECORD_COLUMNS = (
    ("event_id", "varchar not null"),
    ("event_time", "timestamptz not null"),
    ("event_time_text", "varchar not null"),
    ("op", "varchar not null"),
    ("entity", "varchar not null"),
    ("record_id", "varchar not null"),
    ("version", "integer not null"),
    ("data", "json"),
)


def ensure_raw_tables(con: duckdb.DuckDBPyConnection) -> None:
    common.ensure_raw_table(con, RAW_TABLE, RECORD_COLUMNS)


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


def admit(file: PassFile) -> Admitted:
    """The manifest's checks before reading (present, names the file, sha256): its record
    count. A file that does not start as gzip does is read in a pass of its own (DuckDB's
    error then names what is wrong with it)."""
    delivery, sha256 = file.delivery, file.ctx.sha256
    manifest = read_manifest(delivery)
    declared = int(manifest["records"])
    if str(manifest["sha256"]).lower() != sha256:
        raise RejectedFile(
            f"sha256 {sha256} of the data file differs from its manifest ({manifest['sha256']})",
            rows_declared=declared,
        )
    with delivery.path.open("rb") as handle:
        is_gzip = handle.read(len(GZIP_MAGIC)) == GZIP_MAGIC
    return Admitted(file, declared=declared, alone=not is_gzip)


def unreadable(file: Admitted, exc: duckdb.Error) -> FileOutcome:
    return FileOutcome.rejected(
        f"cannot read as gzip UTF-8 JSON Lines: {exc}", rows_declared=file.declared
    )


def _checked_sql(lines: str) -> str:
    """SQL: the events of the query ``lines`` (file_index, line) parsed and checked: its
    columns, the event's fields and ``problem`` (as ``Scan.sql`` has it)."""
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


def scan(con: duckdb.DuckDBPyConnection, files: Sequence[Admitted]) -> Scan:
    """The files' lines, parsed and checked, in one ``read_csv`` over all of them: a file
    whose count of lines differs from its manifest's records is rejected with the counts."""
    paths = common.paths_sql(files)
    reader = common.line_reader_sql(paths, compression="'gzip'")
    lines = f"(select file_index, line from {reader})"

    def judge(tallies: Sequence[Tally]) -> list[int | FileOutcome]:
        return [
            tally.rows
            if tally.rows == file.declared
            else FileOutcome.rejected(
                f"manifest declares {file.declared} records, the file has {tally.rows} lines",
                rows_declared=file.declared,
            )
            for file, tally in zip(files, tallies, strict=True)
        ]

    return Scan(
        files,
        "select * exclude (line), case when problem is not null then line end as raw_record "
        f"from ({_checked_sql(lines)}) as checked",
        RAW_TABLE,
        [name for name, _ in RECORD_COLUMNS],
        judge=judge,
    )
