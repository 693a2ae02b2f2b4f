"""The Dagster UI as the README tells a user to start it: `make run`, then `make dev`, on a fresh
DAGSTER_HOME. The webserver's GraphQL API (what the UI itself reads) must list the assets with the
CLI's materialisations, launch a run of the job that finishes, and show the schedule and sensor the
README's shell lines start, the sensor's first tick skipping because nothing changed.

One module-scoped `make dev` (webserver, daemon and code server) serves every test here.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, make_raw_dir

pytestmark = pytest.mark.e2e

JOB = "full_pipeline_job"
STARTUP_TIMEOUT = 300  # seconds: webserver, daemon and the code location on a busy 2-core machine
RUN_TIMEOUT = 600


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Dagster:
    url: str
    home: Path
    env: dict[str, str]
    cli_run_id: str
    raw_dir: Path
    warehouse: Path

    def query(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        request = urllib.request.Request(
            f"{self.url}/graphql", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            answer = json.loads(response.read())
        assert "errors" not in answer, answer["errors"]
        return answer["data"]

    def wait_for(self, what: str, probe: Any, timeout: float) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = probe()
            if found:
                return found
            time.sleep(2)
        pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")


ASSETS = """
{ assetNodes {
    assetKey { path }
    groupName
    assetMaterializations(limit: 1) { runId }
    assetChecksOrError { ... on AssetChecks { checks {
        name description executionForLatestMaterialization { runId status } } } }
} }
"""


def _assets(dagster: Dagster) -> dict[str, dict[str, Any]]:
    return {"/".join(n["assetKey"]["path"]): n for n in dagster.query(ASSETS)["assetNodes"]}


def _make(*args: str, env: dict[str, str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["make", "--no-print-directory", *args], cwd=REPO, env=env, text=True, **kwargs)


@pytest.fixture(scope="module")
def dagster(tmp_path_factory: pytest.TempPathFactory, dbt_manifest: Path) -> Iterator[Dagster]:
    root = tmp_path_factory.mktemp("ui")
    home = root / "dagster_home"  # does not exist yet: as on a fresh clone
    raw_dir = make_raw_dir(root / "raw")
    warehouse = root / "warehouse" / "fupin.duckdb"
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "FUPIN_RAW_DIR": str(raw_dir),
        "FUPIN_WAREHOUSE": str(warehouse),
    }
    done = _make("run", env=env, capture_output=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    found = re.search(r"dagster run: ([0-9a-f-]{36})", done.stdout)
    assert found, done.stdout
    assert (home / "dagster.yaml").is_file()

    port = _free_port()
    log = open(root / "make-dev.log", "w")  # noqa: SIM115 - closed at teardown
    server = subprocess.Popen(
        ["make", "--no-print-directory", "dev", f"DAGSTER_PORT={port}"],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: webserver, daemon and code server stop together
    )
    dagster = Dagster(f"http://127.0.0.1:{port}", home, env, found.group(1), raw_dir, warehouse)
    try:

        def answers() -> bool:
            assert server.poll() is None, (root / "make-dev.log").read_text()
            try:
                return bool(_assets(dagster))  # the code location is loaded
            except (urllib.error.URLError, ConnectionError, AssertionError, KeyError, TypeError):
                return False

        dagster.wait_for("make dev to answer with the code location loaded", answers, STARTUP_TIMEOUT)
        yield dagster
    finally:
        _stop_process_group(server)
        log.close()


def _stop_process_group(leader: subprocess.Popen[bytes]) -> None:
    """Stop `make dev` and everything it started (webserver, daemon, code server: one process group),
    waiting until the whole group is gone, killing it after a minute."""
    group = leader.pid
    os.killpg(group, signal.SIGTERM)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        leader.poll()  # reap make itself
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return
        time.sleep(0.5)
    os.killpg(group, signal.SIGKILL)
    leader.wait()


# Built by their own job (source_partitions_job), never by `fupin run` or full_pipeline_job.
PARTITIONED = ["source_partition"]


def _full_job_assets(dagster: Dagster) -> dict[str, Any]:
    return {key: node for key, node in _assets(dagster).items() if key not in PARTITIONED}


def test_assets_show_the_cli_runs_materialisations(dagster: Dagster) -> None:
    assets = _assets(dagster)
    assert {"raw_documents", "stg_raw__validated_facts", "dim_county", "published_warehouse"} <= set(assets)
    never = [key for key, node in assets.items() if not node["assetMaterializations"]]
    assert never == PARTITIONED
    runs = {key: node["assetMaterializations"][0]["runId"] for key, node in _full_job_assets(dagster).items()}
    assert set(runs.values()) == {dagster.cli_run_id}
    groups = {key: node["groupName"] for key, node in assets.items()}
    assert groups["stg_raw__validated_facts"] == "staging"
    assert groups["int_facts_deduplicated"] == "intermediate"
    assert groups["dim_county"] == "marts"


def test_checks_have_descriptions_and_the_cli_runs_results(dagster: Dagster) -> None:
    checks = [check for node in _assets(dagster).values() for check in node["assetChecksOrError"]["checks"]]
    assert len(checks) > 50
    assert [c["name"] for c in checks if not c["description"]] == []
    results = {c["executionForLatestMaterialization"]["runId"] for c in checks}
    assert results == {dagster.cli_run_id}
    unit_check = next(c for c in checks if c["name"] == "assert_observation_unit_is_metric_unit")
    assert unit_check["executionForLatestMaterialization"]["status"] == "SUCCEEDED"


LAUNCH = """
mutation($params: ExecutionParams!) { launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on RunConfigValidationInvalid { errors { message } }
} }
"""
RUN_STATUS = "query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }"


def test_a_run_launched_from_the_ui_finishes(dagster: Dagster) -> None:
    selector = {"repositoryLocationName": "fupin", "repositoryName": "__repository__", "jobName": JOB}
    launched = dagster.query(LAUNCH, {"params": {"selector": selector, "runConfigData": {}}})["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]

    def finished() -> str | None:
        status = dagster.query(RUN_STATUS, {"id": run_id})["runOrError"]["status"]
        return status if status in {"SUCCESS", "FAILURE", "CANCELED"} else None

    assert dagster.wait_for(f"run {run_id} to finish", finished, RUN_TIMEOUT) == "SUCCESS"
    assert {n["assetMaterializations"][0]["runId"] for n in _full_job_assets(dagster).values()} == {run_id}


SCHEDULE = """
{ scheduleOrError(scheduleSelector: {repositoryLocationName: "fupin", repositoryName: "__repository__",
                                    scheduleName: "daily_pipeline"}) {
    ... on Schedule { scheduleState { status } } } }
"""
SENSOR = """
{ sensorOrError(sensorSelector: {repositoryLocationName: "fupin", repositoryName: "__repository__",
                                sensorName: "raw_dir_sensor"}) {
    ... on Sensor { sensorState { status ticks(limit: 5) { status skipReason runIds } } } } }
"""


def test_the_readme_shell_lines_start_the_schedule_and_the_sensor(dagster: Dagster) -> None:
    """README: `export DAGSTER_HOME=$PWD/.dagster_home`, then `dagster schedule|sensor start`."""
    dagster_cli = Path(sys.executable).with_name("dagster")
    for command in (["schedule", "start", "daily_pipeline"], ["sensor", "start", "raw_dir_sensor"]):
        done = subprocess.run(
            [str(dagster_cli), *command, "-w", "workspace.yaml"],
            cwd=REPO,
            env=dagster.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout + done.stderr
    assert dagster.query(SCHEDULE)["scheduleOrError"]["scheduleState"]["status"] == "RUNNING"

    def first_tick() -> dict[str, Any] | None:
        state = dagster.query(SENSOR)["sensorOrError"]["sensorState"]
        assert state["status"] == "RUNNING"
        done = [t for t in state["ticks"] if t["status"] in {"SKIPPED", "SUCCESS", "FAILURE"}]
        return done[-1] if done else None

    # The daemon evaluates a started sensor within seconds. Nothing changed since the last run: no run.
    tick = dagster.wait_for("the sensor's first tick", first_tick, 180)
    assert tick["status"] == "SKIPPED", tick
    assert tick["runIds"] == [] and "already holds" in tick["skipReason"]
