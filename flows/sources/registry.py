"""The source systems ingest knows: one reader each (flows/sources/common.py, SourceReader)."""

from __future__ import annotations

from flows.sources import bvh, bvo, compas, gps
from flows.sources.common import SourceReader

READERS: tuple[SourceReader, ...] = (bvh, bvo, compas, gps)
