"""Suspects of the demo world: Dutch surnames, birth dates and BSNs.

Every surname is ISO-8859-1 encodable (COMPAS writes Latin-1) and at most 40 characters
(the COMPAS field width). Some surnames hold a comma or a double quote, so that GPS has
to quote them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from .timeutil import compact_day, iso_day, ordinal

SURNAMES: tuple[str, ...] = (
    "de Jong",
    "Jansen",
    "de Vries",
    "van den Berg",
    "van Dijk",
    "Bakker",
    "Janssen",
    "Visser",
    "Smit",
    "Meijer",
    "de Boer",
    "Mulder",
    "de Groot",
    "Bos",
    "Vos",
    "Peters",
    "Hendriks",
    "van Leeuwen",
    "Dekker",
    "Brouwer",
    "de Wit",
    "Dijkstra",
    "Smits",
    "de Graaf",
    "van der Meer",
    "van der Linden",
    "Kok",
    "Jacobs",
    "de Haan",
    "Vermeulen",
    "van den Heuvel",
    "van der Veen",
    "van den Broek",
    "de Bruijn",
    "de Bruin",
    "van der Heijden",
    "Schouten",
    "van Beek",
    "Willems",
    "van Vliet",
    "van de Ven",
    "Hoekstra",
    "Maas",
    "Verhoeven",
    "Koster",
    "van Dam",
    "van der Wal",
    "Prins",
    "Blom",
    "Huisman",
    "Peeters",
    "de Lange",
    "Kuijpers",
    "van Wijk",
    "Postma",
    "Kramer",
    "van den Bosch",
    "Kuipers",
    "Veenstra",
    "Boersma",
    "Wouters",
    "Timmermans",
    "Hoëvenaar",
    "Çelik",
    "Brouwer-Müller",
    "Öztürk",
    "Yilmaz",
    "Kaya",
    "Demir",
    "Sahin",
    "Aydin",
    "El Amrani",
    "Bouzid",
    "El Idrissi",
    "Gröning",
    "Pérez",
    "Gonçalves",
    "Müller",
    "Schröder",
    "Mönch",
    "Bähr",
    "Ferreira da Silva",
    "van 't Hof",
    "'t Hart",
    "d'Ancona",
    "Dogan",
    "Noë",
    "Coskun",
    "Ruïz",
    "Hoëlen",
    "Strübe",
    "Jiménez",
    "Lefèvre",
    "Bolling",
    "Marçal",
    "de Vries, van",
    "Berg, van den",
    "Dijk, van",
    "Haan, de",
    'Bakker "jr"',
    'Jansen "de Kleine"',
    "van Lynden tot Sandenburg-Hoëvenaar",
)
# Names drawn more often than the exotic ones.
_COMMON = 62


@dataclass(frozen=True)
class People:
    """The suspect pool, one entry per person (index = person id)."""

    bsn: list[str]  # 9 digits (valid or failing the elfproef) or "" when unknown
    birth_iso: list[str]
    birth_compact: list[str]
    surname: list[str]
    bsn_kind: list[str]  # "valid", "invalid", "missing"


def elfproef(bsn: str) -> bool:
    """True when a 9-digit string passes the eleven-test of a BSN."""
    if len(bsn) != 9 or not bsn.isdigit():
        return False
    total = sum((9 - i) * int(c) for i, c in enumerate(bsn[:8])) - int(bsn[8])
    return total % 11 == 0


def _bsns(rng: np.random.Generator, n: int) -> np.ndarray:
    """n distinct-enough valid BSNs as an (n, 9) digit array."""
    digits = rng.integers(0, 10, size=(n, 9))
    digits[:, 0] = rng.integers(1, 10, size=n)
    weights = np.array([9, 8, 7, 6, 5, 4, 3, 2])
    while True:
        check = (digits[:, :8] @ weights) % 11
        bad = check == 10
        if not bad.any():
            break
        digits[bad, 7] = (digits[bad, 7] + 1) % 10
    digits[:, 8] = check
    return digits


def make_people(rng: np.random.Generator, n: int) -> People:
    n = max(n, 50)
    digits = _bsns(rng, n)
    kind_draw = rng.random(n)
    # 93% valid, 2% a 9-digit number that fails the elfproef, 5% unknown
    invalid = (kind_draw >= 0.93) & (kind_draw < 0.95)
    missing = kind_draw >= 0.95
    # guarantee each kind occurs (small scales)
    invalid[1] = True
    missing[1] = False
    missing[2] = True
    invalid[2] = False
    shift = rng.integers(1, 10, size=n)
    digits[invalid, 8] = (digits[invalid, 8] + shift[invalid]) % 10
    bsn_strings = ["".join(map(str, row)) for row in digits.tolist()]
    kinds = []
    bsn = []
    for i, s in enumerate(bsn_strings):
        if missing[i]:
            bsn.append("")
            kinds.append("missing")
        else:
            bsn.append(s)
            kinds.append("invalid" if invalid[i] else "valid")
    first = ordinal(date(1950, 1, 1))
    births = rng.integers(first, first + 57 * 365, size=n).tolist()
    # exotic names (accents, prefixes, commas, quotes) for about a fifth of the people
    common = rng.integers(0, _COMMON, size=n)
    exotic = rng.integers(_COMMON, len(SURNAMES), size=n)
    pick = np.where(rng.random(n) < 0.2, exotic, common).tolist()
    # make sure every surname occurs at least once
    for j in range(len(SURNAMES)):
        pick[(3 + 7 * j) % n] = j
    surname = [SURNAMES[j] for j in pick]
    return People(
        bsn=bsn,
        birth_iso=[iso_day(b) for b in births],
        birth_compact=[compact_day(b) for b in births],
        surname=surname,
        bsn_kind=kinds,
    )
