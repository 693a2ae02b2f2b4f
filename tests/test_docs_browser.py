"""The dbt docs site and the HTML report, rendered by a real headless Chromium.

`dbt docs generate` runs on the sample warehouse of test_report.py; the target dir is served on
127.0.0.1 and Chromium loads the single-page app (it fetches manifest.json and catalog.json, so it
needs HTTP, not file://). Skipped where Chromium is not installed (`make chromium`).

Screenshots for the README are taken every run into a temporary dir and checked; they replace
docs/dbt-docs.png and docs/report.png only with FUPIN_UPDATE_SCREENSHOTS=1, so that `make test`
leaves the work tree clean.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipelines.core.report import build_report
from tests.test_report import sample_warehouse

REPO = Path(__file__).resolve().parents[1]
DBT = Path(sys.executable).with_name("dbt")


def _find_chromium() -> str | None:
    """FUPIN_CHROMIUM (another build or path), else Debian's chromium on PATH or in /usr/bin."""
    candidate = os.environ.get("FUPIN_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    return candidate if os.access(candidate, os.X_OK) else None


CHROMIUM = _find_chromium()
MODEL = "model.fupin.fct_county_year_metric"
MARTS = ["dim_county", "dim_year", "dim_metric", "dim_document", "fct_metric_observation",
         "fct_county_year_metric", "rpt_metric_observations", "rpt_unclassified_mentions",
         "rpt_rejections"]  # fmt: skip
WINDOW = (1400, 900)
# No network beyond 127.0.0.1, no profile state, no GPU: what a CI container can run.
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars", "--virtual-time-budget=15000",
]  # fmt: skip

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium not found; install Debian's chromium: "
                       "make chromium"),
]  # fmt: skip


def _chromium(*args: str) -> subprocess.CompletedProcess[str]:
    """Run headless Chromium once with a fresh profile; --virtual-time-budget lets the JS finish."""
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        result = subprocess.run(
            [str(CHROMIUM), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def _visible_dom(dom: str) -> str:
    """The rendered DOM without script and style bodies (dbt's bundle holds every template)."""
    return re.sub(r"<(script|style)\b.*?</\1>", "", dom, flags=re.S)


def _section(dom: str, heading: str) -> str:
    """The model page's section titled `heading` (Depends On, Referenced By)."""
    start = dom.index(f"<h6>{heading}</h6>")
    return dom[start : dom.index("</section>", start)]


def _linked_nodes(section: str) -> set[str]:
    """unique_ids of the nodes a section links to (href="#!/model/model.fupin.x")."""
    return set(re.findall(r'<a\b[^>]*\bhref="#!/\w+/([^"#]+)"', section))


def _tab_names(section: str) -> list[str]:
    """Names of a reference list's resource-type tabs (Models, Data Tests, Exposures)."""
    return re.findall(r'<a ng-click="setType\(resource_type\)"[^>]*>\s*([^<]+?)\s*</a>', section)


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


def _screenshot(url: str, path: Path) -> Path:
    _chromium(f"--screenshot={path}", f"--window-size={WINDOW[0]},{WINDOW[1]}", url)
    assert _png_size(path) == WINDOW
    # A blank page compresses to a few KB; a rendered one is far larger.
    assert path.stat().st_size > 30_000, f"{path} looks blank"
    if os.environ.get("FUPIN_UPDATE_SCREENSHOTS") == "1":
        shutil.copyfile(path, REPO / "docs" / path.name)
    return path


# ------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sample_warehouse(tmp_path_factory)


@pytest.fixture(scope="module")
def docs_target(warehouse: Path) -> Path:
    """`dbt docs generate` into the build's target dir (its partial parse saves ~5 s)."""
    target = warehouse.parent / "target"
    env = {**os.environ, "FUPIN_DBT_DATABASE": str(warehouse), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    result = subprocess.run(
        [
            str(DBT), "docs", "generate",
            "--project-dir", "dbt_project", "--profiles-dir", "dbt_project",
            "--target-path", str(target), "--log-path", str(warehouse.parent / "logs"),
        ],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert result.returncode == 0, f"dbt docs generate failed:\n{result.stdout[-4000:]}"
    for name in ("index.html", "manifest.json", "catalog.json"):
        assert (target / name).is_file(), name
    return target


@pytest.fixture(scope="module")
def docs_url(docs_target: Path) -> Iterator[str]:
    """The docs site on 127.0.0.1 and a free port, served from a thread."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(docs_target))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def model_page_dom(docs_url: str) -> str:
    return _visible_dom(_chromium("--dump-dom", f"{docs_url}#!/model/{MODEL}").stdout)


# ------------------------------------------------------------------------------------ tests


def test_model_list_renders(model_page_dom: str) -> None:
    listed = set(re.findall(r'data-nav-unique-id="model\.fupin\.(\w+)"', model_page_dom))
    assert set(MARTS) <= listed, set(MARTS) - listed
    assert {"int_observations_ranked", "stg_raw__validated_facts"} <= listed


def test_lineage_of_fct_county_year_metric_renders(model_page_dom: str, docs_target: Path) -> None:
    manifest = json.loads((docs_target / "manifest.json").read_text(encoding="utf-8"))
    assert re.search(r"<h1>\s*<span[^>]*>fct_county_year_metric</span>", model_page_dom)
    # Upstream: the page lists exactly the model's parents.
    parents = set(manifest["nodes"][MODEL]["depends_on"]["nodes"])
    assert parents == {"model.fupin.int_observations_ranked"}
    depends_on = _section(model_page_dom, "Depends On")
    assert _linked_nodes(depends_on) == parents
    assert "int_observations_ranked</a>" in depends_on
    # Downstream: its data tests (the open tab) and the dashboard exposure.
    referenced_by = _section(model_page_dom, "Referenced By")
    assert _tab_names(referenced_by) == ["Data Tests", "Exposures"]
    tests = {c for c in manifest["child_map"][MODEL] if c.startswith("test.")}
    assert _linked_nodes(referenced_by) == tests
    assert "exposure.fupin.county_poverty_alleviation_dashboard" in manifest["child_map"][MODEL]


def test_report_script_wires_the_tooltips(warehouse: Path, tmp_path: Path) -> None:
    report = build_report(warehouse, tmp_path / "report.html").output
    dom = _chromium("--dump-dom", report.resolve().as_uri()).stdout
    circles = re.findall(r"<circle\b[^>]*>.*?</circle>", dom, flags=re.S)
    assert len(circles) == 4
    # The script ran: each point's <title> became its tooltip text (and accessible name).
    for circle in circles:
        assert "<title>" not in circle
        assert re.search(r'data-tip="[^"]*”', circle) and 'aria-label="' in circle
    assert "建档立卡贫困人口 · 2018" in dom and '<div id="tip" hidden="">' in dom


def test_screenshots(docs_url: str, warehouse: Path, tmp_path: Path) -> None:
    _screenshot(f"{docs_url}#!/model/{MODEL}", tmp_path / "dbt-docs.png")
    report = build_report(warehouse, tmp_path / "report.html").output
    _screenshot(report.resolve().as_uri(), tmp_path / "report.png")
