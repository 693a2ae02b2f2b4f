"""Kill `fupin run` at random points, again and again, and check it never publishes a wrong warehouse.

On a synthetic corpus (benchmarks/corpus.py: the reports in raw/, county swapped, numbers varied),
each round:

1. changes the raw dir (reports added, one removed, one rewritten), so the next publish differs;
2. builds the new corpus from scratch in a warehouse of its own: the expected result;
3. starts `fupin run` on the warehouse under test and kills it with SIGKILL (by pid) at a random
   moment: a random time into the run, or a random delay after a random step finished (so short
   steps such as publishing are hit too);
4. checks the published file is byte for byte the previous good one, or the new complete one (same
   row counts and facts hash as the fresh build), with no write-ahead log beside it, and that no
   process of the killed run (dbt) lives on;
5. runs `fupin run` to the end and checks it equals the fresh build (row counts of every table and
   view in schema main, and a hash of the facts, observations and rejections), with no temporary
   copies left.

    .venv/bin/python scripts/fault_injection.py                 # 10 kills on 40 reports
    .venv/bin/python scripts/fault_injection.py --kills 30 --reports 100 --seed 3

Prints one line per kill and a summary; exits 1 if any check failed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks import corpus  # noqa: E402
from pipelines.core import documents  # noqa: E402
from pipelines.core.gazetteer import load_gazetteer  # noqa: E402
from pipelines.core.places import PlaceIndex  # noqa: E402
from tests.runs import alive, descendants  # noqa: E402

FUPIN = Path(sys.executable).parent / "fupin"
# Tables whose rows are hashed (timestamps left out: they differ between two builds of the same input).
HASHED = ("fct_metric_observation", "fct_county_year_metric", "dim_document", "rpt_rejections")
STEPS = (
    "dbt parse",
    "reference_data",
    "ingest_raw_documents",
    "clean_documents",
    "extract_facts",
    "validate_facts",
    "dbt_models",
)


# --- the warehouse as a reader sees it --------------------------------------------------------------


@dataclass(frozen=True)
class Fingerprint:
    row_counts: tuple[tuple[str, int], ...]
    facts_hash: str


_FINGERPRINT = """
import duckdb, hashlib, json, sys
con = duckdb.connect(sys.argv[1], read_only=True)
tables = [r[0] for r in con.execute(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY 1").fetchall()]
counts = [(t, con.execute(f'SELECT count(*) FROM main."{t}"').fetchone()[0]) for t in tables]
digest = hashlib.sha256()
for table in json.loads(sys.argv[2]):
    cols = [r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'main' AND table_name = ? "
        "AND data_type NOT LIKE 'TIMESTAMP%' ORDER BY ordinal_position", [table]).fetchall()]
    if not cols:
        continue
    quoted = ", ".join(chr(34) + c + chr(34) for c in cols)
    rows = con.execute(f"SELECT {quoted} FROM main.{table}").fetchall()
    for line in sorted(repr(row) for row in rows):
        digest.update(line.encode()); digest.update(b"\\n")
print(json.dumps({"counts": counts, "hash": digest.hexdigest()}))
"""


def fingerprint(path: Path) -> Fingerprint:
    """Read in a process of its own: DuckDB caches files per process, this one must see the disk."""
    done = subprocess.run(
        [sys.executable, "-c", _FINGERPRINT, str(path), json.dumps(HASHED)],
        capture_output=True,
        text=True,
        check=True,
    )
    data = json.loads(done.stdout)
    return Fingerprint(tuple((t, n) for t, n in data["counts"]), data["hash"])


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- runs -------------------------------------------------------------------------------------------


def fupin_run(raw: Path, warehouse: Path) -> subprocess.Popen[str]:
    command = [str(FUPIN)] if FUPIN.exists() else [sys.executable, "-m", "pipelines.cli"]
    command += ["run", "--raw-dir", str(raw), "--warehouse", str(warehouse), "--allow-shrink"]
    return subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )


def run_to_end(raw: Path, warehouse: Path) -> tuple[int, float, str]:
    started = time.monotonic()
    proc = fupin_run(raw, warehouse)
    out, _ = proc.communicate()
    return proc.returncode, time.monotonic() - started, out


class Progress:
    """Collects a running fupin's output lines with the time each arrived."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.lines: list[tuple[float, str]] = []
        self.started = time.monotonic()
        self._thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self._thread.start()

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self.lines.append((time.monotonic(), line.rstrip()))

    def step_done(self, step: str) -> float | None:
        for at, line in self.lines:
            if line.startswith(f"  ok  {step} "):
                return at
        return None

    def last_step(self) -> str:
        done = [line[6:34].strip() for _, line in self.lines if line.startswith("  ok  ")]
        return done[-1] if done else "(start-up)"


# --- the corpus ---------------------------------------------------------------------------------------


class Corpus:
    """A raw dir that changes a little every round, from a pool of synthetic reports."""

    def __init__(self, raw: Path, reports: int, rng: random.Random, seed: int) -> None:
        gazetteer = load_gazetteer()
        places = PlaceIndex(gazetteer)
        templates = corpus.load_templates(REPO / "raw", places, gazetteer)
        builder = corpus.CorpusBuilder(templates, corpus.replacement_counties(gazetteer, places), seed=seed)
        self.pool = builder.reports(reports * 3)
        self.raw = raw
        self.rng = rng
        self.next = reports
        corpus.write_reports(self.pool[:reports], raw)

    def change(self) -> str:
        """Add two reports, remove one, rewrite one; returns what was done."""
        files = sorted(p for p in self.raw.iterdir() if p.is_file())
        removed = self.rng.choice(files)
        removed.unlink()
        # The corpus saves some reports in GB18030 or Big5: rewrite one of those in UTF-8 as plain text.
        rewritten = self.rng.choice([p for p in files if p != removed and p.suffix == ".txt"])
        text = documents.document_from_bytes(rewritten.name, rewritten, rewritten.read_bytes()).text
        rewritten.write_text(text + "\n据统计,全县新建蔬菜大棚120栋,带动脱贫户356户增收。\n", "utf-8")
        added = self.pool[self.next : self.next + 2]
        self.next += 2
        corpus.write_reports(added, self.raw)
        return f"+{len(added)} -1 ~1"


# --- one round ----------------------------------------------------------------------------------------


@dataclass
class Round:
    number: int
    kill_plan: str
    killed_after: float = 0.0
    killed_in: str = ""
    published: str = ""  # previous | new | missing | WRONG
    wal_left: bool = False
    orphans: int = 0
    next_ok: bool = False
    next_seconds: float = 0.0
    problems: list[str] = field(default_factory=list)


def _kill_at(proc: subprocess.Popen[str], progress: Progress, plan: tuple[str, float]) -> None:
    kind, value = plan
    while proc.poll() is None:
        now = time.monotonic()
        if kind == "time" and now - progress.started >= value:
            break
        if kind != "time":
            done = progress.step_done(kind)
            if done is not None and now - done >= value:
                break
        time.sleep(0.005)
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)


def one_round(
    number: int,
    plan: tuple[str, float],
    corpus_dir: Corpus,
    warehouse: Path,
    scratch: Path,
    previous_bytes: str | None,
) -> tuple[Round, Fingerprint | None]:
    kind, value = plan
    result = Round(number, f"{value:.1f}s into the run" if kind == "time" else f"{value:.2f}s after {kind}")
    corpus_dir.change()
    fresh = scratch / f"fresh{number}" / "fupin.duckdb"
    code, _, out = run_to_end(corpus_dir.raw, fresh)
    if code != 0:
        raise SystemExit(f"the fresh build failed:\n{out}")
    expected = fingerprint(fresh)
    shutil.rmtree(fresh.parent, ignore_errors=True)

    proc = fupin_run(corpus_dir.raw, warehouse)
    progress = Progress(proc)
    children_seen: set[int] = set()
    watcher_stop = threading.Event()

    def watch_children() -> None:
        while not watcher_stop.is_set():
            children_seen.update(descendants(proc.pid))
            time.sleep(0.02)

    watcher = threading.Thread(target=watch_children, daemon=True)
    watcher.start()
    _kill_at(proc, progress, plan)
    proc.wait()
    watcher_stop.set()
    watcher.join()
    result.killed_after = time.monotonic() - progress.started
    result.killed_in = progress.last_step() if proc.returncode == -signal.SIGKILL else "(finished)"
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and any(alive(pid) for pid in children_seen):
        time.sleep(0.05)
    orphans = [pid for pid in children_seen if alive(pid)]
    result.orphans = len(orphans)
    for pid in orphans:  # ours: do not let them disturb the next round
        os.kill(pid, signal.SIGKILL)
    if orphans:
        result.problems.append(f"{len(orphans)} processes of the killed run lived on")

    published = warehouse
    result.wal_left = published.with_name(published.name + ".wal").exists()
    if result.wal_left:
        result.problems.append("a write-ahead log beside the published file")
    if not published.exists():
        result.published = "missing" if previous_bytes is None else "WRONG (gone)"
    elif previous_bytes is not None and file_hash(published) == previous_bytes:
        result.published = "previous"
    elif fingerprint(published) == expected:
        result.published = "new"
    else:
        result.published = "WRONG"
    if result.published.startswith("WRONG"):
        result.problems.append(
            f"published file is neither the previous nor the new warehouse: {result.published}"
        )

    code, seconds, out = run_to_end(corpus_dir.raw, warehouse)
    result.next_seconds = seconds
    after = fingerprint(warehouse) if code == 0 else None
    result.next_ok = code == 0 and after == expected
    if not result.next_ok:
        last = out.strip().splitlines()[-1] if out.strip() else ""
        result.problems.append(f"next run {'failed: ' + last if code else 'differs from a fresh build'}")
    temps = list(warehouse.parent.glob(f".{warehouse.name}.*.tmp"))
    if temps:
        result.problems.append(f"{len(temps)} temporary copies left")
    return result, after


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=10, help="rounds, one kill each (default 10)")
    parser.add_argument("--reports", type=int, default=40, help="reports in the corpus (default 40)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", type=Path, help="scratch directory (default: a temporary one, removed)")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    scratch = args.work or Path(tempfile.mkdtemp(prefix="fupin-faults-"))
    scratch.mkdir(parents=True, exist_ok=True)
    try:
        return _main(args, rng, scratch)
    finally:
        if args.work is None:
            shutil.rmtree(scratch, ignore_errors=True)


def _main(args: argparse.Namespace, rng: random.Random, scratch: Path) -> int:
    raw = scratch / "raw"
    corpus_dir = Corpus(raw, args.reports, rng, args.seed)
    warehouse = scratch / "wh" / "fupin.duckdb"
    code, full_seconds, out = run_to_end(raw, warehouse)
    if code != 0:
        raise SystemExit(f"the first run failed:\n{out}")
    previous_bytes = file_hash(warehouse)
    run_seconds = full_seconds * 0.8  # until a round has timed an incremental run
    print(
        f"corpus: {args.reports} synthetic reports (seed {args.seed}); a full run takes {full_seconds:.1f}s"
    )
    print(f"{'round':>5}  {'kill plan':<34} {'last step done':<44} {'published':<9} {'orphans':>7}  next run")
    rounds: list[Round] = []
    for number in range(1, args.kills + 1):
        if rng.random() < 0.5:
            plan = ("time", rng.uniform(0, run_seconds))
        else:
            plan = (rng.choice(STEPS), rng.uniform(0, 0.4))
        result, after = one_round(number, plan, corpus_dir, warehouse, scratch, previous_bytes)
        rounds.append(result)
        next_run = f"{'= fresh build' if result.next_ok else 'DIFFERS'} ({result.next_seconds:.1f}s)"
        print(
            f"{number:>5}  {result.kill_plan:<34} {result.killed_in:<44} {result.published:<9} "
            f"{result.orphans:>7}  {next_run}",
            flush=True,
        )
        for problem in result.problems:
            print(f"       problem: {problem}", flush=True)
        if after is not None:
            previous_bytes = file_hash(warehouse)
        run_seconds = result.next_seconds  # an incremental run, like the one the next round kills
    failed = [r for r in rounds if r.problems]
    outcomes = {k: sum(r.published == k for r in rounds) for k in ("previous", "new")}
    finished = sum(r.killed_in == "(finished)" for r in rounds)
    print(
        f"\n{len(rounds)} rounds, {len(rounds) - finished} runs killed ({finished} finished before the "
        f"moment drawn): published file was the previous warehouse {outcomes['previous']} times, "
        f"the new one {outcomes['new']} times, anything else {len(rounds) - sum(outcomes.values())} times; "
        f"next run equal to a fresh build {sum(r.next_ok for r in rounds)}/{len(rounds)}; "
        f"orphan processes {sum(r.orphans for r in rounds)}; "
        f"write-ahead logs left {sum(r.wal_left for r in rounds)}"
    )
    print("all checks passed" if not failed else f"{len(failed)} rounds with problems")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
