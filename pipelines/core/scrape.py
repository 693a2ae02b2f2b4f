"""Fetch the report pages listed in raw/sources.yaml into the raw dir, politely.

Each page is saved as raw bytes (decoding happens later, in documents.read_raw_file) under
raw_dir/scraped/<host>/<sha1(url)[:12]>.html with a <that>.meta.json sidecar recording where and
when it came from. One bad URL never stops the run: it comes back as a "failed" FetchResult. A bad
entry in sources.yaml is a problem naming the file and line (`read_sources`), never retried. Each
fetch has an overall deadline besides the per-read timeout: a server that drips a byte at a time
is cut off.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import os
import re
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
import requests.adapters
import urllib3.connection
import urllib3.connectionpool
import yaml

__all__ = [
    "SOURCES_FILE",
    "FetchResult",
    "Source",
    "SourcesError",
    "fetch_sources",
    "load_sources",
    "page_path",
    "read_sources",
]

log = logging.getLogger(__name__)

SOURCES_FILE = "sources.yaml"  # in the raw dir
DEFAULT_USER_AGENT = "fupin/0.1 (+poverty-report research; contact in README)"
DEFAULT_DEADLINE = 60.0  # seconds for one fetch attempt: connecting, headers and body together
_TEXTUAL_TYPES = re.compile(r"^(?:text/|application/(?:xhtml\+xml|xml)$)", re.I)
_CHARSET_PARAM = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_\-]+)", re.I)
_CHUNK = 65536


class SourcesError(ValueError):
    """sources.yaml is unreadable or has a bad entry; the message names the file and the entry."""


@dataclass(frozen=True, slots=True)
class Source:
    url: str
    county: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class FetchResult:
    url: str
    status: str  # "saved" | "skipped" | "failed"
    path: Path | None = None  # the saved (or already present) page
    reason: str | None = None  # why it failed or was skipped
    retryable: bool = False  # failed in a way another attempt later might not (network, 5xx)


def _check_url(url: object, where: str) -> str:
    if not isinstance(url, str) or not url.strip():
        raise SourcesError(f"{where}: 'url' is missing or not a string")
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        scheme = f"scheme {parts.scheme!r}" if parts.scheme else "no scheme"
        raise SourcesError(f"{where}: url {url!r} has {scheme}; only http:// and https:// are fetched")
    if not parts.hostname:
        raise SourcesError(f"{where}: url {url!r} has no host name")
    return url


def _line_of(node: yaml.Node | None) -> int | None:
    return node.start_mark.line + 1 if node is not None else None


def _entry_nodes(root: yaml.Node | None) -> list[yaml.Node | None]:
    """The YAML node of each entry (for its line number), in the same order as the parsed list."""
    if isinstance(root, yaml.MappingNode):
        root = next((v for k, v in root.value if getattr(k, "value", None) == "sources"), None)
    return list(root.value) if isinstance(root, yaml.SequenceNode) else []


def _parse_entry(entry: object, where: str) -> Source:
    if isinstance(entry, str):
        entry = {"url": entry}
    if not isinstance(entry, dict):
        raise SourcesError(f"{where}: expected a mapping with a 'url', got {entry!r}")
    unknown = set(entry) - {"url", "county", "note"}
    if unknown:
        raise SourcesError(f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}")
    url = _check_url(entry.get("url"), where)
    county, note = entry.get("county"), entry.get("note")
    return Source(
        url=url, county=str(county) if county is not None else None, note=str(note) if note else None
    )


def read_sources(path: str | os.PathLike[str]) -> tuple[list[Source], list[str]]:
    """The pages to fetch and the problems of the entries that cannot be fetched, each problem naming
    the file and line. A file that cannot be parsed at all is one problem and no sources.

    The file is a YAML list of {url, county?, note?} (or bare URL strings), optionally under a
    top-level `sources:` key. Duplicate URLs are kept once.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return [], [f"{path}: file not found"]
    except (OSError, UnicodeDecodeError) as exc:
        return [], [f"{path}: cannot read: {exc}"]
    try:
        data = yaml.safe_load(text)
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f", line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        return [], [f"{path}{line}: not valid YAML: {problem}"]
    if data is None:
        return [], []
    if isinstance(data, dict) and "sources" in data:
        data = data["sources"] or []
    if not isinstance(data, list):
        what = type(data).__name__
        return [], [f"{path}, line {_line_of(root)}: expected a list of entries with a 'url', got {what}"]
    nodes = _entry_nodes(root)
    sources: list[Source] = []
    problems: list[str] = []
    seen: set[str] = set()
    for i, entry in enumerate(data, start=1):
        line = _line_of(nodes[i - 1]) if i <= len(nodes) else None
        where = f"{path}, line {line}, entry {i}" if line else f"{path}: entry {i}"
        try:
            source = _parse_entry(entry, where)
        except SourcesError as exc:
            problems.append(str(exc))
            continue
        if source.url not in seen:
            seen.add(source.url)
            sources.append(source)
    return sources, problems


def load_sources(path: str | os.PathLike[str]) -> list[Source]:
    """read_sources, strictly: SourcesError naming the file and line of the first problem."""
    sources, problems = read_sources(path)
    if problems:
        raise SourcesError(problems[0])
    return sources


def page_path(raw_dir: str | os.PathLike[str], url: str) -> Path:
    """Where the page for url is saved: raw_dir/scraped/<host>/<sha1(url)[:12]>.html."""
    host = (urlsplit(url).hostname or "unknown-host").lower()
    host = re.sub(r"[^a-z0-9.\-]", "_", host)
    return Path(raw_dir) / "scraped" / host / f"{hashlib.sha1(url.encode('utf-8')).hexdigest()[:12]}.html"


def _sidecar_path(page: Path) -> Path:
    return page.with_name(page.name + ".meta.json")


def already_fetched(raw_dir: str | os.PathLike[str], url: str) -> bool:
    """The page for url is saved in the raw dir with its sidecar: a run skips it unless refetching."""
    page = page_path(raw_dir, url)
    return page.is_file() and _sidecar_path(page).is_file()


def _write_atomically(path: Path, data: bytes) -> None:
    # Hidden temp name: iter_raw_files never sees a half-written page.
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_bytes(data)
    os.replace(tmp, path)


class _Deadline:
    """Cuts a fetch off when its overall deadline passes, whatever phase it is in.

    requests' timeout applies to each socket read, so a server that sends a byte every few seconds
    never trips it. The sockets a fetch uses are registered here; when the deadline passes, a timer
    shuts them down, which makes the blocked read return at once.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def watch(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                _shutdown(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shutdown(sock)

    def __enter__(self) -> _Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


_current = threading.local()  # the _Deadline of the fetch running on this thread, if any


def _watch(sock: socket.socket | None) -> None:
    deadline = getattr(_current, "deadline", None)
    if deadline is not None:
        deadline.watch(sock)


@contextlib.contextmanager
def _deadline(seconds: float) -> Iterator[_Deadline]:
    with _Deadline(seconds) as deadline:
        _current.deadline = deadline
        try:
            yield deadline
        finally:
            _current.deadline = None


class _WatchedHTTPConnection(urllib3.connection.HTTPConnection):
    def connect(self) -> None:
        super().connect()
        _watch(self.sock)


class _WatchedHTTPSConnection(urllib3.connection.HTTPSConnection):
    def connect(self) -> None:
        super().connect()
        _watch(self.sock)  # the TLS socket: shutting it down ends the read below it too


class _WatchedPoolMixin:
    def _get_conn(self, timeout: float | None = None) -> Any:
        connection = super()._get_conn(timeout)  # type: ignore[misc]
        _watch(connection.sock)  # a kept-alive connection, already connected
        return connection


class _WatchedHTTPPool(_WatchedPoolMixin, urllib3.connectionpool.HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(_WatchedPoolMixin, urllib3.connectionpool.HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class _DeadlineAdapter(requests.adapters.HTTPAdapter):
    """An HTTPAdapter whose sockets a _Deadline can cut off."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


def _with_deadlines(session: requests.Session) -> requests.Session:
    adapter = _DeadlineAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class _Failure(Exception):
    def __init__(self, reason: str, *, retry: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry = retry


class _HostClock:
    """Keeps at least `delay` seconds between requests to the same host."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.last: dict[str, float] = {}

    def wait(self, url: str) -> None:
        host = urlsplit(url).hostname or ""
        if host in self.last:
            pause = self.last[host] + self.delay - time.monotonic()
            if pause > 0:
                time.sleep(pause)
        self.last[host] = time.monotonic()


def _get(
    session: requests.Session,
    url: str,
    *,
    timeout: float,
    max_bytes: int,
    user_agent: str,
    deadline: float = DEFAULT_DEADLINE,
) -> tuple[bytes, requests.Response]:
    too_slow = _Failure(f"took longer than the {deadline:g} s allowed for one page", retry=False)
    with _deadline(deadline) as watch:
        try:
            got = _get_within(session, url, timeout=timeout, max_bytes=max_bytes, user_agent=user_agent)
        except Exception:
            if watch.expired:
                raise too_slow from None
            raise
        if watch.expired:  # cut off: what was read may look complete but is not
            raise too_slow
    return got


def _get_within(
    session: requests.Session, url: str, *, timeout: float, max_bytes: int, user_agent: str
) -> tuple[bytes, requests.Response]:
    try:
        response = session.get(
            url, timeout=timeout, stream=True, allow_redirects=True, headers={"User-Agent": user_agent}
        )
    except requests.exceptions.TooManyRedirects:
        raise _Failure("too many redirects", retry=False) from None
    except (requests.exceptions.InvalidSchema, requests.exceptions.InvalidURL) as exc:
        raise _Failure(f"invalid URL or redirect target: {exc}", retry=False) from None
    except requests.exceptions.Timeout:
        raise _Failure(f"timed out after {timeout:g} s", retry=True) from None
    except requests.exceptions.ConnectionError as exc:
        raise _Failure(f"connection failed: {_short(exc)}", retry=True) from None
    with response:
        status = response.status_code
        if status >= 500:
            raise _Failure(f"HTTP {status} {response.reason or ''}".strip(), retry=True)
        if status >= 400:
            raise _Failure(f"HTTP {status} {response.reason or ''}".strip(), retry=False)
        final = urlsplit(response.url)
        if final.scheme not in ("http", "https"):
            raise _Failure(f"redirected to a non-http URL {response.url}", retry=False)
        content_type = response.headers.get("Content-Type", "")
        if content_type and not _TEXTUAL_TYPES.match(content_type):
            raise _Failure(f"not a web page (content type {content_type.split(';')[0]})", retry=False)
        length = response.headers.get("Content-Length")
        if length and length.isdigit() and int(length) > max_bytes:
            raise _Failure(_too_big(int(length), max_bytes), retry=False)
        chunks: list[bytes] = []
        total = 0
        try:
            for chunk in response.iter_content(_CHUNK):
                total += len(chunk)
                if total > max_bytes:
                    raise _Failure(_too_big(total, max_bytes, at_least=True), retry=False)
                chunks.append(chunk)
        except requests.exceptions.ConnectionError as exc:  # includes read timeouts mid-body
            raise _Failure(f"connection failed while reading the page: {_short(exc)}", retry=True) from None
        except requests.exceptions.RequestException as exc:
            raise _Failure(f"reading the page failed: {_short(exc)}", retry=True) from None
        return b"".join(chunks), response


def _too_big(n: int, limit: int, *, at_least: bool = False) -> str:
    size = f"{'over ' if at_least else ''}{n / 1_000_000:.1f} MB"
    return f"page is {size}, over the {limit / 1_000_000:g} MB limit"


def _short(exc: Exception) -> str:
    text = str(exc)
    return text if len(text) <= 200 else text[:200] + "..."


def _fetch_one(
    source: Source,
    raw_dir: Path,
    *,
    session: requests.Session,
    clock: _HostClock,
    refetch: bool,
    timeout: float,
    retries: int,
    backoff: float,
    max_bytes: int,
    user_agent: str,
    deadline: float,
) -> FetchResult:
    url = source.url
    page = page_path(raw_dir, url)
    if not refetch and already_fetched(raw_dir, url):
        return FetchResult(url=url, status="skipped", path=page, reason="already fetched")
    failure: _Failure | None = None
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(backoff * 2 ** (attempt - 1))
        clock.wait(url)
        try:
            data, response = _get(
                session, url, timeout=timeout, max_bytes=max_bytes, user_agent=user_agent, deadline=deadline
            )
        except _Failure as exc:
            failure = exc
            log.info("fetch %s attempt %d failed: %s", url, attempt + 1, exc.reason)
            if not exc.retry:
                break
            continue
        page.parent.mkdir(parents=True, exist_ok=True)
        _write_atomically(page, data)
        content_type = response.headers.get("Content-Type") or None
        m = _CHARSET_PARAM.search(content_type or "")
        meta = {
            "url": url,
            "final_url": response.url,
            "fetched_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "status": response.status_code,
            "content_type": content_type,
            "declared_charset": m.group(1) if m else None,
        }
        if source.county:
            meta["county"] = source.county
        _write_atomically(_sidecar_path(page), json.dumps(meta, ensure_ascii=False, indent=2).encode("utf-8"))
        return FetchResult(url=url, status="saved", path=page)
    assert failure is not None
    attempts = "" if not failure.retry else f" (after {retries + 1} attempts)"
    return FetchResult(url=url, status="failed", reason=failure.reason + attempts, retryable=failure.retry)


def fetch_sources(
    sources: Iterable[Source],
    raw_dir: str | os.PathLike[str],
    *,
    refetch: bool = False,
    timeout: float = 20,
    retries: int = 3,
    backoff: float = 1.0,
    per_host_delay: float = 1.0,
    max_bytes: int = 10_000_000,
    user_agent: str = DEFAULT_USER_AGENT,
    session: requests.Session | None = None,
    deadline: float = DEFAULT_DEADLINE,
) -> list[FetchResult]:
    """Fetch each source's page into raw_dir; one FetchResult per source, in order. Never raises
    for a single bad URL: timeouts, HTTP errors, oversize pages, pages slower than `deadline` seconds
    come back as status "failed"."""
    raw_dir = Path(raw_dir)
    own_session = session is None
    session = _with_deadlines(session or requests.Session())
    clock = _HostClock(per_host_delay)
    results: list[FetchResult] = []
    try:
        for source in sources:
            try:
                result = _fetch_one(
                    source,
                    raw_dir,
                    session=session,
                    clock=clock,
                    refetch=refetch,
                    timeout=timeout,
                    retries=retries,
                    backoff=backoff,
                    max_bytes=max_bytes,
                    user_agent=user_agent,
                    deadline=deadline,
                )
            except Exception as exc:  # e.g. disk full: report it against this URL and go on
                log.exception("fetching %s failed", source.url)
                result = FetchResult(url=source.url, status="failed", reason=f"{type(exc).__name__}: {exc}")
            results.append(result)
    finally:
        if own_session:
            session.close()
    return results
