"""A small static report of the published warehouse: one self-contained HTML file.

Per county (in the official order of provinces and prefectures), a chart per metric of the
figures over the years, the figures with no year below it, and one table of the county-year
values the reports disagree on. The file needs nothing from the network (inline CSS, SVG and a
few lines of JS), so it can be mailed or opened from a share.

The warehouse is opened read-only: the published file may be open in BI tools at the same time,
and a report must never change what it reports on.
"""

from __future__ import annotations

import datetime as dt
import html
import math
import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipelines.core.warehouse import WarehouseError, connect

# The marts the report reads; a warehouse without them has not been built by dbt yet.
REQUIRED_TABLES = ("dim_county", "dim_metric", "dim_document", "fct_county_year_metric",
                   "rpt_metric_observations")  # fmt: skip

# Display labels of the catalog's canonical units (dim_metric.unit); unknown units show as stored.
UNIT_LABELS = {
    "person": "人", "person_time": "人次", "household": "户", "village": "个村", "yuan": "元",
    "percent": "%", "percentage_point": "个百分点", "megawatt": "兆瓦", "mu": "亩", "hectare": "公顷",
    "kilometre": "公里", "square_kilometre": "平方公里", "square_metre": "平方米", "workshop": "个车间",
    "cooperative": "个合作社", "count": "个", "loan": "笔", "head": "头", "tonne": "吨", "jin": "斤",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class ReportSummary:
    """What `build_report` wrote, for the CLI to print."""

    output: Path
    counties: int  # counties with at least one figure
    observations: int
    undated_observations: int
    county_year_values: int
    conflicts: int
    documents: int
    bytes_written: int


@dataclass(frozen=True, slots=True)
class Observation:
    county_code: str
    metric_code: str
    metric_name: str
    unit: str
    year: int | None
    value: float
    qualifier: str | None
    period_start_year: int | None
    sentence: str
    source_file: str
    title: str | None
    is_chosen: bool  # the value fct_county_year_metric chose for its county-year
    category: str | None = None  # dim_metric.category: the pillar the metric belongs to


@dataclass(frozen=True, slots=True)
class County:
    code: str
    name: str
    prefecture: str | None
    province: str


@dataclass(frozen=True, slots=True)
class Conflict:
    county_code: str
    county_name: str
    metric_code: str
    metric_name: str
    year: int
    unit: str
    chosen_value: float
    chosen_qualifier: str | None
    source_count: int


@dataclass(slots=True)
class ReportData:
    counties: list[County]
    observations: list[Observation]
    conflicts: list[Conflict]
    documents: int
    county_year_values: int
    by_county: dict[str, list[Observation]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        grouped: dict[str, list[Observation]] = defaultdict(list)
        for obs in self.observations:
            grouped[obs.county_code].append(obs)
        self.by_county = dict(grouped)


# ------------------------------------------------------------------------------------ reading

# Codes give the official order (北京, 天津, 河北 ...) Chinese readers expect; the code-point
# order of the names would be arbitrary. Counties directly under a province come first.
_COUNTIES_SQL = """
    select county_code, county_name, prefecture_name, province_name
    from main.dim_county
    where county_code in (select county_code from main.rpt_metric_observations)
    order by province_code, prefecture_code nulls first, county_name, county_code
"""

# The campaign's pillars (dim_metric.category) in the order of its documentation, the poverty
# figures first, with the heading a county's charts are grouped under.
CATEGORY_LABELS = {
    "poverty_population_and_villages": "Poor population and villages",
    "income": "Income",
    "funds_and_credit": "Funds and credit",
    "employment": "Employment",
    "relocation": "Relocation",
    "ecology": "Ecology",
    "education": "Education",
    "social_security": "Social security",
    "infrastructure_and_housing": "Infrastructure and housing",
}
_CATEGORY_ORDER = "[" + ", ".join(f"'{c}'" for c in CATEGORY_LABELS) + "]"

_OBSERVATIONS_SQL = f"""
    select o.county_code, o.metric_code, coalesce(o.metric_name, o.metric_code), o.unit, o.year,
           o.value, o.qualifier, o.period_start_year, o.sentence, o.source_file, o.title,
           f.chosen_observation_id is not null as is_chosen, m.category
    from main.rpt_metric_observations o
    left join main.dim_metric m on o.metric_code = m.metric_code
    left join main.fct_county_year_metric f on f.chosen_observation_id = o.observation_id
    order by o.county_code, list_position({_CATEGORY_ORDER}, m.category) nulls last, o.metric_code,
             o.year nulls last, o.value, o.source_file
"""

_CONFLICTS_SQL = f"""
    select f.county_code, c.county_name, f.metric_code, coalesce(m.name_zh, f.metric_code), f.year,
           f.unit, f.value, f.qualifier, f.source_count
    from main.fct_county_year_metric f
    join main.dim_county c on f.county_code = c.county_code
    left join main.dim_metric m on f.metric_code = m.metric_code
    where f.has_conflict
    order by c.province_code, c.prefecture_code nulls first, c.county_name, f.county_code,
             list_position({_CATEGORY_ORDER}, m.category) nulls last, f.metric_code, f.year
"""


def _check_marts(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    present = {
        name
        for (name,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'main'"
        ).fetchall()
    }
    missing = [t for t in REQUIRED_TABLES if t not in present]
    if missing:
        raise WarehouseError(
            f"warehouse {path} has no {', '.join(missing)}; run `fupin run` to build the marts first"
        )


def load_report_data(con: duckdb.DuckDBPyConnection) -> ReportData:
    """Read everything the report shows from an open warehouse connection."""
    counties = [County(*row) for row in con.execute(_COUNTIES_SQL).fetchall()]
    observations = [Observation(*row) for row in con.execute(_OBSERVATIONS_SQL).fetchall()]
    conflicts = [Conflict(*row) for row in con.execute(_CONFLICTS_SQL).fetchall()]
    (documents,) = con.execute("select count(*) from main.dim_document").fetchone()
    (values,) = con.execute("select count(*) from main.fct_county_year_metric").fetchone()
    return ReportData(counties, observations, conflicts, int(documents), int(values))


# ------------------------------------------------------------------------------------ formatting


def _e(value: object) -> str:
    """Escape for HTML text and attribute values alike (quotes included)."""
    return html.escape("" if value is None else str(value), quote=True)


def format_value(value: float) -> str:
    """12500.0 → 12,500; 0.852 → 0.852 (no float noise, thousands separated)."""
    if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:,.6f}".rstrip("0").rstrip(".")


def _n(count: int, singular: str, plural: str | None = None) -> str:
    return f"{count} {singular if count == 1 else plural or singular + 's'}"


def unit_label(unit: str | None) -> str:
    return UNIT_LABELS.get(unit or "", unit or "")


def _value_text(value: float, unit: str, qualifier: str | None) -> str:
    hedge = f" ({qualifier})" if qualifier else ""
    return f"{format_value(value)} {unit_label(unit)}{hedge}"


def _period_text(obs: Observation) -> str:
    if obs.period_start_year is not None and obs.year is not None:
        return f"{obs.period_start_year}–{obs.year} cumulative"
    return str(obs.year) if obs.year is not None else "year not stated"


def _source_line(obs: Observation) -> str:
    return f"“{obs.sentence}” — {obs.source_file}"


def _point_tip(group: list[Observation]) -> str:
    """Tooltip of one point: what, when, how much, and every sentence that states it."""
    first = group[0]
    lines = [
        f"{first.metric_name} · {_period_text(first)}",
        _value_text(first.value, first.unit, first.qualifier)
        + ("  ✓ chosen value" if any(o.is_chosen for o in group) else ""),
    ]
    lines += [_source_line(o) for o in group]
    return "\n".join(lines)


# ------------------------------------------------------------------------------------ chart

_W, _H = 380, 190
_LEFT, _RIGHT, _TOP, _BOTTOM = 62, 14, 12, 30


def nice_ticks(low: float, high: float, count: int = 4) -> list[float]:
    """Round tick values covering [low, high] (steps of 1, 2 or 5 × 10^n)."""
    if high <= low:
        high = low + 1
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    start = math.floor(low / step) * step
    ticks = [start]
    while ticks[-1] < high - 1e-9 * step:
        ticks.append(ticks[-1] + step)
    return [round(t, 12) for t in ticks]


def _group_points(dated: list[Observation]) -> list[list[Observation]]:
    """One point per (year, value): documents stating the same figure share a dot and a tooltip."""
    groups: dict[tuple[int, float], list[Observation]] = defaultdict(list)
    for obs in dated:
        groups[(obs.year, obs.value)].append(obs)  # type: ignore[index]
    return list(groups.values())


def _offsets(groups: list[list[Observation]]) -> list[tuple[list[Observation], int]]:
    """Shift the other values of a year right of the chosen one, so close values (12000 and
    12500) do not hide each other's dot; chosen dots are drawn last, on top."""
    seen: dict[int | None, int] = defaultdict(int)
    out = []
    for group in sorted(groups, key=lambda g: any(o.is_chosen for o in g)):
        if any(o.is_chosen for o in group):
            out.append((group, 0))
        else:
            seen[group[0].year] += 1
            out.append((group, 9 * seen[group[0].year]))
    return out


def chart_svg(dated: list[Observation]) -> str:
    """Inline SVG of one metric of one county: a dot per figure, a line through the chosen values."""
    years = [o.year for o in dated if o.year is not None]
    first, last = min(years), max(years)
    if first == last:  # one year: centre it
        first, last = first - 1, last + 1
    values = [o.value for o in dated]
    ticks = nice_ticks(min(0.0, *values), max(values))
    low, high = ticks[0], ticks[-1]
    plot_w, plot_h = _W - _LEFT - _RIGHT, _H - _TOP - _BOTTOM

    def x(year: int) -> float:
        return _LEFT + (year - first) / (last - first) * plot_w

    def y(value: float) -> float:
        return _TOP + plot_h - (value - low) / (high - low) * plot_h

    parts = [f'<svg class="chart" viewBox="0 0 {_W} {_H}" width="{_W}" height="{_H}" role="img">']
    for tick in ticks:
        parts.append(
            f'<line class="grid" x1="{_LEFT}" x2="{_W - _RIGHT}" y1="{y(tick):.1f}" y2="{y(tick):.1f}"/>'
            f'<text class="ylab" x="{_LEFT - 6}" y="{y(tick) + 4:.1f}">{_e(format_value(tick))}</text>'
        )
    shown_years = sorted(set(years))
    stride = max(1, math.ceil(len(shown_years) / 8))  # at most ~8 year labels fit
    for year in shown_years[::stride]:
        parts.append(f'<text class="xlab" x="{x(year):.1f}" y="{_H - 10}">{year}</text>')
    chosen = sorted((o for o in dated if o.is_chosen), key=lambda o: o.year or 0)
    if len(chosen) > 1:
        path = " ".join(f"{x(o.year):.1f},{y(o.value):.1f}" for o in chosen if o.year is not None)
        parts.append(f'<polyline class="line" points="{path}"/>')
    for group, dx in _offsets(_group_points(dated)):
        obs = group[0]
        kind = "chosen" if any(o.is_chosen for o in group) else "other"
        parts.append(
            f'<circle class="pt {kind}" data-point="" tabindex="0" cx="{x(obs.year) + dx:.1f}" '  # type: ignore[arg-type]
            f'cy="{y(obs.value):.1f}" r="5"><title>{_e(_point_tip(group))}</title></circle>'
        )
    parts.append("</svg>")
    return "".join(parts)


# ------------------------------------------------------------------------------------ sections


def _conflict_id(county_code: str, metric_code: str, year: int) -> str:
    return f"conflict-{county_code}-{metric_code}-{year}"


def _sentence_item(obs: Observation) -> str:
    """A figure with the sentence that states it and its file, as a list item."""
    return (
        f"<li><b>{_e(_value_text(obs.value, obs.unit, obs.qualifier))}</b> "
        f'{_e("“" + obs.sentence + "”")} <span class="src">{_e(obs.source_file)}</span></li>'
    )


def _undated_list(undated: list[Observation]) -> str:
    if not undated:
        return ""
    items = "".join(_sentence_item(o) for o in undated)
    return f'<div class="undated"><h4>Without a year</h4><ul>{items}</ul></div>'


def _metric_figure(county_code: str, observations: list[Observation], conflict_years: list[int]) -> str:
    first = observations[0]
    dated = [o for o in observations if o.year is not None]
    undated = [o for o in observations if o.year is None]
    chart = chart_svg(dated) if dated else '<p class="none">No figure with a year.</p>'
    flags = "".join(
        f' <a class="flag" href="#{_e(_conflict_id(county_code, first.metric_code, year))}">'
        f"conflict {year}</a>"
        for year in conflict_years
    )
    return (
        f'<figure class="metric"><figcaption><b>{_e(first.metric_name)}</b> '
        f'<span class="unit">{_e(unit_label(first.unit))}</span>{flags}</figcaption>'
        f"{chart}{_undated_list(undated)}</figure>"
    )


def _county_section(county: County, observations: list[Observation], conflicts: list[Conflict]) -> str:
    by_metric: dict[str, list[Observation]] = defaultdict(list)
    for obs in observations:  # already in catalog order
        by_metric[obs.metric_code].append(obs)
    conflict_years: dict[str, list[int]] = defaultdict(list)
    for c in conflicts:
        conflict_years[c.metric_code].append(c.year)
    by_category: dict[str | None, list[str]] = defaultdict(list)
    for metric, obs in by_metric.items():
        by_category[obs[0].category].append(_metric_figure(county.code, obs, conflict_years[metric]))
    figures = "".join(
        f'<h3 class="category">{_e(CATEGORY_LABELS.get(category or "", category or "Other"))}</h3>'
        f'<div class="metrics">{"".join(items)}</div>'
        for category, items in by_category.items()
    )
    place = " · ".join(p for p in (county.province, county.prefecture, county.code) if p)
    files = len({o.source_file for o in observations})
    return (
        f'<section class="county" id="county-{_e(county.code)}">'
        f"<h2>{_e(county.name)} <small>{_e(place)}</small></h2>"
        f'<p class="meta">{_n(len(observations), "figure")} from {_n(files, "document")} · '
        f'<a href="#top">top</a></p>{figures}</section>'
    )


def _toc(counties: list[County]) -> tuple[str, str]:
    """The picker (a <select>) and the table of contents, both grouped by province."""
    by_province: dict[str, list[County]] = defaultdict(list)
    for county in counties:
        by_province[county.province].append(county)
    options, lists = [], []
    for province, members in by_province.items():
        opts = "".join(f'<option value="county-{_e(c.code)}">{_e(c.name)}</option>' for c in members)
        options.append(f'<optgroup label="{_e(province)}">{opts}</optgroup>')
        links = "".join(
            f'<li><a href="#county-{_e(c.code)}">{_e(c.name)}</a>'
            + (f" <small>{_e(c.prefecture)}</small>" if c.prefecture else "")
            + "</li>"
            for c in members
        )
        lists.append(f"<li><b>{_e(province)}</b><ul>{links}</ul></li>")
    picker = (
        '<label>County <select id="picker"><option value="">— choose —</option>'
        f"{''.join(options)}</select></label>"
    )
    return picker, f'<nav class="toc"><h2>Counties</h2><ul>{"".join(lists)}</ul></nav>'


def _conflict_table(conflicts: list[Conflict], observations: list[Observation]) -> str:
    if not conflicts:
        return '<section id="conflicts"><h2>Conflicting values</h2><p>None: the reports agree.</p></section>'
    stated: dict[tuple[str, str, int | None], list[Observation]] = defaultdict(list)
    for obs in observations:
        stated[(obs.county_code, obs.metric_code, obs.year)].append(obs)
    rows = []
    for c in conflicts:
        evidence = stated[(c.county_code, c.metric_code, c.year)]
        values = " · ".join(format_value(v) for v in sorted({o.value for o in evidence}))
        sentences = "".join(_sentence_item(o) for o in evidence)
        rows.append(
            f'<tr id="{_e(_conflict_id(c.county_code, c.metric_code, c.year))}">'
            f'<td><a href="#county-{_e(c.county_code)}">{_e(c.county_name)}</a></td>'
            f"<td>{_e(c.metric_name)}</td><td>{c.year}</td>"
            f'<td class="num">{_e(values)} {_e(unit_label(c.unit))}</td>'
            f'<td class="num">{c.source_count}</td>'
            f'<td class="num">{_e(_value_text(c.chosen_value, c.unit, c.chosen_qualifier))}</td>'
            f'<td><ul class="sentences">{sentences}</ul></td></tr>'
        )
    return (
        '<section id="conflicts"><h2>Conflicting values</h2>'
        "<p>County-years whose reports differ by more than 0.5 %. The chosen value follows the rule "
        "of fct_county_year_metric: latest report, then most reports, then an exact figure.</p>"
        "<table><thead><tr><th>County</th><th>Metric</th><th>Year</th><th>Values</th>"
        "<th>Sources</th><th>Chosen</th><th>Sentences</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></section>"
    )


# ------------------------------------------------------------------------------------ page

_CSS = """
:root{--ink:#1f2933;--muted:#66788a;--line:#2f6fb0;--other:#d9822b;--bg:#f7f8fa}
*{box-sizing:border-box}
body{margin:0;font:14px/1.5 system-ui,"Noto Sans CJK SC","PingFang SC","Microsoft YaHei",
"WenQuanYi Micro Hei",sans-serif;color:var(--ink);background:var(--bg)}
header{position:sticky;top:0;z-index:2;background:#fff;border-bottom:1px solid #d8dee4;padding:10px 24px}
header h1{font-size:18px;margin:0 0 4px}
header .stats{color:var(--muted);font-size:12px;margin:0}
header label{float:right;margin-top:-28px}
main{padding:8px 24px 48px;max-width:1400px}
.toc ul{list-style:none;padding-left:0;columns:3}.toc ul ul{columns:1;padding-left:12px}
.toc>ul>li{break-inside:avoid;margin-bottom:6px}
.toc small,.county h2 small,.src,.meta{color:var(--muted);font-weight:normal}
.county{background:#fff;border:1px solid #d8dee4;border-radius:6px;padding:8px 16px;margin:16px 0}
.county h2{font-size:17px;margin:6px 0}
.county h3.category{font-size:13px;color:var(--muted);margin:10px 0 6px;border-bottom:1px solid #edf0f2}
.metrics{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start}
figure.metric{margin:0;width:400px;border:1px solid #edf0f2;border-radius:4px;padding:6px}
figcaption .unit{color:var(--muted)}
.flag{color:#b3261e;font-size:12px;margin-left:6px}
.chart .grid{stroke:#e4e7eb}.chart .ylab{font-size:10px;fill:var(--muted);text-anchor:end}
.chart .xlab{font-size:10px;fill:var(--muted);text-anchor:middle}
.chart .line{fill:none;stroke:var(--line);stroke-width:2}
.chart .pt{stroke-width:2;cursor:pointer}.chart .chosen{fill:var(--line);stroke:var(--line)}
.chart .other{fill:#fff;stroke:var(--other)}.chart .pt:hover,.chart .pt:focus{r:7;outline:none}
.undated h4{margin:6px 0 2px;font-size:12px;color:var(--muted)}
.undated ul,.sentences{margin:0;padding-left:18px;font-size:12px}
.none{color:var(--muted);font-size:12px}
table{border-collapse:collapse;background:#fff;width:100%}
th,td{border:1px solid #d8dee4;padding:4px 8px;vertical-align:top;text-align:left}
td.num{text-align:right;white-space:nowrap}th{background:#eef1f4}
#tip{position:fixed;z-index:3;max-width:420px;padding:6px 9px;border-radius:4px;pointer-events:none;
background:#1f2933;color:#fff;font-size:12px;white-space:pre-line;box-shadow:0 2px 8px #0004}
"""

# Turns each point's <title> into the styled tooltip (and an aria-label), so the browser's own
# tooltip does not show on top of it; without JS the <title> still works.
_JS = """
(function(){
  var tip=document.getElementById('tip');
  document.querySelectorAll('[data-point]').forEach(function(p){
    var t=p.querySelector('title'); if(!t) return;
    p.setAttribute('data-tip',t.textContent); p.setAttribute('aria-label',t.textContent); t.remove();
  });
  function show(el,x,y){
    tip.textContent=el.getAttribute('data-tip'); tip.hidden=false;
    var w=tip.offsetWidth,h=tip.offsetHeight;
    tip.style.left=Math.max(4,Math.min(x+14,innerWidth-w-4))+'px';
    tip.style.top=(y+h+20>innerHeight?y-h-12:y+14)+'px';
  }
  document.addEventListener('mousemove',function(e){
    var el=e.target.closest&&e.target.closest('[data-tip]');
    if(el) show(el,e.clientX,e.clientY); else tip.hidden=true;
  });
  document.addEventListener('focusin',function(e){
    var el=e.target.closest&&e.target.closest('[data-tip]'); if(!el){tip.hidden=true;return;}
    var r=el.getBoundingClientRect(); show(el,r.right,r.bottom);
  });
  document.getElementById('picker').addEventListener('change',function(){
    if(this.value) location.hash=this.value;
  });
})();
"""


def _header(data: ReportData, warehouse_path: Path, generated_at: dt.datetime) -> str:
    undated = sum(1 for o in data.observations if o.year is None)
    stats = (
        f"{_n(len(data.counties), 'county', 'counties')} · {_n(data.documents, 'document')} · "
        f"{_n(len(data.observations), 'figure')} ({undated} without a year) · "
        f"{_n(data.county_year_values, 'county-year value')} · "
        f'<a href="#conflicts">{_n(len(data.conflicts), "conflict")}</a>'
    )
    return (
        "<h1>fupin — county poverty-alleviation figures</h1>"
        f'<p class="stats">Generated <time datetime="{_e(generated_at.isoformat())}">'
        f"{_e(generated_at.strftime('%Y-%m-%d %H:%M %Z').strip())}</time> from "
        f'<code>{_e(warehouse_path)}</code></p><p class="stats">{stats}</p>'
    )


def render_html(data: ReportData, warehouse_path: Path, generated_at: dt.datetime) -> str:
    """The whole report page as one string."""
    picker, toc = _toc(data.counties)
    conflicts_by_county: dict[str, list[Conflict]] = defaultdict(list)
    for c in data.conflicts:
        conflicts_by_county[c.county_code].append(c)
    sections = "".join(
        _county_section(c, data.by_county.get(c.code, []), conflicts_by_county[c.code]) for c in data.counties
    )
    if not data.counties:
        sections = "<p>The warehouse has no figures yet.</p>"
    return (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>fupin report</title><style>{_CSS}</style></head><body>"
        f'<header id="top">{_header(data, warehouse_path, generated_at)}{picker}</header>'
        f"<main>{toc}{_conflict_table(data.conflicts, data.observations)}{sections}</main>"
        f'<div id="tip" hidden></div><script>{_JS}</script></body></html>\n'
    )


def _write_atomically(output: Path, text: str) -> int:
    """Write via a temporary file so a reader never sees half a report."""
    output.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode("utf-8")
    tmp = output.with_name(f".{output.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, output)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return len(data)


def build_report(
    warehouse_path: Path, output: Path, *, generated_at: dt.datetime | None = None
) -> ReportSummary:
    """Write the HTML report of a (published) warehouse, opened read-only, to `output`."""
    warehouse_path = Path(warehouse_path).expanduser().absolute()
    output = Path(output)
    con = connect(warehouse_path, read_only=True)
    try:
        _check_marts(con, warehouse_path)
        data = load_report_data(con)
    finally:
        con.close()
    when = generated_at or dt.datetime.now(dt.UTC).astimezone()
    size = _write_atomically(output, render_html(data, warehouse_path, when))
    return ReportSummary(
        output=output,
        counties=len(data.counties),
        observations=len(data.observations),
        undated_observations=sum(1 for o in data.observations if o.year is None),
        county_year_values=data.county_year_values,
        conflicts=len(data.conflicts),
        documents=data.documents,
        bytes_written=size,
    )
