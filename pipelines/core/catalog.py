"""The metric catalog, units and cue words, read from the data files under `schemas/`.

Everything an analyst may extend (a metric, a keyword, a unit, a noise phrase) lives in those
files; this module only loads and compiles them, once.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

import schemas
from pipelines.core.patterns import with_start_filter

SCHEMAS_DIR = Path(schemas.__file__).resolve().parent


class CatalogError(ValueError):
    """A catalog file is malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class AlsoRule:
    metric: str
    when: re.Pattern[str]


@dataclass(frozen=True)
class Frame:
    """A metric as words: a number is the metric when its scope names one of the `subject` words
    (what is counted: 贫困人口, 贫困村, 扶贫车间) and one of the `status` words (what happened to it:
    脱贫, 出列, 搬迁), in any order. A frame may give only one of the two."""

    subject: re.Pattern[str] | None
    status: re.Pattern[str] | None
    status_words: tuple[str, ...] = ()  # for Catalog.status_word

    def matches(self, scope: str) -> bool:
        return (self.subject is None or self.subject.search(scope) is not None) and (
            self.status is None or self.status.search(scope) is not None
        )


@dataclass(frozen=True)
class Metric:
    code: str
    name_zh: str
    name_en: str
    unit: str
    category: str
    description: str
    keywords: tuple[str, ...]
    cues: tuple[re.Pattern[str], ...]
    exclude: tuple[re.Pattern[str], ...]
    ignore: frozenset[str]
    priority: int
    also: tuple[AlsoRule, ...] = ()
    frames: tuple[Frame, ...] = ()
    accepts: tuple[str, ...] = ()  # other units whose numbers the metric takes, stored in `unit`
    contains: tuple[str, ...] = ()  # metrics a 其中 after this metric's figure states (行政村 … 其中贫困村)


@dataclass(frozen=True)
class UnitDef:
    surface: str
    unit: str
    factor: float
    nouns: tuple[str, ...] = ()  # measure word (个) that means this unit only before these nouns
    in_scope: bool = False  # a noun used as unit (7.8万贫困人口): metric cues must still see it


@dataclass(frozen=True)
class PlausibleRange:
    """What one county's figure in a unit can be (units.yaml `plausible`)."""

    unit: str
    minimum: float = 0.0
    maximum: float | None = None  # included
    below: float | None = None  # excluded

    @property
    def negatives_allowed(self) -> bool:
        return self.minimum < 0

    def describe(self) -> str:
        """'0 to below 10,000,000', '0 to 100'."""
        if self.below is not None:
            return f"{self.minimum:,g} to below {self.below:,.0f}"
        if self.maximum is not None:
            return f"{self.minimum:,g} to {self.maximum:,g}"
        return f"at least {self.minimum:,g}"


@dataclass(frozen=True)
class ExclusionGroup:
    patterns: tuple[re.Pattern[str], ...]
    units: frozenset[str] | None  # None: applies to numbers in every unit


@dataclass(frozen=True)
class Cues:
    exclude: dict[str, ExclusionGroup]
    carry_over: re.Pattern[str]
    noise: re.Pattern[str]
    wider_area: re.Pattern[str]
    own_area: re.Pattern[str]
    sub_county_words: re.Pattern[str]
    sub_county_suffix: re.Pattern[str]
    sub_county_common_before: frozenset[str]
    qualifier_before: tuple[str, ...]
    qualifier_after: tuple[str, ...]
    from_to_gap: re.Pattern[str]  # what stands between the two ends of a from–to
    bare_zero_end: re.Pattern[str]  # a lowering from–to ending in a bare 0; group 1 is the zero
    bare_zero_rate: re.Pattern[str]  # a rate falling to a bare 0 (贫困发生率下降为0); group 1 is the zero
    counted_noun: re.Pattern[str]  # the nouns figures are counted in (cues.yaml governing.nouns)
    governing_filler: re.Pattern[str]  # words a verbless list member may have besides its noun
    respectively_pairs: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]  # (joint words, parts)
    plan_word: re.Pattern[str]
    sentence_opening: re.Pattern[str]  # what may stand before a sentence's subject (据介绍, 截至)
    area_alone: re.Pattern[str]  # a clause naming only an area (在全省); group "area"
    area_yardstick: re.Pattern[str]  # after an area that is a yardstick, not a subject (率先)
    plan_heading: re.Pattern[str]  # a section heading that announces plans (cues.yaml sections)
    purpose_opening: re.Pattern[str]  # a clause opening with a purpose word (cues.yaml purpose_words)
    done_word: re.Pattern[str]


@dataclass(frozen=True)
class Catalog:
    metrics: dict[str, Metric]
    units: tuple[UnitDef, ...]
    multipliers: dict[str, float]
    cues: Cues
    version: str  # changes whenever any catalog file changes, so facts are re-extracted
    metrics_by_unit: dict[str, tuple[Metric, ...]] = field(default_factory=dict)
    plausible: dict[str, PlausibleRange] = field(default_factory=dict)  # canonical unit -> range
    # every frame's status words: what a clause needs to have a verb of its own
    status_word: re.Pattern[str] = re.compile("(?!)")

    def table_rows(self) -> list[dict[str, str]]:
        """Rows of the raw.metric_catalog table."""
        return [
            {
                "metric_code": m.code,
                "name_zh": m.name_zh,
                "name_en": m.name_en,
                "unit": m.unit,
                "category": m.category,
                "description": m.description,
                "keywords": " | ".join(m.keywords),
            }
            for m in self.metrics.values()
        ]


def _compile(pattern: str, where: str) -> re.Pattern[str]:
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise CatalogError(f"{where}: invalid regular expression {pattern!r}: {exc}") from exc
    return with_start_filter(compiled)  # the same matches, found faster (see patterns.py)


def _read_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CatalogError(f"{path}: cannot read: {exc}") from exc
    if not isinstance(data, dict):
        raise CatalogError(f"{path}: expected a mapping at the top level")
    return data


def _parse_metric(entry: dict, path: Path, known_units: set[str], exclusion_groups: set[str]) -> Metric:
    code = entry.get("code")
    where = f"{path.name}: metric {code!r}"
    missing = [k for k in ("code", "name_zh", "name_en", "unit", "category", "description") if k not in entry]
    if not entry.get("cues") and not entry.get("frames"):
        missing.append("frames (or cues)")
    if missing:
        raise CatalogError(f"{where}: missing {', '.join(missing)}")
    if entry["unit"] not in known_units:
        raise CatalogError(f"{where}: unit {entry['unit']!r} is not defined in units.yaml")
    accepts = tuple(entry.get("accepts", []))
    if unknown_units := [u for u in accepts if u not in known_units]:
        raise CatalogError(f"{where}: accepts units not defined in units.yaml: {unknown_units}")
    ignore = frozenset(entry.get("ignore", []))
    if unknown := ignore - exclusion_groups:
        raise CatalogError(f"{where}: ignore lists unknown exclusion groups {sorted(unknown)}")
    also = tuple(
        AlsoRule(metric=a["metric"], when=_compile(a.get("when", ""), f"{where} also"))
        for a in entry.get("also", [])
    )
    return Metric(
        code=code,
        name_zh=entry["name_zh"],
        name_en=entry["name_en"],
        unit=entry["unit"],
        category=entry["category"],
        description=" ".join(str(entry["description"]).split()),
        keywords=tuple(entry.get("keywords", [])),
        cues=tuple(_compile(p, f"{where} cue") for p in entry.get("cues", [])),
        exclude=tuple(_compile(p, f"{where} exclude") for p in entry.get("exclude", [])),
        ignore=ignore,
        priority=int(entry.get("priority", 1)),
        also=also,
        frames=tuple(
            _parse_frame(f, f"{where} frame {i + 1}") for i, f in enumerate(entry.get("frames", []))
        ),
        accepts=accepts,
        contains=tuple(entry.get("contains", [])),
    )


def _words(words: object, where: str) -> re.Pattern[str]:
    if not isinstance(words, list) or not words or not all(isinstance(w, str) and w for w in words):
        raise CatalogError(f"{where}: expected a non-empty list of words, got {words!r}")
    return _compile("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)), where)


def _parse_frame(spec: object, where: str) -> Frame:
    if not isinstance(spec, dict) or not spec or set(spec) - {"subject", "status"}:
        raise CatalogError(
            f"{where}: a frame is {{subject: [words], status: [words]}} (either may be left out)"
        )
    subject, status = spec.get("subject"), spec.get("status")
    return Frame(
        subject=_words(subject, f"{where} subject") if subject is not None else None,
        status=_words(status, f"{where} status") if status is not None else None,
        status_words=tuple(status or ()),
    )


def _alternation(words: list[str]) -> str:
    return "|".join(sorted(words, key=len, reverse=True))


def _parse_group(name: str, spec: list | dict, path: Path) -> ExclusionGroup:
    # A group is a list of patterns, or {units: [...], patterns: [...]} to limit it to some units.
    patterns, units = (spec, None) if isinstance(spec, list) else (spec["patterns"], spec.get("units"))
    return ExclusionGroup(
        patterns=tuple(_compile(p, f"{path.name}: exclude.{name}") for p in patterns),
        units=frozenset(units) if units else None,
    )


def _falls_to_bare_zero(data: dict) -> str:
    """下降到0 / 降至零: a lowering verb and a zero without a unit; group 1 is the zero."""
    return (
        r"(?:"
        + _alternation(data["from_to"]["lowering_verbs"])
        + r")(?:了)?(?:到|至|为)\s*(0|零)(?![\d.%％万亿])"
    )


def _parse_cues(data: dict, path: Path) -> Cues:
    return Cues(
        exclude={name: _parse_group(name, spec, path) for name, spec in data["exclude"].items()},
        carry_over=_compile(data["carry_over"], f"{path.name}: carry_over"),
        noise=_compile(_alternation(data["noise"]), f"{path.name}: noise"),
        wider_area=_compile(_alternation(data["wider_area"]), f"{path.name}: wider_area"),
        own_area=_compile(_alternation(data["own_area"]), f"{path.name}: own_area"),
        sub_county_words=_compile(
            _alternation(data["sub_county_area"]["words"]), f"{path.name}: sub_county_area"
        ),
        # a suffix after a Chinese character, not the head of a compound (乡村, 村级, 村民, 乡亲)
        sub_county_suffix=_compile(
            r"(?<=[\u4e00-\u9fff])(?:"
            + _alternation(data["sub_county_area"]["suffixes"])
            + r")(?![村镇级民委均组庄容务医干集里内落寨户土风贤愁亲情邻规两])",
            f"{path.name}: sub_county_area",
        ),
        sub_county_common_before=frozenset(data["sub_county_area"]["common_before"]),
        qualifier_before=tuple(sorted(data["qualifier_before"], key=len, reverse=True)),
        qualifier_after=tuple(sorted(data["qualifier_after"], key=len, reverse=True)),
        from_to_gap=_compile(
            r"^(?:/年)?\s*(?:" + _alternation(data["from_to"]["verbs"]) + r")?(?:了)?(?:到|至|为)"
            r"[^,;:()、]{0,10}?的?\s*$",
            f"{path.name}: from_to.verbs",
        ),
        counted_noun=_words(data["governing"]["nouns"], f"{path.name}: governing.nouns"),
        governing_filler=_words(data["governing"]["filler"], f"{path.name}: governing.filler"),
        respectively_pairs=tuple(
            (tuple(pair["joint"]), tuple(pair["parts"])) for pair in data["respectively_pairs"]
        ),
        plan_word=_words(data["plan_governs_sentence"]["plan"], f"{path.name}: plan_governs_sentence"),
        sentence_opening=_compile(
            r"\s*(?:" + _alternation(data["wider_area_sentence"]["opening"]) + r")?\s*",
            f"{path.name}: wider_area_sentence.opening",
        ),
        area_alone=_compile(
            r"\s*(?:" + _alternation(data["wider_area_sentence"]["around"]["before"]) + r")?(?P<area>.+?)"
            r"(?:" + _alternation(data["wider_area_sentence"]["around"]["after"]) + r")?\s*$",
            f"{path.name}: wider_area_sentence.around",
        ),
        area_yardstick=_words(
            data["wider_area_sentence"]["yardstick"], f"{path.name}: wider_area_sentence.yardstick"
        ),
        purpose_opening=_compile(
            r"\s*(?:" + _alternation(data["purpose_words"]) + ")", f"{path.name}: purpose_words"
        ),
        plan_heading=_words(data["sections"]["plan_headings"], f"{path.name}: sections.plan_headings"),
        done_word=_words(data["plan_governs_sentence"]["done"], f"{path.name}: plan_governs_sentence"),
        bare_zero_rate=_compile(
            r"(?:"
            + _alternation(data["from_to"]["zero_rates"])
            + r")[^\d,，。;；]{0,4}?"
            + _falls_to_bare_zero(data),
            f"{path.name}: from_to.zero_rates",
        ),
        bare_zero_end=_compile(
            r"\s*" + _falls_to_bare_zero(data),
            f"{path.name}: from_to.lowering_verbs",
        ),
    )


def _parse_units(data: dict, path: Path) -> tuple[tuple[UnitDef, ...], dict[str, float]]:
    units = tuple(
        UnitDef(
            surface=str(u["surface"]),
            unit=u["unit"],
            factor=float(u["factor"]),
            nouns=tuple(u.get("noun", [])),
            in_scope=bool(u.get("in_scope", False)),
        )
        for u in data["units"]
    )
    multipliers = {str(k): float(v) for k, v in data["multipliers"].items()}
    return units, multipliers


_RANGE_KEYS = {"min", "max", "below"}


def _parse_plausible(data: dict, path: Path) -> dict[str, PlausibleRange]:
    ranges = {}
    for unit, spec in (data.get("plausible") or {}).items():
        where = f"{path.name}: plausible.{unit}"
        if not isinstance(spec, dict) or not spec or set(spec) - _RANGE_KEYS:
            raise CatalogError(
                f"{where}: expected a mapping of {', '.join(sorted(_RANGE_KEYS))}, got {spec!r}"
            )
        if "max" in spec and "below" in spec:
            raise CatalogError(f"{where}: give max or below, not both")
        try:
            values = {key: float(value) for key, value in spec.items()}
        except (TypeError, ValueError):
            raise CatalogError(f"{where}: bounds must be numbers, got {spec!r}") from None
        ranges[str(unit)] = PlausibleRange(
            unit=str(unit),
            minimum=values.get("min", 0.0),
            maximum=values.get("max"),
            below=values.get("below"),
        )
    return ranges


def _version(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for p in paths:
        digest.update(p.read_bytes())
    return digest.hexdigest()[:12]


@cache
def load_catalog(schemas_dir: Path | None = None) -> Catalog:
    """Load metrics.yaml, units.yaml and cues.yaml from `schemas_dir` (default: the repo's schemas/)."""
    base = Path(schemas_dir) if schemas_dir else SCHEMAS_DIR
    metrics_path, units_path, cues_path = base / "metrics.yaml", base / "units.yaml", base / "cues.yaml"
    units_data = _read_yaml(units_path)
    units, multipliers = _parse_units(units_data, units_path)
    plausible = _parse_plausible(units_data, units_path)
    cues = _parse_cues(_read_yaml(cues_path), cues_path)
    known_units = {u.unit for u in units}
    raw_metrics = _read_yaml(metrics_path).get("metrics") or []
    metrics: dict[str, Metric] = {}
    for entry in raw_metrics:
        metric = _parse_metric(entry, metrics_path, known_units, set(cues.exclude))
        if metric.code in metrics:
            raise CatalogError(f"{metrics_path.name}: metric {metric.code!r} is defined twice")
        metrics[metric.code] = metric
    for metric in metrics.values():
        if unknown := [c for c in metric.contains if c not in metrics]:
            raise CatalogError(
                f"{metrics_path.name}: metric {metric.code!r}: contains names unknown {unknown}"
            )
        for rule in metric.also:
            if rule.metric not in metrics:
                raise CatalogError(
                    f"{metrics_path.name}: metric {metric.code!r}: also names unknown {rule.metric!r}"
                )
    by_unit: dict[str, list[Metric]] = {}
    for metric in metrics.values():
        for unit in (metric.unit, *metric.accepts):
            by_unit.setdefault(unit, []).append(metric)
    status_words = sorted({w for m in metrics.values() for f in m.frames for w in f.status_words})
    return Catalog(
        metrics=metrics,
        units=units,
        multipliers=multipliers,
        cues=cues,
        version=_version([metrics_path, units_path, cues_path]),
        plausible=plausible,
        metrics_by_unit={u: tuple(sorted(ms, key=lambda m: -m.priority)) for u, ms in by_unit.items()},
        status_word=_words(status_words, f"{metrics_path.name}: frame statuses")
        if status_words
        else re.compile("(?!)"),
    )
