"""Comparisons on Ray: a real local Ray instance, a real SQLite MLflow store."""

import os
import socket
import sys

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

import forecaster as fc
from forecaster.cli import commands as cli
from forecaster.tracking import parallel, processes
from tests.assertions import raises_exactly
from tests.cli.test_cli import TINY, write
from tests.data.util import DATA
from tests.tracking.test_tracking import OPTIONS, births, runs_of

ray = pytest.importorskip("ray", reason="the distributed extra is not installed")

# Long enough (a few seconds per trial) that two trials on two workers overlap in time.
SLOWER = {**OPTIONS, "epochs": 6, "patience": 10}


@pytest.fixture(scope="module")
def local_ray():
    """One local Ray instance with two CPUs for the module; compare_cells uses it as it is."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture
def store(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    return MlflowClient(tracking_uri=uri)


def square_plus(item, shared):
    return item * item + shared, os.getpid(), os.environ.get("TF_NUM_INTRAOP_THREADS")


def test_run_on_ray_keeps_the_order_and_limits_the_threads(local_ray):
    finished = []
    results = parallel.run_on_ray(
        square_plus, [3, 1, 2], 10, on_done=lambda n, r: finished.append(n)
    )
    assert [value for value, _, _ in results] == [19, 11, 14]
    assert {pid for _, pid, _ in results}.isdisjoint({os.getpid()})  # other processes
    assert {threads for _, _, threads in results} == {"1"}
    assert finished == [1, 2, 3]


def test_the_trials_run_concurrently_nested_under_the_parent(local_ray, store):
    table = fc.compare_cells(
        births(), cells=["rnn", "gru"], seeds=1, baselines=["naive"], experiment="ray",
        progress=False, parallel="ray", **SLOWER,
    )  # fmt: skip
    runs = runs_of(store, "ray")
    parent = store.get_run(table.attrs["run_id"])
    children = {r.info.run_name: r for r in runs if r.info.run_id != parent.info.run_id}
    assert sorted(children) == ["gru seed 0", "naive", "rnn seed 0"]
    assert {r.data.tags["mlflow.parentRunId"] for r in children.values()} == {parent.info.run_id}
    assert {r.info.status for r in runs} == {"FINISHED"}
    assert parent.data.params["parallel"] == "ray"
    rnn, gru = children["rnn seed 0"].info, children["gru seed 0"].info
    assert rnn.start_time < gru.end_time  # the two trials overlapped in time
    assert gru.start_time < rnn.end_time
    assert sorted(table.index) == ["gru", "naive", "rnn"]
    assert table.attrs["failed"] == {}
    # Each trial names the Ray worker process it ran in, so a dead worker's run is repaired.
    assert parent.data.tags[processes.PID_TAG] == str(os.getpid())
    for trial in children.values():
        assert trial.data.tags[processes.PID_TAG] != str(os.getpid())
        assert trial.data.tags[processes.HOST_TAG] == socket.gethostname()
        assert processes.START_TAG in trial.data.tags
    # The same trials one by one give the same scores (seeded; float noise only).
    alone = fc.compare_cells(
        births(), cells=["rnn", "gru"], seeds=1, baselines=["naive"], experiment="alone",
        progress=False, **SLOWER,
    )  # fmt: skip
    np.testing.assert_allclose(table["mse_mean"], alone["mse_mean"], rtol=1e-3)


@pytest.mark.parametrize("mode", [None, "ray"])
def test_a_failing_trial_is_failed_and_the_others_go_on(mode, local_ray, store):
    exploding = births() * 1e30  # a cell's loss overflows (TrainingError); naive is fine
    table = fc.compare_cells(
        exploding, cells=["rnn"], seeds=1, baselines=["naive"], experiment="some-fail",
        progress=False, scaler="none", parallel=mode, **OPTIONS,
    )  # fmt: skip
    runs = {r.info.run_name: r.info.status for r in runs_of(store, "some-fail")}
    parent = store.get_run(table.attrs["run_id"])
    assert runs == {parent.info.run_name: "FINISHED", "rnn seed 0": "FAILED", "naive": "FINISHED"}
    assert list(table.index) == ["naive"]
    assert list(table.attrs["failed"]) == ["rnn seed 0"]
    assert table.attrs["failed"]["rnn seed 0"].startswith("TrainingError: training diverged")
    assert parent.data.tags["failed_trials"] == "rnn seed 0"


def test_every_trial_failing_fails_the_comparison(local_ray, store):
    with pytest.raises(fc.TrainingError, match="training diverged"):
        fc.compare_cells(
            births() * 1e30, cells=["rnn", "gru"], seeds=1, baselines=[], experiment="all-fail",
            progress=False, scaler="none", parallel="ray", **OPTIONS,
        )  # fmt: skip
    statuses = sorted(r.info.status for r in runs_of(store, "all-fail"))
    assert statuses == ["FAILED", "FAILED", "FAILED"]


def test_bad_parallel_options_fail_before_any_run(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    with raises_exactly(ValueError, "parallel='dask' is not known; pass None or one of ('ray',)"):
        fc.compare_cells(births(), parallel="dask", progress=False, **OPTIONS)
    with raises_exactly(ValueError, "cpus_per_task must be a positive integer, got 0"):
        fc.compare_cells(births(), parallel="ray", cpus_per_trial=0, progress=False, **OPTIONS)
    monkeypatch.setitem(sys.modules, "ray", None)  # as if the extra were not installed
    with raises_exactly(
        ImportError,
        "parallel='ray' needs Ray, which is not installed; install the extra with "
        "pip install -e \".[distributed]\" (or pip install 'ray>=2.50')",
    ):
        fc.compare_cells(births(), parallel="ray", progress=False, **OPTIONS)
    assert not (tmp_path / "mlflow.db").exists()


def test_the_command_line_compares_on_ray(local_ray, store, tmp_path, capsys):
    config = {**TINY, "compare": {"cells": ["gru"], "seeds": 2, "baselines": ["naive"]}}
    argv = ["compare", "--config", write(tmp_path, config), "--compare.parallel", "ray"]
    assert cli.main([*argv, "--compare.experiment", "cli-ray"]) == 0
    assert "3 trials on Ray, 1 CPU(s) each" in capsys.readouterr().err
    runs = runs_of(store, "cli-ray")
    parent = next(r for r in runs if "mlflow.parentRunId" not in r.data.tags)
    assert parent.data.params["parallel"] == "ray"
    assert sorted(r.info.run_name for r in runs if r is not parent) == [
        "gru seed 0", "gru seed 1", "naive"
    ]  # fmt: skip


def test_the_cells_searches_run_concurrently_on_ray(local_ray, store):
    table = fc.compare_cells(
        births(), cells=["rnn", "gru"], seeds=1, baselines=["naive"], experiment="ray-tuned",
        progress=False, parallel="ray", tune=2, space={"network.dropout": [0.0, 0.1]}, **SLOWER,
    )  # fmt: skip
    runs = runs_of(store, "ray-tuned")
    parent = table.attrs["run_id"]
    tuned = {r.info.run_name: r for r in runs if r.data.tags.get("kind") == "tuning"}
    assert sorted(tuned) == ["gru tuning 0", "gru tuning 1", "rnn tuning 0", "rnn tuning 1"]
    assert {r.data.tags["mlflow.parentRunId"] for r in tuned.values()} == {parent}
    assert {r.data.tags[processes.PID_TAG] for r in tuned.values()} != {str(os.getpid())}
    rnn = [r.info for r in tuned.values() if r.data.tags["cell"] == "rnn"]
    gru = [r.info for r in tuned.values() if r.data.tags["cell"] == "gru"]
    # The two searches overlapped in time: each began before the other ended.
    assert min(r.start_time for r in rnn) < max(r.end_time for r in gru)
    assert min(r.start_time for r in gru) < max(r.end_time for r in rnn)
    chosen = store.get_run(parent).data.params
    assert {chosen["tuned.rnn.network.dropout"], chosen["tuned.gru.network.dropout"]} <= {
        "0.0", "0.1"
    }  # fmt: skip


def test_the_ltsf_grid_runs_its_seeds_on_ray_and_keeps_its_files_as_a_serial_run(
    local_ray, tmp_path, monkeypatch
):
    from forecaster.cli import ltsf_grid, results

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    out = tmp_path / "ltsf.csv"
    overrides = [f"source.path={DATA}", "data.lookback=96", "network.units=4", "train.epochs=1"]
    config = ltsf_grid.config_of("ETTh1", 48, "gru", 0, overrides)
    digest, _ = ltsf_grid._point_of(config, "gru")
    waiting = {
        "data": "ETTh1", "horizon": 48, "lookback": 96, "model": "gru", "seed": 0,
        "config": "{}", "config_hash": digest, "val_loss": 1.0, "mse": 123.0, "mae": 9.0,
        "epochs": 1, "wall_seconds": 1.0, "cpu": "cpu", "commit": "abc", "run_id": "r0",
    }  # fmt: skip
    results.append(results.pending_path(out), ltsf_grid.RESULT_COLUMNS, waiting)
    argv = ["--results", str(out), "--data", "ETTh1", "--horizons", "48", "--seeds", "2"]
    argv += ["--models", "gru", "--parallel", "ray", "--cpus-per-task", "1"]
    argv += [flag for value in overrides for flag in ("--set", value)]
    assert ltsf_grid.main(argv) == 0  # one task: seed 1
    table = pd.read_csv(out)
    assert table["seed"].tolist() == [0, 1]  # the point's rows together, in seed order
    assert table["mse"].iloc[0] == 123.0  # the waiting seed was not run again
    assert table["config_hash"].iloc[1] == digest
    assert table["mse"].iloc[1] < 10  # a real run's score
    assert pd.read_csv(results.pending_path(out)).empty
    client = MlflowClient(tracking_uri=uri)
    (run,) = client.search_runs([client.get_experiment_by_name("ltsf").experiment_id])
    assert run.info.run_id == table["run_id"].iloc[1]  # the task's run, in the driver's store
