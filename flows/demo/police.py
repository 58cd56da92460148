"""The police half of the demo world: investigations, seizures and execution dossiers.

Every record lives as a list of versions (moment of the change in the source, state
after it). Records registered before 2022-04-01 live in BVH and appear in its quarterly
snapshots; the ones still open on 2022-03-31 are migrated into BVO on 2022-04-01 and
change there from then on. Records registered from 2022-04-01 exist only in BVO.
"""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from datetime import date

import numpy as np

from .codes import (
    BVH_DATES,
    GRONDSLAG_BVH,
    INTERVENTIE_BVH,
    LAST_BVH,
    LAST_DELIVERY,
    MIGRATION_DATE,
    OBJECTSOORT_BVH,
    RESULTAAT_BVH,
    SOORT_BVH,
    UNIT_CODES,
    UNIT_WEIGHTS,
    UNITS,
)
from .landing import Landing, gzip_bytes
from .timeutil import (
    DAY,
    LOCAL,
    UTC00,
    ZULU,
    day_of,
    dmy_day,
    fmt_ts,
    iso_day,
    lsec,
    name_stamp,
)

MIG = lsec(MIGRATION_DATE.toordinal())  # 2022-04-01 00:00 local: BVH's world ends here
MIG_DAY = MIGRATION_DATE.toordinal()
LAST_DAY = LAST_DELIVERY.toordinal()
# The last BVO delivery is cut off on Sunday 2023-12-31 at 23:00; nothing happens later.
WORLD_END = lsec(LAST_DAY, 22 * 3600 + 59 * 60)

ONDERZOEK = "onderzoek"
BESLAG = "beslagobject"
EXECUTIE = "executiedossier"

# (soort, first start year, starts per year at scale 1, median duration in days, sigma,
#  share targeting a key player)
_KINDS: tuple[tuple[str, int, dict[int, float], float, float, float], ...] = (
    (
        "criminele_samenwerking",
        2016,
        {2016: 600, 2017: 650, 2018: 680, 2019: 690, 2020: 700, 2021: 705, 2022: 712, 2023: 720},
        420,
        0.6,
        0.12,
    ),
    (
        "cybercrime",
        2017,
        {2017: 310, 2018: 315, 2019: 318, 2020: 330, 2021: 322, 2022: 330, 2023: 325},
        230,
        0.5,
        0.03,
    ),
    (
        "cybercrime_fenomeen",
        2017,
        {2017: 42, 2018: 43, 2019: 43, 2020: 44, 2021: 44, 2022: 45, 2023: 44},
        200,
        0.5,
        0.0,
    ),
    (
        "high_tech_crime",
        2016,
        {y: 8 for y in range(2016, 2024)},
        650,
        0.45,
        0.1,
    ),
    (
        "oskm",
        2017,
        {2017: 480, 2018: 490, 2019: 495, 2020: 505, 2021: 500, 2022: 502, 2023: 498},
        120,
        0.6,
        0.0,
    ),
    ("oskm", 2016, {y: 7 for y in range(2016, 2024)}, 520, 0.4, 1.0),  # key players
    ("mensenhandel", 2017, {y: 160 for y in range(2017, 2024)}, 360, 0.6, 0.08),
    ("overig", 2017, {y: 900 for y in range(2017, 2024)}, 150, 0.7, 0.02),
)

_SEIZURES_PER_YEAR = {
    2018: 7_200,
    2019: 14_600,
    2020: 15_100,
    2021: 15_400,
    2022: 15_000,
    2023: 15_300,
}
# Final (eventually valued) criminal-law value per seizure year, in euro at scale 1.
_CRIMINAL_VALUE = {
    2018: 72e6,
    2019: 147e6,
    2020: 160e6,
    2021: 166e6,
    2022: 163e6,
    2023: 168e6,
}
_GRONDSLAGEN = (("art94", 56), ("art94a", 14), ("bestuursrechtelijk", 19), ("fiscaal", 11))
_OBJECT_MIX = {
    "art94": (42, 28, 3, 5, 22),
    "art94a": (30, 25, 15, 8, 22),
    "bestuursrechtelijk": (30, 30, 0, 0, 40),
    "fiscaal": (50, 30, 5, 0, 15),
}
_OBJECTS = ("contant_geld", "voertuig", "onroerend_goed", "cryptovaluta", "overig")
# median euro, sigma, rounding unit in cents, share valued at registration
_VALUE_MODEL = {
    "contant_geld": (1_800, 1.4, 1, 0.75),
    "voertuig": (7_500, 0.9, 5_000, 0.30),
    "onroerend_goed": (320_000, 0.7, 100_000, 0.05),
    "cryptovaluta": (4_000, 1.8, 1, 0.20),
    "overig": (350, 1.2, 100, 0.40),
}

# promising dossiers per year (scale 1) and their share with a positive result
_EXECUTIE = {
    2018: (30, 0.5),
    2019: (31, 0.55),
    2020: (24, 0.45),
    2021: (28, 0.7),
    2022: (26, 1.0),
    2023: (22, 0.6),
}

_CITIES = (
    "Amsterdam",
    "Rotterdam",
    "’s-Hertogenbosch",
    "Den Haag",
    "Utrecht",
    "Eindhoven",
    "Groningen",
    "Maastricht",
    "Zwolle",
    "Tilburg",
    "Almere",
    "Roermond",
    "Leeuwarden",
    "Enschede",
    "Hoogezand-Sappemeer",
)
_STREETS = (
    "Kerkstraat",
    "Dorpsstraat",
    "Hoofdweg",
    "Stationsplein",
    "Molenweg",
    "Prinsengracht",
    "Coolsingel",
    "Wilhelminastraat",
    "Julianalaan",
    "Breestraat",
)
_BRANDS = (
    ("Audi", "A4"),
    ("BMW", "3-serie"),
    ("Mercedes-Benz", "C-klasse"),
    ("Volkswagen", "Golf"),
    ("Renault", "Clio"),
    ("Peugeot", "308"),
    ("Škoda", "Octavia"),
    ("Citroën", "C4"),
)
_DESCRIPTIONS: dict[str, tuple[str, ...]] = {
    "contant_geld": (
        "Contant geld € {amount}",
        "Bankbiljetten in envelop; diverse coupures",
        "Contant geld aangetroffen in “kluis” slaapkamer",
        "Geldbedrag in sporttas – coupures van € 50",
        "Contant geld, {n} biljetten van € 100",
        "Contant geld",
    ),
    "voertuig": (
        "Personenauto {brand} {model}, kenteken {plate}",
        "Motorfiets {brand} – kenteken {plate}",
        "Bestelbus {brand}; kenteken {plate}",
        'Scooter {brand} "{model}"',
        "Personenauto {brand} {model} (geïmporteerd)",
    ),
    "onroerend_goed": (
        "Woning {street} {n}, {city}",
        "Bedrijfspand – {street} {n} te {city}",
        "Appartement; {street} {n}, {city}",
        "Recreatiewoning “De Reiger” te {city}",
    ),
    "cryptovaluta": (
        "Hardware wallet – Ledger",
        "Cryptovaluta: {n} BTC op “cold wallet”",
        "USB-stick met seed phrase; 24 woorden",
        "Cryptovaluta (Monero/Bitcoin) – privé sleutels",
    ),
    "overig": (
        "Horloge Rolex “Submariner”",
        'Telefoon Samsung "Galaxy S21"; inclusief hoesje',
        "Sieraden: gouden ketting, ring – geschat",
        "Laptop HP; café-inventaris",
        "Schilderij ‘Zeegezicht’ – olieverf",
        "Kledingstukken (coöperatie-logo)",
        'Weegschaal "Tanita"; drugsgerelateerd',
        "Designertas, privé-eigendom verdachte",
    ),
}
# Descriptions of the very first seizures, so every text quirk occurs at any scale.
_QUIRK_DESCRIPTIONS = (
    'Telefoon Samsung "Galaxy S21"; inclusief hoesje',
    "Contant geld € 1.250 – “kluis” in café",
    "Schilderij ‘Zeegezicht’; coöperatie Hoëvenaar",
)


def scaled(base: float, scale: float, minimum: int) -> int:
    return max(minimum, round(base * scale))


def _business_time(r: random.Random) -> int:
    return r.randint(7 * 3600, 19 * 3600 + 3599)


class Rec:
    """One police record with its versions: [moment, state, style, BVH line]."""

    __slots__ = (
        "entity",
        "created",
        "versions",
        "removed",
        "deleted",
        "end_day",
        "bvh_nummer",
        "bvo_id",
        "bvo_nummer",
        "migrated",
        "link",
        "protected",
        "mig_time",
    )

    def __init__(self, entity: str, created: int, state: dict) -> None:
        self.entity = entity
        self.created = created
        self.versions: list[list] = [[created, state, None, None]]
        self.removed: int | None = None  # removed from BVH at this moment
        self.deleted: int | None = None  # deleted in BVO at this moment
        self.end_day: int | None = None
        self.bvh_nummer: str | None = None
        self.bvo_id: str | None = None
        self.bvo_nummer: str | None = None
        self.migrated = False
        self.link: Rec | None = None
        self.protected = False  # never removed or deleted (keeps planted figures exact)
        self.mig_time = 0

    def change(self, moment: int, style: int | None = None, **changes: object) -> None:
        state = dict(self.versions[-1][1])
        state.update(changes)
        self.versions.append([moment, state, style, None])

    def last_change(self) -> int:
        return self.versions[-1][0]

    def state_before(self, cut: int) -> dict | None:
        found = None
        for version in self.versions:
            if version[0] < cut:
                found = version[1]
            else:
                break
        return found


class PoliceWorld:
    def __init__(self, scale: float, seed: int) -> None:
        self.scale = scale
        self.r = random.Random(seed * 7 + 1)
        self.g = np.random.default_rng([seed, 1])
        self.onderzoeken: list[Rec] = []
        self.beslag: list[Rec] = []
        self.executie: list[Rec] = []
        self._uuids: set[str] = set()

    # --- helpers -----------------------------------------------------------------------

    def _unit(self) -> str:
        return self.r.choices(UNIT_CODES, UNIT_WEIGHTS)[0]

    def _uuid(self) -> str:
        while True:
            value = str(uuid.UUID(int=self.r.getrandbits(128), version=4))
            if value not in self._uuids:
                self._uuids.add(value)
                return value

    # --- investigations ----------------------------------------------------------------

    def build_onderzoeken(self) -> None:
        r, g, scale = self.r, self.g, self.scale
        recs: list[Rec] = []
        for soort, first_year, per_year, median, sigma, kp_share in _KINDS:
            cyber = soort in ("cybercrime", "cybercrime_fenomeen")
            for year in range(first_year, 2024):
                n = scaled(per_year[year], scale, 2 if kp_share < 1 else 1)
                jan1 = date(year, 1, 1).toordinal()
                days_in_year = date(year, 12, 31).toordinal() - jan1 + 1
                starts = g.integers(0, days_in_year, size=n) + jan1
                durations = np.maximum(14, g.lognormal(np.log(median), sigma, size=n)).astype(int)
                for start, duration in zip(starts.tolist(), durations.tolist(), strict=True):
                    created = lsec(start + r.choice((0, 0, 1, 2, 3, 5, 8)), _business_time(r))
                    if created > WORLD_END:
                        continue
                    state = {
                        "eenheid": self._unit(),
                        "soort": soort,
                        "start": start,
                        "einde": None,
                        "interventie": None,
                        "keyplayer": r.random() < kp_share,
                    }
                    rec = Rec(ONDERZOEK, created, state)
                    end = start + duration
                    closed = lsec(end + r.randint(0, 20), _business_time(r))
                    if closed <= created:
                        closed = created + DAY
                    if r.random() < 0.04:  # transfer to another unit midway
                        last = min(closed, WORLD_END)
                        if last - created > 3 * DAY:
                            moment = r.randint(created + DAY, last - DAY)
                            rec.change(moment, eenheid=self._unit())
                    if closed <= WORLD_END:
                        x = r.random()
                        if cyber:
                            interventie = (
                                "alternatief"
                                if x < 0.30
                                else "strafrechtelijk"
                                if x < 0.92
                                else None
                            )
                        else:
                            interventie = (
                                "strafrechtelijk"
                                if x < 0.85
                                else "alternatief"
                                if x < 0.93
                                else None
                            )
                        rec.change(closed, einde=end, interventie=interventie)
                        rec.end_day = end
                    recs.append(rec)
        # Investigations whose start date is unknown (BVH only, closed before the move).
        candidates = [
            rec
            for rec in recs
            if rec.versions[0][1]["soort"] == "criminele_samenwerking"
            and rec.end_day is not None
            and date(2019, 1, 1).toordinal() <= rec.end_day <= date(2020, 12, 31).toordinal()
            and rec.created < lsec(date(2019, 1, 1).toordinal())
            and rec.last_change() < MIG
        ]
        for rec in r.sample(candidates, min(len(candidates), scaled(4, scale, 2))):
            for version in rec.versions:
                version[1]["start"] = None
        self.onderzoeken = recs
        self._plant_onderzoeken()
        self._remove_some(self.onderzoeken, 0.004, 2)

    def _plant_onderzoeken(self) -> None:
        """Cyber investigations closed on a peildatum but registered just after midnight."""
        r = self.r
        for peil in (date(2022, 6, 30), date(2023, 2, 15)):
            p = peil.toordinal()
            rec = Rec(
                ONDERZOEK,
                lsec(p - 200, _business_time(r)),
                {
                    "eenheid": "PL11",
                    "soort": "cybercrime",
                    "start": p - 200,
                    "einde": None,
                    "interventie": None,
                    "keyplayer": False,
                },
            )
            # 00:40 local the next day, written with its local offset: its UTC date is P.
            rec.change(lsec(p + 1, 40 * 60), LOCAL, einde=p, interventie="alternatief")
            rec.end_day = p
            rec.protected = True
            self.onderzoeken.append(rec)

    def _remove_some(self, recs: list[Rec], share: float, minimum: int) -> None:
        """Remove some BVH records between two snapshots (they vanish from later ones)."""
        r = self.r
        last_cut = lsec(LAST_BVH.toordinal() + 1)
        candidates = [
            rec
            for rec in recs
            if not rec.protected and rec.created < lsec(date(2021, 12, 1).toordinal())
        ]
        cuts = [lsec(d.toordinal() + 1) for d in BVH_DATES]
        n = min(len(candidates), max(minimum, round(share * len(candidates))))
        for rec in r.sample(candidates, n):
            # after the first snapshot that holds it, so it is in one and missing later
            first_in = cuts[bisect_right(cuts, rec.created)]
            rec.removed = r.randint(first_in + DAY, last_cut - DAY)

    # --- seizures ----------------------------------------------------------------------

    def build_beslag(self) -> None:
        r, g, scale = self.r, self.g, self.scale
        by_unit: dict[str, list[tuple[int, int, Rec]]] = {u: [] for u in UNIT_CODES}
        for i, rec in enumerate(self.onderzoeken):
            start = rec.versions[0][1]["start"]
            if start is not None and rec.removed is None and not rec.protected:
                by_unit[rec.versions[0][1]["eenheid"]].append((start, i, rec))
        for lst in by_unit.values():
            lst.sort(key=lambda item: (item[0], item[1]))
        starts_by_unit = {u: [item[0] for item in lst] for u, lst in by_unit.items()}

        recs: list[Rec] = []
        for year, base in _SEIZURES_PER_YEAR.items():
            n = scaled(base, scale, 40)
            first = date(year, 7 if year == 2018 else 1, 1).toordinal()
            last = date(year, 12, 31).toordinal()
            days = (g.integers(0, last - first + 1, size=n) + first).tolist()
            days.sort()
            grondslag = r.choices([x[0] for x in _GRONDSLAGEN], [x[1] for x in _GRONDSLAGEN], k=n)
            objects = [r.choices(_OBJECTS, _OBJECT_MIX[gs])[0] for gs in grondslag]
            values = np.zeros(n)
            for obj, (median, sigma, _, _) in _VALUE_MODEL.items():
                mask = np.array([o == obj for o in objects], dtype=bool)
                values[mask] = g.lognormal(np.log(median), sigma, size=int(mask.sum()))
            criminal = np.array([gs in ("art94", "art94a") for gs in grondslag], dtype=bool)
            # one large real-estate seizure per year, so amounts > 1,000,000 always occur
            big = int(np.flatnonzero(criminal)[0]) if criminal.any() else 0
            objects[big] = "onroerend_goed"
            big_value = float(r.randint(1_250_000, 3_800_000))
            target = _CRIMINAL_VALUE[year] * scale - big_value
            target = max(target, 0.3 * _CRIMINAL_VALUE[year] * scale)
            others = criminal.copy()
            others[big] = False
            total = values[others].sum()
            factor = target / total if total > 0 else 1.0
            values *= factor
            values[big] = big_value
            for i in range(n):
                day = days[i]
                obj = objects[i]
                unit = self._unit()
                reg_day = day + (0 if r.random() < 0.6 else r.randint(1, 6))
                created = lsec(reg_day, _business_time(r))
                if created > WORLD_END:
                    continue
                median, sigma, unit_cents, immediate = _VALUE_MODEL[obj]
                cents = int(round(values[i] * 100 / unit_cents)) * unit_cents
                x = r.random()
                if x < 0.008 and i != big:
                    cents = 0  # valued, at nothing
                never = r.random() < 0.04 and i != big
                state = {
                    "eenheid": unit,
                    "beslagdatum": day,
                    "registratie": created,
                    "grondslag": grondslag[i],
                    "soort": obj,
                    "omschrijving": self._description(obj),
                    "waarde_cent": None,
                }
                rec = Rec(BESLAG, created, state)
                if not never:
                    if r.random() < immediate:
                        state["waarde_cent"] = cents
                    else:
                        lag = max(3, int(r.lognormvariate(np.log(40), 0.8)))
                        moment = lsec(day + lag, _business_time(r))
                        if moment <= created:
                            moment = created + DAY
                        if moment <= WORLD_END:
                            rec.change(moment, waarde_cent=cents)
                if r.random() < 0.05:  # description corrected later
                    moment = rec.last_change() + r.randint(1, 60) * DAY
                    if moment <= WORLD_END:
                        rec.change(moment, omschrijving=state["omschrijving"] + " (gecorrigeerd)")
                if r.random() < 0.55:
                    rec.link = self._pick_investigation(
                        by_unit[unit], starts_by_unit[unit], day, created
                    )
                recs.append(rec)
        plain = [rec for rec in recs if rec.versions[0][1]["soort"] in ("contant_geld", "overig")]
        for rec, text in zip(plain, _QUIRK_DESCRIPTIONS, strict=False):
            for version in rec.versions:
                version[1]["omschrijving"] = text
        recs.extend(self._plant_beslag())
        recs.sort(key=lambda rec: rec.created)
        self.beslag = recs
        self._remove_some(self.beslag, 0.004, 2)

    def _pick_investigation(
        self, candidates: list[tuple[int, int, Rec]], starts: list[int], day: int, created: int
    ) -> Rec | None:
        lo = bisect_left(starts, day - 900)
        hi = bisect_right(starts, day)
        if hi <= lo:
            return None
        for _ in range(4):
            _, _, rec = candidates[self.r.randrange(lo, hi)]
            if (rec.end_day is None or rec.end_day >= day) and rec.created < created:
                return rec
        return None

    def _plant_beslag(self) -> list[Rec]:
        """Seizures valued just after midnight following a peildatum (written in UTC)."""
        r = self.r
        planted = []
        for peil in (date(2022, 6, 30), date(2023, 2, 15)):
            p = peil.toordinal()
            created = lsec(p - 2, 10 * 3600)
            rec = Rec(
                BESLAG,
                created,
                {
                    "eenheid": "PL07",
                    "beslagdatum": p - 3,
                    "registratie": created,
                    "grondslag": "art94",
                    "soort": "contant_geld",
                    "omschrijving": "Contant geld € 25.000 – aangetroffen in auto",
                    "waarde_cent": None,
                },
            )
            # 00:15 local the day after P, written as ...T22:15:00Z / T23:15:00Z on day P
            rec.change(lsec(p + 1, 15 * 60), ZULU, waarde_cent=2_500_000 + r.randint(0, 99))
            rec.protected = True
            planted.append(rec)
        # Busy seizures: corrected and valued within one week, so that some record always
        # has consecutive updates that can be delivered out of order.
        for monday in (date(2022, 9, 5), date(2023, 5, 8)):
            d = monday.toordinal()
            created = lsec(d, 10 * 3600)
            rec = Rec(
                BESLAG,
                created,
                {
                    "eenheid": "PL05",
                    "beslagdatum": d - 1,
                    "registratie": created,
                    "grondslag": "art94a",
                    "soort": "voertuig",
                    "omschrijving": "Personenauto Audi A4, kenteken GZ-512-K",
                    "waarde_cent": None,
                },
            )
            rec.change(lsec(d + 1, 11 * 3600), LOCAL, omschrijving="Personenauto Audi A6")
            rec.change(lsec(d + 2, 14 * 3600), LOCAL, waarde_cent=1_850_000)
            rec.protected = True
            planted.append(rec)
        return planted

    def _description(self, obj: str) -> str:
        r = self.r
        template = r.choice(_DESCRIPTIONS[obj])
        brand, model = r.choice(_BRANDS)
        plate = (
            f"{r.choice('GHJKLNPRSTXZ')}{r.choice('BDFGHJKLNPRSTVXZ')}-"
            f"{r.randint(100, 999)}-{r.choice('BDFGHJKLNPRSTVXZ')}"
        )
        return template.format(
            amount=f"{r.randint(1, 99)}.{r.randint(0, 999):03d}",
            n=r.randint(2, 80),
            brand=brand,
            model=model,
            plate=plate,
            street=r.choice(_STREETS),
            city=r.choice(_CITIES),
        )

    # --- execution dossiers ------------------------------------------------------------

    def build_executie(self) -> None:
        r, scale = self.r, self.scale
        recs: list[Rec] = []
        for year, (base, positive_share) in _EXECUTIE.items():
            jan1 = date(year, 1, 1).toordinal()
            dec31 = date(year, 12, 31).toordinal()
            for kansrijk, n, share in (
                (True, scaled(base, scale, 4), positive_share),
                (False, scaled(60, scale, 3), 0.2),
            ):
                n_pos = round(share * n)
                results = ["positief"] * n_pos + ["negatief"] * (n - n_pos)
                r.shuffle(results)
                for result in results:
                    offered = r.randint(jan1, dec31)
                    created = lsec(offered, _business_time(r))
                    if created > WORLD_END:
                        continue
                    rec = Rec(
                        EXECUTIE,
                        created,
                        {
                            "eenheid": self._unit(),
                            "aangeboden": offered,
                            "kansrijk": kansrijk,
                            "afgedaan": None,
                            "resultaat": None,
                        },
                    )
                    if kansrijk and year == 2022:
                        # the 2022 report: every promising dossier traced before 2023-02-15
                        latest = date(2023, 1, 31).toordinal() - offered
                        done = offered + r.randint(7, max(8, min(200, latest)))
                    else:
                        done = offered + max(7, int(r.lognormvariate(np.log(100), 0.7)))
                    moment = lsec(done + r.randint(0, 5), _business_time(r))
                    if moment <= WORLD_END:
                        rec.change(moment, afgedaan=done, resultaat=result)
                        rec.end_day = done
                    rec.protected = kansrijk
                    recs.append(rec)
        recs.sort(key=lambda rec: rec.created)
        self.executie = recs
        self._remove_some(self.executie, 0.01, 1)

    # --- numbering, migration, deletes -------------------------------------------------

    def number_and_migrate(self) -> None:
        r = self.r
        cut = MIG
        prefixes = {ONDERZOEK: "ON", BESLAG: "BS", EXECUTIE: "EX"}
        for recs in (self.onderzoeken, self.beslag, self.executie):
            recs.sort(key=lambda rec: rec.created)
            serial: dict[tuple[str, int], int] = {}
            for rec in recs:
                if rec.created >= cut:
                    continue
                unit = rec.versions[0][1]["eenheid"]
                year = date.fromordinal(day_of(rec.created)).year
                key = (unit, year)
                serial[key] = serial.get(key, 0) + 1
                rec.bvh_nummer = f"{prefixes[rec.entity]}-{unit}-{year}-{serial[key]:06d}"
        # Open in BVH on 2022-03-31 -> migrated. Investigations: no end date. Seizures: no
        # value yet, or belonging to a migrated investigation. Dossiers: not yet finished.
        for rec in self.onderzoeken:
            state = rec.state_before(cut) if rec.created < cut else None
            rec.migrated = state is not None and rec.removed is None and state["einde"] is None
        for rec in self.beslag:
            state = rec.state_before(cut) if rec.created < cut else None
            rec.migrated = (
                state is not None
                and rec.removed is None
                and (state["waarde_cent"] is None or (rec.link is not None and rec.link.migrated))
            )
        for rec in self.executie:
            state = rec.state_before(cut) if rec.created < cut else None
            rec.migrated = state is not None and rec.removed is None and state["afgedaan"] is None
        for recs in (self.onderzoeken, self.beslag, self.executie):
            for rec in recs:
                if rec.created < cut and not rec.migrated:
                    # closed before the move: exists only in BVH, nothing changes any more
                    rec.versions = [v for v in rec.versions if v[0] < cut]
        # Migration run: 2022-04-01 from 00:10 to 05:50 local; investigations first so that
        # seizures can point at their new BVO id.
        migrated = [
            rec
            for recs in (self.onderzoeken, self.beslag, self.executie)
            for rec in recs
            if rec.migrated
        ]
        span = 5 * 3600 + 40 * 60
        for i, rec in enumerate(migrated):
            rec.mig_time = MIG + 600 + (i * span) // max(1, len(migrated))
        bvo_serial: dict[tuple[str, int], int] = {}
        hex_used: set[tuple[int, str]] = set()
        for recs in (self.onderzoeken, self.beslag, self.executie):
            order = sorted(
                (rec for rec in recs if rec.migrated or rec.created >= cut),
                key=lambda rec: rec.mig_time if rec.migrated else rec.created,
            )
            for rec in order:
                rec.bvo_id = self._uuid()
                moment = rec.mig_time if rec.migrated else rec.created
                year = date.fromordinal(day_of(moment)).year
                if rec.entity == ONDERZOEK:
                    while True:
                        code = f"{r.getrandbits(24):06X}"
                        if (year, code) not in hex_used:
                            hex_used.add((year, code))
                            break
                    rec.bvo_nummer = f"ON-{year}-{code}"
                else:
                    key = (rec.entity, year)
                    bvo_serial[key] = bvo_serial.get(key, 0) + 1
                    prefix = "BO" if rec.entity == BESLAG else "ED"
                    rec.bvo_nummer = f"{prefix}-{year}-{bvo_serial[key]:06d}"
        self._delete_some()

    def _delete_some(self) -> None:
        r = self.r
        for recs in (self.onderzoeken, self.beslag, self.executie):
            pool = [rec for rec in recs if rec.bvo_id is not None and not rec.protected]
            migrated = [rec for rec in pool if rec.migrated]
            new = [rec for rec in pool if not rec.migrated]
            chosen: list[Rec] = []
            for group in (migrated, new):
                if group:
                    n = max(1, round(0.004 * len(group)))
                    chosen.extend(r.sample(group, min(n, len(group))))
            for rec in chosen:
                first = max(rec.last_change(), rec.mig_time) + DAY
                if first < WORLD_END - 2 * DAY:
                    rec.deleted = r.randint(first, WORLD_END - DAY)

    # --- BVH ---------------------------------------------------------------------------

    def bvh_line(self, rec: Rec, version: list) -> str:
        line = version[3]
        if line is not None:
            return line
        st = version[1]
        if rec.entity == ONDERZOEK:
            line = ";".join(
                (
                    rec.bvh_nummer or "",
                    st["eenheid"],
                    SOORT_BVH[st["soort"]],
                    dmy_day(st["start"]) if st["start"] is not None else "",
                    dmy_day(st["einde"]) if st["einde"] is not None else "",
                    INTERVENTIE_BVH.get(st["interventie"], "") if st["interventie"] else "",
                    "J" if st["keyplayer"] else "N",
                )
            )
        elif rec.entity == BESLAG:
            text = st["omschrijving"]
            if ";" in text or '"' in text:
                text = '"' + text.replace('"', '""') + '"'
            link = rec.link.bvh_nummer if rec.link is not None and rec.link.bvh_nummer else ""
            value = st["waarde_cent"]
            line = ";".join(
                (
                    rec.bvh_nummer or "",
                    link,
                    st["eenheid"],
                    dmy_day(st["beslagdatum"]),
                    dmy_day(day_of(st["registratie"])),
                    GRONDSLAG_BVH[st["grondslag"]],
                    OBJECTSOORT_BVH[st["soort"]],
                    text,
                    fmt_eur(value) if value is not None else "",
                )
            )
        else:
            line = ";".join(
                (
                    rec.bvh_nummer or "",
                    st["eenheid"],
                    dmy_day(st["aangeboden"]),
                    "J" if st["kansrijk"] else "N",
                    dmy_day(st["afgedaan"]) if st["afgedaan"] is not None else "",
                    RESULTAAT_BVH[st["resultaat"]] if st["resultaat"] else "",
                )
            )
        version[3] = line
        return line

    def write_bvh(self, landing: Landing, progress: Callable[[str], None] | None) -> None:
        cuts = [lsec(d.toordinal() + 1) for d in BVH_DATES]
        headers = {
            ONDERZOEK: "ONDERZOEKNUMMER;EENHEID;SOORT;STARTDATUM;EINDDATUM;INTERVENTIE;KEYPLAYER",
            BESLAG: (
                "BESLAGNUMMER;ONDERZOEKNUMMER;EENHEID;BESLAGDATUM;REGISTRATIEDATUM;GRONDSLAG;"
                "OBJECTSOORT;OMSCHRIJVING;WAARDE"
            ),
            EXECUTIE: "DOSSIERNUMMER;EENHEID;AANGEBODEN;KANSRIJK;AFGEDAAN;RESULTAAT",
        }
        names = {ONDERZOEK: "ONDERZOEK", BESLAG: "BESLAG", EXECUTIE: "EXECUTIE"}
        count = 0
        for entity, recs in (
            (ONDERZOEK, self.onderzoeken),
            (BESLAG, self.beslag),
            (EXECUTIE, self.executie),
        ):
            lines: list[list[str]] = [[] for _ in cuts]
            totals = [0] * len(cuts)
            for rec in recs:
                if rec.created >= MIG:
                    continue
                s = bisect_right(cuts, rec.created)
                versions = rec.versions
                v = 0
                while s < len(cuts):
                    cut = cuts[s]
                    if rec.removed is not None and rec.removed < cut:
                        break
                    while v + 1 < len(versions) and versions[v + 1][0] < cut:
                        v += 1
                    lines[s].append(self.bvh_line(rec, versions[v]))
                    if entity == BESLAG:
                        totals[s] += versions[v][1]["waarde_cent"] or 0
                    s += 1
            for s, day in enumerate(BVH_DATES):
                control = fmt_eur(totals[s]) if entity == BESLAG else "0"
                body = [headers[entity], *lines[s], f"#EINDE;{len(lines[s])};{control}"]
                text = "\r\n".join(body)
                # the year-end extracts end without a line end after the trailer
                if day.month != 12:
                    text += "\r\n"
                name = f"BVH_{names[entity]}_{day:%Y%m%d}.csv"
                landing.write("bvh", name, text.encode("cp1252"), day)
                count += 1
        if progress:
            progress(f"bvh: {count} files")

    # --- BVO ---------------------------------------------------------------------------

    def _bvo_data(self, rec: Rec, st: dict) -> dict:
        unit = st["eenheid"]
        legacy = rec.bvh_nummer if rec.migrated else None
        if rec.entity == ONDERZOEK:
            return {
                "nummer": rec.bvo_nummer,
                "eenheid": {"code": unit, "naam": UNITS[unit]},
                "soort": st["soort"],
                "start": iso_day(st["start"]) if st["start"] is not None else None,
                "einde": iso_day(st["einde"]) if st["einde"] is not None else None,
                "interventie": st["interventie"],
                "keyplayer": st["keyplayer"],
                "legacy_bvh_nummer": legacy,
            }
        if rec.entity == BESLAG:
            link = rec.link.bvo_id if rec.link is not None else None
            return {
                "nummer": rec.bvo_nummer,
                "onderzoek_id": link,
                "eenheid": {"code": unit, "naam": UNITS[unit]},
                "beslagdatum": iso_day(st["beslagdatum"]),
                "registratiedatum": fmt_ts(st["registratie"]),
                "grondslag": st["grondslag"],
                "soort": st["soort"],
                "omschrijving": st["omschrijving"],
                "waarde_cent": st["waarde_cent"],
                "legacy_bvh_nummer": legacy,
            }
        return {
            "nummer": rec.bvo_nummer,
            "eenheid": {"code": unit, "naam": UNITS[unit]},
            "aangeboden": iso_day(st["aangeboden"]),
            "kansrijk": st["kansrijk"],
            "afgedaan": iso_day(st["afgedaan"]) if st["afgedaan"] is not None else None,
            "resultaat": st["resultaat"],
            "legacy_bvh_nummer": legacy,
        }

    def _events(self) -> list[tuple[int, int, str, int, Rec, str]]:
        """(moment, style, op, version, record, json line) of every BVO event."""
        r = self.r
        events = []
        for recs in (self.onderzoeken, self.beslag, self.executie):
            for rec in recs:
                if rec.bvo_id is None:
                    continue
                if rec.migrated:
                    first = rec.state_before(MIG)
                    assert first is not None
                    moment = rec.mig_time
                    # the first part of the migration run, after midnight, written in UTC
                    style = ZULU if moment < MIG + 3600 else LOCAL
                    changes: list[tuple[int, int | None, str, dict | None]] = [
                        (moment, style, "create", first)
                    ]
                    changes += [(v[0], v[2], "update", v[1]) for v in rec.versions if v[0] >= MIG]
                else:
                    changes = [(rec.created, LOCAL, "create", rec.versions[0][1])]
                    changes += [(v[0], v[2], "update", v[1]) for v in rec.versions[1:]]
                if rec.deleted is not None:
                    changes.append((rec.deleted, None, "delete", None))
                previous_day = 0
                for version, (moment, given, op, state) in enumerate(changes, start=1):
                    if given is not None:
                        written = given
                    else:
                        x = r.random()
                        if op != "create" and x < 0.012 and day_of(moment) > previous_day:
                            # shortly after midnight: its UTC date is the day before
                            moment = lsec(day_of(moment), r.randint(300, 3300))
                            written = ZULU if r.random() < 0.5 else LOCAL
                        else:
                            written = LOCAL if x < 0.92 else ZULU if x < 0.97 else UTC00
                    previous_day = day_of(moment)
                    event = {
                        "event_id": self._uuid(),
                        "event_time": fmt_ts(moment, written),
                        "op": op,
                        "entity": rec.entity,
                        "id": rec.bvo_id,
                        "version": version,
                        "data": self._bvo_data(rec, state) if state is not None else None,
                    }
                    line = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
                    events.append((moment, written, op, version, rec, line))
        return events

    def write_bvo(self, landing: Landing, progress: Callable[[str], None] | None) -> None:
        r = self.r
        cuts = [lsec(MIG_DAY, 6 * 3600)]
        day = date(2022, 4, 3).toordinal()
        while day <= LAST_DAY:
            cuts.append(lsec(day, 23 * 3600))
            day += 7
        events = self._events()
        files: list[list[tuple[int, int, str]]] = [[] for _ in cuts]  # (moment, order, line)
        placed: list[tuple[int, str, int, Rec, int]] = []  # (file, op, version, rec, idx)
        for idx, (moment, _style, op, version, rec, _line) in enumerate(events):
            # migration creates form the migration delivery; the rest by their moment
            k = 0 if rec.migrated and version == 1 else max(1, bisect_left(cuts, moment))
            assert k < len(cuts), "event after the last delivery"
            placed.append((k, op, version, rec, idx))
        file_of = [p[0] for p in placed]
        # Out of order across files: an update delivered after the next version of its record.
        by_record: dict[int, dict[int, int]] = {}
        for _k, _op, version, rec, idx in placed:
            by_record.setdefault(id(rec), {})[version] = idx
        candidates = []
        for k, op, version, rec, idx in placed:
            if op != "update" or k == 0:
                continue
            nxt = by_record[id(rec)].get(version + 1)
            if nxt is not None and file_of[nxt] in (k, k + 1) and file_of[nxt] + 1 < len(cuts):
                candidates.append(idx)
        n_late = min(len(candidates), max(2, round(0.002 * len(events))))
        late: set[int] = set()
        for idx in r.sample(candidates, len(candidates)):
            if len(late) >= n_late:
                break
            rec = placed[idx][3]
            nxt = by_record[id(rec)][placed[idx][2] + 1]
            prev = by_record[id(rec)].get(placed[idx][2] - 1)
            if nxt in late or prev in late:
                continue
            late.add(idx)
            file_of[idx] = file_of[nxt] + 1
        for idx, (moment, _style, _op, _version, _rec, line) in enumerate(events):
            files[file_of[idx]].append((moment, idx, line))
        # The same event delivered twice, in two different files.
        pool = [i for i in range(len(events)) if i not in late and file_of[i] + 2 < len(cuts)]
        for idx in r.sample(pool, min(len(pool), max(2, round(0.001 * len(events))))):
            moment, _style, _op, _version, _rec, line = events[idx]
            files[file_of[idx] + r.choice((1, 2))].append((10**12 + idx, idx, line))
        deliveries: list[tuple[int, bytes, int]] = []  # (moment, gz bytes, records)
        for k, items in enumerate(files):
            items.sort()
            payload = "".join(item[2] + "\n" for item in items).encode("utf-8")
            deliveries.append((cuts[k], gzip_bytes(payload), len(items)))
        # A byte-identical re-delivery of a whole file, three days later, new sequence number.
        again = r.randrange(2, len(cuts) - 3)
        deliveries.append(
            (cuts[again] + 2 * DAY + 11 * 3600, deliveries[again][1], deliveries[again][2])
        )
        deliveries.sort(key=lambda d: d[0])
        for seq, (moment, data, records) in enumerate(deliveries, start=1):
            name = f"BVO_EVENTS_{name_stamp(moment)}_{seq:06d}.jsonl.gz"
            delivered = date.fromordinal(day_of(moment))
            landing.write("bvo", name, data, delivered)
            manifest = {"file": name, "records": records, "sha256": _sha256(data)}
            landing.write(
                "bvo", name + ".manifest.json", (json.dumps(manifest) + "\n").encode(), delivered
            )
        if progress:
            progress(
                f"bvo: {len(deliveries)} files (+{len(deliveries)} manifests), {len(events)} events"
            )


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fmt_eur(cents: int) -> str:
    """Dutch amount: `.` groups thousands, `,` decimal mark, two decimals."""
    euros, rest = divmod(cents, 100)
    return f"{euros:,}".replace(",", ".") + f",{rest:02d}"


def generate(
    landing: Landing, scale: float, seed: int, progress: Callable[[str], None] | None
) -> None:
    world = PoliceWorld(scale, seed)
    world.build_onderzoeken()
    world.build_beslag()
    world.build_executie()
    world.number_and_migrate()
    world.write_bvh(landing, progress)
    world.write_bvo(landing, progress)
