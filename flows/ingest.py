"""Ingest: every delivery in the landing folder into the raw tables, exactly once.

Plain functions, no Prefect: the flow in ``flows/nightly.py`` calls ``ingest_landing``.
Per file the ledger records what happened. A file is read only when it is new to the
ledger (by name, size and modification time; then by sha256), so a night with one new
delivery reads one delivery.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import duckdb

from flows import ledger
from flows.errors import RejectedFile
from flows.sources import bvh, bvo, compas, gps
from flows.sources.common import Delivery, LoadContext, LoadResult, sha256_of

log = logging.getLogger(__name__)

SOURCE_MODULES: tuple[ModuleType, ...] = (bvh, bvo, compas, gps)


@dataclass
class IngestReport:
    loaded: list[str] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)
    corrected: list[str] = field(default_factory=list)
    unchanged: int = 0
    unrecognised: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{len(self.loaded)} loaded ({len(self.corrected)} corrections), "
            f"{len(self.rejected)} rejected, {len(self.duplicates)} duplicates, "
            f"{self.unchanged} already known, {len(self.unrecognised)} not recognised"
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
    """
    if not landing.is_dir():
        raise FileNotFoundError(f"landing folder {landing} does not exist")
    ledger.ensure_meta(con)
    for module in SOURCE_MODULES:
        module.ensure_raw_tables(con)
    scratch.mkdir(parents=True, exist_ok=True)
    report = IngestReport()

    candidates: list[tuple[ModuleType, Delivery, dict | None]] = []
    for path in sorted(landing.iterdir()):
        if not path.is_file() or path.name.endswith(bvo.MANIFEST_SUFFIX):
            continue
        found = recognise(path)
        if found is None:
            report.unrecognised.append(path.name)
            continue
        module, delivery = found
        entry = ledger.current_entry(con, delivery.name)
        if entry is not None and entry["stat_fingerprint"] == _fingerprint(delivery)[1]:
            report.unchanged += 1
            continue
        candidates.append((module, delivery, entry))

    candidates.sort(key=lambda item: item[1].arrival_key)
    if candidates:
        progress(f"ingest: {len(candidates)} new or changed files in {landing}")
    for number, (module, delivery, entry) in enumerate(candidates, start=1):
        _ingest_one(
            con, module, delivery, entry, run_id, scratch, quarantine_dir, report, pseudonym_key
        )
        if number % 50 == 0 or number == len(candidates):
            progress(f"ingest: {number}/{len(candidates)} files read")
    if report.unrecognised:
        progress(f"ingest: ignored files with unknown names: {', '.join(report.unrecognised[:5])}")
    return report


def _ingest_one(
    con: duckdb.DuckDBPyConnection,
    module: ModuleType,
    delivery: Delivery,
    entry: dict | None,
    run_id: str,
    scratch: Path,
    quarantine_dir: Path,
    report: IngestReport,
    pseudonym_key: bytes | None = None,
) -> None:
    started = time.perf_counter()
    size, fingerprint = _fingerprint(delivery)
    sha = sha256_of(delivery.path)
    manifest_sha = _manifest_sha(delivery)
    if entry is not None and (entry["sha256"], entry["manifest_sha256"]) == (sha, manifest_sha):
        # Same bytes, touched: remember the new modification time and read nothing.
        con.execute(
            "update meta.file_ledger set stat_fingerprint = ? where file_id = ?",
            [fingerprint, entry["file_id"]],
        )
        report.unchanged += 1
        return

    file_id = ledger.new_file_id(con)
    base = {
        "file_id": file_id,
        "file_name": delivery.name,
        "source_system": delivery.system,
        "entity": delivery.entity,
        "delivery_date": delivery.delivery_date,
        "delivery_time": delivery.delivery_time,
        "delivery_seq": delivery.seq,
        "size_bytes": size,
        "stat_fingerprint": fingerprint,
        "sha256": sha,
        "manifest_sha256": manifest_sha,
        "arrival_seq": ledger.next_arrival_seq(con),
        "loaded_at": datetime.now(UTC),
        "run_id": run_id,
        "started": started,
    }
    twin = None if entry is not None else ledger.loaded_twin(con, sha, delivery.system)
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
                sha256=sha,
                pseudonym_key=pseudonym_key,
            )
            result = module.load(delivery, ctx)
            reason = f"correction of file_id {entry['file_id']}" if entry is not None else None
            _write_ledger(con, base, "loaded", reason, result)
            report.loaded.append(delivery.name)
            if entry is not None:
                report.corrected.append(delivery.name)
        con.execute("commit")
    except RejectedFile as rejection:
        con.execute("rollback")
        _record_rejection(con, module, delivery, entry, base, rejection)
        report.rejected.append((delivery.name, rejection.reason))
        _quarantine_file(delivery, file_id, rejection.reason, quarantine_dir)
    except Exception:
        con.execute("rollback")
        raise


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


def _write_ledger(
    con: duckdb.DuckDBPyConnection,
    base: dict,
    status: str,
    reason: str | None,
    result: LoadResult | None,
) -> None:
    started = base.pop("started")
    values = {
        **base,
        "rows_declared": result.rows_declared if result else None,
        "rows_loaded": result.rows_loaded if result else 0,
        "rows_quarantined": result.rows_quarantined if result else 0,
        "status": status,
        "reason": reason,
        "superseded_by": None,
        "load_seconds": time.perf_counter() - started,
    }
    columns = ", ".join(values)
    placeholders = ", ".join("?" for _ in values)
    con.execute(
        f"insert into meta.file_ledger ({columns}) values ({placeholders})", list(values.values())
    )
