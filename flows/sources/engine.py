"""The pass engine: one way to read files of one system, whatever the system.

``load_pass(reader, files)`` runs in the caller's transaction (ingest owns transactions
and the ledger) and returns one ``FileOutcome`` per file, in the order given:

1. the reader's door checks in Python, per file (``admit``): a file that fails them is
   rejected with the reason, and is not read;
2. one scan of the admitted files (``scan``): the reader reads, types and checks them in
   SQL, stores the sound rows and quarantines the others, and gives each file's tallies;
3. a file the door checks or the scan set aside is read again in a pass of its own.

A single file is a pass of one. In a pass of one, a DuckDB error while reading is the
file's verdict when the reader says so (``unreadable``: the file cannot be read); in a pass
of many it is raised, the caller rolls back and reads the files one by one. The reader's
work tables are dropped after every scan, whatever happened.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from flows.errors import RejectedFile
from flows.sources.common import Admitted, FileOutcome, PassFile, SourceReader, drop_tables


def load_pass(reader: SourceReader, files: Sequence[PassFile]) -> list[FileOutcome]:
    """Read ``files`` (of ``reader``'s system) in one pass: per file its outcome."""
    if not files:
        return []
    outcomes: list[FileOutcome | None] = [None] * len(files)
    shared: list[tuple[int, Admitted]] = []
    again: list[int] = []
    for index, file in enumerate(files):
        try:
            admitted = reader.admit(file)
        except RejectedFile as rejection:
            outcomes[index] = FileOutcome.of(rejection)
            continue
        if admitted.alone and len(files) > 1:
            again.append(index)
        else:
            shared.append((index, admitted))
    if shared:
        con = files[0].ctx.con
        try:
            scanned = reader.scan(con, [admitted for _, admitted in shared])
        except duckdb.Error as exc:
            verdict = reader.unreadable(shared[0][1], exc) if len(files) == 1 else None
            if verdict is None:
                raise
            scanned = [verdict]
        finally:
            drop_tables(con, reader.WORK_TABLES)
        for (index, _), outcome in zip(shared, scanned, strict=True):
            if outcome is None:
                if len(files) == 1:
                    raise RuntimeError(f"{reader.SYSTEM} gave no outcome for a pass of one")
                again.append(index)
            outcomes[index] = outcome
    for index in sorted(again):
        (outcomes[index],) = load_pass(reader, [files[index]])
    return [outcome for outcome in outcomes if outcome is not None]
