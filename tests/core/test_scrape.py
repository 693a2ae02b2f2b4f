import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from pipelines.core.documents import iter_raw_files, read_raw_file
from pipelines.core.scrape import Source, SourcesError, fetch_sources, load_sources, page_path

GOOD = "<html><head><title>东坪县脱贫纪实</title></head><body><p>全县脱贫3148户10284人。</p></body></html>"
GBK = '<html><head><meta charset="gbk"></head><body><p>贫困发生率下降到2.56%。</p></body></html>'


class Handler(BaseHTTPRequestHandler):
    hits: ClassVar[dict[str, int]] = {}

    def log_message(self, *args):  # keep test output quiet
        pass

    def _send(self, status, body=b"", content_type="text/html; charset=utf-8", length=True):
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        Handler.hits[self.path] = Handler.hits.get(self.path, 0) + 1
        if self.path == "/good":
            self._send(200, GOOD.encode("utf-8"))
        elif self.path == "/gbk":
            self._send(200, GBK.encode("gbk"), "text/html; charset=GBK")
        elif self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/good")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/slow":
            time.sleep(1.5)
            self._send(200, GOOD.encode("utf-8"))
        elif self.path == "/big-declared":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", "5000000")
            self.end_headers()
        elif self.path == "/big-streamed":
            # No Content-Length: the cap has to be enforced while reading.
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Connection", "close")
            self.end_headers()
            try:
                for _ in range(100):
                    self.wfile.write(b"x" * 10_000)
            except OSError:
                pass
            self.close_connection = True
        elif self.path == "/flaky":
            self._send(503, b"busy")
        elif self.path == "/pdf":
            self._send(200, b"%PDF-1.4", "application/pdf")
        else:
            self._send(404, b"not found")


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


FAST = {"timeout": 0.5, "retries": 1, "backoff": 0.01, "per_host_delay": 0.0}


def _fetch(urls, raw_dir, **kw):
    return fetch_sources([Source(url=u) for u in urls], raw_dir, **{**FAST, **kw})


def test_good_page_is_saved_with_sidecar(server, tmp_path):
    (result,) = _fetch([f"{server}/good"], tmp_path)
    assert result.status == "saved", result.reason
    assert result.path == page_path(tmp_path, f"{server}/good")
    assert result.path.parent.parent == tmp_path / "scraped"
    assert result.path.parent.name == "127.0.0.1"
    assert len(result.path.stem) == 12 and result.path.suffix == ".html"
    assert result.path.read_bytes() == GOOD.encode("utf-8")
    meta = json.loads(Path(str(result.path) + ".meta.json").read_text(encoding="utf-8"))
    assert meta["url"] == meta["final_url"] == f"{server}/good"
    assert meta["status"] == 200
    assert meta["content_type"] == "text/html; charset=utf-8"
    assert meta["declared_charset"] == "utf-8"
    assert meta["fetched_at"].endswith("+00:00")
    # The ingestion side reads it back with its provenance, and skips the sidecar itself.
    assert list(iter_raw_files(tmp_path)) == [result.path]
    doc = read_raw_file(tmp_path, result.path)
    assert doc.url == f"{server}/good" and doc.fetched_at is not None and doc.is_html


def test_gbk_page_keeps_raw_bytes_and_declared_charset(server, tmp_path):
    (result,) = _fetch([f"{server}/gbk"], tmp_path)
    assert result.status == "saved"
    assert result.path.read_bytes() == GBK.encode("gbk")
    meta = json.loads(Path(str(result.path) + ".meta.json").read_text(encoding="utf-8"))
    assert meta["declared_charset"] == "GBK"
    doc = read_raw_file(tmp_path, result.path)
    assert doc.encoding == "gb18030" and "贫困发生率下降到2.56%" in doc.text


def test_redirect_records_the_final_url(server, tmp_path):
    (result,) = _fetch([f"{server}/redirect"], tmp_path)
    assert result.status == "saved"
    meta = json.loads(Path(str(result.path) + ".meta.json").read_text(encoding="utf-8"))
    assert meta["url"] == f"{server}/redirect"
    assert meta["final_url"] == f"{server}/good"


def test_404_fails_without_retrying(server, tmp_path):
    Handler.hits.pop("/missing", None)
    (result,) = _fetch([f"{server}/missing"], tmp_path, retries=3)
    assert result.status == "failed"
    assert result.reason == "HTTP 404 Not Found"
    assert result.path is None
    assert Handler.hits["/missing"] == 1
    assert not (tmp_path / "scraped").exists() or not any((tmp_path / "scraped").rglob("*.html"))


def test_5xx_is_retried_with_backoff(server, tmp_path):
    Handler.hits.pop("/flaky", None)
    (result,) = _fetch([f"{server}/flaky"], tmp_path, retries=2)
    assert result.status == "failed"
    assert result.reason.startswith("HTTP 503") and "after 3 attempts" in result.reason
    assert Handler.hits["/flaky"] == 3


def test_timeout_fails_quickly(server, tmp_path):
    start = time.monotonic()
    (result,) = _fetch([f"{server}/slow"], tmp_path, retries=1)
    assert result.status == "failed"
    assert "timed out" in result.reason
    assert time.monotonic() - start < 3


@pytest.mark.parametrize("path", ["/big-declared", "/big-streamed"])
def test_oversized_page_is_refused(server, tmp_path, path):
    (result,) = _fetch([f"{server}{path}"], tmp_path, max_bytes=100_000)
    assert result.status == "failed"
    assert "over the 0.1 MB limit" in result.reason
    assert not any(tmp_path.rglob("*.html"))


def test_non_page_content_type_is_refused(server, tmp_path):
    (result,) = _fetch([f"{server}/pdf"], tmp_path)
    assert result.status == "failed" and "application/pdf" in result.reason


def test_already_fetched_is_skipped_unless_refetch(server, tmp_path):
    url = f"{server}/good"
    assert _fetch([url], tmp_path)[0].status == "saved"
    Handler.hits.pop("/good", None)
    (again,) = _fetch([url], tmp_path)
    assert again.status == "skipped" and again.path == page_path(tmp_path, url)
    assert "/good" not in Handler.hits
    assert _fetch([url], tmp_path, refetch=True)[0].status == "saved"
    assert Handler.hits["/good"] == 1


def test_one_bad_url_does_not_stop_the_others(server, tmp_path):
    results = _fetch([f"{server}/missing", "http://127.0.0.1:1/refused", f"{server}/good"], tmp_path)
    assert [r.status for r in results] == ["failed", "failed", "saved"]
    assert "connection failed" in results[1].reason


def test_per_host_delay_spaces_requests(server, tmp_path):
    start = time.monotonic()
    _fetch([f"{server}/good", f"{server}/gbk", f"{server}/redirect"], tmp_path, per_host_delay=0.3)
    assert time.monotonic() - start >= 0.6


def test_load_sources(tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_text(
        "- url: https://www.example.gov.cn/art/2021/3/2/art_1.html\n"
        "  county: 郎溪县\n"
        "  note: 五年扫描\n"
        "- url: http://example.com/a.html\n"
        "- http://example.com/b.html\n"
        "- url: http://example.com/a.html\n",
        encoding="utf-8",
    )
    sources = load_sources(path)
    assert [s.url for s in sources] == [
        "https://www.example.gov.cn/art/2021/3/2/art_1.html",
        "http://example.com/a.html",
        "http://example.com/b.html",
    ]
    assert (sources[0].county, sources[0].note) == ("郎溪县", "五年扫描")
    assert sources[1].county is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "- url: https://ok.example.com/\n- url: ftp://files.example.com/a.txt\n",
            r"entry 2: url 'ftp://.*only http",
        ),
        ("- url: www.example.com/a.html\n", r"entry 1: url .* has no scheme"),
        ("- county: 郎溪县\n", r"entry 1: 'url' is missing"),
        ("- url: http://\n", r"entry 1: url .* has no host"),
        ("url: [unclosed\n", r"not valid YAML"),
        ("just a string\n", r"expected a list"),
    ],
)
def test_load_sources_errors_name_the_file_and_entry(tmp_path, content, message):
    path = tmp_path / "sources.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(SourcesError, match=message) as err:
        load_sources(path)
    assert str(path) in str(err.value)


def test_load_sources_missing_file(tmp_path):
    with pytest.raises(SourcesError, match="file not found"):
        load_sources(tmp_path / "nope.yaml")
