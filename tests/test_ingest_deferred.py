"""A file still being copied into landing is left for the next night, not read half."""

from __future__ import annotations

import os

import pytest

from flows import ingest as ingest_module

from conftest import DATA, ledger, rows

NAME = "GPS_VERDACHTEZAKEN_20220421.csv"
OTHER = "BVH_ONDERZOEK_20220331.csv"


@pytest.mark.parametrize("moment", ["after_discovery", "before_reading", "while_reading"])
def test_a_file_that_grows_between_discovery_and_reading_is_left_for_the_next_ingest(
    deliver, ingest, work_con, landing, monkeypatch, moment
):
    path = deliver("gps/gps_valid.csv", NAME)
    deliver("bvh_onderzoek_valid.csv", OTHER)
    # The copy started with half the file; it is complete by the time ingest looks again.
    full = path.read_bytes()
    path.write_bytes(full[: len(full) // 2])

    def finish_copy() -> None:
        path.write_bytes(full)
        # A later modification time even on a coarse clock.
        stat = path.stat()
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))

    if moment == "after_discovery":
        hash_file = ingest_module._hash

        def grow_then_hash(delivery):
            if delivery.name == NAME:
                finish_copy()  # after discovery looked at it, before it is hashed
            return hash_file(delivery)

        monkeypatch.setattr(ingest_module, "_hash", grow_then_hash)
    elif moment == "before_reading":
        prepare = ingest_module._prepare

        def prepare_then_grow(*args):
            pending = prepare(*args)
            finish_copy()
            return pending

        monkeypatch.setattr(ingest_module, "_prepare", prepare_then_grow)
    else:
        moved = ingest_module._moved
        checks: list[str] = []

        def grow_after_the_first_look(item):
            # The first look is before the pass reads the file, the second before commit.
            if item.delivery.name == NAME:
                checks.append(NAME)
                if len(checks) == 2:
                    finish_copy()
            return moved(item)

        monkeypatch.setattr(ingest_module, "_moved", grow_after_the_first_look)

    report = ingest()
    assert report.loaded == [OTHER]
    assert report.rejected == []
    assert [name for name, _ in report.deferred] == [NAME]
    reason = report.deferred[0][1]
    assert NAME in reason and "changed between discovery and reading" in reason
    assert f"1 deferred ({NAME})" in report.summary()
    assert NAME not in ledger(work_con)
    assert rows(work_con, "select count(*) from raw.gps_verdachtezaken") == [(0,)]
    assert rows(work_con, "select count(*) from meta.quarantined_rows") == [(0,)]

    monkeypatch.undo()
    again = ingest()
    assert again.loaded == [NAME] and again.deferred == []
    assert ledger(work_con)[NAME][0] == "loaded"
    assert rows(work_con, "select count(*) from meta.file_ledger where file_name = ?", NAME) == [
        (1,)
    ]
    expected = len((DATA / "gps" / "gps_valid.csv").read_bytes().strip().splitlines()) - 1
    assert rows(work_con, "select count(*) from raw.gps_verdachtezaken") == [(expected,)]
    assert ingest().loaded == []  # and the night after, nothing again
