"""The OM half of the demo world: suspect-cases in COMPAS and, from a parket's move on, GPS.

A case is registered at its parket. Before the parket's move date it lives in COMPAS
(monthly full snapshots); the cases still open at the move are created in GPS with
`compas_parketnummer`, and every later change is a GPS row. Cases registered after the
move exist only in GPS (daily delta files).
"""

from __future__ import annotations

import random
from bisect import bisect_left
from collections.abc import Callable
from datetime import date

import numpy as np

from .codes import (
    AFDOENING_WEIGHTS,
    AFDOENINGEN,
    COMPAS_DATES,
    FEITCODES,
    GPS_VANAF,
    INSTANTIES,
    LAST_DELIVERY,
    OTHER_FEITEN,
    PARKET_CODES,
    PARKET_UNIT,
    PARKET_WEIGHTS,
    TRAFFICKING_FEITCODE,
    UNIT_CODES,
)
from .landing import Landing
from .people import People, make_people
from .timeutil import LOCAL, UTC00, compact_day, day_of, fmt_ts, iso_day, lsec

FIRST_DAY = date(2018, 7, 1).toordinal()
LAST_DAY = LAST_DELIVERY.toordinal()
COMPAS_ORDS = [d.toordinal() for d in COMPAS_DATES]
_AFD_CODES = tuple(AFDOENINGEN)
_OTHER_CODES = tuple(c for c, _ in OTHER_FEITEN)
_OTHER_WEIGHTS = tuple(w for _, w in OTHER_FEITEN)
_NON_POLICE = (("KMAR", 4.0), ("FIOD", 2.5), ("NVWA", 1.5), ("ILT", 1.0), ("OVRG", 5.0))
_NON_POLICE_CODES = tuple(c for c, _ in _NON_POLICE)
_NON_POLICE_P = np.array([w for _, w in _NON_POLICE]) / sum(w for _, w in _NON_POLICE)
_FEIT_P = np.array(_OTHER_WEIGHTS) / sum(_OTHER_WEIGHTS)
_AFD_P = np.array(AFDOENING_WEIGHTS) / sum(AFDOENING_WEIGHTS)
_PARKET_P = np.array(PARKET_WEIGHTS) / sum(PARKET_WEIGHTS)
# trafficking suspect-cases delivered by a police unit per inflow year, at scale 1
_TRAFFICKING = {2018: 95, 2019: 196, 2020: 181, 2021: 212, 2022: 187, 2023: 206}
_CASES_PER_YEAR = 40_000
GPS_HEADER = (
    "zaak_id,parketnummer,compas_parketnummer,verdachte_bsn,verdachte_geboortedatum,"
    "verdachte_achternaam,instroomdatum,aanleverende_instantie,wetsartikel,afdoening,"
    "afdoeningsdatum,gewijzigd_op,verwijderd"
)


def _scaled(base: float, scale: float, minimum: int) -> int:
    return max(minimum, round(base * scale))


class Case:
    __slots__ = (
        "parket",
        "person",
        "instroom",
        "reg",
        "instantie",
        "feit",
        "afd",
        "afd_day",
        "afd_reg",
        "void_day",
        "removed_day",
        "compas_pn",
        "gps_pn",
        "zaak_id",
        "migrated",
        "rows",
        "trap",
    )

    def __init__(
        self, parket: str, person: int, instroom: int, reg: int, instantie: str, feit: str
    ):
        self.parket = parket
        self.person = person
        self.instroom = instroom
        self.reg = reg
        self.instantie = instantie
        self.feit = feit
        self.afd: str | None = None
        self.afd_day = 0
        self.afd_reg = 0
        self.void_day: int | None = None
        self.removed_day: int | None = None
        self.compas_pn = ""
        self.gps_pn = ""
        self.zaak_id = 0
        self.migrated = False
        # GPS rows: (moment, style, position, changes)
        self.rows: list[tuple[int, int, tuple[int, int], dict]] = []
        self.trap = ""


class OmWorld:
    def __init__(self, scale: float, seed: int) -> None:
        self.scale = scale
        self.r = random.Random(seed * 7 + 2)
        self.g = np.random.default_rng([seed, 2])
        n_people = _scaled(_CASES_PER_YEAR * 5.5 * 0.7, scale, 200)
        self.people: People = make_people(np.random.default_rng([seed, 3]), n_people)
        self.cases: list[Case] = []
        self._position = 0

    # --- world -------------------------------------------------------------------------

    def build(self) -> None:
        g, scale = self.g, self.scale
        n_people = len(self.people.bsn)
        cases: list[Case] = []
        for year in range(2018, 2024):
            first = max(FIRST_DAY, date(year, 1, 1).toordinal())
            last = date(year, 12, 31).toordinal()
            days = np.arange(first, last + 1)
            weights = np.where((days + 6) % 7 >= 5, 0.35, 1.0)  # weekends quieter
            weights /= weights.sum()
            share = (last - first + 1) / 365
            n = _scaled(_CASES_PER_YEAR * share, scale, 60)
            n_traf = _scaled(_TRAFFICKING[year], scale, 5)
            n_kmar = max(1, round(0.07 * n_traf))
            total = n + n_traf + n_kmar
            instroom = g.choice(days, size=total, p=weights)
            parket = g.choice(len(PARKET_CODES), size=total, p=_PARKET_P)
            persons = g.integers(0, n_people, size=total).tolist()
            feit = g.choice(len(_OTHER_CODES), size=total, p=_FEIT_P)
            # instantie: police 86% (mostly the unit of the parket's region), others 14%
            x = g.random(total)
            y = g.random(total)
            any_unit = g.integers(0, len(UNIT_CODES), size=total)
            non_police = g.choice(len(_NON_POLICE_CODES), size=total, p=_NON_POLICE_P)
            reg_lag = np.where(g.random(total) < 0.5, 0, g.integers(1, 5, size=total))
            has_afd = g.random(total) < 0.85
            afd_code = g.choice(len(_AFD_CODES), size=total, p=_AFD_P)
            afd_lag = np.maximum(5, g.lognormal(np.log(90), 0.8, size=total)).astype(np.int64)
            afd_reg_lag = g.integers(0, 4, size=total)
            fate = g.random(total)
            fate_lag = g.integers(5, 201, size=total)
            columns = zip(
                instroom.tolist(),
                parket.tolist(),
                feit.tolist(),
                x.tolist(),
                y.tolist(),
                any_unit.tolist(),
                non_police.tolist(),
                reg_lag.tolist(),
                has_afd.tolist(),
                afd_code.tolist(),
                afd_lag.tolist(),
                afd_reg_lag.tolist(),
                fate.tolist(),
                fate_lag.tolist(),
                strict=True,
            )
            for i, (day, pk, ft, xi, yi, au, npi, lag, afd, ac, al, arl, fa, fl) in enumerate(
                columns
            ):
                p = PARKET_CODES[pk]
                if i < n:
                    feit_code = _OTHER_CODES[ft]
                    if xi < 0.86:
                        inst = (
                            PARKET_UNIT[p] if yi < 0.8 else "PL11" if yi < 0.88 else UNIT_CODES[au]
                        )
                    else:
                        inst = _NON_POLICE_CODES[npi]
                elif i < n + n_traf:
                    feit_code = TRAFFICKING_FEITCODE
                    inst = PARKET_UNIT[p] if yi < 0.85 else "PL11"
                else:
                    feit_code = TRAFFICKING_FEITCODE
                    inst = "KMAR"
                reg = day + lag
                if reg > LAST_DAY:
                    continue  # registered after the last delivery: not in the world yet
                case = Case(p, persons[i], day, reg, inst, feit_code)
                if afd:
                    case.afd = _AFD_CODES[ac]
                    case.afd_day = day + al
                    case.afd_reg = case.afd_day + arl
                if fa < 0.005:
                    case.void_day = reg + fl
                elif fa < 0.009:
                    first_snap = COMPAS_ORDS[
                        min(bisect_left(COMPAS_ORDS, reg), len(COMPAS_ORDS) - 1)
                    ]
                    case.removed_day = max(reg, first_snap) + fl
                cases.append(case)
        cases.extend(self._planted_late_cases())
        cases.sort(key=lambda c: (c.reg, c.parket))
        self.cases = cases
        self._guarantee_quirks()
        self._number_and_split()

    def _planted_late_cases(self) -> list[Case]:
        """Trafficking cases planted for the traps around peildata and system changes."""
        # registered 00:20 local the day after a peildatum, on a parket already on GPS
        planted = []
        for peil in (date(2020, 6, 30), date(2021, 3, 15), date(2022, 6, 30), date(2023, 2, 15)):
            p = peil.toordinal()
            case = Case("18", 5 + p % 40, p, p + 1, "PL01", TRAFFICKING_FEITCODE)
            case.trap = "midnight"
            planted.append(case)
        # One trafficking case a year on a parket that stays on COMPAS until 2022, decided
        # within a month (so never migrated): every such year has a COMPAS figure.
        for year in (2019, 2020, 2021):
            d = date(year, 5, 15).toordinal()
            case = Case("96", 7 + year % 40, d, d, "PL11", TRAFFICKING_FEITCODE)
            case.afd, case.afd_day, case.afd_reg = "DAG", d + 30, d + 31
            case.trap = "anchor"
            planted.append(case)
        return planted

    def _guarantee_quirks(self) -> None:
        """Voided and removed cases in COMPAS, removed cases in GPS, at any scale."""
        r = self.r
        compas = [
            c
            for c in self.cases
            if c.reg < GPS_VANAF[c.parket].toordinal() - 100
            and c.reg < COMPAS_ORDS[-1] - 100
            and not c.trap
        ]
        trafficking = [
            c for c in compas if c.feit == TRAFFICKING_FEITCODE and c.instantie != "KMAR"
        ]
        for case in r.sample(trafficking, 1) + r.sample(compas, 2):
            case.void_day = case.reg + 35
            case.removed_day = None
        for case in r.sample(compas, 2):
            if case.void_day is None:
                first_snap = COMPAS_ORDS[bisect_left(COMPAS_ORDS, case.reg)]
                case.removed_day = first_snap + 20
        gps = [
            c
            for c in self.cases
            if c.reg >= GPS_VANAF[c.parket].toordinal()
            and c.feit == TRAFFICKING_FEITCODE
            and c.instantie != "KMAR"
            and not c.trap
            and c.reg < LAST_DAY - 60
        ]
        tie, trap, removed = r.sample(gps, 3)
        tie.trap = "tie"
        trap.trap = "instant"
        removed.void_day = None
        removed.removed_day = removed.reg + 30

    def _number_and_split(self) -> None:
        r = self.r
        compas_serial: dict[tuple[str, int], int] = {}
        gps_serial: dict[tuple[str, int], int] = {}
        zaak_id = 1_000_000

        def gps_number(parket: str, year: int) -> str:
            key = (parket, year)
            gps_serial[key] = gps_serial.get(key, 0) + 1
            return f"{parket}/{600000 + gps_serial[key]:06d}-{year % 100:02d}"

        migrations: list[Case] = []
        for case in self.cases:
            move = GPS_VANAF[case.parket].toordinal()
            year = date.fromordinal(case.instroom).year
            if case.reg < move:
                key = (case.parket, year)
                compas_serial[key] = compas_serial.get(key, 0) + 1
                case.compas_pn = f"{case.parket}/{100000 + compas_serial[key]:06d}-{year % 100:02d}"
                closed = (
                    (case.afd is not None and case.afd_reg < move)
                    or (case.void_day is not None and case.void_day < move)
                    or (case.removed_day is not None and case.removed_day < move)
                )
                case.migrated = not closed
                if case.migrated:
                    migrations.append(case)
            else:
                case.gps_pn = gps_number(case.parket, year)
        # migrated cases get their GPS identity on the move date, parket by parket
        for case in sorted(migrations, key=lambda c: (GPS_VANAF[c.parket], c.reg)):
            move_year = GPS_VANAF[case.parket].year
            case.gps_pn = (
                gps_number(case.parket, move_year) if r.random() < 0.12 else case.compas_pn
            )
        for case in sorted(
            (c for c in self.cases if c.gps_pn),
            key=lambda c: (GPS_VANAF[c.parket].toordinal() if c.migrated else c.reg, c.parket),
        ):
            zaak_id += 1
            case.zaak_id = zaak_id
            self._gps_rows(case)

    def _style(self) -> int:
        return LOCAL if self.r.random() < 0.95 else UTC00

    def _moment(self, day: int) -> tuple[int, int]:
        """A moment on `day`, now and then just after midnight, and its written style."""
        r = self.r
        if r.random() < 0.01:
            return lsec(day, r.randint(300, 3300)), (UTC00 if r.random() < 0.5 else LOCAL)
        return lsec(day, r.randint(7 * 3600, 19 * 3600 + 3599)), self._style()

    def _add(
        self, case: Case, moment: int, style: int, changes: dict, position: int | None = None
    ) -> None:
        self._position += 1
        pos = moment if position is None else position
        case.rows.append((moment, style, (pos, self._position), changes))

    def _gps_rows(self, case: Case) -> None:
        r = self.r
        move = GPS_VANAF[case.parket].toordinal()
        if case.migrated:
            created = lsec(move, r.randint(3600, 6 * 3600 - 1))
            style = self._style()
        elif case.trap == "midnight":
            created, style = lsec(case.reg, 20 * 60), UTC00
        else:
            created, style = self._moment(case.reg)
        end = lsec(LAST_DAY + 1)
        base: dict = {"afdoening": "", "afdoeningsdatum": "", "verwijderd": "false"}
        if case.trap == "tie":
            created = lsec(case.reg, 15 * 3600 + 4 * 60 + 33)
            self._add(case, created, LOCAL, dict(base))
            # same instant, same text; the later row corrects the instantie: it wins
            self._add(case, created, LOCAL, dict(base, instantie="kmar"))
            base["instantie"] = "kmar"
        elif case.trap == "instant":
            created = lsec(case.reg, 14 * 3600 + 10 * 60)
            removal = created + 20 * 60
            # the removal is later as an instant, but written in UTC (a smaller string)
            # and placed above the create row in the file
            self._add(case, removal, UTC00, dict(base, verwijderd="true"), position=created - 1)
            self._add(case, created, LOCAL, dict(base))
            return
        elif (
            not case.migrated
            and r.random() < 0.03
            and self.people.bsn[case.person]
            and case.trap != "midnight"
        ):
            # created without BSN, completed the same day: several rows in one file
            self._add(case, created, style, dict(base, bsn=""))
            created += r.randint(300, 3600)
            self._add(case, created, style, dict(base))
        else:
            self._add(case, created, style, dict(base))
        gone = [d for d in (case.void_day, case.removed_day) if d is not None and d >= move]
        gone_day = min(gone) if gone else None
        decided = case.afd is not None and case.afd_reg >= (move if case.migrated else case.reg)
        if case.afd is not None and decided and (gone_day is None or case.afd_reg < gone_day):
            moment, style = self._moment(max(case.afd_reg, day_of(created) + 1))
            if moment < end:
                base = dict(
                    base,
                    afdoening=AFDOENINGEN[case.afd],
                    afdoeningsdatum=iso_day(case.afd_day),
                )
                self._add(case, moment, style, dict(base))
        if gone_day is not None:
            last = day_of(case.rows[-1][0])
            moment, style = self._moment(max(gone_day, last + 1))
            if moment < end:
                self._add(case, moment, style, dict(base, verwijderd="true"))

    # --- COMPAS ------------------------------------------------------------------------

    def _compas_line(self, case: Case, afd: bool, voided: bool) -> str:
        people = self.people
        p = case.person
        line = (
            f"1{case.compas_pn}{people.bsn[p]:<9}{people.birth_compact[p]}"
            f"{people.surname[p]:<40}{compact_day(case.instroom)}{case.instantie:<4}{case.feit}"
            f"{case.afd if afd else '':<3}{compact_day(case.afd_day) if afd else '':<8}"
            f"{'J' if voided else 'N'}"
        )
        assert len(line) == 100, line
        return line

    def write_compas(self, landing: Landing, progress: Callable[[str], None] | None) -> None:
        n_snap = len(COMPAS_ORDS)
        events: list[list[tuple[int, str | None]]] = [[] for _ in range(n_snap + 1)]
        for i, case in enumerate(self.cases):
            if not case.compas_pn:
                continue
            move = GPS_VANAF[case.parket].toordinal()
            stop = bisect_left(COMPAS_ORDS, move)
            if case.removed_day is not None:
                stop = min(stop, bisect_left(COMPAS_ORDS, case.removed_day))
            start = bisect_left(COMPAS_ORDS, case.reg)
            if start >= stop:
                continue
            afd_reg = case.afd_reg if case.afd is not None and case.afd_reg < move else None
            void_day = case.void_day if case.void_day is not None and case.void_day < move else None
            days = sorted({d for d in (case.reg, afd_reg, void_day) if d is not None})
            for day in days:
                s = max(start, bisect_left(COMPAS_ORDS, day))
                if s < stop:
                    afd = afd_reg is not None and afd_reg <= day
                    voided = void_day is not None and void_day <= day
                    events[s].append((i, self._compas_line(case, afd, voided)))
            events[stop].append((i, None))
        current: dict[int, str] = {}
        for s, extracted in enumerate(COMPAS_DATES):
            for i, line in events[s]:
                if line is None:
                    current.pop(i, None)
                else:
                    current[i] = line
            stamp = f"{extracted:%Y%m%d}"
            text = "\n".join(
                (f"0{stamp}".ljust(100), *current.values(), f"9{len(current):09d}".ljust(100))
            )
            landing.write(
                "compas",
                f"COMPAS_VERDZAKEN_{stamp}.DAT",
                (text + "\n").encode("latin-1"),
                extracted,
            )
        if progress:
            progress(f"compas: {len(COMPAS_DATES)} files")

    # --- GPS ---------------------------------------------------------------------------

    def write_gps(self, landing: Landing, progress: Callable[[str], None] | None) -> None:
        people = self.people
        by_day: dict[int, list[tuple[tuple[int, int], str]]] = {}
        for case in self.cases:
            if not case.rows:
                continue
            p = case.person
            surname = people.surname[p]
            if "," in surname or '"' in surname:
                surname = '"' + surname.replace('"', '""') + '"'
            static = {
                "bsn": people.bsn[p],
                "instantie": INSTANTIES[case.instantie],
            }
            for moment, style, position, changes in case.rows:
                row = dict(static, **changes)
                line = ",".join(
                    (
                        str(case.zaak_id),
                        case.gps_pn,
                        case.compas_pn if case.migrated else "",
                        row["bsn"],
                        people.birth_iso[p],
                        surname,
                        iso_day(case.instroom),
                        row["instantie"],
                        FEITCODES[case.feit],
                        row["afdoening"],
                        row["afdoeningsdatum"],
                        fmt_ts(moment, style),
                        row["verwijderd"],
                    )
                )
                by_day.setdefault(day_of(moment), []).append((position, line))
        for day in sorted(by_day):
            rows = by_day[day]
            rows.sort()
            text = "\ufeff" + GPS_HEADER + "\n" + "".join(line + "\n" for _, line in rows)
            d = date.fromordinal(day)
            landing.write("gps", f"GPS_VERDACHTEZAKEN_{d:%Y%m%d}.csv", text.encode("utf-8"), d)
        if progress:
            progress(f"gps: {len(by_day)} files")


def generate(
    landing: Landing, scale: float, seed: int, progress: Callable[[str], None] | None
) -> None:
    world = OmWorld(scale, seed)
    world.build()
    world.write_compas(landing, progress)
    world.write_gps(landing, progress)
