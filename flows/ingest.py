"""Ingest: every delivery in the landing folder into the raw tables, exactly once.

Plain functions, no Prefect: the flow in ``flows/nightly.py`` calls ``ingest_landing``.
Per file the ledger records what happened. A file is read only when it is new to the
ledger (by name, size and modification time; then by sha256), so a night with one new
delivery reads one delivery.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import duckdb

from flows import ledger
from flows.errors import DwhError, RejectedFile
from flows.sources import bvh, bvo, compas, gps
from flows.sources.common import Delivery, LoadContext, LoadResult, sha256_of

log = logging.getLogger(__name__)

SOURCE_MODULES: tuple[ModuleType, ...] = (bvh, bvo, compas, gps)
# At most this many files, and bytes (the first file always), of one system are read in one
# pass (``load_batch``): bounds memory (a pass of 64 MB of GPS peaks near 1 GB) and the size
# of a transaction. Fewer, larger passes are faster: DuckDB writes an insert of whole row
# groups (122,880 rows) straight to the database file, a smaller one first to its WAL. A
# module may set its own ``BATCH_BYTES`` (COMPAS and BVH: large snapshots).
BATCH_FILES = 2000
BATCH_BYTES = 64 * 1024 * 1024
# Threads that hash the new files before any is read (sha256 of every file, for duplicates).
HASH_THREADS = min(4, os.cpu_count() or 1)


@dataclass
class IngestReport:
    loaded: list[str] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)
    corrected: list[str] = field(default_factory=list)
    unchanged: int = 0
    unrecognised: list[str] = field(default_factory=list)
    # Files left for the next ingest (name, reason): still being written into landing.
    deferred: list[tuple[str, str]] = field(default_factory=list)

    def summary(self) -> str:
        text = (
            f"{len(self.loaded)} loaded ({len(self.corrected)} corrections), "
            f"{len(self.rejected)} rejected, {len(self.duplicates)} duplicates, "
            f"{self.unchanged} already known, {len(self.unrecognised)} not recognised"
        )
        if self.deferred:
            text += f", {len(self.deferred)} deferred ({', '.join(n for n, _ in self.deferred)})"
        return text


def _deferral_reason(delivery: Delivery) -> str:
    return (
        f"{delivery.name}: its size or modification time changed between discovery and "
        f"reading (still being copied into landing?); left for the next ingest"
    )


def recognise(path: Path) -> tuple[ModuleType, Delivery] | None:
    for module in SOURCE_MODULES:
        delivery = module.recognise(path)
        if delivery is not None:
            return module, delivery
    return None


def _fingerprint(delivery: Delivery) -> tuple[int, str]:
    """Size, and what ``stat`` says of the file and its manifest: unchanged means not re-read."""
    stat = delivery.path.stat()
    parts = [str(stat.st_size), str(stat.st_mtime_ns)]
    if delivery.manifest is not None and delivery.manifest.exists():
        manifest = delivery.manifest.stat()
        parts += [str(manifest.st_size), str(manifest.st_mtime_ns)]
    return stat.st_size, ":".join(parts)


def _manifest_sha(delivery: Delivery) -> str | None:
    if delivery.manifest is None or not delivery.manifest.exists():
        return None
    return sha256_of(delivery.manifest)


def _quarantine_file(delivery: Delivery, file_id: int, reason: str, quarantine_dir: Path) -> None:
    """Copy a rejected file (and its manifest) aside with a reason file; landing is untouched."""
    target = quarantine_dir / "files" / f"{file_id:06d}_{delivery.name}"
    target.parent.mkdir(parents=True, exist_ok=True)
    # Rejected files may hold personal data: only the pipeline's user may read them.
    for folder in (quarantine_dir, target.parent):
        folder.chmod(0o700)
    shutil.copy2(delivery.path, target)
    if delivery.manifest is not None and delivery.manifest.exists():
        shutil.copy2(delivery.manifest, target.with_name(target.name + bvo.MANIFEST_SUFFIX))
    target.with_name(target.name + ".reason.txt").write_text(
        f"file: {delivery.name}\nsystem: {delivery.system}\nreason: {reason}\n", encoding="utf-8"
    )


def _current_entries(con: duckdb.DuckDBPyConnection) -> dict[str, dict]:
    """The ledger row in force (not superseded) of every file name, in one query."""
    cursor = con.execute(
        """
        select file_name, file_id, stat_fingerprint, sha256, manifest_sha256, status
        from meta.file_ledger
        where status <> 'superseded'
        order by file_id
        """
    )
    columns = [d[0] for d in cursor.description][1:]
    entries: dict[str, dict] = {}
    for name, *values in cursor.fetchall():
        entries.setdefault(name, dict(zip(columns, values, strict=True)))
    return entries


@dataclass
class _Pending:
    """A new or changed file that will be read, with what was decided before reading it."""

    module: ModuleType
    delivery: Delivery
    entry: dict | None  # the ledger row in force under its name: this file corrects it
    size: int
    fingerprint: str
    sha: str
    manifest_sha: str | None
    seconds: float  # spent on it before reading (stat, sha256)
    file_id: int = 0
    arrival_seq: int = 0
    outcome: IngestReport = field(default_factory=IngestReport)

    def base(self, run_id: str, started: float) -> dict:
        """The ledger row's columns that do not depend on how reading went."""
        delivery = self.delivery
        return {
            "file_id": self.file_id,
            "file_name": delivery.name,
            "source_system": delivery.system,
            "entity": delivery.entity,
            "delivery_date": delivery.delivery_date,
            "delivery_time": delivery.delivery_time,
            "delivery_seq": delivery.seq,
            "size_bytes": self.size,
            "stat_fingerprint": self.fingerprint,
            "sha256": self.sha,
            "manifest_sha256": self.manifest_sha,
            "arrival_seq": self.arrival_seq,
            "loaded_at": datetime.now(UTC),
            "run_id": run_id,
            "started": started,
        }


def _hash(delivery: Delivery) -> tuple[int, str, str, str | None, float]:
    """Size, stat fingerprint, sha256 and manifest sha256 of a delivery, and the seconds
    they took. ``hashlib`` lets go of the interpreter while it hashes, so threads help."""
    started = time.perf_counter()
    sha = sha256_of(delivery.path)
    manifest_sha = _manifest_sha(delivery)
    # After hashing: equal to discovery's fingerprint, the sums are of the bytes discovered.
    size, fingerprint = _fingerprint(delivery)
    return size, fingerprint, sha, manifest_sha, time.perf_counter() - started


def _prepare(
    con: duckdb.DuckDBPyConnection,
    candidates: list[tuple[ModuleType, Delivery, dict | None, str]],
    report: IngestReport,
) -> list[_Pending]:
    """Hash the candidates; give each that must be read its file id and arrival sequence.

    A file whose bytes (and manifest) equal its ledger row was only touched: its new
    modification time is remembered and it is not read. The others get file ids and
    arrival sequence numbers in arrival order, exactly as reading them one by one would,
    so that reading them in another order (a system's files in one batch) changes neither.
    A file whose size or modification time changed since discovery (still being copied)
    is deferred: it gets no file id and no ledger row, and the next ingest reads it.
    """
    pending = []
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=HASH_THREADS, thread_name_prefix="sha256") as pool:
        hashed = list(pool.map(_hash, [delivery for _, delivery, _, _ in candidates]))
    # The files are hashed side by side: each is charged its share of the time it took.
    elapsed = time.perf_counter() - started
    busy = sum(own for *_, own in hashed) or 1.0
    for (module, delivery, entry, seen), (size, fingerprint, sha, manifest_sha, own) in zip(
        candidates, hashed, strict=True
    ):
        if fingerprint != seen:
            report.deferred.append((delivery.name, _deferral_reason(delivery)))
            continue
        if entry is not None and (entry["sha256"], entry["manifest_sha256"]) == (
            sha,
            manifest_sha,
        ):
            # Same bytes, touched: remember the new modification time and read nothing.
            con.execute(
                "update meta.file_ledger set stat_fingerprint = ? where file_id = ?",
                [fingerprint, entry["file_id"]],
            )
            report.unchanged += 1
            continue
        seconds = elapsed * own / busy
        pending.append(
            _Pending(module, delivery, entry, size, fingerprint, sha, manifest_sha, seconds)
        )
    if pending:
        file_ids = sorted(
            int(row[0])
            for row in con.execute(
                "select nextval('meta.file_id_seq') from range(?)", [len(pending)]
            ).fetchall()
        )
        first_seq = ledger.next_arrival_seq(con)
        for number, (item, file_id) in enumerate(zip(pending, file_ids, strict=True)):
            item.file_id = file_id
            item.arrival_seq = first_seq + number
    return pending


def ingest_landing(
    con: duckdb.DuckDBPyConnection,
    landing: Path,
    *,
    run_id: str,
    scratch: Path,
    quarantine_dir: Path,
    progress: Callable[[str], None] = log.info,
    pseudonym_key: bytes | None = None,
) -> IngestReport:
    """Load every new or corrected delivery in ``landing``; return what happened.

    ``pseudonym_key`` (``flows.pseudonym.load_or_create_key``) is required as soon as a
    file with personal data (COMPAS, GPS) is to be read.

    A source module with ``load_batch`` (all four have one) has its new files read many at
    a time (up to ``BATCH_FILES`` files and ``BATCH_BYTES`` bytes, or the module's own
    ``BATCH_BYTES``), each pass in one transaction; a module without one, file by file,
    as are the files of a pass that failed. Systems do not depend on each other
    (duplicates and corrections are per system and name), and file ids and arrival
    sequence numbers are given out in arrival order beforehand, so the outcome is the one
    of reading every file alone in arrival order.
    """
    if not landing.is_dir():
        raise FileNotFoundError(f"landing folder {landing} does not exist")
    _require_insertion_order(con)
    ledger.ensure_meta(con)
    for module in SOURCE_MODULES:
        module.ensure_raw_tables(con)
    scratch.mkdir(parents=True, exist_ok=True)
    report = IngestReport()

    entries = _current_entries(con)
    candidates: list[tuple[ModuleType, Delivery, dict | None, str]] = []
    for path in sorted(landing.iterdir()):
        if not path.is_file() or path.name.endswith(bvo.MANIFEST_SUFFIX):
            continue
        found = recognise(path)
        if found is None:
            report.unrecognised.append(path.name)
            continue
        module, delivery = found
        entry = entries.get(delivery.name)
        seen = _fingerprint(delivery)[1]
        if entry is not None and entry["stat_fingerprint"] == seen:
            report.unchanged += 1
            continue
        candidates.append((module, delivery, entry, seen))

    candidates.sort(key=lambda item: item[1].arrival_key)
    if candidates:
        progress(f"ingest: {len(candidates)} new or changed files in {landing}")
    pending = _prepare(con, candidates, report)
    done = [False] * len(pending)
    finished = 0
    for number, item in enumerate(pending):
        if done[number]:
            continue
        if hasattr(item.module, "load_batch"):
            batch = _next_batch(pending, done, number)
            _ingest_batch(
                con,
                [pending[later] for later in batch],
                run_id,
                scratch,
                quarantine_dir,
                pseudonym_key,
            )
            for later in batch:
                done[later] = True
            finished += len(batch)
            progress(
                f"ingest: {finished}/{len(pending)} files read "
                f"({len(batch)} {item.delivery.system} files in one pass)"
            )
            continue
        _ingest_one(con, item, run_id, scratch, quarantine_dir, pseudonym_key)
        done[number] = True
        finished += 1
        if finished % 50 == 0 or finished == len(pending):
            progress(f"ingest: {finished}/{len(pending)} files read")
    for item in pending:  # what happened, in arrival order
        report.loaded += item.outcome.loaded
        report.rejected += item.outcome.rejected
        report.duplicates += item.outcome.duplicates
        report.corrected += item.outcome.corrected
        report.deferred += item.outcome.deferred
    if report.unrecognised:
        progress(f"ingest: ignored files with unknown names: {', '.join(report.unrecognised[:5])}")
    return report


class _Moved(Exception):  # noqa: N818 - not an error: files to leave for the next ingest
    """Files whose size or modification time changed while they were being read."""

    def __init__(self, items: list[_Pending]) -> None:
        super().__init__(", ".join(item.delivery.name for item in items))
        self.items = items


def _moved(item: _Pending) -> bool:
    """Whether the file (or its manifest) is no longer as it was when it was hashed."""
    try:
        return _fingerprint(item.delivery)[1] != item.fingerprint
    except FileNotFoundError:
        return True


def _require_insertion_order(con: duckdb.DuckDBPyConnection) -> None:
    """Line numbers come from the order DuckDB keeps while reading a file (a streaming
    ``row_number() over ()``, or the ``rowid`` of the table a read creates): refuse a
    connection that lets DuckDB reorder rows."""
    setting = con.execute("select current_setting('preserve_insertion_order')").fetchone()
    if not (setting and setting[0]):
        raise DwhError(
            "ingest needs DuckDB's preserve_insertion_order (its default) to give every row "
            "its line number; this connection has it off: set preserve_insertion_order = true"
        )


def _next_batch(pending: list[_Pending], done: list[bool], first: int) -> list[int]:
    """Indexes of the files read in one pass with ``pending[first]``: later ones of its system."""
    module = pending[first].module
    limit = getattr(module, "BATCH_BYTES", BATCH_BYTES)
    batch: list[int] = []
    size = 0
    for number in range(first, len(pending)):
        item = pending[number]
        if done[number] or item.module is not module:
            continue
        if batch and (len(batch) >= BATCH_FILES or size + item.size > limit):
            break
        batch.append(number)
        size += item.size
    return batch


def _ingest_one(
    con: duckdb.DuckDBPyConnection,
    item: _Pending,
    run_id: str,
    scratch: Path,
    quarantine_dir: Path,
    pseudonym_key: bytes | None = None,
) -> None:
    module, delivery, entry, report = item.module, item.delivery, item.entry, item.outcome
    if _moved(item):
        report.deferred.append((delivery.name, _deferral_reason(delivery)))
        return
    base = item.base(run_id, time.perf_counter() - item.seconds)
    file_id = item.file_id
    twin = None if entry is not None else ledger.loaded_twin(con, item.sha, delivery.system)
    con.execute("begin transaction")
    try:
        if entry is not None:
            module.delete_file_rows(con, entry["file_id"])
            con.execute(
                """
                update meta.file_ledger set status = 'superseded', superseded_by = ?
                where file_id = ?
                """,
                [file_id, entry["file_id"]],
            )
        if twin is not None:
            _write_ledger(con, base, "duplicate", f"byte-identical to {twin}", None)
            report.duplicates.append((delivery.name, twin))
        else:
            ctx = LoadContext(
                con=con,
                file_id=file_id,
                run_id=run_id,
                scratch=scratch,
                sha256=item.sha,
                pseudonym_key=pseudonym_key,
            )
            result = module.load(delivery, ctx)
            reason = f"correction of file_id {entry['file_id']}" if entry is not None else None
            _write_ledger(con, base, "loaded", reason, result)
            report.loaded.append(delivery.name)
            if entry is not None:
                report.corrected.append(delivery.name)
        if _moved(item):
            raise _Moved([item])
        con.execute("commit")
    except _Moved:
        con.execute("rollback")
        item.outcome = IngestReport(deferred=[(delivery.name, _deferral_reason(delivery))])
    except RejectedFile as rejection:
        con.execute("rollback")
        _record_rejection(con, module, delivery, entry, base, rejection)
        report.rejected.append((delivery.name, rejection.reason))
        _quarantine_file(delivery, file_id, rejection.reason, quarantine_dir)
    except Exception:
        con.execute("rollback")
        raise


def _ingest_batch(
    con: duckdb.DuckDBPyConnection,
    batch: list[_Pending],
    run_id: str,
    scratch: Path,
    quarantine_dir: Path,
    pseudonym_key: bytes | None,
) -> None:
    """Read files of one system in arrival order, as few transactions as the rules allow.

    Whether a new file is a duplicate depends on what is loaded before it: a file with
    the bytes of an earlier file of the batch (or of the file an earlier correction
    replaces) therefore starts a new part, read after the earlier part is committed.
    """
    part: list[_Pending] = []
    shas: set[str] = set()
    for item in batch:
        if item.entry is None and item.sha in shas:
            _ingest_part(con, part, run_id, scratch, quarantine_dir, pseudonym_key)
            part, shas = [], set()
        part.append(item)
        shas.add(item.sha)
        if item.entry is not None:
            shas.add(item.entry["sha256"])
    if part:
        _ingest_part(con, part, run_id, scratch, quarantine_dir, pseudonym_key)


def _loaded_twins(con: duckdb.DuckDBPyConnection, shas: list[str], system: str) -> dict[str, str]:
    """``ledger.loaded_twin`` of many sha256 sums, in one query."""
    if not shas:
        return {}
    twins: dict[str, str] = {}
    for sha, name in con.execute(
        """
        select sha256, file_name from meta.file_ledger
        where source_system = ? and status = 'loaded' and sha256 in (select unnest(?))
        order by arrival_seq
        """,
        [system, shas],
    ).fetchall():
        twins.setdefault(sha, name)
    return twins


def _ingest_part(
    con: duckdb.DuckDBPyConnection,
    part: list[_Pending],
    run_id: str,
    scratch: Path,
    quarantine_dir: Path,
    pseudonym_key: bytes | None,
) -> None:
    """One transaction: duplicates, corrections and one ``load_batch`` over the rest.

    Should anything but a file's own rejection go wrong, the transaction is rolled back
    and the files are read one by one, which then fails (or not) as it always did.
    """
    moved = [item for item in part if _moved(item)]
    for item in moved:
        item.outcome.deferred.append((item.delivery.name, _deferral_reason(item.delivery)))
    part = [item for item in part if item not in moved]
    if not part:
        return
    started = time.perf_counter()
    module = part[0].module
    system = part[0].delivery.system
    twins = _loaded_twins(con, [item.sha for item in part if item.entry is None], system)
    twin_of = {item.file_id: twins.get(item.sha) if item.entry is None else None for item in part}
    to_read = [item for item in part if twin_of[item.file_id] is None]
    outcomes: list[tuple[_Pending, str, str | None, LoadResult | None]] = []
    con.execute("begin transaction")
    try:
        for item in part:
            if item.entry is not None:
                module.delete_file_rows(con, item.entry["file_id"])
                con.execute(
                    """
                    update meta.file_ledger set status = 'superseded', superseded_by = ?
                    where file_id = ?
                    """,
                    [item.file_id, item.entry["file_id"]],
                )
        contexts = [
            LoadContext(
                con=con,
                file_id=item.file_id,
                run_id=run_id,
                scratch=scratch,
                sha256=item.sha,
                pseudonym_key=pseudonym_key,
            )
            for item in to_read
        ]
        deliveries = [item.delivery for item in to_read]
        results = module.load_batch(deliveries, contexts) if to_read else []
        result_of = dict(zip([item.file_id for item in to_read], results, strict=True))
        rejected_ids = []
        for item in part:
            twin = twin_of[item.file_id]
            result = result_of.get(item.file_id)
            if twin is not None:
                outcomes.append((item, "duplicate", f"byte-identical to {twin}", None))
            elif isinstance(result, RejectedFile):
                declared = (
                    LoadResult(result.rows_declared or 0, 0, 0) if result.rows_declared else None
                )
                outcomes.append((item, "rejected", result.reason, declared))
                rejected_ids.append(item.file_id)
            else:
                assert isinstance(result, LoadResult)
                reason = (
                    f"correction of file_id {item.entry['file_id']}"
                    if item.entry is not None
                    else None
                )
                outcomes.append((item, "loaded", reason, result))
        if rejected_ids:
            con.execute(
                "delete from meta.quarantined_rows where file_id in (select unnest(?))",
                [rejected_ids],
            )
        shared = (time.perf_counter() - started) / len(part)
        rows = [
            _ledger_values(item.base(run_id, 0.0), status, reason, result, item.seconds + shared)
            for item, status, reason, result in outcomes
        ]
        # One statement for all rows: a list per column, unnested side by side.
        columns = list(rows[0])
        con.execute(
            f"insert into meta.file_ledger ({', '.join(columns)}) "
            f"select {', '.join('unnest(?)' for _ in columns)}",
            [[row[column] for row in rows] for column in columns],
        )
        moved = [item for item in part if _moved(item)]
        if moved:
            raise _Moved(moved)
        con.execute("commit")
    except _Moved as changed:
        # A file changed while the pass read it: read the pass again without it.
        con.execute("rollback")
        for item in changed.items:
            item.outcome.deferred.append((item.delivery.name, _deferral_reason(item.delivery)))
        rest = [item for item in part if item not in changed.items]
        _ingest_part(con, rest, run_id, scratch, quarantine_dir, pseudonym_key)
        return
    except Exception as exc:
        con.execute("rollback")
        # Only the kind of error: DuckDB's message may quote a line of the file.
        log.warning(
            "ingest: reading %d %s files in one pass failed (%s); reading them one by one",
            len(part),
            system,
            type(exc).__name__,
        )
        for item in part:
            _ingest_one(con, item, run_id, scratch, quarantine_dir, pseudonym_key)
        return
    for item, status, reason, _ in outcomes:
        delivery, report = item.delivery, item.outcome
        if status == "duplicate":
            report.duplicates.append((delivery.name, twin_of[item.file_id] or ""))
        elif status == "rejected":
            assert reason is not None
            report.rejected.append((delivery.name, reason))
            _quarantine_file(delivery, item.file_id, reason, quarantine_dir)
        else:
            report.loaded.append(delivery.name)
            if item.entry is not None:
                report.corrected.append(delivery.name)


def _record_rejection(
    con: duckdb.DuckDBPyConnection,
    module: ModuleType,
    delivery: Delivery,
    entry: dict | None,
    base: dict,
    rejection: RejectedFile,
) -> None:
    """A rejected correction still supersedes what came before under its name."""
    con.execute("begin transaction")
    if entry is not None:
        module.delete_file_rows(con, entry["file_id"])
        con.execute(
            "update meta.file_ledger set status = 'superseded', superseded_by = ? "
            "where file_id = ?",
            [base["file_id"], entry["file_id"]],
        )
    con.execute("delete from meta.quarantined_rows where file_id = ?", [base["file_id"]])
    declared = LoadResult(rejection.rows_declared or 0, 0, 0) if rejection.rows_declared else None
    _write_ledger(con, base, "rejected", rejection.reason, declared)
    con.execute("commit")


def _ledger_values(
    base: dict, status: str, reason: str | None, result: LoadResult | None, seconds: float
) -> dict:
    values = {key: value for key, value in base.items() if key != "started"}
    return {
        **values,
        "rows_declared": result.rows_declared if result else None,
        "rows_loaded": result.rows_loaded if result else 0,
        "rows_quarantined": result.rows_quarantined if result else 0,
        "status": status,
        "reason": reason,
        "superseded_by": None,
        "load_seconds": seconds,
    }


def _write_ledger(
    con: duckdb.DuckDBPyConnection,
    base: dict,
    status: str,
    reason: str | None,
    result: LoadResult | None,
) -> None:
    started = base["started"]
    values = _ledger_values(base, status, reason, result, time.perf_counter() - started)
    columns = ", ".join(values)
    placeholders = ", ".join("?" for _ in values)
    con.execute(
        f"insert into meta.file_ledger ({columns}) values ({placeholders})", list(values.values())
    )
