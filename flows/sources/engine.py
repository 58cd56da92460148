"""The pass engine: one way to read files of one system, whatever the system (decision 0013).

``load_pass(reader, files)`` runs in the caller's transaction (ingest owns transactions
and the ledger) and returns one ``FileOutcome`` per file, in the order given. What it
owns, when a file is read again alone, and why a line's number is the ``rowid`` of the
scan table (a table created in an open transaction numbers its rows from a large
offset): decision 0013.
"""

from __future__ import annotations

import contextlib
from collections.abc import Generator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

import duckdb

from flows.errors import RejectedFile
from flows.sources.common import (
    Admitted,
    FileOutcome,
    PassFile,
    Scan,
    SourceReader,
    Tally,
    renumber_rejects,
    values_table,
)

SCAN, FILES, LINES = "pass_scan", "pass_files", "pass_lines"


def load_pass(reader: SourceReader, files: Sequence[PassFile]) -> list[FileOutcome]:
    """Read ``files`` (of ``reader``'s system) in one pass: per file its outcome."""
    if not files:
        return []
    con = files[0].ctx.con
    outcomes: list[FileOutcome | None] = [None] * len(files)
    again: list[int] = []
    groups = _admitted(reader, files, outcomes, again)
    before = _temp_tables(con)
    try:
        for group in groups:
            try:
                scanned = _scan(con, reader.scan(con, [file for _, file in group]))
            except duckdb.Error as exc:
                verdict = reader.unreadable(group[0][1], exc) if len(files) == 1 else None
                if verdict is None:
                    raise
                scanned = [verdict]
            finally:
                with contextlib.suppress(duckdb.Error):  # an aborted transaction: rolled back
                    if made := _temp_tables(con) - before:
                        con.execute("".join(f"drop table {table};" for table in made))
                for _, file in group:
                    _remove_copy(file)
            for (index, _), outcome in zip(group, scanned, strict=True):
                if outcome is None and len(files) == 1:
                    raise RuntimeError(f"{reader.SYSTEM} gave no outcome for a pass of one")
                if outcome is None:
                    again.append(index)
                outcomes[index] = outcome
    finally:
        groups.close()
    for index in sorted(again):
        (outcomes[index],) = load_pass(reader, [files[index]])
    return [outcome for outcome in outcomes if outcome is not None]


def _admitted(
    reader: SourceReader,
    files: Sequence[PassFile],
    outcomes: list[FileOutcome | None],
    again: list[int],
) -> Generator[list[tuple[int, Admitted]], None, None]:
    """The admitted files, by their index, in the groups to scan: all in one, or, for a
    reader ``FILE_BY_FILE``, one by one while a thread admits the next file."""

    def admit(index: int) -> Admitted | FileOutcome:
        try:
            return reader.admit(files[index])
        except RejectedFile as rejection:
            return FileOutcome.rejected(rejection.reason, rejection.rows_declared)

    def to_scan(index: int, admitted: Admitted | FileOutcome) -> Admitted | None:
        if isinstance(admitted, FileOutcome):
            outcomes[index] = admitted
            return None
        if admitted.alone and len(files) > 1:
            _remove_copy(admitted)
            again.append(index)
            return None
        return admitted

    if not reader.FILE_BY_FILE:
        results = [(index, admit(index)) for index in range(len(files))]
        group = [(i, file) for i, result in results if (file := to_scan(i, result)) is not None]
        if group:
            yield group
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{reader.SYSTEM}-admit") as pool:
        ahead: Future[Admitted | FileOutcome] = pool.submit(admit, 0)
        try:
            for index in range(len(files)):
                admitted = ahead.result()
                if index + 1 < len(files):  # one file ahead, not more
                    ahead = pool.submit(admit, index + 1)
                if (file := to_scan(index, admitted)) is not None:
                    yield [(index, file)]
        finally:  # the pass stopped: the copy of the file admitted ahead goes too
            with contextlib.suppress(Exception):
                _remove_copy(ahead.result())


def _remove_copy(admitted: Admitted | FileOutcome) -> None:
    if isinstance(admitted, Admitted) and admitted.copy is not None:
        admitted.copy.unlink(missing_ok=True)


def _temp_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    tables = con.execute("select table_name from duckdb_tables() where temporary").fetchall()
    return {name for (name,) in tables}


def _scan(con: duckdb.DuckDBPyConnection, scan: Scan) -> list[FileOutcome | None]:
    """Run a reader's scan: per file its outcome, None to read it again alone."""
    con.execute(f"create temp table {SCAN} as {scan.sql}", scan.parameters)
    if scan.csv_rejects is not None:
        (file,) = scan.files
        renumber_rejects(con, scan.csv_rejects, file.copy or file.delivery.path)
    # Without joins or a frame a file's records are its rows in the scan table: counted here.
    counted = not scan.joins and not scan.frame
    found = {
        index: (rows, first, last, sound)
        for index, rows, first, last, sound in con.execute(
            f"""
            select file_index, count(*), min(rowid), max(rowid),
                {"count(*) filter (problem is null)" if counted else "0"}
            from {SCAN} group by file_index
            """
        ).fetchall()
    }
    tallies = []
    for index in range(len(scan.files)):
        rows, first, last, _ = found.setdefault(index, (0, 0, -1, 0))
        if last - first + 1 != rows:  # should DuckDB ever interleave files: fail the pass
            raise RuntimeError("rows of one file are not contiguous in a read of many files")
        tallies.append(Tally(rows, first))
    verdicts = (
        scan.judge(tallies)
        if scan.judge
        else [
            file.declared if file.declared is not None else tally.rows - 2 * scan.frame
            for file, tally in zip(scan.files, tallies, strict=True)
        ]
    )
    outcomes = [None if isinstance(verdict, int) else verdict for verdict in verdicts]
    kept = {index: verdict for index, verdict in enumerate(verdicts) if isinstance(verdict, int)}
    if not kept:
        return outcomes
    values_table(
        con,
        FILES,
        "file_index bigint, file_id bigint, file_name varchar, run_id varchar, "
        "delivery_date date, first_row bigint, file_rows bigint",
        [
            (index, file.ctx.file_id, file.delivery.name, file.ctx.run_id)
            + (file.delivery.delivery_date, tallies[index].first, tallies[index].rows)
            for index, file in ((index, scan.files[index]) for index in kept)
        ],
    )
    records = _records_sql(con, scan)
    rejects = ""
    if scan.rejects is not None:
        rejects = f"""
            select file_id, file_name, line_number, column_name, reason, raw_record, run_id
            from ({scan.rejects}) as rejects inner join {FILES} using (file_index)
            union all"""
    (inserted,) = con.execute(
        f"""
        insert into meta.quarantined_rows {rejects}
        select
            file_id, file_name, line_number, split_part(problem, '|', 1) as column_name,
            substr(problem, strpos(problem, '|') + 1) as reason, raw_record, run_id
        from ({records}) as records where problem is not null
        """
    ).fetchone() or (0,)
    if scan.store is not None:
        stored = scan.store(records)
    else:
        (stored,) = con.execute(
            f"""
            insert into {scan.table}
            select {", ".join(scan.columns)}, file_id, line_number, run_id
            from ({records}) as records where problem is null
            """
        ).fetchone() or (0,)
    quarantined = {index: inserted for index in kept}  # a pass of one kept file
    if len(kept) > 1:
        quarantined = dict(
            con.execute(
                f"""
                select file_index, count(*) from meta.quarantined_rows
                inner join {FILES} using (file_id) group by file_index
                """
            ).fetchall()
        )
    for index, declared in kept.items():
        bad = quarantined.get(index, 0)
        # With joins or a frame (COMPAS) every row but the frame is a record, sound or bad.
        sound = found[index][3] if counted else tallies[index].rows - 2 * scan.frame - bad
        outcomes[index] = FileOutcome("loaded", declared, sound, bad)
    expected = sum(outcome.rows_loaded for outcome in outcomes if outcome is not None)
    if stored != expected:
        # Every record of a kept file is stored or quarantined; should the count ever
        # disagree (a join lost one), fail the pass rather than let the ledger say otherwise.
        raise RuntimeError(f"a pass stored {stored} records where {expected} were expected")
    return outcomes


def _records_sql(con: duckdb.DuckDBPyConnection, scan: Scan) -> str:
    """SQL: the records of the kept files, numbered, with their file's columns."""
    place = "scan.rowid - files.first_row"
    line = f"{place} + {scan.first_line}"
    joins = f"inner join {FILES} as files using (file_index)"
    skipped = f"""
        select distinct file_index, line_number::bigint as line_number
        from ({scan.skipped}) as skipped where file_index in (select file_index from {FILES})
    """
    if scan.skipped is not None and con.execute(f"{skipped} limit 1").fetchone():
        con.execute(
            f"""
            create temp table {LINES} as
            with skipped as ({skipped}),
            data_lines as (
                select file_index, unnest(range(
                    {scan.first_line},
                    greatest({scan.first_line} + file_rows + skips, last_skipped + 1)
                )) as line_number
                from {FILES} inner join (
                    select file_index, count(*) as skips, max(line_number) as last_skipped
                    from skipped group by file_index
                ) as counts using (file_index)
            )
            select
                file_index as line_file, line_number as record_line,
                row_number() over (partition by file_index order by line_number) as record_index
            from data_lines anti join skipped using (file_index, line_number)
            """
        )
        line = f"coalesce(lines.record_line, {line})"
        joins += f"""
            left join {LINES} as lines
                on lines.line_file = scan.file_index and lines.record_index = {place} + 1"""
    where = ""
    if scan.frame:
        where = f"where {place} >= {scan.frame} and {place} < files.file_rows - {scan.frame}"
    return f"""
        select {line} as line_number, *
        from {SCAN} as scan {joins} {scan.joins} {where}
    """
