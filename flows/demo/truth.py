"""Ground truth: the indicators computed straight from the export files as written.

This is a second, deliberately plain implementation of `indicators.md` on top of the
files in the landing folder, independent of the warehouse. It reads every written file
back from its bytes (it sees no internal state of the generator), so the figures are
exactly what a correct pipeline must publish for the clean delivery.

Only what can influence a figure is kept: the BVH and COMPAS snapshots that are the
latest one for some peildatum, all BVO events, all GPS rows. For COMPAS only records
that could be counted (trafficking, police unit, not voided) are kept, because a COMPAS
record that is not counted changes no figure whether or not GPS replaces it.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

import numpy as np

from .codes import (
    BVH_DATES,
    COMPAS_DATES,
    FIRST_REPORT_YEAR,
    GPS_VANAF,
    GRONDSLAG,
    INDICATORS,
    INTERVENTIE,
    PARKET_CODES,
    PEILDATA,
    POLICE_INSTANTIES,
    RESULTAAT,
    SOORT,
    TRAFFICKING_FEITCODE,
    TRAFFICKING_WETSARTIKEL,
)

AMS = ZoneInfo("Europe/Amsterdam")
_BVH_NAME = re.compile(r"^BVH_(ONDERZOEK|BESLAG|EXECUTIE)_(\d{8})\.csv$")
_BVO_NAME = re.compile(r"^BVO_EVENTS_(\d{8})T(\d{6})_(\d{6})\.jsonl\.gz$")
_COMPAS_NAME = re.compile(r"^COMPAS_VERDZAKEN_(\d{8})\.DAT$")
_GPS_NAME = re.compile(r"^GPS_VERDACHTEZAKEN_(\d{8})\.csv$")
_ENTITY = {"ONDERZOEK": "onderzoek", "BESLAG": "beslagobject", "EXECUTIE": "executiedossier"}
_CRIMINAL = ("art94", "art94a")


class TruthError(RuntimeError):
    """The generator wrote a file that breaks its own contract (a generator bug)."""


def _ymd(text: str) -> date:
    return date(int(text[:4]), int(text[4:6]), int(text[6:8]))


def _dmy(text: str) -> date | None:
    if not text:
        return None
    return date(int(text[6:10]), int(text[3:5]), int(text[0:2]))


def _iso(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _cents(text: str) -> int | None:
    """Dutch amount `1.234.567,89` -> cents; empty -> None."""
    if not text:
        return None
    value = Decimal(text.replace(".", "").replace(",", ".")) * 100
    if value != value.to_integral_value():
        raise TruthError(f"amount with more than two decimals: {text!r}")
    return int(value)


def _ams_date(timestamp: str) -> date:
    return datetime.fromisoformat(timestamp).astimezone(AMS).date()


@dataclass(frozen=True)
class Investigation:
    soort: str
    start: date | None
    einde: date | None
    interventie: str | None
    keyplayer: bool
    system: str


@dataclass(frozen=True)
class Seizure:
    grondslag: str
    beslagdatum: date | None
    waarde_cent: int | None
    system: str


@dataclass(frozen=True)
class Dossier:
    aangeboden: date | None
    kansrijk: bool
    resultaat: str | None
    system: str


def _latest(dates: tuple[date, ...], peil: date, before: date | None = None) -> date | None:
    found = None
    for d in dates:
        if d <= peil and (before is None or d < before):
            found = d
    return found


class TruthCollector:
    """Observes every written file (name + bytes) and computes the indicators from them."""

    def __init__(self, peildata: tuple[date, ...] = PEILDATA) -> None:
        self.peildata = peildata
        self._bvh_needed = {d for p in peildata if (d := _latest(BVH_DATES, p)) is not None}
        self._compas_needed: dict[date, set[str]] = defaultdict(set)
        for p in peildata:
            for parket in PARKET_CODES:
                d = _latest(COMPAS_DATES, p, GPS_VANAF[parket])
                if d is not None:
                    self._compas_needed[d].add(parket)
        self._bvh: dict[tuple[str, date], list[tuple]] = {}
        self._bvh_cache: dict[str, tuple] = {}
        # BVO: (id, version) -> (amsterdam date, op, entity, data subset); later arrival wins
        self._bvo: dict[tuple[str, int], tuple] = {}
        self._bvo_seen: set[str] = set()
        # COMPAS: snapshot date -> countable records (parketnummer, parket, instroom year)
        self._compas: dict[date, list[tuple[str, str, int]]] = {}
        # GPS rows, column-wise
        self._g_zaak: list[int] = []
        self._g_instant: list[int] = []
        self._g_file: list[int] = []
        self._g_row: list[int] = []
        self._g_day: list[int] = []
        self._g_year: list[int] = []
        self._g_cpn: list[int] = []
        self._cpn_ids: dict[str, int] = {}

    # --- reading ------------------------------------------------------------------------

    def observe(self, system: str, name: str, data: bytes) -> None:
        if system == "bvh":
            m = _BVH_NAME.match(name)
            if m and _ymd(m.group(2)) in self._bvh_needed:
                self._read_bvh(_ENTITY[m.group(1)], _ymd(m.group(2)), data, name)
        elif system == "bvo":
            if _BVO_NAME.match(name):
                self._read_bvo(data)
        elif system == "compas":
            m = _COMPAS_NAME.match(name)
            if m and _ymd(m.group(1)) in self._compas_needed:
                self._read_compas(_ymd(m.group(1)), data, name)
        elif system == "gps":
            m = _GPS_NAME.match(name)
            if m:
                self._read_gps(_ymd(m.group(1)), data, name)

    def _read_bvh(self, entity: str, day: date, data: bytes, name: str) -> None:
        lines = data.decode("cp1252").split("\r\n")
        if lines[-1] == "":
            lines.pop()
        header = next(csv.reader([lines[0]], delimiter=";"))
        trailer = lines[-1].split(";")
        rows = lines[1:-1]
        if trailer[0] != "#EINDE" or int(trailer[1]) != len(rows):
            raise TruthError(f"{name}: trailer does not match the records")
        cache = self._bvh_cache
        parsed = []
        total = 0
        for line in rows:
            rec = cache.get(line)
            if rec is None:
                fields = dict(zip(header, next(csv.reader([line], delimiter=";")), strict=True))
                rec = self._bvh_record(entity, fields)
                cache[line] = rec
            parsed.append(rec)
            if entity == "beslagobject":
                total += rec[1].waarde_cent or 0
        if entity == "beslagobject" and _cents(trailer[2]) != total:
            raise TruthError(f"{name}: control total does not match")
        self._bvh[(entity, day)] = parsed

    @staticmethod
    def _bvh_record(entity: str, f: dict[str, str]) -> tuple:
        if entity == "onderzoek":
            return (
                f["ONDERZOEKNUMMER"],
                Investigation(
                    SOORT[f["SOORT"]],
                    _dmy(f["STARTDATUM"]),
                    _dmy(f["EINDDATUM"]),
                    INTERVENTIE.get(f["INTERVENTIE"]),
                    f["KEYPLAYER"] == "J",
                    "bvh",
                ),
            )
        if entity == "beslagobject":
            return (
                f["BESLAGNUMMER"],
                Seizure(
                    GRONDSLAG[f["GRONDSLAG"]], _dmy(f["BESLAGDATUM"]), _cents(f["WAARDE"]), "bvh"
                ),
            )
        return (
            f["DOSSIERNUMMER"],
            Dossier(
                _dmy(f["AANGEBODEN"]), f["KANSRIJK"] == "J", RESULTAAT.get(f["RESULTAAT"]), "bvh"
            ),
        )

    def _read_bvo(self, data: bytes) -> None:
        for line in gzip.decompress(data).decode("utf-8").splitlines():
            event = json.loads(line)
            if event["event_id"] in self._bvo_seen:
                continue
            self._bvo_seen.add(event["event_id"])
            entity = event["entity"]
            d = event["data"]
            record: Investigation | Seizure | Dossier | None = None
            legacy = None
            if d is not None:
                legacy = d.get("legacy_bvh_nummer")
                if entity == "onderzoek":
                    record = Investigation(
                        d["soort"],
                        _iso(d["start"]),
                        _iso(d["einde"]),
                        d["interventie"],
                        d["keyplayer"],
                        "bvo",
                    )
                elif entity == "beslagobject":
                    record = Seizure(
                        d["grondslag"], _iso(d["beslagdatum"]), d["waarde_cent"], "bvo"
                    )
                else:
                    record = Dossier(_iso(d["aangeboden"]), d["kansrijk"], d["resultaat"], "bvo")
            key = (event["id"], event["version"])
            self._bvo[key] = (_ams_date(event["event_time"]), event["op"], entity, record, legacy)

    def _read_compas(self, day: date, data: bytes, name: str) -> None:
        lines = data.decode("latin-1").split("\n")
        if lines[-1] == "":
            lines.pop()
        if lines[0][0] != "0" or _ymd(lines[0][1:9]) != day or lines[-1][0] != "9":
            raise TruthError(f"{name}: bad header or trailer")
        rows = lines[1:-1]
        if int(lines[-1][1:10]) != len(rows):
            raise TruthError(f"{name}: trailer count does not match")
        wanted = self._compas_needed[day]
        kept = []
        for line in rows:
            if len(line) != 100:
                raise TruthError(f"{name}: record of length {len(line)}")
            parket = line[1:3]
            if (
                parket in wanted
                and line[82:88] == TRAFFICKING_FEITCODE
                and line[78:82].strip() in POLICE_INSTANTIES
                and line[99] == "N"
            ):
                kept.append((line[1:13], parket, int(line[70:74])))
        self._compas[day] = kept

    def _read_gps(self, day: date, data: bytes, name: str) -> None:
        text = data.decode("utf-8")
        if not text.startswith("\ufeff"):
            raise TruthError(f"{name}: no byte-order mark")
        reader = csv.reader(io.StringIO(text[1:], newline=""))
        header = next(reader)
        col = {c: i for i, c in enumerate(header)}
        file_ord = day.toordinal()
        ams_cache: dict[str, tuple[int, int]] = {}
        for row_no, row in enumerate(reader, start=2):
            ts = row[col["gewijzigd_op"]]
            moment = ams_cache.get(ts)
            if moment is None:
                dt = datetime.fromisoformat(ts)
                moment = (int(dt.timestamp()), dt.astimezone(AMS).date().toordinal())
                ams_cache[ts] = moment
            counted = (
                row[col["wetsartikel"]] == TRAFFICKING_WETSARTIKEL
                and row[col["aanleverende_instantie"]].startswith("politie:")
                and row[col["verwijderd"]] == "false"
            )
            cpn = row[col["compas_parketnummer"]]
            self._g_zaak.append(int(row[col["zaak_id"]]))
            self._g_instant.append(moment[0])
            self._g_file.append(file_ord)
            self._g_row.append(row_no)
            self._g_day.append(moment[1])
            self._g_year.append(int(row[col["instroomdatum"]][:4]) if counted else 0)
            self._g_cpn.append(self._cpn_ids.setdefault(cpn, len(self._cpn_ids)) if cpn else -1)

    # --- computing ----------------------------------------------------------------------

    def _police(self, peil: date) -> tuple[list[Investigation], list[Seizure], list[Dossier]]:
        by_record: dict[str, list[tuple[int, tuple]]] = defaultdict(list)
        for (rid, version), event in self._bvo.items():
            if event[0] <= peil:
                by_record[rid].append((version, event))
        replaced: dict[str, set[str]] = defaultdict(set)
        current: dict[str, list] = {"onderzoek": [], "beslagobject": [], "executiedossier": []}
        for events in by_record.values():
            events.sort(key=lambda item: item[0])
            _, (_, op, entity, record, _) = events[-1]
            legacy = next((e[4] for _, e in reversed(events) if e[1] != "delete"), None)
            if legacy:
                replaced[entity].add(legacy)
            if op != "delete":
                current[entity].append(record)
        for entity in current:
            snapshot = _latest(BVH_DATES, peil)
            if snapshot is None:
                continue
            gone = replaced[entity]
            current[entity].extend(
                rec for nummer, rec in self._bvh[(entity, snapshot)] if nummer not in gone
            )
        return current["onderzoek"], current["beslagobject"], current["executiedossier"]

    def _gps_order(self) -> None:
        self._gz = np.array(self._g_zaak, dtype=np.int64)
        self._gd = np.array(self._g_day, dtype=np.int64)
        self._gy = np.array(self._g_year, dtype=np.int64)
        self._gc = np.array(self._g_cpn, dtype=np.int64)
        self._order = np.lexsort(
            (
                np.array(self._g_row, dtype=np.int64),
                np.array(self._g_file, dtype=np.int64),
                np.array(self._g_instant, dtype=np.int64),
                self._gz,
            )
        )

    def _trafficking(self, peil: date, years: range) -> tuple[dict[int, int], dict[int, set[str]]]:
        counts = {y: 0 for y in years}
        systems: dict[int, set[str]] = {y: set() for y in years}
        order = self._order
        rows = order[self._gd[order] <= peil.toordinal()]
        zaak = self._gz[rows]
        last = np.ones(len(rows), dtype=bool)
        last[:-1] = zaak[1:] != zaak[:-1]
        state = rows[last]
        replaced_ids = set(self._gc[state][self._gc[state] >= 0].tolist())
        names = {i: n for n, i in self._cpn_ids.items()}
        replaced = {names[i] for i in replaced_ids}
        for year in self._gy[state].tolist():
            if year in counts:
                counts[year] += 1
                systems[year].add("gps")
        for parket in PARKET_CODES:
            snapshot = _latest(COMPAS_DATES, peil, GPS_VANAF[parket])
            if snapshot is None:
                continue
            for pn, p, year in self._compas[snapshot]:
                if p == parket and pn not in replaced and year in counts:
                    counts[year] += 1
                    systems[year].add("compas")
        return counts, systems

    def compute(self) -> dict[str, list[dict]]:
        self._gps_order()
        result = {}
        for peil in self.peildata:
            years = range(FIRST_REPORT_YEAR, peil.year + 1)
            investigations, seizures, dossiers = self._police(peil)
            trafficking, trafficking_systems = self._trafficking(peil, years)
            entries = []
            for year in years:
                figures = _police_figures(year, investigations, seizures, dossiers)
                figures["mensenhandel_verdachten"] = (
                    str(trafficking[year]),
                    _systems(trafficking_systems[year]),
                )
                for code in INDICATORS:
                    realisation, systems = figures[code]
                    entries.append(
                        {
                            "report_year": year,
                            "indicator_code": code,
                            "realisation": realisation,
                            "registration_systems": systems,
                        }
                    )
            result[peil.isoformat()] = entries
        return result


def _systems(found: set[str]) -> str | None:
    ordered = [s for s in ("bvh", "bvo", "compas", "gps") if s in found]
    return "+".join(ordered) if ordered else None


def _active(start: date | None, einde: date | None, year: int) -> bool:
    if start is None:
        return False
    return start <= date(year, 12, 31) and (einde is None or einde >= date(year, 1, 1))


def _closed(einde: date | None, year: int) -> bool:
    return einde is not None and einde.year == year


def percent(numerator: int, denominator: int) -> str | None:
    """Share x 100, one decimal, half away from zero on the exact quotient."""
    if denominator == 0:
        return None
    tenths = (Fraction(numerator * 1000, denominator) * 2 + 1) // 2  # floor(x + 1/2), x >= 0
    return f"{tenths // 10}.{tenths % 10}"


def euro(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(cents), 100)
    return f"{sign}{whole}.{rest:02d}"


def _police_figures(
    year: int, investigations: list[Investigation], seizures: list[Seizure], dossiers: list[Dossier]
) -> dict[str, tuple[str | None, str | None]]:
    def count(records: list) -> tuple[str, str | None]:
        return str(len(records)), _systems({r.system for r in records})

    inv = investigations
    csv_active = [
        i for i in inv if i.soort == "criminele_samenwerking" and _active(i.start, i.einde, year)
    ]
    cyb = [i for i in inv if i.soort == "cybercrime" and _closed(i.einde, year)]
    cybf = [i for i in inv if i.soort == "cybercrime_fenomeen" and _closed(i.einde, year)]
    cyber = cyb + cybf
    htc = [i for i in inv if i.soort == "high_tech_crime" and _active(i.start, i.einde, year)]
    oskm = [i for i in inv if i.soort == "oskm" and _closed(i.einde, year)]
    keyplayers = [
        i for i in inv if i.soort == "oskm" and i.keyplayer and _active(i.start, i.einde, year)
    ]
    criminal = [
        s
        for s in seizures
        if s.grondslag in _CRIMINAL and s.beslagdatum is not None and s.beslagdatum.year == year
    ]
    unvalued = [s for s in criminal if s.waarde_cent is None]
    promising = [
        d for d in dossiers if d.kansrijk and d.aangeboden is not None and d.aangeboden.year == year
    ]
    alternative = sum(1 for i in cyber if i.interventie == "alternatief")
    positive = sum(1 for d in promising if d.resultaat == "positief")
    return {
        "csv_onderzoeken": count(csv_active),
        "beslag_strafrechtelijk_eur": (
            euro(sum(s.waarde_cent or 0 for s in criminal)),
            _systems({s.system for s in criminal}),
        ),
        "beslag_ongewaardeerd": count(unvalued),
        "cybercrime_regulier": count(cyb),
        "cybercrime_fenomeen": count(cybf),
        "cybercrime_alternatief_pct": (
            percent(alternative, len(cyber)),
            _systems({i.system for i in cyber}),
        ),
        "high_tech_crime_onderzoeken": count(htc),
        "oskm_onderzoeken": count(oskm),
        "oskm_keyplayers": count(keyplayers),
        "executie_dossiers": count(promising),
        "executie_positief_pct": (
            percent(positive, len(promising)),
            _systems({d.system for d in promising}),
        ),
    }
