"""Ingest: every delivery in the landing folder into the raw tables, exactly once.

Plain functions, no Prefect: the flow in ``flows/nightly.py`` calls ``ingest_landing``.
This is planning (discover, fingerprint, hash, batch) and transactions; the readers
(``flows/sources/registry.py``), the pass engine and ``flows/ledger.py`` do the rest
(decision 0013). A file is read only when it is new to the ledger (by name, size and
modification time; then by sha256), so a night with one new delivery reads one delivery.
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

import duckdb

from flows import ledger
from flows.errors import DwhError
from flows.failpoints import failpoint
from flows.sources import engine
from flows.sources.common import (
    Delivery,
    FileOutcome,
    LoadContext,
    PassFile,
    SourceReader,
    sha256_of,
)
from flows.sources.registry import READERS

log = logging.getLogger(__name__)

# At most this many files, and bytes (the first file always), of one system are read in one
# pass (``engine.load_pass``): bounds memory (a pass of 64 MB of GPS peaks near 1 GB) and the
# size of a transaction. Fewer, larger passes are faster: DuckDB writes an insert of whole
# row groups (122,880 rows) straight to the database file, a smaller one first to its WAL. A
# reader may set its own ``BATCH_BYTES`` (COMPAS and BVH: large snapshots).
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


def recognise(path: Path) -> tuple[SourceReader, Delivery] | None:
    for reader in READERS:
        delivery = reader.recognise(path)
        if delivery is not None:
            return reader, delivery
    return None


def _fingerprint(delivery: Delivery) -> tuple[int, str]:
    """Size, and what ``stat`` says of the file and its manifest: unchanged means not re-read."""
    stat = delivery.path.stat()
    parts = [str(stat.st_size), str(stat.st_mtime_ns)]
    if delivery.manifest is not None and delivery.manifest.exists():
        manifest = delivery.manifest.stat()
        parts += [str(manifest.st_size), str(manifest.st_mtime_ns)]
    return stat.st_size, ":".join(parts)


def _quarantine_file(delivery: Delivery, file_id: int, reason: str, quarantine_dir: Path) -> None:
    """Copy a rejected file (and its manifest) aside with a reason file; landing is untouched."""
    target = quarantine_dir / "files" / f"{file_id:06d}_{delivery.name}"
    target.parent.mkdir(parents=True, exist_ok=True)
    # Rejected files may hold personal data: only the pipeline's user may read them.
    for folder in (quarantine_dir, target.parent):
        folder.chmod(0o700)
    shutil.copy2(delivery.path, target)
    if delivery.manifest is not None and delivery.manifest.exists():
        suffix = delivery.manifest.name.removeprefix(delivery.name)
        shutil.copy2(delivery.manifest, target.with_name(target.name + suffix))
    target.with_name(target.name + ".reason.txt").write_text(
        f"file: {delivery.name}\nsystem: {delivery.system}\nreason: {reason}\n", encoding="utf-8"
    )


@dataclass
class _Pending:
    """A new or changed file that will be read, with what was decided before reading it."""

    reader: SourceReader
    delivery: Delivery
    entry: ledger.InForce | None  # the ledger row in force under its name: this file corrects it
    size: int
    fingerprint: str
    sha: str
    manifest_sha: str | None
    seconds: float  # spent on it before reading (stat, sha256)
    file_id: int = 0
    arrival_seq: int = 0
    twin: str | None = None  # a loaded file with its bytes: this file is its duplicate
    # What became of it: loaded, rejected, duplicate or deferred, and the reason or twin.
    status: str = ""
    detail: str = ""

    def ledger_entry(self, run_id: str, read: FileOutcome | None, seconds: float) -> ledger.Entry:
        """The file's ledger row: a duplicate of its twin, else what its pass ``read``."""
        reason: str | None
        if self.twin is not None:
            status, reason = "duplicate", f"byte-identical to {self.twin}"
        elif read is not None and read.status == "rejected":
            status, reason = "rejected", read.reason
        else:
            status = "loaded"
            reason = f"correction of file_id {self.entry.file_id}" if self.entry else None
        delivery = self.delivery
        declared = read.rows_declared if read else None
        return ledger.Entry(
            file_id=self.file_id,
            file_name=delivery.name,
            source_system=delivery.system,
            entity=delivery.entity,
            delivery_date=delivery.delivery_date,
            delivery_time=delivery.delivery_time,
            delivery_seq=delivery.seq,
            size_bytes=self.size,
            stat_fingerprint=self.fingerprint,
            sha256=self.sha,
            manifest_sha256=self.manifest_sha,
            # A rejection that found no count, or a count of 0, declares nothing.
            rows_declared=declared or None if status == "rejected" else declared,
            rows_loaded=read.rows_loaded if read else 0,
            rows_quarantined=read.rows_quarantined if read else 0,
            status=status,
            reason=reason,
            arrival_seq=self.arrival_seq,
            loaded_at=datetime.now(UTC),
            load_seconds=seconds,
            run_id=run_id,
        )


@dataclass(frozen=True)
class _Run:
    """What every pass of one ingest shares: its run id, folders and pseudonym key."""

    run_id: str
    scratch: Path
    quarantine_dir: Path
    pseudonym_key: bytes | None = field(default=None, repr=False)

    def pass_file(self, con: duckdb.DuckDBPyConnection, item: _Pending) -> PassFile:
        key = self.pseudonym_key
        context = LoadContext(con, item.file_id, self.run_id, self.scratch, item.sha, key)
        return PassFile(item.delivery, context)


def _hash(delivery: Delivery) -> tuple[int, str, str, str | None, float]:
    """Size, stat fingerprint, sha256 and manifest sha256 of a delivery, and the seconds
    they took. ``hashlib`` lets go of the interpreter while it hashes, so threads help."""
    started = time.perf_counter()
    sha = sha256_of(delivery.path)
    manifest = delivery.manifest
    manifest_sha = sha256_of(manifest) if manifest is not None and manifest.exists() else None
    # After hashing: equal to discovery's fingerprint, the sums are of the bytes discovered.
    size, fingerprint = _fingerprint(delivery)
    return size, fingerprint, sha, manifest_sha, time.perf_counter() - started


def _prepare(
    con: duckdb.DuckDBPyConnection,
    candidates: list[tuple[SourceReader, Delivery, ledger.InForce | None, str]],
    report: IngestReport,
) -> list[_Pending]:
    """Hash the candidates; give each that must be read its file id and arrival sequence.

    A file whose bytes (and manifest) equal its ledger row was only touched: its new
    modification time is remembered and it is not read. The others get both in arrival
    order, so that reading a system's files in one pass changes neither. A file that
    changed since discovery is deferred (decision 0013, "A file still being copied").
    """
    pending = []
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=HASH_THREADS, thread_name_prefix="sha256") as pool:
        hashed = list(pool.map(_hash, [delivery for _, delivery, _, _ in candidates]))
    # The files are hashed side by side: each is charged its share of the time it took.
    elapsed = time.perf_counter() - started
    busy = sum(own for *_, own in hashed) or 1.0
    for (reader, delivery, entry, seen), (size, fingerprint, sha, manifest_sha, own) in zip(
        candidates, hashed, strict=True
    ):
        if fingerprint != seen:
            report.deferred.append((delivery.name, _deferral_reason(delivery)))
            continue
        if entry is not None and (entry.sha256, entry.manifest_sha256) == (sha, manifest_sha):
            # Same bytes, touched: remember the new modification time and read nothing.
            ledger.touch(con, entry.file_id, fingerprint)
            report.unchanged += 1
            continue
        seconds = elapsed * own / busy
        pending.append(
            _Pending(reader, delivery, entry, size, fingerprint, sha, manifest_sha, seconds)
        )
    if pending:
        file_ids = ledger.new_file_ids(con, len(pending))
        first_seq = ledger.next_arrival_seq(con)
        for number, (item, file_id) in enumerate(zip(pending, file_ids, strict=True)):
            item.file_id = file_id
            item.arrival_seq = first_seq + number
    return pending


def discover(
    landing: Path, entries: dict[str, ledger.InForce], report: IngestReport
) -> list[tuple[SourceReader, Delivery, ledger.InForce | None, str]]:
    """The files in ``landing`` that are new or changed against the ledger rows in force
    (by name, size and modification time, of the file and its manifest), with their
    reader, ledger row and fingerprint; counts the unchanged and unrecognised in ``report``.
    Reads no file's contents: the nightly run's planning (flows/planning.py) calls it too."""
    companions = tuple(suffix for reader in READERS for suffix in reader.COMPANIONS)
    candidates: list[tuple[SourceReader, Delivery, ledger.InForce | None, str]] = []
    for path in sorted(landing.iterdir()):
        if not path.is_file() or path.name.endswith(companions):
            continue
        found = recognise(path)
        if found is None:
            report.unrecognised.append(path.name)
            continue
        reader, delivery = found
        entry = entries.get(delivery.name)
        seen = _fingerprint(delivery)[1]
        if entry is not None and entry.stat_fingerprint == seen:
            report.unchanged += 1
            continue
        candidates.append((reader, delivery, entry, seen))
    return candidates


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
    file with personal data (COMPAS, GPS) is to be read. A system's files are read in
    passes (``_batches``), each in one transaction. Systems do not depend on each other
    (duplicates and corrections are per system and name), and file ids and arrival
    sequence numbers are given out beforehand: the outcome is that of reading every file
    alone in arrival order.
    """
    if not landing.is_dir():
        raise FileNotFoundError(f"landing folder {landing} does not exist")
    _require_insertion_order(con)
    ledger.ensure_meta(con)
    for reader in READERS:
        reader.ensure_raw_tables(con)
    scratch.mkdir(parents=True, exist_ok=True)
    report = IngestReport()

    candidates = discover(landing, ledger.in_force(con), report)
    candidates.sort(key=lambda item: item[1].arrival_key)
    if candidates:
        progress(f"ingest: {len(candidates)} new or changed files in {landing}")
    pending = _prepare(con, candidates, report)
    run = _Run(run_id, scratch, quarantine_dir, pseudonym_key)
    finished = 0
    for batch in _batches(pending):
        _ingest_batch(con, batch, run)
        finished += len(batch)
        progress(
            f"ingest: {finished}/{len(pending)} files read "
            f"({len(batch)} {batch[0].delivery.system} files in one pass)"
        )
    with_detail = {
        "rejected": report.rejected,
        "duplicate": report.duplicates,
        "deferred": report.deferred,
    }
    for item in pending:  # what happened, in arrival order
        if item.status == "loaded":
            report.loaded.append(item.delivery.name)
            if item.entry is not None:
                report.corrected.append(item.delivery.name)
        else:
            with_detail[item.status].append((item.delivery.name, item.detail))
    if report.unrecognised:
        progress(f"ingest: ignored files with unknown names: {', '.join(report.unrecognised[:5])}")
    return report


class _Moved(Exception):  # noqa: N818 - not an error: files to leave for the next ingest
    """A file's size or modification time changed while the pass read it."""


def _moved(item: _Pending) -> bool:
    """Whether the file (or its manifest) is no longer as it was when it was hashed."""
    try:
        return _fingerprint(item.delivery)[1] != item.fingerprint
    except FileNotFoundError:
        return True


def _require_insertion_order(con: duckdb.DuckDBPyConnection) -> None:
    """Line numbers come from the order DuckDB keeps while reading a file (the ``rowid`` of
    the table a read creates): refuse a connection that lets DuckDB reorder rows."""
    setting = con.execute("select current_setting('preserve_insertion_order')").fetchone()
    if not (setting and setting[0]):
        raise DwhError(
            "ingest needs DuckDB's preserve_insertion_order (its default) to give every row "
            "its line number; this connection has it off: set preserve_insertion_order = true"
        )


def _batches(pending: list[_Pending]) -> list[list[_Pending]]:
    """The passes: each system's files in arrival order, cut at ``BATCH_FILES`` files or
    the reader's ``BATCH_BYTES`` (ingest's by default; the first file always), ordered by
    their first file."""
    batches: list[list[_Pending]] = []
    current: dict[SourceReader, tuple[list[_Pending], int]] = {}
    for item in pending:
        batch, size = current.get(item.reader, ([], 0))
        limit = item.reader.BATCH_BYTES or BATCH_BYTES
        if not batch or len(batch) >= BATCH_FILES or size + item.size > limit:
            batch, size = [], 0
            batches.append(batch)
        batch.append(item)
        current[item.reader] = (batch, size + item.size)
    return batches


def _ingest_batch(con: duckdb.DuckDBPyConnection, batch: list[_Pending], run: _Run) -> None:
    """Read files of one system in arrival order, as few transactions as the rules allow:
    a new file with the bytes of an earlier file of the batch (or of the file an earlier
    correction replaces) may be its duplicate, so it starts a part of its own."""
    part: list[_Pending] = []
    shas: set[str] = set()
    for item in batch:
        if item.entry is None and item.sha in shas:
            _ingest_part(con, part, run)
            part, shas = [], set()
        part.append(item)
        shas.add(item.sha)
        if item.entry is not None:
            shas.add(item.entry.sha256)
    if part:
        _ingest_part(con, part, run)


def _ingest_part(con: duckdb.DuckDBPyConnection, part: list[_Pending], run: _Run) -> None:
    """One transaction: duplicates, corrections and one pass over the rest. Should
    anything but a file's own rejection go wrong, it is rolled back and the files are read
    one by one. A file rejected alone in its pass is recorded in a transaction of its own:
    DuckDB may have aborted the pass's transaction on the error that rejected it."""
    for item in part:
        if _moved(item):
            item.status, item.detail = "deferred", _deferral_reason(item.delivery)
    part = [item for item in part if item.status != "deferred"]
    if not part:
        return
    started = time.perf_counter()
    reader = part[0].reader
    new = [item for item in part if item.entry is None]
    twins = ledger.loaded_twins(con, [item.sha for item in new], reader.SYSTEM)
    for item in new:
        item.twin = twins.get(item.sha)
    to_read = [item for item in part if item.twin is None]
    con.execute("begin transaction")
    try:
        _supersede(con, part)
        files = [run.pass_file(con, item) for item in to_read]
        outcomes = engine.load_pass(reader, files) if files else []
        read = {item.file_id: outcome for item, outcome in zip(to_read, outcomes, strict=True)}
        if any(_moved(item) for item in part):
            raise _Moved
        if len(part) == 1 and [outcome.status for outcome in outcomes] == ["rejected"]:
            # A transaction of its own (see above), in which a rejected correction supersedes.
            con.execute("rollback")
            con.execute("begin transaction")
            _supersede(con, part)
        shared = (time.perf_counter() - started) / len(part)
        entries = [
            item.ledger_entry(run.run_id, read.get(item.file_id), item.seconds + shared)
            for item in part
        ]
        ledger.forget_quarantined(
            con, [entry.file_id for entry in entries if entry.status == "rejected"]
        )
        ledger.record(con, entries)
        failpoint("ingest")
        con.execute("commit")
    except _Moved:
        # A file changed while the pass read it: read the pass again, whose first look
        # (above) defers it (a changed fingerprint does not change back).
        con.execute("rollback")
        _ingest_part(con, part, run)
        return
    except Exception as exc:
        con.execute("rollback")
        if len(part) == 1:
            raise
        # Only the kind of error: DuckDB's message may quote a line of the file.
        log.warning(
            "ingest: reading %d %s files in one pass failed (%s); reading them one by one",
            len(part),
            reader.SYSTEM,
            type(exc).__name__,
        )
        for item in part:
            _ingest_part(con, [item], run)
        return
    for item, entry in zip(part, entries, strict=True):
        item.status, item.detail = entry.status, item.twin or entry.reason or ""
        if item.status == "rejected":  # a copy aside, with the reason
            _quarantine_file(item.delivery, item.file_id, item.detail, run.quarantine_dir)


def _supersede(con: duckdb.DuckDBPyConnection, part: list[_Pending]) -> None:
    """Corrections replace what came before under their name: rows and ledger row."""
    for item in part:
        if item.entry is not None:
            item.reader.delete_file_rows(con, item.entry.file_id)
            ledger.supersede(con, item.entry.file_id, by=item.file_id)
