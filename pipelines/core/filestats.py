"""What each raw file's bytes hashed to, remembered with its stat identity (git's index, for the raw dir).

Reading and hashing every raw file was most of the cost of a no-op run and of an ingest with
little new (6 s for 1.2 GB at 100,000 reports). A file whose stat *identity* -- (size, mtime_ns,
ctime_ns, inode, device) -- is what it was when its bytes were hashed still holds those bytes, so
the hash is taken from here and the file is not read. ctime is in the key because no user can set
it: ``os.utime`` puts an old mtime back but moves ctime to now, and so does every write, rename or
chmod.

*Racy* entries, as git calls them: a file written in the same timestamp tick as it was read could
change again within that tick and keep its identity. So an entry is kept only when the file's mtime
and ctime are older than the moment its read began by RACY_MARGIN_NS; a file written just before a
run is read again by the next one (and remembered then).

The cache is a fact about the raw files, not about any warehouse: it maps a file's identity to its
bytes' hash, and the raw tables' recorded hashes still decide what changed. So one cache serves the
no-op check (which compares with the *published* file) and ingestion (the *working* file); a
partition keeps its own beside its output, so partitions built at once never share one. It is its
own file, ``<warehouse stem>.filestats.json`` beside the warehouse, replaced atomically, and
refreshed by whichever reads files (ingestion, and the no-op check too: after a raw dir is copied or
touched, the next check reads every file once, finds nothing changed and starts no run, so only it
can record the new identities). Columns on the raw tables were the other choice: they would only be
refreshed by a run that publishes, so after a copy every later no-op check would read every file.

Nothing here may make a run publish something wrong, only slower: an absent, damaged or foreign
cache (another raw dir, another format) is ignored whole; a cached hash is used only when it equals
the hash the raw tables recorded (otherwise the file is read); an entry whose identity differs in
any field is never used; `fupin run --force` ignores the cache and reads every file.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.core import processes

FORMAT = 1
# Not trusted: an mtime or ctime this close to (or after) the moment the file's read began. It must
# exceed the coarsest timestamp tick of a filesystem a raw dir may sit on -- 2 s (FAT's mtime; ext3
# and HFS+ keep 1 s, ext4/xfs/tmpfs a few ms) -- plus how far a file server's clock may run behind
# this machine's (NFS/SMB stamp files with the server's clock): 3 s more. Too large only means a
# file written within it before a run is read once more by the next run.
RACY_MARGIN_NS = 5_000_000_000
REREAD_ENV = "FUPIN_REREAD_RAW"  # set by `fupin run --force`: read every raw file, trust no cache
SUFFIX = ".filestats.json"

Identity = tuple[int, int, int, int, int]  # (size, mtime_ns, ctime_ns, inode, device)


def identity_of(info: os.stat_result) -> Identity:
    return (info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino, info.st_dev)


def is_racy(identity: Identity, read_began_ns: int) -> bool:
    """Whether the file may have changed within its timestamp tick after it was read."""
    _, mtime_ns, ctime_ns, _, _ = identity
    return max(mtime_ns, ctime_ns) >= read_began_ns - RACY_MARGIN_NS


def cache_path(published: Path) -> Path:
    """The cache beside a warehouse (or a partition's output), named after its published file."""
    return published.with_name(published.stem + SUFFIX)


def reread_requested() -> bool:
    return os.environ.get(REREAD_ENV, "").strip().lower() in ("1", "true", "yes")


@dataclass(slots=True)
class FileStats:
    """source_file -> [size, mtime_ns, ctime_ns, inode, device, content_hash] of one raw dir's files.

    Loaded once, looked up per file (`known_hash`), told of each file read (`remember`), saved once
    (`save`) with only the files this run saw: a file gone from the raw dir is forgotten.
    """

    path: Path | None  # None: remembers nothing and saves nothing
    raw_dir: str
    entries: dict[str, list] = field(default_factory=dict)
    seen: dict[str, list] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | None, raw_dir: Path) -> FileStats:
        """The cache at path for raw_dir; empty when absent, damaged, of another raw dir or format,
        or when `fupin run --force` asked for every file to be read."""
        stats = cls(path, os.fspath(raw_dir))
        if path is None or reread_requested():
            return stats
        try:
            data = json.loads(path.read_bytes())
            if data["format"] == FORMAT and data["raw_dir"] == stats.raw_dir:
                entries = data["files"]
                if isinstance(entries, dict):
                    stats.entries = entries  # each entry is checked when it is looked up
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            pass  # only speed is lost: every file is read
        return stats

    def known_hash(self, source_file: str, path: Path) -> str | None:
        """The hash of the file's bytes if its identity is the one remembered; None: read the file."""
        entry = self.entries.get(source_file)
        if not (isinstance(entry, list) and len(entry) == 6 and isinstance(entry[5], str)):
            return None
        try:
            identity = identity_of(os.stat(path))
        except OSError:
            return None
        if list(identity) != entry[:5]:
            return None
        self.seen[source_file] = entry
        return entry[5]

    def remember(
        self, source_file: str, identity: Identity | None, read_began_ns: int, digest: str | None
    ) -> None:
        """A file read now: its identity (fstat of the descriptor read) and its bytes' hash."""
        if identity is None or digest is None or is_racy(identity, read_began_ns):
            self.seen.pop(source_file, None)
            return
        self.seen[source_file] = [*identity, digest]

    def save(self) -> None:
        """Replace the cache file atomically with what this run saw, if that differs from what it loaded."""
        if self.path is None:
            return
        remove_abandoned_saves(self.path)
        if self.seen == self.entries:
            return
        record = {"format": FORMAT, "raw_dir": self.raw_dir, "files": self.seen}
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            tmp.write_text(json.dumps(record, separators=(",", ":")), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError:  # a read-only or full warehouse dir costs the next run its speed, nothing else
            with contextlib.suppress(OSError):
                tmp.unlink()


def remove_abandoned_saves(path: Path) -> None:
    """Delete the half-written copies of the cache that processes killed while saving it left (each
    is named after its writer's pid); a live process's copy is left to it."""
    for leftover in path.parent.glob(f".{path.name}.*.tmp"):
        writer = leftover.name[len(path.name) + 2 : -len(".tmp")]
        if writer.isdigit() and not processes.exists(int(writer)):
            with contextlib.suppress(OSError):
                leftover.unlink()
