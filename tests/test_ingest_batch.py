"""Batch ingest of GPS: many files in one DuckDB pass give exactly what reading them one by
one gives: raw rows, ledger, quarantine, reasons, arrival order, and no personal data left."""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import os
import shutil
from pathlib import Path

import duckdb
import pytest

from flows import ingest
from flows.errors import DwhError
from flows.ingest import IngestReport, ingest_landing
from flows.pseudonym import PseudonymKeyError
from flows.sources import bvh, bvo, compas, engine, gps
from flows.sources.common import NO_DELIMITER

from conftest import DATA, rows

KEY = bytes(range(32))
GPS = DATA / "gps"
VALID = (GPS / "gps_valid.csv").read_bytes()
BAD_ROWS = (GPS / "gps_bad_rows.csv").read_bytes()
HEADER, *VALID_LINES = VALID.splitlines(keepends=True)


def gps_name(day: str) -> str:
    return f"GPS_VERDACHTEZAKEN_2022{day}.csv"


def variant(zaak_id: int) -> bytes:
    """gps_valid with another first case number: other bytes, same shape."""
    return (
        HEADER
        + VALID_LINES[0].replace(b"2001,", f"{zaak_id},".encode(), 1)
        + b"".join(VALID_LINES[1:])
    )


# Run 1: every kind of file at once. Run 2: corrections and re-deliveries.
RUN_1 = [
    (gps_name("0421"), VALID),
    (gps_name("0422"), BAD_ROWS),  # a missing column and two bad fields: rows quarantined
    (gps_name("0423"), (GPS / "gps_unclosed_quote.csv").read_bytes()),
    # An unclosed quote on the last line must not swallow the next file of the read.
    (gps_name("0424"), VALID + b'2005,15/200005-22,,,1979-11-11,"JANSEN,2022-03-01\n'),
    (gps_name("0425"), (GPS / "gps_undecodable.csv").read_bytes()),
    (gps_name("0426"), (GPS / "gps_wrong_header.csv").read_bytes()),
    (gps_name("0427"), VALID),  # byte-identical to 0421: a duplicate
    (gps_name("0428"), variant(3001)),  # corrected in run 2
    # Empty lines inside and at the end: not records, line numbers stay physical.
    (gps_name("0429"), HEADER + VALID_LINES[0] + b"\n" + b"".join(VALID_LINES[1:]) + b"\n\n"),
    (gps_name("0430"), VALID.replace(b"\n", b"\r\n")),  # CR LF: read alone
    # A quoted field with a line end: records no longer match lines, rejected whole.
    (gps_name("0501"), VALID.replace(b'"Bakker, ""jr"""', b'"Bakker,\n jr"', 1)),
    (gps_name("0502"), HEADER.rstrip(b"\n")),  # only a header, no line end
    (gps_name("0503"), BAD_ROWS),  # duplicate of a file with quarantined rows
    (gps_name("0504"), (GPS / "gps_unclosed_quote.csv").read_bytes()),  # bytes of a rejected one
    (gps_name("0505"), variant(3005) + variant(3005).splitlines(keepends=True)[1]),
]
RUN_2 = [
    (gps_name("0421"), (GPS / "gps_wrong_header.csv").read_bytes()),  # a loaded file, broken
    (gps_name("0426"), variant(3026)),  # a rejected file, corrected
    (gps_name("0428"), BAD_ROWS + VALID_LINES[-1]),  # a loaded file, corrected
    (gps_name("0506"), variant(3001)),  # the bytes the correction of 0428 replaced
    (gps_name("0507"), BAD_ROWS),  # duplicate of a file of run 1
    (gps_name("0508"), variant(3008)),
    (gps_name("0509"), variant(3008)),  # duplicate of a file of the same run
]


class Side:
    """A warehouse of its own: landing, work database, quarantine."""

    def __init__(self, root: Path) -> None:
        self.home = root
        self.landing = root / "landing"
        self.landing.mkdir(parents=True)
        self.con = duckdb.connect(str(root / "warehouse.duckdb"))
        self.runs = 0
        self.stamp = 1_650_000_000 * 10**9
        self.messages: list[str] = []

    def deliver(self, name: str, data: bytes) -> None:
        path = self.landing / name
        path.write_bytes(data)
        self.stamp += 10**9  # both sides see the same modification times
        os.utime(path, ns=(self.stamp, self.stamp))

    def ingest(self, key: bytes | None = KEY) -> IngestReport:
        self.runs += 1
        return ingest_landing(
            self.con,
            self.landing,
            run_id=f"run-{self.runs}",
            scratch=self.home / "scratch",
            quarantine_dir=self.home / "quarantine",
            progress=self.messages.append,
            pseudonym_key=key,
        )

    def state(self) -> dict:
        files = self.home / "quarantine" / "files"
        return {
            "raw": rows(
                self.con,
                "select * exclude (_run_id) from raw.gps_verdachtezaken "
                "order by _file_id, _line_number",
            ),
            "ledger": rows(
                self.con,
                "select * exclude (loaded_at, load_seconds, run_id) from meta.file_ledger "
                "order by file_id",
            ),
            "quarantine": rows(
                self.con,
                "select * exclude (run_id) from meta.quarantined_rows order by all",
            ),
            "quarantined_files": sorted((path.name, path.read_bytes()) for path in files.iterdir())
            if files.exists()
            else [],
            "temp_tables": rows(
                self.con, "select table_name from duckdb_tables() where database_name = 'temp'"
            ),
        }


def ledger_reasons(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], str | None]:
    """The ledger's reason per file name and status."""
    return {
        (name, status): reason
        for name, status, reason in rows(
            con, "select file_name, status, reason from meta.file_ledger"
        )
    }


def merged(reports: list[IngestReport]) -> tuple:
    return tuple(
        [entry for report in reports for entry in getattr(report, name)]
        for name in ("loaded", "rejected", "duplicates", "corrected")
    )


def one_by_one(root: Path, runs: list[list[tuple[str, bytes]]]) -> tuple[Side, list]:
    """The reference: every file delivered in turn and ingested alone, file by file."""
    side = Side(root)
    reports = []
    for run in runs:
        for name, data in sorted(run):
            side.deliver(name, data)
            reports.append(side.ingest())  # a pass of one
    return side, reports


def in_batches(root: Path, runs: list[list[tuple[str, bytes]]]) -> tuple[Side, list]:
    side = Side(root)
    reports = []
    for run in runs:
        for name, data in sorted(run):
            side.deliver(name, data)
        reports.append(side.ingest())
    return side, reports


def count_calls(monkeypatch: pytest.MonkeyPatch, reader) -> dict[str, list]:
    """What the pass engine is asked to read of one system: the passes ingest plans
    (``passes``: the files of each) and the files read alone (``alone``): set aside by a
    pass to be read in a pass of their own, or read one by one after their pass failed."""
    seen: dict[str, list] = {"alone": [], "passes": []}
    load_pass = engine.load_pass
    depth = [0]
    failed: set[str] = set()

    def counting_load_pass(source, files):
        names = [file.delivery.name for file in files]
        if source is reader and (depth[0] or (len(names) == 1 and names[0] in failed)):
            seen["alone"] += names
            failed.difference_update(names)
        elif source is reader:
            seen["passes"].append(names)
        depth[0] += 1
        try:
            return load_pass(source, files)
        except Exception:
            if source is reader and not depth[0] - 1:
                failed.update(names)  # ingest reads them one by one
            raise
        finally:
            depth[0] -= 1

    monkeypatch.setattr(engine, "load_pass", counting_load_pass)
    return seen


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> dict[str, list]:
    """What the GPS module was asked to read, per entry point."""
    return count_calls(monkeypatch, gps)


def test_a_batch_gives_exactly_what_reading_file_by_file_gives(tmp_path, calls):
    batch, batch_reports = in_batches(tmp_path / "batch", [RUN_1, RUN_2])
    passes, alone = list(calls["passes"]), list(calls["alone"])
    reference, reference_reports = one_by_one(tmp_path / "reference", [RUN_1, RUN_2])

    expected = reference.state()
    assert batch.state() == expected
    assert merged(batch_reports) == merged(reference_reports)
    assert expected["temp_tables"] == []

    # The scenario covers what it claims (in the reference, read file by file).
    ledger = ledger_reasons(reference.con)
    statuses = {status for _, status in ledger}
    assert statuses == {"loaded", "rejected", "duplicate", "superseded"}
    assert ledger[(gps_name("0427"), "duplicate")] == f"byte-identical to {gps_name('0421')}"
    assert ledger[(gps_name("0509"), "duplicate")] == f"byte-identical to {gps_name('0508')}"
    assert (gps_name("0506"), "loaded") in ledger  # the replaced bytes are no duplicate
    assert (gps_name("0504"), "rejected") in ledger  # the twin of a rejected file is read
    assert ledger[(gps_name("0423"), "rejected")].startswith("the file has 3 data lines")
    assert ledger[(gps_name("0501"), "rejected")].endswith("odd number of quotes: 4)")
    assert ledger[(gps_name("0428"), "loaded")].startswith("correction of file_id")
    assert rows(
        reference.con,
        "select count(*) from meta.quarantined_rows where file_name = ?",
        gps_name("0428"),
    ) == [(3,)]
    assert rows(
        reference.con,
        "select _line_number from raw.gps_verdachtezaken where _file_id = "
        "(select file_id from meta.file_ledger where file_name = ?) order by 1",
        gps_name("0429"),
    ) == [(2,), (4,), (5,), (6,), (7,)]

    # Passes of many files, duplicates not read. A new pass starts at a file with the bytes
    # of a file of the pass (0427, 0509) or of a file a correction in it replaces (0506).
    # Read alone: the files with records DuckDB could not read, and the one with CR LF.
    day = slice(-8, -4)
    assert [[name[day] for name in names] for names in passes] == [
        ["0421", "0422", "0423", "0424", "0425", "0426"],
        ["0428", "0429", "0430", "0501", "0502", "0504", "0505"],
        ["0421", "0426", "0428"],
        ["0506", "0508"],
    ]
    assert [name[day] for name in alone] == [
        "0422", "0423", "0424", "0430", "0501", "0504", "0428"
    ]  # fmt: skip
    assert any("gps files in one pass" in message for message in batch.messages)


def test_file_ids_follow_arrival_order_across_runs_and_passes(tmp_path):
    batch, _ = in_batches(tmp_path / "batch", [RUN_1, RUN_2])
    ledger = rows(batch.con, "select file_id, arrival_seq, run_id, file_name from meta.file_ledger")
    by_arrival = sorted(ledger, key=lambda row: row[1])
    assert [row[0] for row in by_arrival] == sorted(row[0] for row in ledger)
    # Within a run: date in the name decides.
    for run in ("run-1", "run-2"):
        names = [row[3] for row in by_arrival if row[2] == run]
        assert names == sorted(names)


def test_files_of_other_systems_in_between_do_not_split_the_pass(tmp_path, calls):
    side = Side(tmp_path / "mixed")
    # BVO deliveries of 2022-07-04 and -11 fall between the GPS files in arrival order.
    for source in ("BVO_EVENTS_20220704T020000_000001", "BVO_EVENTS_20220711T020000_000003"):
        for suffix in (".jsonl.gz", ".jsonl.gz.manifest.json"):
            shutil.copyfile(DATA / "bvo" / (source + suffix), side.landing / (source + suffix))
    for day, zaak_id in (("0701", 4001), ("0705", 4005), ("0712", 4012)):
        side.deliver(gps_name(day), variant(zaak_id))
    report = side.ingest()
    assert len(report.loaded) == 5
    assert calls["passes"] == [[gps_name("0701"), gps_name("0705"), gps_name("0712")]]
    ledger = rows(side.con, "select file_name from meta.file_ledger order by file_id")
    assert [name for (name,) in ledger] == [
        gps_name("0701"),
        "BVO_EVENTS_20220704T020000_000001.jsonl.gz",
        gps_name("0705"),
        "BVO_EVENTS_20220711T020000_000003.jsonl.gz",
        gps_name("0712"),
    ]
    assert rows(side.con, "select count(*) from meta.file_ledger where file_id <> arrival_seq") == [
        (0,)
    ]
    assert report.loaded == [name for (name,) in ledger]  # the report in arrival order


def test_when_the_pass_fails_the_files_are_read_one_by_one(tmp_path, monkeypatch):
    reference, _ = one_by_one(tmp_path / "reference", [RUN_1])
    failing = Side(tmp_path / "failing")
    scan = engine._scan

    def fail_late(con, pass_scan):
        outcomes = scan(con, pass_scan)  # rows written, then DuckDB fails: all must roll back
        if len(pass_scan.files) > 1:
            con.execute("select error('disk on fire')")
        return outcomes

    monkeypatch.setattr(engine, "_scan", fail_late)
    for name, data in sorted(RUN_1):
        failing.deliver(name, data)
    failing.ingest()
    assert failing.state() == reference.state()


def test_gps_files_without_a_pseudonym_key_are_refused_and_nothing_is_stored(tmp_path):
    side = Side(tmp_path / "nokey")
    side.deliver(gps_name("0421"), VALID)
    side.deliver(gps_name("0422"), variant(5001))
    with pytest.raises(PseudonymKeyError, match=f"{gps_name('0421')} holds personal data"):
        side.ingest(key=None)
    state = side.state()
    assert state["raw"] == [] and state["ledger"] == [] and state["temp_tables"] == []


@pytest.mark.parametrize(
    ("limit", "value", "passes"),
    [("BATCH_FILES", 2, [2, 2, 1]), ("BATCH_BYTES", 2 * len(VALID) + 10, [2, 2, 1])],
)
def test_passes_are_bounded_in_files_and_bytes(tmp_path, monkeypatch, calls, limit, value, passes):
    monkeypatch.setattr(ingest, limit, value)
    side = Side(tmp_path / "bounded")
    for number in range(5):
        side.deliver(gps_name(f"06{number + 1:02d}"), variant(6000 + number))
    report = side.ingest()
    assert len(report.loaded) == 5
    assert [len(names) for names in calls["passes"]] == passes
    assert sum("gps files in one pass" in message for message in side.messages) == len(passes)


# --- line numbers: Python's count of lines against DuckDB's readers --------------------------


@pytest.mark.parametrize(
    "data",
    [
        VALID,
        BAD_ROWS,
        VALID.removeprefix(b"\xef\xbb\xbf"),
        VALID.rstrip(b"\n"),
        VALID + b"\n",
        VALID + b"\n\n\n",
        HEADER + b"\n" + b"\n".join(VALID_LINES) + b"\n \n",
        b"\n" + VALID,
        HEADER,
        HEADER.rstrip(b"\n"),
        b"",
        b"\n",
        b"\n\n",
        VALID + b"   ",
        VALID + b"\t\n" + VALID_LINES[0],
        VALID.replace(b",", b"\t,", 3),
    ],
)
def test_line_shape_counts_lines_as_duckdbs_line_reader(tmp_path, data):
    path = tmp_path / "file.csv"
    path.write_bytes(data)
    con = duckdb.connect()
    lines = con.execute(
        f"""
        select row_number() over () as line_number, coalesce(line, '') = '' as empty
        from read_csv(
            '{path}', columns = {{'line': 'VARCHAR'}}, delim = {NO_DELIMITER}, quote = '',
            escape = '', header = false, auto_detect = false, strict_mode = false
        )
        """
    ).fetchall()
    shape = gps._line_shape(data)
    assert shape is not None
    assert shape.lines == len(lines)
    assert shape.empty == tuple(number for number, empty in lines if empty)


@pytest.mark.parametrize("data", [VALID.replace(b"\n", b"\r\n"), VALID + b"\r", b"a\x00b\n"])
def test_files_with_a_carriage_return_or_control_code_are_left_to_the_file_by_file_path(data):
    assert gps._line_shape(data) is None


def _many_rows(seed: int, count: int) -> bytes:
    lines = [HEADER]
    for number in range(count):
        source = VALID_LINES[(number * 7 + seed) % len(VALID_LINES)]
        zaak_id = 100_000 * seed + number
        lines.append(source.replace(source.split(b",", 1)[0], str(zaak_id).encode(), 1))
        if seed == 3 and number % 997 == 0:
            lines.append(b"\n")  # empty lines: not records, but they count as lines
    return b"".join(lines)


def test_line_numbers_of_a_pass_over_many_files_match_pythons_csv_reader(tmp_path):
    """DuckDB keeps the order of the files and of the records in each: check it per record."""
    side = Side(tmp_path / "large")
    expected = []
    for seed, count in enumerate((7000, 3, 25000, 0, 12000, 1), start=1):
        name = gps_name(f"08{seed:02d}")
        side.deliver(name, _many_rows(seed, count))
        with (side.landing / name).open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            next(reader)
            expected += [
                (name, reader.line_num, int(record[0]), record[11]) for record in reader if record
            ]
    side.con.execute("set threads = 4")
    report = side.ingest()
    assert len(report.loaded) == 6
    loaded = rows(
        side.con,
        """
        select file_name, _line_number, zaak_id, gewijzigd_op_text
        from raw.gps_verdachtezaken
        inner join meta.file_ledger on file_id = _file_id
        order by _file_id, _line_number
        """,
    )
    assert loaded == expected


def test_a_pass_with_every_file_rejected_before_reading_stores_nothing(tmp_path, calls):
    side = Side(tmp_path / "rejected")
    side.deliver(gps_name("0901"), (GPS / "gps_undecodable.csv").read_bytes())
    side.deliver(gps_name("0902"), (GPS / "gps_wrong_header.csv").read_bytes())
    report = side.ingest()
    assert [name for name, _ in report.rejected] == [gps_name("0901"), gps_name("0902")]
    state = side.state()
    assert state["raw"] == [] and state["quarantine"] == [] and state["temp_tables"] == []
    assert len(state["quarantined_files"]) == 4  # each file and its reason


# --- BVO: many weekly event files in one pass ------------------------------------------------

BVO = DATA / "bvo"


def bvo_name(day: str, seq: int) -> str:
    return f"BVO_EVENTS_2022{day}T020000_{seq:06d}.jsonl.gz"


def bvo_data(name: str) -> bytes:
    return (BVO / name).read_bytes()


def bvo_manifest(name: str, data: bytes, records: int | None = None, **changes) -> bytes:
    lines = gzip.decompress(data).count(b"\n") if records is None else records
    content = {"file": name, "records": lines, "sha256": hashlib.sha256(data).hexdigest()}
    return json.dumps({**content, **changes}).encode()


def bvo_events(*lines: bytes) -> bytes:
    return gzip.compress(b"".join(lines), mtime=0)


FIRST = bvo_data(bvo_name("0704", 1))  # three sound events
BAD_LINE = bvo_data(bvo_name("0711", 3))  # a delete, an update and an unreadable line
EVENTS = gzip.decompress(FIRST).splitlines(keepends=True)


def delivered(day: str, seq: int, data: bytes, records: int | None = None, **changes):
    """(name, data file, manifest) of a BVO delivery with a manifest that fits, unless changed."""
    name = bvo_name(day, seq)
    return name, data, bvo_manifest(name, data, records, **changes)


def as_delivered(day: str, seq: int) -> tuple[str, bytes, bytes | None]:
    """A BVO delivery of tests/data/bvo, with its manifest if it has one."""
    name = bvo_name(day, seq)
    manifest = BVO / (name + bvo.MANIFEST_SUFFIX)
    return name, bvo_data(name), manifest.read_bytes() if manifest.exists() else None


# (name, data file or None, manifest or None)
BVO_RUN_1 = [
    delivered("0704", 1, FIRST),
    delivered("0704", 2, FIRST),  # the same bytes under a new sequence number: a duplicate
    delivered("0711", 3, BAD_LINE),
    # Manifests that disagree: record count, sha256, file name; one missing.
    as_delivered("0718", 4),
    as_delivered("0725", 5),
    delivered("0726", 7, bvo_events(EVENTS[1]), file=bvo_name("0726", 1)),
    as_delivered("0801", 6),
    # Empty lines, a line end missing at the end, a JSON scalar: line numbers kept.
    delivered(
        "0802", 8, bvo_events(EVENTS[0], b"\n", EVENTS[1], b"5\n", EVENTS[2].rstrip(b"\n")), 5
    ),
    delivered("0803", 9, bvo_events(EVENTS[0].replace(b"\n", b"\r\n"), EVENTS[2])),  # a CR
    delivered("0804", 10, b"not gzip at all\n", 1),
    delivered("0805", 11, bvo_events(b"\xff\xfe" + EVENTS[0])),  # not UTF-8
    delivered("0806", 12, bvo_events(EVENTS[2], EVENTS[1])),
]
CORRECTED = bvo_events(EVENTS[1], b"{broken\n")
BVO_RUN_2 = [
    # Corrected manifests of rejected files, and a manifest delivered late.
    (bvo_name("0718", 4), None, delivered("0718", 4, bvo_data(bvo_name("0718", 4)))[2]),
    (bvo_name("0725", 5), None, delivered("0725", 5, bvo_data(bvo_name("0725", 5)))[2]),
    (bvo_name("0801", 6), None, delivered("0801", 6, bvo_data(bvo_name("0801", 6)))[2]),
    # A loaded file corrected, and one whose manifest went wrong.
    delivered("0711", 3, CORRECTED),
    (bvo_name("0806", 12), None, delivered("0806", 12, FIRST)[2]),
    # The bytes the correction of 0711 replaced: no duplicate. Then a duplicate of run 1.
    delivered("0807", 13, BAD_LINE),
    delivered("0808", 14, FIRST),
    # CR LF line ends: DuckDB's line reader counts the lines as the manifest does.
    delivered("0809", 15, bvo_events(EVENTS[1].replace(b"\n", b"\r\n"), EVENTS[2])),
]


class BvoSide(Side):
    def deliver_bvo(self, name: str, data: bytes | None, manifest: bytes | None) -> None:
        if data is not None:
            self.deliver(name, data)
        if manifest is not None:
            self.deliver(name + bvo.MANIFEST_SUFFIX, manifest)

    def state(self) -> dict:
        state = super().state()
        state["raw"] = rows(
            self.con,
            "select * exclude (_run_id) from raw.bvo_events order by _file_id, _line_number",
        )
        # DuckDB's reason for an unreadable file names its path, which differs per side.
        home, text = str(self.home), str(self.home).encode()
        return {
            part: [
                tuple(
                    value.replace(home, "<home>")
                    if isinstance(value, str)
                    else value.replace(text, b"<home>")
                    if isinstance(value, bytes)
                    else value
                    for value in row
                )
                for row in rows_of_part
            ]
            for part, rows_of_part in state.items()
        }


def bvo_ingest(root: Path, *, batch: bool) -> tuple[BvoSide, list]:
    side = BvoSide(root)
    reports = []
    for run in (BVO_RUN_1, BVO_RUN_2):
        for name, data, manifest in sorted(run, key=lambda item: item[0]):
            side.deliver_bvo(name, data, manifest)
            if not batch:
                reports.append(side.ingest())  # a pass of one
        if batch:
            reports.append(side.ingest())
    return side, reports


def test_bvo_batch_gives_exactly_what_reading_file_by_file_gives(tmp_path, monkeypatch):
    seen = count_calls(monkeypatch, bvo)
    batch, batch_reports = bvo_ingest(tmp_path / "batch", batch=True)
    passes, alone = list(seen["passes"]), list(seen["alone"])
    reference, reference_reports = bvo_ingest(tmp_path / "reference", batch=False)

    expected = reference.state()
    assert batch.state() == expected
    home = str(batch.home), str(reference.home)
    assert repr(merged(batch_reports)).replace(home[0], "<home>") == repr(
        merged(reference_reports)
    ).replace(home[1], "<home>")

    # The scenario covers what it claims (in the reference, read file by file).
    ledger = ledger_reasons(reference.con)
    assert {status for _, status in ledger} == {"loaded", "rejected", "duplicate", "superseded"}
    assert ledger[(bvo_name("0704", 2), "duplicate")] == f"byte-identical to {bvo_name('0704', 1)}"
    rejected: dict[str, str] = {}
    for name, reason in merged(reference_reports)[1]:
        rejected.setdefault(name, reason)
    assert rejected[bvo_name("0718", 4)].startswith("manifest declares 5 records")
    assert ledger[(bvo_name("0718", 4), "loaded")].startswith("correction of file_id")
    assert rejected[bvo_name("0725", 5)].startswith("sha256 ")
    assert rejected[bvo_name("0726", 7)].startswith("manifest BVO_EVENTS_20220726")
    assert rejected[bvo_name("0801", 6)].endswith("is missing")
    assert (bvo_name("0801", 6), "loaded") in ledger
    assert rejected[bvo_name("0804", 10)].startswith("cannot read as gzip")
    assert bvo_name("0805", 11) in rejected
    assert rejected[bvo_name("0806", 12)].startswith("sha256 ")
    assert ledger[(bvo_name("0711", 3), "loaded")].startswith("correction of file_id")
    assert (bvo_name("0807", 13), "loaded") in ledger
    assert ledger[(bvo_name("0808", 14), "duplicate")] == f"byte-identical to {bvo_name('0704', 1)}"
    quarantine = rows(
        reference.con,
        "select file_name, line_number, column_name from meta.quarantined_rows order by all",
    )
    assert (bvo_name("0711", 3), 3, "line") in quarantine
    assert (bvo_name("0802", 8), 2, "line") in quarantine
    assert (bvo_name("0802", 8), 4, "event_id") in quarantine
    assert rows(
        reference.con,
        "select _line_number from raw.bvo_events where _file_id = (select file_id from "
        "meta.file_ledger where file_name = ? and status = 'loaded') order by 1",
        bvo_name("0802", 8),
    ) == [(1,), (3,), (5,)]

    # Files of one pass unless the same bytes came earlier in it (0704_2, 0725, 0801). A
    # line count that differs from the manifest (0718 in run 1) is rejected by the scan of
    # its pass. Read alone: a file that is not gzip (0804), and, as the scan of their pass
    # fails on a file DuckDB cannot decode (0805, not UTF-8), every file of that pass.
    seq = slice(-15, -9)
    assert [[int(name[seq]) for name in names] for names in passes] == [
        [1],
        [3, 4],
        [5],
        [7],
        [6, 8, 9, 10, 11, 12],
        [3, 4, 5, 6, 12],
        [13, 15],
    ]
    assert [int(name[seq]) for name in alone] == [6, 8, 9, 10, 11, 12]


def test_bvo_line_numbers_of_a_pass_over_many_files_match_the_files(tmp_path, caplog):
    """DuckDB keeps the order of the files and of the lines in each: check it per event."""
    side = BvoSide(tmp_path / "large")
    event = json.loads(EVENTS[0])
    for seq, count in enumerate((7000, 3, 25000, 1, 12000), start=1):
        name = bvo_name(f"09{seq:02d}", seq)
        lines = [
            json.dumps({**event, "event_id": f"{seq}-{number}"}).encode() + b"\n"
            for number in range(1, count + 1)
        ]
        data = bvo_events(*lines)
        side.deliver_bvo(name, data, bvo_manifest(name, data))
    side.con.execute("set threads = 4")
    report = side.ingest()
    assert len(report.loaded) == 5 and not report.rejected
    assert "one by one" not in caplog.text  # read in one pass, not after a failed one
    mismatched = rows(
        side.con,
        """
        select count(*) from raw.bvo_events
        inner join meta.file_ledger on file_id = _file_id
        where event_id <> cast(delivery_seq as varchar) || '-' || cast(_line_number as varchar)
        """,
    )
    assert mismatched == [(0,)]
    assert rows(side.con, "select count(*) from raw.bvo_events") == [(44004,)]


def test_ingest_refuses_a_connection_that_may_reorder_rows(tmp_path):
    """Line numbers come from the order DuckDB keeps while reading."""
    side = BvoSide(tmp_path / "unordered")
    for name, data, manifest in BVO_RUN_1[:3]:
        side.deliver_bvo(name, data, manifest)
    side.con.execute("set preserve_insertion_order = false")
    with pytest.raises(DwhError, match="preserve_insertion_order"):
        side.ingest()
    assert rows(side.con, "select count(*) from duckdb_tables() where schema_name = 'raw'") == [
        (0,)
    ]


# --- COMPAS: many snapshots in one scan ------------------------------------------------------

COMPAS = DATA / "compas"


def compas_name(day: str) -> str:
    return f"COMPAS_VERDZAKEN_2022{day}.DAT"


def compas_file(source: str, day: str | None = None) -> bytes:
    """A COMPAS test file, its header dated ``day`` (2022MMDD) when given."""
    data = (COMPAS / source).read_bytes()
    return data if day is None else data[:1] + f"2022{day}".encode() + data[9:]


VALID_SNAPSHOT = compas_file("compas_valid.DAT")  # 20220131
COMPAS_RUN_1 = [
    (compas_name("0131"), VALID_SNAPSHOT),
    (compas_name("0228"), compas_file("compas_bad_rows.DAT")),  # records quarantined
    (compas_name("0301"), compas_file("compas_trailer_count_wrong.DAT")),
    (compas_name("0302"), compas_file("compas_no_trailer.DAT")),
    (compas_name("0303"), compas_file("compas_trailer_not_last.DAT")),
    (compas_name("0306"), compas_file("compas_header_date_wrong.DAT")),  # header says 0305
    (compas_name("0307"), compas_file("compas_valid.DAT", "0307")),
    (compas_name("0308"), VALID_SNAPSHOT),  # byte-identical to 0131: a duplicate
    (compas_name("0309"), compas_file("compas_bad_rows.DAT", "0309")),
]
COMPAS_RUN_2 = [
    (compas_name("0301"), compas_file("compas_valid.DAT", "0301")),  # a rejected file corrected
    (compas_name("0307"), compas_file("compas_bad_rows.DAT", "0307")),  # a loaded one corrected
    (compas_name("0310"), compas_file("compas_valid.DAT", "0310")),
    # A byte DuckDB's latin-1 reader refuses fails the scan: every file is then read alone.
    (compas_name("0311"), compas_file("compas_c1_byte.DAT", "0311")),
    (compas_name("0312"), compas_file("compas_bad_rows.DAT", "0312")),
]


class CompasSide(Side):
    def state(self) -> dict:
        state = super().state()
        state["raw"] = rows(
            self.con,
            "select * exclude (_run_id) from raw.compas_verdachtezaken "
            "order by _file_id, _line_number",
        )
        # A version no delivered line holds (of a rejected file, or of a corrected one).
        state["versions_without_a_line"] = rows(
            self.con,
            """
            select count(*) from raw.compas_record_versions
            where record_version_id not in (
                select record_version_id from raw.compas_snapshot_lines
            )
            """,
        )
        return state


def arrival(module, name: str) -> tuple:
    delivery = module.recognise(Path(name))
    assert delivery is not None
    return delivery.arrival_key


def ingest_runs(side: Side, module, runs: tuple, *, batch: bool) -> list[IngestReport]:
    """Deliver each run's files in arrival order and ingest: once per run (``batch``), or
    after every file, a pass of one each (the reference)."""
    reports = []
    for run in runs:
        for name, data in sorted(run, key=lambda item: arrival(module, item[0])):
            side.deliver(name, data)
            if not batch:
                reports.append(side.ingest())
        if batch:
            reports.append(side.ingest())
    return reports


def compas_ingest(root: Path, *, batch: bool) -> tuple[CompasSide, list]:
    side = CompasSide(root)
    return side, ingest_runs(side, compas, (COMPAS_RUN_1, COMPAS_RUN_2), batch=batch)


def test_compas_scan_of_many_snapshots_gives_exactly_what_reading_each_alone_gives(
    tmp_path, monkeypatch
):
    seen = count_calls(monkeypatch, compas)
    batch, batch_reports = compas_ingest(tmp_path / "batch", batch=True)
    passes, alone = list(seen["passes"]), list(seen["alone"])
    reference, reference_reports = compas_ingest(tmp_path / "reference", batch=False)

    expected = reference.state()
    assert batch.state() == expected
    assert merged(batch_reports) == merged(reference_reports)
    assert expected["temp_tables"] == []
    assert expected["versions_without_a_line"] == [(0,)]

    # The scenario covers what it claims (in the reference, read file by file).
    ledger = ledger_reasons(reference.con)
    assert {status for _, status in ledger} == {"loaded", "rejected", "duplicate", "superseded"}
    rejected = dict(merged(reference_reports)[1])
    assert rejected[compas_name("0301")].startswith("trailer declares 3")
    assert ledger[(compas_name("0301"), "loaded")].startswith("correction of file_id")
    assert rejected[compas_name("0302")].startswith("no valid trailer")
    assert rejected[compas_name("0303")].startswith("trailer found at line 3")
    assert rejected[compas_name("0306")].startswith("header extraction date 20220305")
    assert ledger[(compas_name("0307"), "loaded")].startswith("correction of file_id")
    assert ledger[(compas_name("0308"), "duplicate")] == f"byte-identical to {compas_name('0131')}"
    assert rejected[compas_name("0311")].startswith("cannot decode as ISO-8859-1")
    quarantined = rows(
        reference.con,
        "select file_name, count(*) from meta.quarantined_rows group by 1 order by 1",
    )
    assert [name for name, _ in quarantined] == [
        compas_name("0228"), compas_name("0307"), compas_name("0309"), compas_name("0312")
    ]  # fmt: skip

    # Run 1 in two scans (0308 has the bytes of 0131, so a new pass starts there; it is not
    # read). Run 2's scan fails on the byte of 0311, after which each file is read alone.
    day = slice(-8, -4)
    assert [[name[day] for name in names] for names in passes] == [
        ["0131", "0228", "0301", "0302", "0303", "0306", "0307"],
        ["0309"],
        ["0301", "0307", "0310", "0311", "0312"],
    ]
    assert [name[day] for name in alone] == ["0301", "0307", "0310", "0311", "0312"]


def test_compas_line_numbers_of_a_scan_over_many_snapshots_match_the_files(tmp_path):
    """DuckDB keeps the order of the files and of the lines in each: check it per record."""
    side = CompasSide(tmp_path / "large")
    record = VALID_SNAPSHOT.splitlines()[1]
    expected = []
    for number, count in enumerate((7000, 3, 25000, 0, 12000, 1), start=1):
        day = f"10{number:02d}"
        records = [
            b"1" + f"{number:02d}/{line:09d}".encode() + record[13:] for line in range(1, count + 1)
        ]
        header = b"0" + f"2022{day}".encode().ljust(99)
        trailer = b"9" + str(count).rjust(9, "0").encode().ljust(99)
        side.deliver(compas_name(day), b"\n".join([header, *records, trailer]) + b"\n")
        expected += [(compas_name(day), line + 1, f"{number:02d}/{line:09d}") for line in
                     range(1, count + 1)]  # fmt: skip
    side.con.execute("set threads = 4")
    report = side.ingest()
    assert len(report.loaded) == 6 and not report.rejected
    loaded = rows(
        side.con,
        """
        select file_name, _line_number, parketnummer
        from raw.compas_verdachtezaken
        inner join meta.file_ledger on file_id = _file_id
        order by _file_id, _line_number
        """,
    )
    assert loaded == expected


def _renumbered(snapshot: bytes, prefix: bytes, trailer_count: int | None = None) -> bytes:
    """A snapshot whose parketnummers start with ``prefix`` (and whose trailer may lie)."""
    lines = snapshot.splitlines()
    records = [b"1" + prefix + line[1 + len(prefix) :] for line in lines[1:-1]]
    trailer = lines[-1]
    if trailer_count is not None:
        trailer = b"9" + str(trailer_count).rjust(9, "0").encode() + trailer[10:]
    return b"\n".join([lines[0], *records, trailer]) + b"\n"


def test_compas_records_of_a_rejected_snapshot_leave_no_version_behind(tmp_path):
    side = CompasSide(tmp_path / "rejected")
    side.deliver(compas_name("0131"), VALID_SNAPSHOT)
    side.deliver(compas_name("0201"), _renumbered(compas_file("compas_valid.DAT", "0201"), b"77"))
    side.deliver(
        compas_name("0202"), _renumbered(compas_file("compas_valid.DAT", "0202"), b"88", 99)
    )
    report = side.ingest()
    assert [name for name, _ in report.rejected] == [compas_name("0202")]
    prefixes = rows(
        side.con,
        "select left(parketnummer, 2) as prefix, count(*) from raw.compas_record_versions "
        "where prefix in ('77', '88') group by prefix",
    )
    assert prefixes == [("77", len(VALID_SNAPSHOT.splitlines()) - 2)]
    assert side.state()["versions_without_a_line"] == [(0,)]
    # One version per distinct record of the pass: 0131 and 0201 share none.
    records = len(VALID_SNAPSHOT.splitlines()) - 2
    assert rows(side.con, "select count(*) from raw.compas_record_versions") == [(2 * records,)]
    assert rows(side.con, "select count(*) from raw.compas_snapshot_lines") == [(2 * records,)]


def test_compas_snapshots_repeating_records_store_each_version_once_per_pass(tmp_path):
    side = CompasSide(tmp_path / "repeated")
    for day in ("0131", "0228", "0331"):
        side.deliver(compas_name(day), compas_file("compas_valid.DAT", day))
    assert len(side.ingest().loaded) == 3
    records = len(VALID_SNAPSHOT.splitlines()) - 2
    assert rows(side.con, "select count(*) from raw.compas_record_versions") == [(records,)]
    assert rows(side.con, "select count(*) from raw.compas_verdachtezaken") == [(3 * records,)]


def test_compas_lines_sharing_a_hash_are_keyed_again_and_load_the_same(tmp_path, monkeypatch):
    reference, _ = compas_ingest(tmp_path / "reference", batch=True)
    # A key that gives every line of one record type the same value: the scan must notice
    # and key its lines by the next one.
    monkeypatch.setattr(compas, "LINE_KEYS", ("hash(left(line, 1))", "md5_number(line)"))
    rekeyed, _ = compas_ingest(tmp_path / "rekeyed", batch=True)
    assert rekeyed.state() == reference.state()


def test_compas_fails_loudly_when_no_key_tells_its_lines_apart(tmp_path, monkeypatch):
    monkeypatch.setattr(compas, "LINE_KEYS", ("hash(left(line, 1))",))
    side = CompasSide(tmp_path / "no-key")
    side.deliver(compas_name("0131"), VALID_SNAPSHOT)
    with pytest.raises(DwhError, match=f"share a key .* \\({compas_name('0131')} .. "):
        side.ingest()
    assert rows(side.con, "select count(*) from raw.compas_verdachtezaken") == [(0,)]


def test_a_compas_table_of_the_former_layout_becomes_versions_and_lines(tmp_path):
    """A warehouse loaded before the versions keeps its rows, now behind the view."""
    side = CompasSide(tmp_path / "former")
    side.deliver(compas_name("0131"), VALID_SNAPSHOT)
    side.deliver(compas_name("0228"), compas_file("compas_bad_rows.DAT"))
    side.ingest()
    before = side.state()
    side.con.execute(
        "create table raw.former as select * from raw.compas_verdachtezaken; "
        "drop view raw.compas_verdachtezaken; "
        "delete from raw.compas_snapshot_lines; delete from raw.compas_record_versions; "
        "alter table raw.former rename to compas_verdachtezaken"
    )
    compas.ensure_raw_tables(side.con)
    assert side.state() == before
    kind = rows(
        side.con,
        "select table_type from information_schema.tables "
        "where table_schema = 'raw' and table_name = 'compas_verdachtezaken'",
    )
    assert kind == [("VIEW",)]
    # And the next delivery loads on top of it.
    side.deliver(compas_name("0331"), compas_file("compas_valid.DAT", "0331"))
    assert len(side.ingest().loaded) == 1
    assert rows(
        side.con,
        "select count(*) = count(distinct record_version_id) from raw.compas_record_versions",
    ) == [(True,)]


def test_compas_sets_its_own_bound_on_the_bytes_of_a_scan(tmp_path, monkeypatch):
    seen = count_calls(monkeypatch, compas)
    monkeypatch.setattr(compas, "BATCH_BYTES", 2 * len(VALID_SNAPSHOT) + 10)
    side = CompasSide(tmp_path / "bounded")
    for day in ("1101", "1102", "1103", "1104", "1105"):
        side.deliver(compas_name(day), compas_file("compas_valid.DAT", day))
    assert len(side.ingest().loaded) == 5
    assert [len(names) for names in seen["passes"]] == [2, 2, 1]


# --- BVH: snapshots one after the other in a pass, the next one transcoded meanwhile ------


def bvh_file(source: str) -> bytes:
    return (DATA / source).read_bytes()


BVH_RUN_1 = [
    ("BVH_ONDERZOEK_20220131.csv", bvh_file("bvh_onderzoek_valid.csv")),
    ("BVH_BESLAG_20220131.csv", bvh_file("bvh_beslag_bad_rows.csv")),  # rows quarantined
    ("BVH_BESLAG_20220228.csv", bvh_file("bvh_beslag_control_total_wrong.csv")),
    ("BVH_ONDERZOEK_20220228.csv", bvh_file("bvh_onderzoek_no_trailer.csv")),
    ("BVH_ONDERZOEK_20220331.csv", bvh_file("bvh_onderzoek_undecodable.csv")),
    ("BVH_ONDERZOEK_20220430.csv", bvh_file("bvh_onderzoek_wrong_header.csv")),
    ("BVH_ONDERZOEK_20220531.csv", bvh_file("bvh_onderzoek_trailer_count_wrong.csv")),
    ("BVH_ONDERZOEK_20220630.csv", bvh_file("bvh_onderzoek_valid.csv")),  # a duplicate
    ("BVH_BESLAG_20220331.csv", bvh_file("bvh_beslag_valid.csv")),
    # The valid file (CR LF, no line end after the trailer) with a line end after it.
    ("BVH_ONDERZOEK_20220731.csv", bvh_file("bvh_onderzoek_valid.csv") + b"\r\n"),
]
BVH_RUN_2 = [
    ("BVH_BESLAG_20220228.csv", bvh_file("bvh_beslag_valid.csv")),  # a rejected one corrected
    ("BVH_BESLAG_20220331.csv", bvh_file("bvh_beslag_bad_rows.csv")),  # a loaded one corrected
    ("BVH_ONDERZOEK_20220831.csv", bvh_file("bvh_onderzoek_unknown_code.csv")),
    # Lines ending in CR CR LF: DuckDB's reader gives up on the file (it fails the pass,
    # then the files are read one by one and this one is rejected).
    (
        "BVH_ONDERZOEK_20220930.csv",
        bvh_file("bvh_onderzoek_valid.csv").replace(b"\r\n", b"\r\r\n"),
    ),
]


class BvhSide(Side):
    def state(self) -> dict:
        state = super().state()
        state["raw"] = {
            table: rows(
                self.con, f"select * exclude (_run_id) from {table} order by _file_id, _line_number"
            )
            for table in ("raw.bvh_onderzoek", "raw.bvh_beslag", "raw.bvh_executie")
        }
        state["scratch"] = sorted(path.name for path in (self.home / "scratch").iterdir())
        return state


def bvh_ingest(root: Path, *, batch: bool) -> tuple[BvhSide, list]:
    side = BvhSide(root)
    return side, ingest_runs(side, bvh, (BVH_RUN_1, BVH_RUN_2), batch=batch)


def test_bvh_pass_gives_exactly_what_reading_each_snapshot_alone_gives(tmp_path, monkeypatch):
    seen = count_calls(monkeypatch, bvh)
    batch, batch_reports = bvh_ingest(tmp_path / "batch", batch=True)
    passes = list(seen["passes"])
    reference, reference_reports = bvh_ingest(tmp_path / "reference", batch=False)

    expected = reference.state()
    assert batch.state() == expected
    assert merged(batch_reports) == merged(reference_reports)
    assert expected["temp_tables"] == [] or set(expected["temp_tables"]) <= {
        ("bvh_checked",),
        ("bvh_rejects",),
        ("bvh_reject_scans",),
        ("bvh_lines",),
    }
    assert expected["scratch"] == []  # no UTF-8 copy is left behind

    # The scenario covers what it claims (in the reference, read file by file).
    rejected = dict(merged(reference_reports)[1])
    assert rejected["BVH_BESLAG_20220228.csv"].startswith("trailer control total")
    assert rejected["BVH_ONDERZOEK_20220228.csv"].startswith("no valid trailer")
    assert rejected["BVH_ONDERZOEK_20220331.csv"].startswith("cannot decode as Windows-1252")
    assert rejected["BVH_ONDERZOEK_20220430.csv"].startswith("header does not match")
    assert rejected["BVH_ONDERZOEK_20220531.csv"].startswith("trailer declares")
    assert rejected["BVH_ONDERZOEK_20220930.csv"].startswith("cannot read as ';'-separated CSV")
    statuses = {status for (status,) in rows(reference.con, "select status from meta.file_ledger")}
    assert statuses == {"loaded", "rejected", "duplicate", "superseded"}
    assert rows(
        reference.con,
        "select count(*) from meta.quarantined_rows where file_name = 'BVH_BESLAG_20220131.csv'",
    ) != [(0,)]
    # Run 1 in two passes (the duplicate 0630 starts the second and is not read); run 2 in
    # one, which fails on 0930, after which its files are read one by one.
    assert [len(names) for names in passes] == [8, 1, 4]
