"""A server that drips bytes is cut off by the fetch's overall deadline; bad sources.yaml entries
are problems naming the file and line, and the good entries are still fetched."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from pipelines.core.scrape import Source, fetch_sources, read_sources

PAGE = "<html><head><title>东坪县脱贫纪实</title></head><body><p>全县脱贫3148户。</p></body></html>"


class DripHandler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep test output quiet
        pass

    def do_GET(self):
        try:
            if self.path == "/drip-headers":  # headers a byte at a time
                for byte in b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n":
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(0.2)
            elif self.path == "/drip-body":  # headers at once, then the body a byte at a time
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.end_headers()
                for byte in PAGE.encode("utf-8") * 10:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(0.2)
            else:
                body = PAGE.encode("utf-8")
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
        except OSError:  # the client gave up: expected
            pass


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), DripHandler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize("path", ["/drip-body", "/drip-headers"])
def test_a_dripping_server_is_cut_off_at_the_deadline(server, tmp_path, path):
    started = time.monotonic()
    (result,) = fetch_sources(
        [Source(url=server + path)], tmp_path, timeout=2, deadline=1.5, retries=2, backoff=0, per_host_delay=0
    )
    elapsed = time.monotonic() - started
    assert result.status == "failed"
    assert result.reason == "took longer than the 1.5 s allowed for one page"  # not retried
    assert elapsed < 5
    assert not (tmp_path / "scraped").exists() or not list((tmp_path / "scraped").rglob("*.html"))


def test_a_fast_page_is_not_affected_by_the_deadline(server, tmp_path):
    (result,) = fetch_sources([Source(url=server + "/page")], tmp_path, deadline=1.5, per_host_delay=0)
    assert result.status == "saved" and result.path.read_bytes() == PAGE.encode("utf-8")


def _sources(tmp_path: Path, text: str) -> tuple[list[Source], list[str]]:
    path = tmp_path / "sources.yaml"
    path.write_text(text, encoding="utf-8")
    return read_sources(path)


def test_bad_entries_name_their_line_and_the_good_ones_are_kept(tmp_path):
    sources, problems = _sources(
        tmp_path,
        "# reports to fetch\n"
        "- url: https://www.example.gov.cn/a.html\n"
        "- url: file:///etc/passwd\n"
        "  county: 郎溪县\n"
        "- note: no url here\n"
        "- http://example.com/b.html\n",
    )
    assert [s.url for s in sources] == ["https://www.example.gov.cn/a.html", "http://example.com/b.html"]
    path = tmp_path / "sources.yaml"
    assert problems == [
        f"{path}, line 3, entry 2: url 'file:///etc/passwd' has scheme 'file'; "
        "only http:// and https:// are fetched",
        f"{path}, line 5, entry 3: 'url' is missing or not a string",
    ]


def test_a_file_that_is_not_yaml_is_one_problem_with_its_line(tmp_path):
    sources, problems = _sources(tmp_path, "- url: http://example.com/a.html\n- url: [unclosed\n- x\n")
    assert sources == []
    (problem,) = problems
    assert problem.startswith(f"{tmp_path / 'sources.yaml'}, line ") and "not valid YAML" in problem


def test_a_list_under_sources_keeps_its_lines(tmp_path):
    _, problems = _sources(tmp_path, "sources:\n  - url: http://example.com/a\n  - url: ftp://x/y\n")
    assert problems and ", line 3, entry 2:" in problems[0]
