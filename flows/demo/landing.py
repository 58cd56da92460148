"""Writing export files into the landing folder, with bookkeeping per system."""

from __future__ import annotations

import gzip
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

SYSTEMS: tuple[str, ...] = ("bvh", "bvo", "compas", "gps")


def gzip_bytes(data: bytes) -> bytes:
    """Deterministic gzip: no file name and mtime 0 in the header."""
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, filename="", compresslevel=6) as gz:
        gz.write(data)
    return buf.getvalue()


@dataclass
class Landing:
    """Writes files, tallies them and hands every written file to `observer`."""

    root: Path
    observer: Callable[[str, str, bytes], None] | None = None
    files: dict[str, list[str]] = field(default_factory=lambda: {s: [] for s in SYSTEMS})
    sizes: dict[str, int] = field(default_factory=dict)
    first_day: date | None = None
    last_day: date | None = None

    def write(self, system: str, name: str, data: bytes, delivered: date) -> None:
        (self.root / name).write_bytes(data)
        self.files[system].append(name)
        self.sizes[name] = len(data)
        if self.first_day is None or delivered < self.first_day:
            self.first_day = delivered
        if self.last_day is None or delivered > self.last_day:
            self.last_day = delivered
        if self.observer is not None:
            self.observer(system, name, data)

    def bytes_of(self, system: str) -> int:
        return sum(self.sizes[n] for n in self.files[system])
