"""The scraping asset, materialised by Dagster against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import http.server
import json
import threading

import pytest
from dagster import materialize

from pipelines.assets.scraping import scraped_pages
from pipelines.resources import FupinSettings

PAGE = (
    "<html><head><meta charset='gbk'><title>某县脱贫攻坚纪实</title></head>"
    "<body><p>全县贫困发生率降至0.5%。</p></body></html>"
)


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/good.html":
            body = PAGE.encode("gbk")
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=gbk")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            self.send_error(404)

    def log_message(self, *args):
        pass


@pytest.fixture()
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def _run(raw_dir, tmp_path):
    settings = FupinSettings(raw_dir=str(raw_dir), warehouse=str(tmp_path / "wh" / "fupin.duckdb"))
    config = {"ops": {"scraped_pages": {"config": {"per_host_delay_seconds": 0.0, "timeout_seconds": 2.0}}}}
    result = materialize([scraped_pages], resources={"settings": settings}, run_config=config)
    assert result.success
    (event,) = result.get_asset_materialization_events()
    return {k: getattr(v, "value", v) for k, v in event.materialization.metadata.items()}


def test_pages_are_saved_with_their_url_and_failures_reported(server, tmp_path):
    raw_dir = tmp_path / "raw"
    raw_dir.mkdir()
    (raw_dir / "sources.yaml").write_text(
        f"- url: {server}/good.html\n- url: {server}/missing.html\n", "utf-8"
    )

    meta = _run(raw_dir, tmp_path)
    assert (meta["saved"], meta["failed"]) == (1, 1)
    (page,) = (raw_dir / "scraped").rglob("*.html")
    assert page.read_bytes() == PAGE.encode("gbk")
    sidecar = json.loads(page.with_name(page.name + ".meta.json").read_text("utf-8"))
    assert sidecar["url"] == f"{server}/good.html"

    again = _run(raw_dir, tmp_path)  # already fetched: skipped, not fetched twice
    assert (again["saved"], again["skipped"]) == (0, 1)


def test_without_a_sources_file_nothing_is_fetched(tmp_path):
    raw_dir = tmp_path / "raw"
    raw_dir.mkdir()
    assert "no sources file" in _run(raw_dir, tmp_path)["note"]
