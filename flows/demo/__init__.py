"""`dwh demo`: a synthetic, deterministic delivery of all four source systems.

`generate()` writes the exports of BVH, BVO, COMPAS and GPS into a landing folder, exactly
as `sources.md` specifies them (with every quirk the contract allows), and writes the
ground truth: the indicators that a correct warehouse must publish for that delivery,
computed from the written files by an implementation independent of the pipeline.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from . import om, police
from .codes import LAST_DELIVERY
from .faults import plant_faults
from .landing import SYSTEMS, Landing
from .truth import TruthCollector

__all__ = ["DemoSummary", "generate"]


@dataclass(frozen=True)
class DemoSummary:
    """What `generate` wrote."""

    landing: Path
    truth_file: Path
    files: dict[str, int]  # files written per system (BVO: data files and manifests)
    bytes: dict[str, int]  # bytes written per system
    first_delivery: date
    last_delivery: date
    faults: list[dict] = field(default_factory=list)

    @property
    def total_files(self) -> int:
        return sum(self.files.values())

    @property
    def total_bytes(self) -> int:
        return sum(self.bytes.values())


def generate(
    landing: Path,
    truth_file: Path,
    *,
    scale: float = 1.0,
    seed: int = 20230215,
    faults: bool = False,
    progress: Callable[[str], None] | None = None,
) -> DemoSummary:
    """Write demo exports of all four systems into `landing` and the truth to `truth_file`.

    Same seed, scale and faults give byte-identical files. With `faults`, four files are
    afterwards replaced by invalid versions under the same names (listed in the truth).
    """
    if not scale > 0:
        raise ValueError(f"scale must be positive, got {scale}")
    landing = Path(landing)
    truth_file = Path(truth_file)
    if truth_file.resolve().is_relative_to(landing.resolve()):
        raise ValueError(
            f"the truth file {truth_file} lies inside the landing folder {landing}: "
            "put it elsewhere, the warehouse must never read it"
        )
    landing.mkdir(parents=True, exist_ok=True)
    truth = TruthCollector()
    out = Landing(landing, observer=truth.observe)
    police.generate(out, scale, seed, progress)
    om.generate(out, scale, seed, progress)
    if progress:
        progress("truth: computing the indicators from the written files")
    figures = truth.compute()
    planted = plant_faults(landing, out.files, seed) if faults else []
    if planted and progress:
        progress(f"faults: {len(planted)} invalid deliveries planted")
    document = {
        "seed": seed,
        "scale": float(scale),
        "last_delivery": LAST_DELIVERY.isoformat(),
        "peildata": figures,
        "faults": planted,
    }
    truth_file.parent.mkdir(parents=True, exist_ok=True)
    truth_file.write_text(
        json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    sizes = {s: sum((landing / n).stat().st_size for n in out.files[s]) for s in SYSTEMS}
    assert out.first_day is not None and out.last_day is not None
    return DemoSummary(
        landing=landing,
        truth_file=truth_file,
        files={s: len(out.files[s]) for s in SYSTEMS},
        bytes=sizes,
        first_delivery=out.first_day,
        last_delivery=out.last_day,
        faults=planted,
    )
