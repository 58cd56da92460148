"""The demo generator writes exports that obey sources.md, with every quirk, deterministically.

The files are parsed here with the standard library only (csv, gzip, json, slicing), not
with the generator's own reader, so that a test fails when the generator breaks the
contract.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from flows.demo import DemoSummary, generate
from flows.demo.truth import TruthCollector, percent

AMS = ZoneInfo("Europe/Amsterdam")
SCALE = 0.03
SEED = 11
INDICATORS = (
    "csv_onderzoeken",
    "beslag_strafrechtelijk_eur",
    "beslag_ongewaardeerd",
    "mensenhandel_verdachten",
    "cybercrime_regulier",
    "cybercrime_fenomeen",
    "cybercrime_alternatief_pct",
    "high_tech_crime_onderzoeken",
    "oskm_onderzoeken",
    "oskm_keyplayers",
    "executie_dossiers",
    "executie_positief_pct",
)
PEILDATA = (
    "2019-12-31",
    "2020-06-30",
    "2021-03-15",
    "2022-03-31",
    "2022-04-01",
    "2022-06-30",
    "2023-02-15",
    "2023-12-31",
)
# copied from the reference lists on purpose: the test must not trust the generator's copy
GPS_VANAF = {
    "18": date(2019, 3, 1),
    "05": date(2019, 9, 1),
    "16": date(2020, 1, 1),
    "15": date(2020, 6, 1),
    "13": date(2020, 10, 1),
    "09": date(2021, 2, 1),
    "10": date(2021, 5, 1),
    "02": date(2021, 7, 1),
    "01": date(2021, 9, 1),
    "03": date(2021, 11, 1),
    "96": date(2022, 1, 1),
    "97": date(2022, 1, 1),
}
FEITCODES = {
    "273F01", "140A01", "420B01", "OPW002", "138AB1", "240B01", "248E01",
    "310001", "311001", "326001", "300001", "350001", "WVW008",
}  # fmt: skip
WETSARTIKELEN = {
    "Sr:273f", "Sr:140", "Sr:420bis", "Opiumwet:2", "Sr:138ab", "Sr:240b", "Sr:248e",
    "Sr:310", "Sr:311", "Sr:326", "Sr:300", "Sr:350", "WVW1994:8",
}  # fmt: skip
GPS_COLUMNS = [
    "zaak_id", "parketnummer", "compas_parketnummer", "verdachte_bsn",
    "verdachte_geboortedatum", "verdachte_achternaam", "instroomdatum",
    "aanleverende_instantie", "wetsartikel", "afdoening", "afdoeningsdatum",
    "gewijzigd_op", "verwijderd",
]  # fmt: skip
BVH_HEADERS = {
    "ONDERZOEK": "ONDERZOEKNUMMER;EENHEID;SOORT;STARTDATUM;EINDDATUM;INTERVENTIE;KEYPLAYER",
    "BESLAG": "BESLAGNUMMER;ONDERZOEKNUMMER;EENHEID;BESLAGDATUM;REGISTRATIEDATUM;GRONDSLAG;"
    "OBJECTSOORT;OMSCHRIJVING;WAARDE",
    "EXECUTIE": "DOSSIERNUMMER;EENHEID;AANGEBODEN;KANSRIJK;AFGEDAAN;RESULTAAT",
}
PARKETNUMMER = re.compile(r"^\d{2}/\d{6}-\d{2}$")
AMOUNT = re.compile(r"^\d{1,3}(\.\d{3})*,\d{2}$")
DMY = re.compile(r"^\d{2}-\d{2}-\d{4}$")


@dataclass
class Demo:
    root: Path
    landing: Path
    truth_file: Path
    summary: DemoSummary
    seconds: float

    @property
    def truth(self) -> dict:
        return json.loads(self.truth_file.read_text(encoding="utf-8"))

    def names(self, prefix: str) -> list[str]:
        return sorted(p.name for p in self.landing.iterdir() if p.name.startswith(prefix))

    def read(self, name: str) -> bytes:
        return (self.landing / name).read_bytes()


def _run(root: Path, **kwargs) -> Demo:
    started = time.perf_counter()
    summary = generate(root / "landing", root / "truth.json", **kwargs)
    return Demo(root, root / "landing", root / "truth.json", summary, time.perf_counter() - started)


def _digests(landing: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(landing.iterdir())}


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    return _run(tmp_path_factory.mktemp("demo"), scale=SCALE, seed=SEED)


@pytest.fixture(scope="session")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    return _run(tmp_path_factory.mktemp("faulty"), scale=SCALE, seed=SEED, faults=True)


# --- parsing helpers (independent of the generator) -------------------------------------


def bvh_rows(data: bytes) -> tuple[list[str], list[dict[str, str]], list[str]]:
    text = data.decode("cp1252")
    lines = text.split("\r\n")
    if lines[-1] == "":
        lines.pop()
    reader = csv.reader(lines, delimiter=";")
    header = next(reader)
    rows = [dict(zip(header, row, strict=True)) for row in csv.reader(lines[1:-1], delimiter=";")]
    return header, rows, lines[-1].split(";")


def bvh_amount(text: str) -> int:
    euros, cents = text.split(",")
    return int(euros.replace(".", "")) * 100 + int(cents)


def dmy(text: str) -> date:
    return datetime.strptime(text, "%d-%m-%Y").date()


@pytest.fixture(scope="session")
def bvh(demo: Demo) -> dict[str, dict[date, list[dict[str, str]]]]:
    out: dict[str, dict[date, list[dict[str, str]]]] = defaultdict(dict)
    for name in demo.names("BVH_"):
        _, entity, stamp = name[:-4].split("_")
        out[entity][datetime.strptime(stamp, "%Y%m%d").date()] = bvh_rows(demo.read(name))[1]
    return out


@pytest.fixture(scope="session")
def bvo(demo: Demo) -> list[tuple[str, int, list[dict]]]:
    """(file name, seq, events) in sequence order."""
    out = []
    for name in demo.names("BVO_EVENTS_"):
        if name.endswith(".jsonl.gz"):
            lines = gzip.decompress(demo.read(name)).decode("utf-8").splitlines()
            out.append((name, int(name[-15:-9]), [json.loads(line) for line in lines]))
    return sorted(out, key=lambda item: item[1])


@pytest.fixture(scope="session")
def compas(demo: Demo) -> dict[date, list[str]]:
    out = {}
    for name in demo.names("COMPAS_"):
        stamp = name[len("COMPAS_VERDZAKEN_") : -4]
        out[datetime.strptime(stamp, "%Y%m%d").date()] = (
            demo.read(name).decode("latin-1").split("\n")
        )
    return out


@pytest.fixture(scope="session")
def gps(demo: Demo) -> list[tuple[date, int, dict[str, str]]]:
    """(file date, line number, row) of every GPS row, in delivery order."""
    out = []
    for name in demo.names("GPS_"):
        day = datetime.strptime(name[-12:-4], "%Y%m%d").date()
        text = demo.read(name).decode("utf-8-sig")
        reader = csv.DictReader(io.StringIO(text, newline=""))
        for line_no, row in enumerate(reader, start=2):
            out.append((day, line_no, row))
    return out


def ams_date(timestamp: str) -> date:
    return datetime.fromisoformat(timestamp).astimezone(AMS).date()


# --- summary ---------------------------------------------------------------------------


def test_summary_counts_files_per_system(demo: Demo) -> None:
    s = demo.summary
    assert s.files["bvh"] == 39 == len(demo.names("BVH_"))
    assert s.files["compas"] == 36 == len(demo.names("COMPAS_"))
    assert s.files["gps"] == len(demo.names("GPS_")) > 1000
    assert s.files["bvo"] == len(demo.names("BVO_")) > 180
    assert s.bytes["bvh"] == sum(len(demo.read(n)) for n in demo.names("BVH_"))
    assert s.first_delivery == date(2019, 1, 31)
    assert s.last_delivery == date(2023, 12, 31)
    assert s.faults == []
    assert not (demo.landing / "truth.json").exists()


def test_truth_file_inside_landing_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="inside the landing folder"):
        generate(tmp_path / "landing", tmp_path / "landing" / "truth.json", scale=SCALE)


# --- BVH -------------------------------------------------------------------------------


def test_bvh_files_obey_the_physical_format(demo: Demo) -> None:
    names = demo.names("BVH_")
    dates = sorted({n[-12:-4] for n in names})
    assert dates[0] == "20190331" and dates[-1] == "20220331" and len(dates) == 13
    without_final_line_end = 0
    for name in names:
        data = demo.read(name)
        assert data.count(b"\n") == data.count(b"\r\n"), f"{name}: a line end that is not CRLF"
        entity = name.split("_")[1]
        header, rows, trailer = bvh_rows(data)
        assert ";".join(header) == BVH_HEADERS[entity] and ";".join(header).isupper()
        assert trailer[0] == "#EINDE" and int(trailer[1]) == len(rows), name
        if entity == "BESLAG":
            total = sum(bvh_amount(r["WAARDE"]) for r in rows if r["WAARDE"])
            assert AMOUNT.match(trailer[2]) and bvh_amount(trailer[2]) == total, name
        else:
            assert trailer[2] == "0"
        for row in rows:
            for column, value in row.items():
                if column.endswith("DATUM") or column in ("AANGEBODEN", "AFGEDAAN"):
                    assert value == "" or DMY.match(value), (name, column, value)
            if entity == "BESLAG" and row["WAARDE"]:
                assert AMOUNT.match(row["WAARDE"]), row["WAARDE"]
        without_final_line_end += not data.endswith(b"\r\n")
    assert without_final_line_end >= 1


def test_bvh_text_quirks_occur(demo: Demo) -> None:
    data = b"".join(demo.read(n) for n in demo.names("BVH_BESLAG_"))
    # cp1252 bytes that latin-1 would read as control characters: € ‘ ’ “ ” –
    assert {b"\x80", b"\x91", b"\x92", b"\x93", b"\x94", b"\x96"} <= {bytes([b]) for b in data}
    text = data.decode("cp1252")
    assert "€" in text and "“" in text and "–" in text
    assert any(ch in text for ch in "éëïöü")
    descriptions = [
        r["OMSCHRIJVING"] for n in demo.names("BVH_BESLAG_") for r in bvh_rows(demo.read(n))[1]
    ]
    assert any(";" in d for d in descriptions)
    assert any('"' in d for d in descriptions)
    assert '""' in text  # a quote doubled inside a quoted field
    values = [
        bvh_amount(r["WAARDE"])
        for n in demo.names("BVH_BESLAG_")
        for r in bvh_rows(demo.read(n))[1]
        if r["WAARDE"]
    ]
    assert max(values) > 100_000_000  # more than 1,000,000.00 euro: two thousands dots
    assert 0 in values  # valued at nothing
    assert any(not r["WAARDE"] for r in bvh_rows(demo.read("BVH_BESLAG_20220331.csv"))[1])


def test_bvh_records_disappear_between_snapshots(bvh: dict) -> None:
    keys = {"ONDERZOEK": "ONDERZOEKNUMMER", "BESLAG": "BESLAGNUMMER", "EXECUTIE": "DOSSIERNUMMER"}
    for entity, key in keys.items():
        snapshots = [
            {r[key] for r in rows} for _, rows in sorted(bvh[entity].items(), key=lambda i: i[0])
        ]
        removed = set().union(*(a - b for a, b in zip(snapshots, snapshots[1:], strict=False)))
        assert removed, f"no {entity} record was removed between two snapshots"


def test_bvh_has_investigations_started_before_2019_and_open_ones(bvh: dict) -> None:
    rows = bvh["ONDERZOEK"][date(2019, 3, 31)]
    assert any(r["STARTDATUM"] and dmy(r["STARTDATUM"]).year < 2019 for r in rows)
    assert any(r["EINDDATUM"] == "" and r["INTERVENTIE"] == "" for r in rows)
    closed = [r for r in rows if r["EINDDATUM"]]
    assert any(r["INTERVENTIE"] == "" for r in closed)  # closed without an interventie
    assert {r["INTERVENTIE"] for r in closed} >= {"S", "A"}
    assert any(r["STARTDATUM"] == "" for r in rows)  # unknown start: active in no year


# --- BVO -------------------------------------------------------------------------------


def test_bvo_manifests_match_their_data_files(demo: Demo) -> None:
    data_files = [n for n in demo.names("BVO_EVENTS_") if n.endswith(".jsonl.gz")]
    manifests = [n for n in demo.names("BVO_EVENTS_") if n.endswith(".manifest.json")]
    assert len(data_files) == len(manifests) > 90
    pattern = re.compile(r"^BVO_EVENTS_\d{8}T\d{6}_\d{6}\.jsonl\.gz$")
    for name in data_files:
        assert pattern.match(name), name
        data = demo.read(name)
        assert data[4:8] == b"\0\0\0\0", "gzip mtime must be 0"
        assert not data[3] & 0x08, "gzip header must not carry a file name"
        manifest = json.loads(demo.read(name + ".manifest.json"))
        assert manifest["file"] == name
        assert manifest["records"] == len(gzip.decompress(data).splitlines())
        assert manifest["sha256"] == hashlib.sha256(data).hexdigest()


def test_bvo_events_follow_the_schema(bvo: list) -> None:
    keys = {"event_id", "event_time", "op", "entity", "id", "version", "data"}
    for name, _, events in bvo:
        for e in events:
            assert set(e) == keys, name
            assert e["op"] in ("create", "update", "delete")
            assert e["entity"] in ("onderzoek", "beslagobject", "executiedossier")
            assert (e["data"] is None) == (e["op"] == "delete")
            assert (e["version"] == 1) == (e["op"] == "create")
            if e["entity"] == "beslagobject" and e["data"]:
                value = e["data"]["waarde_cent"]
                assert value is None or isinstance(value, int)
                assert e["data"]["grondslag"] in (
                    "art94",
                    "art94a",
                    "bestuursrechtelijk",
                    "fiscaal",
                )


def test_bvo_migrates_every_open_bvh_record_on_2022_04_01(bvh: dict, bvo: list) -> None:
    name, seq, events = bvo[0]
    assert name.startswith("BVO_EVENTS_20220401T") and seq == 1
    assert {e["op"] for e in events} == {"create"}
    assert all(ams_date(e["event_time"]) == date(2022, 4, 1) for e in events)
    legacy: dict[str, set[str]] = defaultdict(set)
    for e in events:
        assert e["data"]["legacy_bvh_nummer"], "a migration create carries legacy_bvh_nummer"
        assert e["data"]["nummer"] != e["data"]["legacy_bvh_nummer"]
        legacy[e["entity"]].add(e["data"]["legacy_bvh_nummer"])
    last = date(2022, 3, 31)
    open_onderzoek = {r["ONDERZOEKNUMMER"] for r in bvh["ONDERZOEK"][last] if not r["EINDDATUM"]}
    unvalued = {r["BESLAGNUMMER"] for r in bvh["BESLAG"][last] if not r["WAARDE"]}
    open_dossiers = {r["DOSSIERNUMMER"] for r in bvh["EXECUTIE"][last] if not r["AFGEDAAN"]}
    assert legacy["onderzoek"] == open_onderzoek
    # seizures: not yet valued, or belonging to an open (so migrated) investigation
    of_open = {
        r["BESLAGNUMMER"] for r in bvh["BESLAG"][last] if r["ONDERZOEKNUMMER"] in open_onderzoek
    }
    assert legacy["beslagobject"] == unvalued | of_open
    assert unvalued - of_open and of_open - unvalued
    assert legacy["executiedossier"] == open_dossiers
    all_bvh = {r["ONDERZOEKNUMMER"] for r in bvh["ONDERZOEK"][last]}
    assert legacy["onderzoek"] <= all_bvh


def test_bvo_updates_and_deletes_of_migrated_and_new_records(bvo: list) -> None:
    by_id: dict[str, list[dict]] = defaultdict(list)
    for _, _, events in bvo:
        for e in events:
            by_id[e["id"]].append(e)
    migrated = {
        i
        for i, evs in by_id.items()
        if any(e["version"] == 1 and e["data"]["legacy_bvh_nummer"] for e in evs)
    }
    new = set(by_id) - migrated
    updates = [e for i in migrated for e in by_id[i] if e["op"] == "update"]
    assert any(
        e["entity"] == "beslagobject" and e["data"]["waarde_cent"] is not None for e in updates
    )
    assert any(e["entity"] == "onderzoek" and e["data"]["einde"] for e in updates)
    new_updates = [e for i in new for e in by_id[i] if e["op"] == "update"]
    assert any(
        e["entity"] == "beslagobject" and e["data"]["waarde_cent"] is not None for e in new_updates
    )
    assert any(e["op"] == "delete" for i in migrated for e in by_id[i])
    assert any(e["op"] == "delete" for i in new for e in by_id[i])


def test_bvo_events_of_one_record_arrive_out_of_order(bvo: list) -> None:
    first_seen: dict[tuple[str, int], int] = {}
    for _, seq, events in bvo:
        for e in events:
            first_seen.setdefault((e["id"], e["version"]), seq)
    out_of_order = [
        (rid, v)
        for (rid, v), seq in first_seen.items()
        if (rid, v + 1) in first_seen and first_seen[(rid, v + 1)] < seq
    ]
    assert out_of_order, "no higher version in an earlier file"


def test_bvo_same_event_twice_and_whole_file_redelivered(demo: Demo, bvo: list) -> None:
    files_of: dict[str, set[bytes]] = defaultdict(set)
    digest_of = {name: hashlib.sha256(demo.read(name)).digest() for name, _, _ in bvo}
    for name, _, events in bvo:
        for e in events:
            files_of[e["event_id"]].add(digest_of[name])
    # an event in two files that are not byte-identical copies of each other
    assert any(len(digests) >= 2 for digests in files_of.values())
    by_digest: dict[bytes, list[str]] = defaultdict(list)
    for name, digest in digest_of.items():
        by_digest[digest].append(name)
    copies = [names for names in by_digest.values() if len(names) > 1]
    assert len(copies) == 1 and len(copies[0]) == 2
    first, second = sorted(copies[0], key=lambda n: n[-15:-9])
    assert first[-15:-9] != second[-15:-9]
    for name in (first, second):
        assert json.loads(demo.read(name + ".manifest.json"))["file"] == name


def test_bvo_event_times_use_several_offsets_and_cross_midnight(bvo: list) -> None:
    suffixes = set()
    utc_date_differs = False
    for _, _, events in bvo:
        for e in events:
            ts = e["event_time"]
            moment = datetime.fromisoformat(ts)
            suffix = "Z" if ts.endswith("Z") else ts[-6:]
            suffixes.add(suffix)
            if suffix in ("+01:00", "+02:00"):
                # the written local offset is Amsterdam's offset at that instant
                assert moment.utcoffset() == moment.astimezone(AMS).utcoffset(), ts
            if moment.astimezone(AMS).date() != moment.date():
                utc_date_differs = True
    assert {"+01:00", "+02:00", "Z", "+00:00"} <= suffixes
    assert utc_date_differs, "no event whose written date differs from its Amsterdam date"


def test_bvo_has_events_after_midnight_written_with_local_offset(bvo: list) -> None:
    # 00:40+01:00 is 23:40 UTC the day before: UTC date and Amsterdam date differ
    found = [
        e["event_time"]
        for _, _, events in bvo
        for e in events
        if e["event_time"][11:13] == "00" and e["event_time"][-6:] in ("+01:00", "+02:00")
    ]
    assert found


# --- COMPAS ----------------------------------------------------------------------------


def test_compas_files_obey_the_fixed_width_format(demo: Demo, compas: dict) -> None:
    assert len(compas) == 36
    for name in demo.names("COMPAS_"):
        data = demo.read(name)
        assert b"\r" not in data
        lines = data.decode("latin-1").split("\n")
        assert lines[-1] == ""
        lines.pop()
        assert all(len(line) == 100 for line in lines), name
        assert lines[0][0] == "0" and lines[0][1:9] == name[17:25] and lines[0][9:].strip() == ""
        assert lines[-1][0] == "9" and int(lines[-1][1:10]) == len(lines) - 2
        assert lines[-1][1:10].isdigit() and lines[-1][10:].strip() == ""
        for line in lines[1:-1]:
            assert line[0] == "1"
            assert PARKETNUMMER.match(line[1:13]), line
            assert line[82:88] in FEITCODES
            assert line[99] in "JN"
            assert line[13:22].strip() == "" or line[13:22].isdigit()


def test_compas_quirks(compas: dict) -> None:
    text = "\n".join("\n".join(lines) for lines in compas.values())
    for surname in ("Hoëvenaar", "Çelik", "Brouwer-Müller"):
        assert surname in text
    assert any(line[:1] == "1" and line[99] == "J" for lines in compas.values() for line in lines)
    dates = sorted(compas)
    parketten_in = {d: {line[1:3] for line in compas[d] if line[:1] == "1"} for d in dates}
    for parket, moved in GPS_VANAF.items():
        before = [d for d in dates if d < moved]
        after = [d for d in dates if d >= moved]
        assert parket in parketten_in[before[-1]]
        assert all(parket not in parketten_in[d] for d in after), parket
    removed = False
    for a, b in zip(dates, dates[1:], strict=False):
        still = {p for p, moved in GPS_VANAF.items() if b < moved}
        in_a = {line[1:13] for line in compas[a] if line[:1] == "1" and line[1:3] in still}
        in_b = {line[1:13] for line in compas[b] if line[:1] == "1"}
        removed = removed or bool(in_a - in_b)
    assert removed, "no case removed between two snapshots of a parket still on COMPAS"


# --- GPS -------------------------------------------------------------------------------


def test_gps_files_obey_the_csv_format(demo: Demo) -> None:
    names = demo.names("GPS_")
    assert names[0] == "GPS_VERDACHTEZAKEN_20190301.csv"
    assert names[-1] == "GPS_VERDACHTEZAKEN_20231231.csv"
    for name in names:
        data = demo.read(name)
        assert data.startswith(b"\xef\xbb\xbf") and b"\r" not in data and data.endswith(b"\n")
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
        assert rows[0] == GPS_COLUMNS
        for row in rows[1:]:
            assert len(row) == 13
            assert row[8] in WETSARTIKELEN
            assert row[12] in ("true", "false")
            assert PARKETNUMMER.match(row[1]) and (row[2] == "" or PARKETNUMMER.match(row[2]))
            date.fromisoformat(row[6])
            assert ams_date(row[11]) == datetime.strptime(name[-12:-4], "%Y%m%d").date()


def test_gps_quoting_of_surnames(demo: Demo, gps: list) -> None:
    raw = b"".join(demo.read(n) for n in demo.names("GPS_")).decode("utf-8")
    assert '"de Vries, van"' in raw
    assert '""' in raw  # a quote inside a surname, doubled
    surnames = {row["verdachte_achternaam"] for _, _, row in gps}
    assert "de Vries, van" in surnames
    assert any('"' in s for s in surnames)


def test_gps_migration_at_the_move_date(compas: dict, gps: list) -> None:
    migrated: dict[str, list[dict]] = defaultdict(list)
    for day, _, row in gps:
        if row["compas_parketnummer"]:
            migrated[row["compas_parketnummer"][:2]].append((day, row))
    dates = sorted(compas)
    new_numbers = 0
    for parket, moved in GPS_VANAF.items():
        last = [d for d in dates if d < moved][-1]
        records = {line[1:13]: line for line in compas[last] if line[1:3] == parket}
        open_cases = {
            pn for pn, line in records.items() if line[88:91].strip() == "" and line[99] == "N"
        }
        first_rows = {}
        for day, row in migrated[parket]:
            first_rows.setdefault(row["compas_parketnummer"], (day, row))
        assert set(first_rows) == open_cases, parket
        for pn, (day, row) in first_rows.items():
            assert day == moved
            instroom = records[pn][70:78]
            assert row["instroomdatum"] == f"{instroom[:4]}-{instroom[4:6]}-{instroom[6:]}"
            new_numbers += row["parketnummer"] != pn
    assert new_numbers > 0
    later = [row for rows in migrated.values() for day, row in rows if row["afdoening"]]
    assert later, "no later change (afdoening) of a migrated case"


def test_gps_row_quirks(gps: list) -> None:
    rows_per_case_file: dict[tuple[date, str], int] = defaultdict(int)
    suffixes = set()
    stamps: dict[str, list[str]] = defaultdict(list)
    for day, _, row in gps:
        rows_per_case_file[(day, row["zaak_id"])] += 1
        suffixes.add(row["gewijzigd_op"][-6:])
        stamps[row["zaak_id"]].append(row["gewijzigd_op"])
    assert max(rows_per_case_file.values()) >= 2
    assert {"+01:00", "+02:00", "+00:00"} <= suffixes
    assert any(row["verwijderd"] == "true" for _, _, row in gps)
    assert any(len(s) != len(set(s)) for s in stamps.values()), "no exact tie of gewijzigd_op"


def test_gps_tie_is_won_by_the_row_further_down(demo: Demo) -> None:
    """The generator's planted tie: same gewijzigd_op, the later row corrects the instantie."""
    for name in demo.names("GPS_"):
        rows = list(csv.DictReader(io.StringIO(demo.read(name).decode("utf-8-sig"), newline="")))
        seen: dict[tuple[str, str], dict] = {}
        for row in rows:
            key = (row["zaak_id"], row["gewijzigd_op"])
            if key in seen:
                assert seen[key]["aanleverende_instantie"].startswith("politie:")
                assert row["aanleverende_instantie"] == "kmar"
                return
            seen[key] = row
    pytest.fail("no tie found")


def test_gps_later_instant_can_be_the_smaller_text_and_stand_higher(demo: Demo) -> None:
    """Instants, not text or position, order the rows of a case within a file."""
    for name in demo.names("GPS_"):
        rows = list(csv.DictReader(io.StringIO(demo.read(name).decode("utf-8-sig"), newline="")))
        for i, upper in enumerate(rows):
            for lower in rows[i + 1 :]:
                if lower["zaak_id"] != upper["zaak_id"]:
                    continue
                later = datetime.fromisoformat(upper["gewijzigd_op"]) > datetime.fromisoformat(
                    lower["gewijzigd_op"]
                )
                if later and upper["gewijzigd_op"] < lower["gewijzigd_op"]:
                    assert upper["verwijderd"] == "true"
                    return
    pytest.fail("no row that is later as an instant but earlier as text and position")


# --- people ----------------------------------------------------------------------------


def elfproef(bsn: str) -> bool:
    weights = (9, 8, 7, 6, 5, 4, 3, 2, -1)
    return sum(w * int(c) for w, c in zip(weights, bsn, strict=True)) % 11 == 0


def test_people_quirks(compas: dict, gps: list) -> None:
    compas_bsns = [line[13:22] for lines in compas.values() for line in lines if line[:1] == "1"]
    gps_bsns = [row["verdachte_bsn"] for _, _, row in gps]
    for bsns in (compas_bsns, gps_bsns):
        assert any(b.strip() == "" for b in bsns), "no missing BSN"
        filled = [b for b in bsns if b.strip()]
        assert all(len(b) == 9 and b.isdigit() for b in filled)
        assert any(elfproef(b) for b in filled)
        assert any(not elfproef(b) for b in filled), "no BSN failing the elfproef"
    assert set(compas_bsns) & {b for b in gps_bsns if b and elfproef(b)}
    people = defaultdict(set)
    for lines in compas.values():
        for line in lines:
            if line[:1] == "1" and line[13:22].strip():
                people[line[13:22]].add(line[1:13])
    assert max(len(cases) for cases in people.values()) >= 2, "nobody with several cases"
    surnames = {row["verdachte_achternaam"] for _, _, row in gps}
    assert {"van den Berg", "'t Hart"} & surnames and any("ü" in s or "ë" in s for s in surnames)


# --- determinism and faults ------------------------------------------------------------


def test_same_seed_gives_identical_bytes(demo: Demo, tmp_path: Path) -> None:
    again = _run(tmp_path, scale=SCALE, seed=SEED)
    assert _digests(again.landing) == _digests(demo.landing)
    assert again.truth_file.read_bytes() == demo.truth_file.read_bytes()


def test_same_seed_gives_identical_bytes_in_another_process(demo: Demo, tmp_path: Path) -> None:
    """No dependence on set order or hash seeds: a fresh interpreter writes the same bytes."""
    script = (
        "import sys; from pathlib import Path; from flows.demo import generate; "
        f"generate(Path(sys.argv[1]) / 'landing', Path(sys.argv[1]) / 'truth.json', "
        f"scale={SCALE}, seed={SEED})"
    )
    env = dict(os.environ, PYTHONHASHSEED="12345")
    root = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-c", script, str(tmp_path)], check=True, env=env, cwd=root)
    assert _digests(tmp_path / "landing") == _digests(demo.landing)
    assert (tmp_path / "truth.json").read_bytes() == demo.truth_file.read_bytes()


def test_other_seed_gives_other_files(demo: Demo, tmp_path: Path) -> None:
    other = _run(tmp_path, scale=SCALE, seed=SEED + 1)
    a, b = _digests(other.landing), _digests(demo.landing)
    common = set(a) & set(b)
    assert sum(a[n] != b[n] for n in common) > 0.9 * len(common)


def test_faults_plant_exactly_four_invalid_files(demo: Demo, faulty: Demo) -> None:
    clean, bad = _digests(demo.landing), _digests(faulty.landing)
    assert set(clean) == set(bad)
    differing = sorted(n for n in clean if clean[n] != bad[n])
    faults = faulty.truth["faults"]
    assert sorted(f["file"] for f in faults) == differing
    assert len(differing) == 4
    assert {f["system"] for f in faults} == {"bvo", "bvh", "gps", "compas"}
    assert faulty.truth["peildata"] == demo.truth["peildata"]
    assert demo.truth["faults"] == []
    for fault in faults:
        name = fault["file"]
        good, wrong = demo.read(name), faulty.read(name)
        if fault["system"] == "bvo":
            manifest = json.loads(wrong)
            lines = gzip.decompress(faulty.read(manifest["file"])).splitlines()
            assert manifest["records"] != len(lines)
            assert manifest["sha256"] == hashlib.sha256(faulty.read(manifest["file"])).hexdigest()
        elif fault["system"] == "bvh":
            _, rows, trailer = bvh_rows(wrong)
            assert int(trailer[1]) != len(rows)
            assert bvh_rows(good)[1] == rows
        else:
            good_lines, wrong_lines = good.split(b"\n"), wrong.split(b"\n")
            changed = [
                i for i, (x, y) in enumerate(zip(good_lines, wrong_lines, strict=True)) if x != y
            ]
            assert changed == [fault["line"] - 1]
            line = wrong_lines[changed[0]]
            if fault["system"] == "gps":
                row = next(csv.reader([line.decode("utf-8")]))
                assert row[6] == "2022-13-45"
                with pytest.raises(ValueError):
                    date.fromisoformat(row[6])
            else:
                assert len(line) == 100 and line[82:88] == b"999999"


def test_rerun_without_faults_corrects_the_files(demo: Demo, tmp_path: Path) -> None:
    shutil.copytree(demo.landing, tmp_path / "landing")
    generate(tmp_path / "landing", tmp_path / "truth.json", scale=SCALE, seed=SEED, faults=True)
    assert _digests(tmp_path / "landing") != _digests(demo.landing)
    generate(tmp_path / "landing", tmp_path / "truth.json", scale=SCALE, seed=SEED)
    assert _digests(tmp_path / "landing") == _digests(demo.landing)


# --- truth -----------------------------------------------------------------------------


def test_truth_has_every_indicator_and_year_for_every_peildatum(demo: Demo) -> None:
    truth = demo.truth
    assert truth["seed"] == SEED and truth["scale"] == SCALE
    assert truth["last_delivery"] == "2023-12-31"
    assert tuple(truth["peildata"]) == PEILDATA
    for peil, entries in truth["peildata"].items():
        expected = {(y, c) for y in range(2019, int(peil[:4]) + 1) for c in INDICATORS}
        assert {(e["report_year"], e["indicator_code"]) for e in entries} == expected
        assert len(entries) == len(expected)
        for e in entries:
            value, systems = e["realisation"], e["registration_systems"]
            code = e["indicator_code"]
            if code.endswith("_pct"):
                assert value is None or re.fullmatch(r"\d{1,3}\.\d", value)
            elif code.endswith("_eur"):
                assert re.fullmatch(r"\d+\.\d\d", value)
            else:
                assert re.fullmatch(r"\d+", value)
            assert systems is None or systems in (
                "bvh", "bvo", "bvh+bvo", "compas", "gps", "compas+gps",
            )  # fmt: skip
            if code == "mensenhandel_verdachten":
                assert systems is None or "bv" not in systems
            elif systems is not None:
                assert "compas" not in systems and "gps" not in systems


def test_truth_follows_the_system_change(demo: Demo) -> None:
    figures = {
        (peil, e["report_year"], e["indicator_code"]): e
        for peil, entries in demo.truth["peildata"].items()
        for e in entries
    }
    assert figures[("2022-03-31", 2021, "csv_onderzoeken")]["registration_systems"] == "bvh"
    assert figures[("2022-04-01", 2021, "csv_onderzoeken")]["registration_systems"] == "bvh+bvo"
    assert figures[("2023-12-31", 2023, "csv_onderzoeken")]["registration_systems"] == "bvo"
    mensenhandel_2019 = figures[("2019-12-31", 2019, "mensenhandel_verdachten")]
    assert mensenhandel_2019["registration_systems"] in ("compas", "compas+gps")
    mensenhandel_2020 = figures[("2023-12-31", 2020, "mensenhandel_verdachten")]
    assert mensenhandel_2020["registration_systems"] == "compas+gps"
    assert figures[("2023-12-31", 2023, "mensenhandel_verdachten")]["registration_systems"] == "gps"
    assert figures[("2023-02-15", 2022, "executie_positief_pct")]["realisation"] == "100.0"


def test_truth_matches_a_direct_count_on_bvh_only_peildata(demo: Demo, bvh: dict) -> None:
    figures = {
        (peil, e["report_year"], e["indicator_code"]): e["realisation"]
        for peil, entries in demo.truth["peildata"].items()
        for e in entries
    }
    rows = bvh["ONDERZOEK"][date(2019, 12, 31)]
    active = [
        r
        for r in rows
        if r["SOORT"] == "CSV"
        and r["STARTDATUM"]
        and dmy(r["STARTDATUM"]) <= date(2019, 12, 31)
        and (not r["EINDDATUM"] or dmy(r["EINDDATUM"]) >= date(2019, 1, 1))
    ]
    assert figures[("2019-12-31", 2019, "csv_onderzoeken")] == str(len(active))
    seizures = [
        r
        for r in bvh["BESLAG"][date(2020, 12, 31)]
        if r["GRONDSLAG"] in ("94", "94A") and r["BESLAGDATUM"].endswith("2020")
    ]
    total = sum(bvh_amount(r["WAARDE"]) for r in seizures if r["WAARDE"])
    assert (
        figures[("2021-03-15", 2020, "beslag_strafrechtelijk_eur")]
        == f"{total // 100}.{total % 100:02d}"
    )
    assert figures[("2021-03-15", 2020, "beslag_ongewaardeerd")] == str(
        sum(1 for r in seizures if not r["WAARDE"])
    )
    dossiers = [
        r
        for r in bvh["EXECUTIE"][date(2020, 6, 30)]
        if r["KANSRIJK"] == "J" and r["AANGEBODEN"].endswith("2019")
    ]
    positive = sum(r["RESULTAAT"] == "POS" for r in dossiers)
    assert figures[("2020-06-30", 2019, "executie_dossiers")] == str(len(dossiers))
    assert figures[("2020-06-30", 2019, "executie_positief_pct")] == percent(
        positive, len(dossiers)
    )


def test_truth_matches_a_direct_count_on_gps_only_figures(demo: Demo, gps: list) -> None:
    """2023 inflow at 2023-12-31: every parket is on GPS; state = latest gewijzigd_op."""
    latest: dict[str, tuple] = {}
    for day, line_no, row in gps:
        key = (datetime.fromisoformat(row["gewijzigd_op"]), day, line_no)
        if row["zaak_id"] not in latest or key >= latest[row["zaak_id"]][0]:
            latest[row["zaak_id"]] = (key, row)
    count = sum(
        1
        for _, row in latest.values()
        if row["wetsartikel"] == "Sr:273f"
        and row["aanleverende_instantie"].startswith("politie:")
        and row["verwijderd"] == "false"
        and row["instroomdatum"].startswith("2023")
    )
    truth = {
        (e["report_year"], e["indicator_code"]): e["realisation"]
        for e in demo.truth["peildata"]["2023-12-31"]
    }
    assert truth[(2023, "mensenhandel_verdachten")] == str(count)


def test_truth_uses_amsterdam_dates_around_midnight(demo: Demo) -> None:
    """Rows and events just after midnight count from the next day on, whatever their offset."""
    collector = TruthCollector(peildata=(date(2022, 6, 30), date(2022, 7, 1)))
    for name in sorted(p.name for p in demo.landing.iterdir()):
        system = name.split("_")[0].lower()
        collector.observe(system, name, demo.read(name))
    figures = collector.compute()
    june = {
        (e["report_year"], e["indicator_code"]): e["realisation"] for e in figures["2022-06-30"]
    }
    july = {
        (e["report_year"], e["indicator_code"]): e["realisation"] for e in figures["2022-07-01"]
    }
    # the planted cyber investigation closed on 2022-06-30 is registered 2022-07-01 00:40
    # (+02:00), and the planted trafficking case of 2022-06-30 is created 00:20 the next day
    assert int(july[(2022, "cybercrime_regulier")]) > int(june[(2022, "cybercrime_regulier")])
    assert int(july[(2022, "mensenhandel_verdachten")]) > int(
        june[(2022, "mensenhandel_verdachten")]
    )


def test_percent_rounds_half_away_from_zero() -> None:
    assert percent(1, 8) == "12.5"
    assert percent(1, 3) == "33.3"
    assert percent(2, 3) == "66.7"
    assert percent(1, 16) == "6.3"  # 6.25 -> 6.3
    assert percent(1, 2000) == "0.1"  # 0.05 -> 0.1
    assert percent(0, 5) == "0.0"
    assert percent(26, 26) == "100.0"
    assert percent(0, 0) is None


# --- national scale --------------------------------------------------------------------


@pytest.mark.e2e
def test_national_scale_resembles_the_annual_report(tmp_path: Path) -> None:
    demo = _run(tmp_path, scale=1.0, seed=20230215)
    assert demo.seconds < 60
    figures = {
        e["indicator_code"]: e
        for e in demo.truth["peildata"]["2023-02-15"]
        if e["report_year"] == 2022
    }
    value = {code: e["realisation"] for code, e in figures.items()}
    assert 1_550 <= int(value["csv_onderzoeken"]) <= 1_800
    assert 135e6 <= float(value["beslag_strafrechtelijk_eur"]) <= 162e6
    assert 165 <= int(value["mensenhandel_verdachten"]) <= 210
    assert value["executie_dossiers"] == "26" and value["executie_positief_pct"] == "100.0"
    assert 270 <= int(value["cybercrime_regulier"]) <= 360
    assert 30 <= int(value["cybercrime_fenomeen"]) <= 55
    assert 20 <= float(value["cybercrime_alternatief_pct"]) <= 40
    assert 15 <= int(value["high_tech_crime_onderzoeken"]) <= 30
    assert 430 <= int(value["oskm_onderzoeken"]) <= 570
    assert 10 <= int(value["oskm_keyplayers"]) <= 25
    assert figures["csv_onderzoeken"]["registration_systems"] == "bvh+bvo"
    assert figures["mensenhandel_verdachten"]["registration_systems"] == "gps"
    per_year = demo.summary.files
    assert per_year["bvh"] == 39 and per_year["compas"] == 36
