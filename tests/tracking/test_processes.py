"""Runs whose process died end KILLED when the store is next opened: real processes, SIGKILL."""

import os
import socket
import subprocess
import sys

import pytest
from mlflow.tracking import MlflowClient

from forecaster.tracking import processes, store
from forecaster.tracking.runs import tracked_run
from tests.tracking.test_tracking import ROOT

HOLD_A_RUN = """
import sys
from forecaster.tracking import runs, store
with runs.tracked_run(experiment_id=store.experiment_id(sys.argv[1])) as run:
    print(run.info.run_id, flush=True)
    sys.stdin.read()  # until it is killed
"""


def marked(captured):
    """The lines `end_dead_runs` wrote among what a test captured on stderr."""
    return [line for line in captured.err.splitlines() if line.startswith("forecaster: marked")]


@pytest.fixture
def uri(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    return uri


def test_a_run_whose_process_was_killed_ends_killed(uri, capsys):
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD_A_RUN, "held"],
        env=os.environ, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, cwd=ROOT,
    )  # fmt: skip
    try:
        run_id = process.stdout.readline().strip()
        assert run_id, process.stderr.read()[-3000:]
        client = MlflowClient(tracking_uri=uri)
        tags = client.get_run(run_id).data.tags
        assert tags[processes.HOST_TAG] == socket.gethostname()
        assert tags[processes.PID_TAG] == str(process.pid)
        experiment = store.experiment_id("held")  # while it lives, its run is left alone
        assert client.get_run(run_id).info.status == "RUNNING"
        # The same process on another host, and a run that names no process at all.
        elsewhere = client.create_run(experiment, tags={**tags, processes.HOST_TAG: "elsewhere"})
        untagged = client.create_run(experiment)
        process.kill()  # SIGKILL: no handler runs, the run stays RUNNING
        # Waits for it to die but leaves it a zombie (not reaped), as under a busy parent.
        os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOWAIT)
        with tracked_run(experiment_id=experiment) as own:  # a run of a live process
            capsys.readouterr()
            store.experiment_id("another")  # any experiment: the whole store is repaired
            assert marked(capsys.readouterr()) == [
                f"forecaster: marked 1 run KILLED whose process is gone (pid {process.pid} "
                f"on host {socket.gethostname()}): {run_id}"
            ]
            killed = client.get_run(run_id).info
            assert killed.status == "KILLED"
            assert killed.end_time >= killed.start_time
            assert client.get_run(own.info.run_id).info.status == "RUNNING"
            assert client.get_run(elsewhere.info.run_id).info.status == "RUNNING"
            assert client.get_run(untagged.info.run_id).info.status == "RUNNING"
            store.experiment_id("held")
            assert marked(capsys.readouterr()) == []  # nothing left to end
    finally:
        process.kill()
        process.communicate(timeout=60)


def test_a_pid_that_now_names_another_process_is_not_the_runs(uri, capsys):
    """A run tagged with our pid but another start time belonged to an earlier process."""
    experiment = store.experiment_id("reused")
    client = MlflowClient(tracking_uri=uri)
    ours = processes.process_tags()
    boot = ours[processes.START_TAG].rpartition(":")[0]
    earlier = client.create_run(experiment, tags={**ours, processes.START_TAG: f"{boot}:1"})
    live = client.create_run(experiment, tags=ours)
    capsys.readouterr()
    store.experiment_id("reused")
    assert marked(capsys.readouterr()) == [
        f"forecaster: marked 1 run KILLED whose process is gone (pid {os.getpid()} on host "
        f"{socket.gethostname()}): {earlier.info.run_id}"
    ]
    assert client.get_run(earlier.info.run_id).info.status == "KILLED"
    assert client.get_run(live.info.run_id).info.status == "RUNNING"


def test_opening_the_store_for_the_ui_ends_the_dead_runs(uri, capsys):
    experiment = store.experiment_id("viewed")
    client = MlflowClient(tracking_uri=uri)
    ours = processes.process_tags()
    boot = ours[processes.START_TAG].rpartition(":")[0]
    earlier = client.create_run(experiment, tags={**ours, processes.START_TAG: f"{boot}:1"})
    capsys.readouterr()
    assert store.open_store() == uri
    assert marked(capsys.readouterr()) == [
        f"forecaster: marked 1 run KILLED whose process is gone (pid {os.getpid()} on host "
        f"{socket.gethostname()}): {earlier.info.run_id}"
    ]
    assert client.get_run(earlier.info.run_id).info.status == "KILLED"
