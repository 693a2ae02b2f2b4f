"""Fact extraction (work in progress: the real extractor lands shortly)."""

from __future__ import annotations

import datetime as dt

from pipelines.core.models import County, Extraction

EXTRACTOR_VERSION = "0"


def extract_facts(text: str, *, subject: County | None, published: dt.date | None, catalog, places) -> Extraction:
    return Extraction()
