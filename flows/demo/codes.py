"""Code lists and calendar of the demo world.

The code lists are copies of the reference tables that belong to the source contract
(police units, parketten, offence codes, instanties, police code lists). They are
repeated here on purpose: the generator must not read anything outside the project at
run time, and these lists are small and change rarely.
"""

from __future__ import annotations

from datetime import date, timedelta

# --- police -------------------------------------------------------------------------

UNITS: dict[str, str] = {
    "PL01": "Noord-Nederland",
    "PL02": "Oost-Nederland",
    "PL03": "Midden-Nederland",
    "PL04": "Noord-Holland",
    "PL05": "Amsterdam",
    "PL06": "Den Haag",
    "PL07": "Rotterdam",
    "PL08": "Zeeland-West-Brabant",
    "PL09": "Oost-Brabant",
    "PL10": "Limburg",
    "PL11": "Landelijke Eenheid",
}
UNIT_CODES: tuple[str, ...] = tuple(UNITS)
# Relative size of the units (regional units by population, the national unit smaller).
UNIT_WEIGHTS: tuple[float, ...] = (9, 14, 10, 9, 10, 12, 12, 9, 8, 6, 5)

# BVH code -> BVO code, per domain (reference/politie_codes.csv).
SOORT: dict[str, str] = {
    "CSV": "criminele_samenwerking",
    "MH": "mensenhandel",
    "CYB": "cybercrime",
    "CYBF": "cybercrime_fenomeen",
    "HTC": "high_tech_crime",
    "OSKM": "oskm",
    "OVR": "overig",
}
INTERVENTIE: dict[str, str] = {"S": "strafrechtelijk", "A": "alternatief"}
GRONDSLAG: dict[str, str] = {
    "94": "art94",
    "94A": "art94a",
    "BESTUUR": "bestuursrechtelijk",
    "FISCAAL": "fiscaal",
}
OBJECTSOORT: dict[str, str] = {
    "GELD": "contant_geld",
    "VOERTUIG": "voertuig",
    "ONROEREND": "onroerend_goed",
    "CRYPTO": "cryptovaluta",
    "OVERIG": "overig",
}
RESULTAAT: dict[str, str] = {"POS": "positief", "NEG": "negatief"}

# BVO code -> BVH code (the generator works in BVO codes and writes BVH codes).
SOORT_BVH = {v: k for k, v in SOORT.items()}
INTERVENTIE_BVH = {v: k for k, v in INTERVENTIE.items()}
GRONDSLAG_BVH = {v: k for k, v in GRONDSLAG.items()}
OBJECTSOORT_BVH = {v: k for k, v in OBJECTSOORT.items()}
RESULTAAT_BVH = {v: k for k, v in RESULTAAT.items()}

# --- OM -------------------------------------------------------------------------------

# parket code, name, date the parket moved from COMPAS to GPS (reference/parketten.csv)
PARKETTEN: tuple[tuple[str, str, date], ...] = (
    ("18", "Arrondissementsparket Noord-Nederland", date(2019, 3, 1)),
    ("05", "Arrondissementsparket Oost-Nederland", date(2019, 9, 1)),
    ("16", "Arrondissementsparket Midden-Nederland", date(2020, 1, 1)),
    ("15", "Arrondissementsparket Noord-Holland", date(2020, 6, 1)),
    ("13", "Arrondissementsparket Amsterdam", date(2020, 10, 1)),
    ("09", "Arrondissementsparket Den Haag", date(2021, 2, 1)),
    ("10", "Arrondissementsparket Rotterdam", date(2021, 5, 1)),
    ("02", "Arrondissementsparket Zeeland-West-Brabant", date(2021, 7, 1)),
    ("01", "Arrondissementsparket Oost-Brabant", date(2021, 9, 1)),
    ("03", "Arrondissementsparket Limburg", date(2021, 11, 1)),
    ("96", "Landelijk Parket", date(2022, 1, 1)),
    ("97", "Functioneel Parket", date(2022, 1, 1)),
)
PARKET_CODES: tuple[str, ...] = tuple(p[0] for p in PARKETTEN)
GPS_VANAF: dict[str, date] = {p[0]: p[2] for p in PARKETTEN}
# Share of the national inflow per parket, and the police unit of its region.
PARKET_WEIGHTS: tuple[float, ...] = (8, 13, 9, 8, 11, 13, 14, 8, 7, 6, 1.5, 1.5)
PARKET_UNIT: dict[str, str] = {
    "18": "PL01",
    "05": "PL02",
    "16": "PL03",
    "15": "PL04",
    "13": "PL05",
    "09": "PL06",
    "10": "PL07",
    "02": "PL08",
    "01": "PL09",
    "03": "PL10",
    "96": "PL11",
    "97": "PL11",
}

# COMPAS feitcode -> GPS wetsartikel (reference/feitcodes.csv)
FEITCODES: dict[str, str] = {
    "273F01": "Sr:273f",
    "140A01": "Sr:140",
    "420B01": "Sr:420bis",
    "OPW002": "Opiumwet:2",
    "138AB1": "Sr:138ab",
    "240B01": "Sr:240b",
    "248E01": "Sr:248e",
    "310001": "Sr:310",
    "311001": "Sr:311",
    "326001": "Sr:326",
    "300001": "Sr:300",
    "350001": "Sr:350",
    "WVW008": "WVW1994:8",
}
TRAFFICKING_FEITCODE = "273F01"
TRAFFICKING_WETSARTIKEL = "Sr:273f"
# Offences other than trafficking, with their share of the inflow.
OTHER_FEITEN: tuple[tuple[str, float], ...] = (
    ("140A01", 3),
    ("420B01", 5),
    ("OPW002", 12),
    ("138AB1", 3),
    ("240B01", 2),
    ("248E01", 1),
    ("310001", 22),
    ("311001", 12),
    ("326001", 10),
    ("300001", 14),
    ("350001", 8),
    ("WVW008", 8),
)

# COMPAS instantie -> GPS aanleverende_instantie (reference/instanties.csv)
INSTANTIES: dict[str, str] = {code: f"politie:{code}" for code in UNIT_CODES}
INSTANTIES.update({"KMAR": "kmar", "FIOD": "fiod", "NVWA": "nvwa", "ILT": "ilt", "OVRG": "overig"})
POLICE_INSTANTIES = frozenset(UNIT_CODES)

# COMPAS afdoening -> GPS afdoening (reference/afdoeningen.csv), with share of decisions.
AFDOENINGEN: dict[str, str] = {
    "DAG": "dagvaarding",
    "SEP": "sepot",
    "TRA": "transactie",
    "OMS": "strafbeschikking",
    "VOE": "voeging",
}
AFDOENING_WEIGHTS: tuple[float, ...] = (45, 20, 10, 20, 5)

# --- calendar ------------------------------------------------------------------------

FIRST_REPORT_YEAR = 2019
LAST_REPORT_YEAR = 2023
LAST_DELIVERY = date(2023, 12, 31)
MIGRATION_DATE = date(2022, 4, 1)  # BVO live, BVH's last extract is the day before
LAST_BVH = date(2022, 3, 31)


def _month_end(year: int, month: int) -> date:
    first_next = date(year + (month == 12), month % 12 + 1, 1)
    return first_next - timedelta(days=1)


BVH_DATES: tuple[date, ...] = tuple(
    _month_end(y, m)
    for y in range(2019, 2023)
    for m in (3, 6, 9, 12)
    if _month_end(y, m) <= LAST_BVH
)
COMPAS_DATES: tuple[date, ...] = tuple(
    _month_end(y, m) for y in range(2019, 2022) for m in range(1, 13)
)
FIRST_GPS_DAY = min(GPS_VANAF.values())

PEILDATA: tuple[date, ...] = (
    date(2019, 12, 31),
    date(2020, 6, 30),
    date(2021, 3, 15),
    date(2022, 3, 31),
    date(2022, 4, 1),
    date(2022, 6, 30),
    date(2023, 2, 15),
    date(2023, 12, 31),
)

INDICATORS: tuple[str, ...] = (
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
