"""`forecaster ui` and `run_group`: a stop signal ends every process they started."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.servers import free_port, wait_until_healthy

ROOT = Path(__file__).resolve().parents[2]


def processes():
    """{pid: (state, ppid, pgid)} of every process, read from /proc."""
    table = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # it ended meanwhile
            continue
        state, ppid, pgid = text[text.rindex(")") + 2 :].split()[:3]
        table[int(stat.parent.name)] = (state, int(ppid), int(pgid))
    return table


def alive_in(group):
    """The processes of `group` that still run.

    A zombie has ended already; only its parent, or init for an orphan, can remove it.
    """
    return sorted(
        pid for pid, (state, _, pgid) in processes().items() if pgid == group and state != "Z"
    )


def children(pid):
    return sorted(child for child, (_, ppid, _) in processes().items() if ppid == pid)


def port_is_free(port):
    """Whether a server could listen on the port now (as uvicorn does, with SO_REUSEADDR)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
            probe.listen()
        except OSError:
            return False
    return True


def wait_for(condition, seconds):
    """Polls `condition` until it holds or `seconds` have passed; returns its last value."""
    deadline = time.monotonic() + seconds
    while not (result := condition()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return result


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """An MLflow store holding one experiment, "seen", that the UI must then show."""
    uri = f"sqlite:///{tmp_path_factory.mktemp('store') / 'mlflow.db'}"
    code = "from forecaster.tracking import store; store.experiment_id('seen')"
    subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "MLFLOW_TRACKING_URI": uri}, check=True, capture_output=True,
        timeout=300,
    )  # fmt: skip
    return uri


STOPS = pytest.mark.parametrize(
    ("signum", "status"),
    [(signal.SIGINT, 0), (signal.SIGTERM, 143), (signal.SIGHUP, 129)],
    ids=["SIGINT", "SIGTERM", "SIGHUP"],
)


# SIGHUP only: each start of the UI takes most of a minute on 2 cores, and SIGHUP is the
# signal MLflow's own processes survive (uvicorn restarts its workers on it); every stop
# signal's handling is tested on `run_group` below, with a group that ignores them all.
@pytest.mark.parametrize(("signum", "status"), [(signal.SIGHUP, 129)], ids=["SIGHUP"])
def test_ui_serves_the_store_until_a_stop_signal_ends_all_it_started(store, signum, status):
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "forecaster", "ui", "--ui.port", str(port)],
        env={**os.environ, "MLFLOW_TRACKING_URI": store, "FORECASTER_NATIVE": "0"},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(process, url)
        query = f"{url}/api/2.0/mlflow/experiments/get-by-name?experiment_name=seen"
        with urllib.request.urlopen(query, timeout=10) as response:
            assert json.loads(response.read())["experiment"]["name"] == "seen"
        (mlflow,) = children(process.pid)
        group = processes()[mlflow][2]
        assert group == mlflow != processes()[process.pid][2]  # a group of its own
        assert len(alive_in(group)) > 2  # mlflow, uvicorn and its workers, the job runner
        os.kill(process.pid, signum)  # to `forecaster ui` only, not to its group
        stdout, _ = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
    assert process.returncode == status
    assert stdout.startswith(f"MLflow UI at {url} for {store}; Ctrl-C stops it.")
    assert wait_for(lambda: not alive_in(group), 1) is True, alive_in(group)
    assert port_is_free(port)


# A command that ignores SIGINT, SIGTERM and SIGHUP, as the child it starts in its group does.
STUBBORN = """
import signal, subprocess, sys, time
for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
    signal.signal(signum, signal.SIG_IGN)
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
print(child.pid, flush=True)
time.sleep(120)
"""
# Runs `run_group` on the command in argv, with a grace of 1 s.
RUNNER = (
    "import sys; from forecaster.cli.process_group import run_group; "
    "sys.exit(run_group(sys.argv[1:], 1.0))"
)


@STOPS
def test_run_group_kills_what_a_stop_signal_does_not_end(signum, status):
    runner = subprocess.Popen(
        [sys.executable, "-c", RUNNER, sys.executable, "-c", STUBBORN],
        stdout=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        grandchild = int(runner.stdout.readline())
        (command,) = children(runner.pid)
        assert alive_in(command) == sorted([command, grandchild])
        started = time.monotonic()
        os.kill(runner.pid, signum)
        assert runner.wait(timeout=10) == status
        assert time.monotonic() - started > 1.0  # the grace, before SIGKILL
    finally:
        if runner.poll() is None:
            runner.kill()
        runner.stdout.close()
    assert wait_for(lambda: not alive_in(command), 1) is True, alive_in(command)


def test_run_group_returns_the_status_and_ends_what_the_command_left():
    leave = (
        "import os, subprocess, sys\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
        "print(os.getpid(), child.pid, flush=True)\n"
        "sys.exit(3)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", RUNNER, sys.executable, "-c", leave],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 3, result.stderr[-3000:]
    group, _ = map(int, result.stdout.split())
    assert wait_for(lambda: not alive_in(group), 1) is True, alive_in(group)
