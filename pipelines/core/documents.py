"""Files in the raw dir → RawDocument, or RejectedDocument with a reason a person can act on."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import re
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pipelines.core.decoding import DecodeError, decode_bytes
from pipelines.core.filestats import Identity, identity_of
from pipelines.core.models import RawDocument, RejectedDocument

__all__ = [
    "SUPPORTED_SUFFIXES",
    "FileRead",
    "RawDirError",
    "content_hash",
    "document_from_bytes",
    "document_from_read",
    "document_id",
    "iter_raw_files",
    "raw_files",
    "read_file_bytes",
    "read_present_file",
    "read_raw_file",
    "text_fingerprint",
]

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = frozenset({".txt", ".html", ".htm"})
SIDECAR_SUFFIX = ".meta.json"  # written by scrape.fetch_sources next to each saved page
_OWN_FILES = frozenset({"sources.yaml", "sources.yml", "sources.csv"})
DEFAULT_MAX_BYTES = 20_000_000

_HTML_START = re.compile(
    rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html[\s>])", re.I | re.S
)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-]+)""", re.I)
# Everything that is not a letter or digit (in any script): whitespace, punctuation, symbols.
_NOT_WORD = re.compile(r"[\W_]+")


class RawDirError(OSError):
    """The raw dir (or a directory in it) cannot be listed, or holds no readable file at all.

    Never a reason to delete anything: the run stops and the warehouse stays as it was.
    """


def content_hash(data: bytes) -> str:
    """sha256 of the file's bytes (hex)."""
    return hashlib.sha256(data).hexdigest()


def document_id(hash_hex: str) -> str:
    """First 16 hex digits of the content hash: identical bytes, identical id."""
    return hash_hex[:16]


def text_fingerprint(clean_text: str) -> str:
    """Hash of the cleaned text with all whitespace and punctuation removed (letters casefolded).

    The same report saved in another encoding, script or page template cleans to the same
    characters, so it fingerprints the same even when line breaks or punctuation widths differ.
    """
    core = _NOT_WORD.sub("", clean_text).casefold()
    return hashlib.sha256(core.encode("utf-8")).hexdigest()


def _is_ours(name: str) -> bool:
    return name.endswith(SIDECAR_SUFFIX) or name in _OWN_FILES


def iter_raw_files(raw_dir: str | os.PathLike[str]) -> Iterator[Path]:
    """Every file under raw_dir, sorted by relative path; hidden files/dirs and our sidecars skipped.

    Unsupported file types are still yielded, so read_raw_file can reject them with a reason. A
    directory that cannot be listed raises RawDirError: its files are not gone, so the run must not
    treat them as removed.
    """
    for _, path in raw_files(raw_dir):
        yield path


def raw_files(raw_dir: str | os.PathLike[str]) -> list[tuple[str, Path]]:
    """(source_file, path) of every file iter_raw_files yields, in its order.

    The names are joined as strings, once per directory, not through pathlib per file: listing is
    most of what a no-op check costs once unchanged files are not read (filestats.py).
    """
    root = Path(raw_dir).absolute()  # absolute, so read_raw_file(raw_dir, path) never joins twice
    unreadable: list[OSError] = []
    found: list[tuple[str, Path]] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False, onerror=unreadable.append):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        relative_dir = os.path.relpath(dirpath, root).replace(os.sep, "/")
        prefix = "" if relative_dir == "." else relative_dir + "/"
        directory = Path(dirpath)
        for name in filenames:
            if name.startswith(".") or _is_ours(name):
                continue
            found.append((display_name(prefix + name), directory / name))
    if unreadable:
        exc = unreadable[0]
        where = Path(exc.filename) if exc.filename else root
        shown = "the raw dir" if where == root else f"directory {relative_source_file(root, where)}"
        more = f" (and {len(unreadable) - 1} more)" if len(unreadable) > 1 else ""
        raise RawDirError(
            f"cannot list {shown} in raw dir {root}: {exc.strerror or exc}{more}; fix its permissions "
            "or move it out of the raw dir (nothing was removed from the warehouse)"
        )
    return sorted(found)


def display_name(name: str) -> str:
    """A path as text: names that are not valid UTF-8 (surrogate escapes) shown with \\x escapes."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return name


def name_is_valid(path: Path) -> bool:
    """Whether a file's name is valid UTF-8 (what the warehouse can store and a person can read)."""
    return display_name(str(path)) == str(path)


def relative_source_file(raw_dir: Path, path: Path) -> str:
    """A file's source_file: its POSIX path relative to the raw dir (non-UTF-8 bytes escaped)."""
    full = path if path.is_absolute() else raw_dir / path
    try:
        return display_name(full.relative_to(raw_dir).as_posix())
    except ValueError:
        return display_name(full.as_posix())


def _sidecar(path: Path) -> tuple[str | None, dt.datetime | None, str | None]:
    """(url, fetched_at as naive UTC, declared charset) from <file>.meta.json, if there is one."""
    meta_path = path.with_name(path.name + SIDECAR_SUFFIX)
    if not meta_path.is_file():
        return None, None, None
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        # The page itself is still good; only its provenance is lost, so keep it and say so.
        log.warning("ignoring unreadable sidecar %s: %s", meta_path, exc)
        return None, None, None
    if not isinstance(meta, dict):
        return None, None, None
    url = meta.get("final_url") or meta.get("url")
    fetched_at = None
    if meta.get("fetched_at"):
        try:
            fetched_at = dt.datetime.fromisoformat(str(meta["fetched_at"]).replace("Z", "+00:00"))
        except ValueError:
            log.warning("ignoring bad fetched_at in %s", meta_path)
        if fetched_at is not None and fetched_at.tzinfo is not None:
            fetched_at = fetched_at.astimezone(dt.UTC).replace(tzinfo=None)
    return (str(url) if url else None), fetched_at, meta.get("declared_charset") or None


def _size(n: float, *, exact: bool = False) -> str:
    # "50.0 MB" for a file, "20 MB" for a limit; small limits (tests, tight configs) stay readable.
    if n >= 1_000_000:
        return f"{n / 1_000_000:g} MB" if exact else f"{n / 1_000_000:.1f} MB"
    if n >= 1_000:
        return f"{n / 1_000:g} KB" if exact else f"{n / 1_000:.1f} KB"
    return f"{n:g} bytes"


_FILE_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _not_regular(mode: int) -> str:
    kind = next((what for test, what in _FILE_KINDS if test(mode)), "not a regular file")
    return f"not a regular file ({kind})" if kind != "not a regular file" else kind


def read_file_bytes(path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes | str:
    """A file's bytes, or the reason they cannot be read.

    Opened without blocking and checked on the open descriptor (so a FIFO, a device behind a
    symlink or a file swapped in meanwhile cannot hang the run or fill memory), then read up to the
    cap and never past it.
    """
    return _read_file(path, max_bytes)[0]


def _read_file(path: Path, max_bytes: int) -> tuple[bytes | str, os.stat_result | None]:
    """read_file_bytes, with the descriptor's stat taken before its bytes were read."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except PermissionError:
        return "permission denied", None
    except FileNotFoundError:
        return "file disappeared while reading", None
    except OSError as exc:
        return f"cannot read file: {exc.strerror or exc}", None
    with os.fdopen(fd, "rb", buffering=0) as handle:
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                return _not_regular(info.st_mode), None
            if info.st_size > max_bytes:
                return _too_big(info.st_size, max_bytes), None
            data = handle.read(max_bytes + 1) or b""
        except OSError as exc:
            return f"cannot read file: {exc.strerror or exc}", None
    if len(data) > max_bytes:  # grew after the size check
        return _too_big(len(data), max_bytes), None
    return data, info


def _too_big(size: int, max_bytes: int) -> str:
    return f"file is {_size(size)}, over the {_size(max_bytes, exact=True)} limit for one report"


def unsupported_type(path: Path) -> str | None:
    """Why a file is not read at all, from its name; None for .txt/.html/.htm."""
    suffix = path.suffix.lower()
    if suffix in SUPPORTED_SUFFIXES:
        return None
    kind = f"unsupported file type {suffix}" if suffix else "unsupported file type (no extension)"
    return f"{kind}; only {', '.join(sorted(SUPPORTED_SUFFIXES))} are read"


def document_from_bytes(
    source_file: str, full: Path, data: bytes, hash_hex: str | None = None
) -> RawDocument | RejectedDocument:
    """Decode bytes already read from a file; the hash is of exactly these bytes (given when the
    caller has it already)."""
    hash_hex = hash_hex or content_hash(data)

    def reject(stage: str, reason: str) -> RejectedDocument:
        return RejectedDocument(source_file=source_file, stage=stage, reason=reason, content_hash=hash_hex)

    if not data:
        return reject("read", "file is empty")
    suffix = full.suffix.lower()
    url, fetched_at, header_charset = _sidecar(full)
    is_html = suffix in (".html", ".htm") or bool(
        _HTML_START.match(data[:4096].removeprefix(b"\xef\xbb\xbf"))
    )
    declared = header_charset
    if is_html:
        # The page's own <meta charset> beats the HTTP header: Chinese servers often send a default.
        m = _META_CHARSET.search(data[:8192])
        if m:
            declared = m.group(1).decode("ascii", "replace")
    try:
        text, codec = decode_bytes(data, declared)
    except DecodeError as exc:
        return reject("decode", exc.reason)
    if not text.strip():
        return reject("decode", "file has no text (only whitespace)")
    return RawDocument(
        source_file=source_file,
        document_id=document_id(hash_hex),
        content_hash=hash_hex,
        byte_size=len(data),
        encoding=codec,
        text=text,
        is_html=is_html,
        url=url,
        fetched_at=fetched_at,
    )


@dataclass(frozen=True, slots=True)
class FileRead:
    """One raw file as this run found it: its bytes (hashed once), or why they could not be read."""

    source_file: str
    path: Path
    data: bytes | None = None  # None with a content_hash: the hash was known without reading (filestats)
    content_hash: str | None = None
    problem: str | None = None  # why the file was not read (name, type, size, permissions ...)
    identity: Identity | None = None  # the file's stat when its bytes were read (filestats.identity_of)
    read_began_ns: int = 0  # wall clock just before the file was opened (filestats.is_racy)

    @property
    def readable(self) -> bool:
        """The file's bytes were read, now or (unchanged since) by an earlier run."""
        return self.problem is None


def read_present_file(source_file: str, path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> FileRead:
    """A file's bytes and their hash, or why it is not read at all (name, type, size, permissions)."""
    if not name_is_valid(path):
        return FileRead(source_file, path, problem=INVALID_NAME_REASON)
    unsupported = unsupported_type(path)
    if unsupported:
        return FileRead(source_file, path, problem=unsupported)
    began = time.time_ns()
    data, info = _read_file(path, max_bytes)
    if isinstance(data, str):
        return FileRead(source_file, path, problem=data)
    digest = content_hash(data)
    return FileRead(source_file, path, data, digest, identity=identity_of(info), read_began_ns=began)


def read_raw_file(
    raw_dir: str | os.PathLike[str],
    path: str | os.PathLike[str],
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> RawDocument | RejectedDocument:
    """Read and decode one raw file; every failure comes back as a RejectedDocument with a reason."""
    root = Path(raw_dir).absolute()
    path = Path(path)
    full = path if path.is_absolute() else root / path
    return document_from_read(read_present_file(relative_source_file(root, full), full, max_bytes=max_bytes))


def document_from_read(read: FileRead) -> RawDocument | RejectedDocument:
    """The document a file read makes, or its rejection: unread ("read") or undecodable ("decode")."""
    if read.data is None:
        return RejectedDocument(read.source_file, "read", read.problem or "cannot read file")
    return document_from_bytes(read.source_file, read.path, read.data, read.content_hash)


INVALID_NAME_REASON = "file name is not valid UTF-8 (shown with \\x escapes); rename the file"
