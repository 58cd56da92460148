"""Invalid deliveries for `dwh demo --faults`.

Each fault rewrites a file that the clean run also writes, under the same name. Running
the generator again without `--faults` (same seed and scale) writes the good bytes back
under that name: that is the correction the warehouse must accept.
"""

from __future__ import annotations

import json
import random
from pathlib import Path


def _pick(r: random.Random, names: list[str]) -> str:
    """A file from the middle half of the timeline (names sort by date)."""
    ordered = sorted(names)
    return ordered[
        r.randrange(len(ordered) // 4, max(len(ordered) // 4 + 1, 3 * len(ordered) // 4))
    ]


def plant_faults(root: Path, files: dict[str, list[str]], seed: int) -> list[dict]:
    r = random.Random(seed * 7 + 9)
    planted: list[dict] = []

    # 1. a BVO manifest whose record count is wrong
    name = _pick(r, [n for n in files["bvo"] if n.endswith(".manifest.json")])
    manifest = json.loads((root / name).read_text(encoding="utf-8"))
    manifest["records"] += 1
    (root / name).write_bytes((json.dumps(manifest) + "\n").encode())
    planted.append(
        {
            "system": "bvo",
            "file": name,
            "line": 1,
            "what": f"manifest says {manifest['records']} records, the data file has "
            f"{manifest['records'] - 1}: the delivery {manifest['file']} is invalid",
        }
    )

    # 2. a BVH snapshot whose trailer count does not match its records
    name = _pick(r, [n for n in files["bvh"] if n.startswith("BVH_ONDERZOEK_")])
    data = (root / name).read_bytes()
    ending = b"\r\n" if data.endswith(b"\r\n") else b""
    lines = data[: len(data) - len(ending)].split(b"\r\n")
    tag, count, total = lines[-1].split(b";")
    lines[-1] = b";".join((tag, str(int(count) + 1).encode(), total))
    (root / name).write_bytes(b"\r\n".join(lines) + ending)
    planted.append(
        {
            "system": "bvh",
            "file": name,
            "line": len(lines),
            "what": f"trailer count {int(count) + 1} but {int(count)} data records: "
            "the snapshot is invalid",
        }
    )

    # 3. a GPS row with a malformed date
    candidates = [n for n in files["gps"] if n[19:23] == "2022"] or files["gps"]
    name = _pick(r, candidates)
    data = (root / name).read_bytes()
    lines = data.split(b"\n")
    rows = [i for i in range(1, len(lines)) if lines[i] and b'"' not in lines[i]]
    i = rows[r.randrange(len(rows))]
    fields = lines[i].split(b",")
    fields[6] = b"2022-13-45"
    lines[i] = b",".join(fields)
    (root / name).write_bytes(b"\n".join(lines))
    planted.append(
        {
            "system": "gps",
            "file": name,
            "line": i + 1,
            "what": f"instroomdatum 2022-13-45 is not a date (zaak_id {fields[0].decode()}): "
            "the row is unreadable",
        }
    )

    # 4. a COMPAS record with a feitcode that no code list has
    name = _pick(r, files["compas"])
    data = (root / name).read_bytes()
    lines = data.split(b"\n")
    i = r.randrange(1, len(lines) - 2)
    parketnummer = lines[i][1:13].decode("latin-1")
    lines[i] = lines[i][:82] + b"999999" + lines[i][88:]
    (root / name).write_bytes(b"\n".join(lines))
    planted.append(
        {
            "system": "compas",
            "file": name,
            "line": i + 1,
            "what": f"feitcode 999999 is in no code list (parketnummer {parketnummer})",
        }
    )
    return planted
