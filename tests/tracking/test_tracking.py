"""compare_cells and track_fit against real MLflow stores: SQLite files and a real server."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

import forecaster as fc
from forecaster.tracking import store
from tests.assertions import raises_exactly
from tests.data.util import DATA
from tests.servers import free_port, wait_until_healthy

ROOT = Path(__file__).resolve().parents[2]
# A small real series (365 daily values) and a model small enough to train in a blink.
OPTIONS = {"lookback": 14, "horizon": 7, "units": 4, "epochs": 2, "verbose": 0, "batch_size": 32}
COMPARE = {"cells": ["rnn", "gru"], "seeds": 2, "baselines": ["naive", "seasonal_naive"]}


def births():
    return fc.read_csv(DATA / "daily-total-female-births.csv")


def runs_of(client, experiment):
    """Every run of an experiment, parents and children."""
    found = client.get_experiment_by_name(experiment)
    return client.search_runs([found.experiment_id], max_results=1000)


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    """One comparison in a temporary SQLite store, read back by the tests below."""
    store = tmp_path_factory.mktemp("store")
    uri = f"sqlite:///{store / 'mlflow.db'}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", uri)
        table = fc.compare_cells(
            births(), **COMPARE, experiment="births", dataset="births", progress=False, **OPTIONS
        )
    return table, MlflowClient(tracking_uri=uri), uri


def test_the_run_tree(compared):
    table, client, _ = compared
    runs = runs_of(client, "births")
    parent = client.get_run(table.attrs["run_id"])
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert len(runs) == 1 + 2 * 2 + 2
    assert sorted(r.info.run_name for r in children) == [
        "gru seed 0", "gru seed 1", "naive", "rnn seed 0", "rnn seed 1", "seasonal_naive"
    ]  # fmt: skip
    assert {r.info.status for r in runs} == {"FINISHED"}
    # Each run names the process that would end it (see tests/tracking/test_processes.py).
    assert {r.data.tags["forecaster.pid"] for r in runs} == {str(os.getpid())}
    assert {r.data.tags["forecaster.host"] for r in runs} == {socket.gethostname()}
    assert parent.data.tags["dataset"] == "births"
    assert parent.data.tags["dataset_sha256"] == store.checksum(births())


def test_each_cell_run_logs_params_epochs_metrics_and_artifacts(compared):
    _, client, uri = compared
    (run,) = [r for r in runs_of(client, "births") if r.info.run_name == "gru seed 1"]
    params = run.data.params
    assert params["network.cell"] == "gru"
    assert params["train.seed"] == "1"
    assert params["data.lookback"] == "14"
    assert run.data.tags["cell"] == "gru"
    history = client.get_metric_history(run.info.run_id, "val_loss")
    assert [m.step for m in history] == [0, 1]
    for name in ("test_mae", "test_mase", "test_scaled_mse", "params", "seconds_per_epoch"):
        assert name in run.data.metrics
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"forecast.png", "scaler.json", "forecaster"} <= artifacts
    # MLflow 3 keeps a logged model as a LoggedModel linked to its run, not a run artifact.
    (logged,) = client.search_logged_models(
        [run.info.experiment_id], filter_string=f"source_run_id = '{run.info.run_id}'"
    )
    assert logged.name == "model"
    mlflow.set_tracking_uri(uri)
    info = mlflow.models.get_model_info(logged.model_uri)
    assert set(info.flavors) == {"python_function"}  # the whole forecaster, not the network
    assert info.signature.inputs.input_names() == ["Date", "Births"]
    assert info.saved_input_example_info is not None
    scaler = json.loads(Path(client.download_artifacts(run.info.run_id, "scaler.json")).read_text())
    assert scaler["kind"] == "standard"


def test_the_parent_logs_the_comparison(compared):
    table, client, _ = compared
    run_id = table.attrs["run_id"]
    artifacts = {a.path for a in client.list_artifacts(run_id)}
    assert {
        "comparison.csv", "comparison.md", "welch_p_values.csv", "welch_p_values.md",
        "runs.csv", "scaled_mse_by_cell.png",
    } <= artifacts  # fmt: skip
    logged = pd.read_csv(client.download_artifacts(run_id, "comparison.csv"), index_col=0)
    assert sorted(logged.index) == ["gru", "naive", "rnn", "seasonal_naive"]
    assert list(logged["scaled_mse_mean"]) == sorted(logged["scaled_mse_mean"])  # ranked
    np.testing.assert_allclose(logged["scaled_mse_mean"], table["scaled_mse_mean"])
    runs = pd.read_csv(client.download_artifacts(run_id, "runs.csv"), dtype=str)
    assert sorted(runs["seed"].fillna("none")) == ["0", "0", "1", "1", "none", "none"]


def test_the_ui_shows_what_is_compared_and_which_cell_wins(compared):
    table, client, _ = compared
    parent = client.get_run(table.attrs["run_id"])
    assert parent.info.run_name == "births: rnn vs gru"
    experiment = client.get_experiment(parent.info.experiment_id)
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    children = [r for r in runs_of(client, "births") if r.info.run_id != parent.info.run_id]
    kinds = {r.info.run_name: (r.data.tags["kind"], r.data.tags["seed"]) for r in children}
    assert kinds["gru seed 1"] == ("trial", "1")
    assert kinds["naive"] == ("baseline", "")
    note = parent.data.tags["mlflow.note.content"]
    assert note.startswith("## births: rnn vs gru\n\n**Verdict:** ")
    assert parent.data.tags["verdict"] == table.attrs["verdict"]
    assert table.attrs["verdict"] in note
    rows = [line.split("|") for line in note.splitlines() if line.startswith("| ")]
    ranked = [row[2].strip() for row in rows if row[1].strip().isdigit()]
    assert ranked == list(table.index)  # the models by their mean, lowest first
    assert "Holm-corrected Welch p-values of the test scaled_mse between cells:" in note
    # Holm's correction of one pair is the pair's own p-value.
    p = table.attrs["p_values"].loc["rnn", "gru"]
    assert table.attrs["holm"].loc["rnn", "gru"] == pytest.approx(p)


def test_the_table_aggregates_the_seeds(compared):
    table, client, _ = compared
    runs = {r.info.run_name: r for r in runs_of(client, "births")}
    seeds = [runs[f"rnn seed {s}"].data.metrics["test_scaled_mse"] for s in (0, 1)]
    assert table.loc["rnn", "seeds"] == 2
    assert table.loc["rnn", "scaled_mse_mean"] == pytest.approx(np.mean(seeds))
    assert table.loc["rnn", "scaled_mse_std"] == pytest.approx(np.std(seeds, ddof=1))
    assert table.loc["naive", "seeds"] == 1
    p = table.attrs["p_values"].loc["rnn", "gru"]
    gru = [runs[f"gru seed {s}"].data.metrics["test_scaled_mse"] for s in (0, 1)]
    from scipy import stats

    assert p == pytest.approx(stats.ttest_ind(seeds, gru, equal_var=False).pvalue)


def test_the_logged_model_forecasts_a_raw_csv_in_a_fresh_process(compared, tmp_path):
    """`mlflow.pyfunc.load_model(...).predict(pandas.read_csv(path))`, no import forecaster."""
    _, client, uri = compared
    (run,) = [r for r in runs_of(client, "births") if r.info.run_name == "rnn seed 0"]
    saved = client.download_artifacts(run.info.run_id, "forecaster", str(tmp_path))
    expected = fc.Forecaster.load(saved).predict(births().iloc[:-30])
    path = DATA / "daily-total-female-births.csv"
    rows = pd.read_csv(path).iloc[:-30]  # as pandas reads the user's file
    rows.to_csv(tmp_path / "rows.csv", index=False)
    code = (
        "import sys, mlflow, pandas\n"
        f"model = mlflow.pyfunc.load_model('runs:/{run.info.run_id}/model')\n"
        "assert 'forecaster' not in sys.argv\n"
        "model.predict(pandas.read_csv(sys.argv[1])).to_csv(sys.argv[2], index=False)\n"
    )
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri}
    result = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "rows.csv"), str(tmp_path / "out.csv")],
        env=env, capture_output=True, text=True, timeout=300, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    served = pd.read_csv(tmp_path / "out.csv")
    assert list(served.columns) == ["Date", "Births"]
    assert list(served["Date"]) == [f"{stamp:%Y-%m-%d %H:%M:%S}" for stamp in expected.index]
    np.testing.assert_allclose(served["Births"], expected["Births"], rtol=1e-6)


def test_track_fit_logs_one_run(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    frame = births()
    parts = fc.split(frame, 0.8, 0.0, 0.2, lookback=14)
    scores = fc.track_fit(fc.Forecaster(cell="cifg", **OPTIONS), parts.train, parts.test)
    run = MlflowClient(tracking_uri=uri).get_run(scores["run_id"])
    assert run.info.status == "FINISHED"
    assert run.data.metrics["test_mae"] == pytest.approx(scores["mae"])


def test_a_run_that_raises_ends_failed(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    exploding = births() * 1e30  # the loss overflows: TrainingError
    with pytest.raises(fc.TrainingError):
        fc.compare_cells(
            exploding, cells=["rnn"], seeds=1, baselines=[], experiment="boom",
            progress=False, scaler="none", **OPTIONS,
        )  # fmt: skip
    runs = runs_of(MlflowClient(tracking_uri=uri), "boom")
    assert sorted(r.info.status for r in runs) == ["FAILED", "FAILED"]


def test_a_comparison_ranks_by_crps_with_every_model_calibrated(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    table = fc.compare_cells(
        births(), cells=["rnn"], seeds=2, baselines=["seasonal_naive"], experiment="crps",
        metric="crps", progress=False, **OPTIONS,
    )  # fmt: skip
    client = MlflowClient(tracking_uri=uri)
    children = [r for r in runs_of(client, "crps") if "mlflow.parentRunId" in r.data.tags]
    assert len(children) == 3
    for run in children:  # cells and the baseline alike: split conformal at 0.05 ... 0.95
        assert run.data.params["calibration"] == "split at [0.05, 0.25, 0.75, 0.95]"
        assert {"test_crps", "test_coverage_90", "test_msis_50"} <= set(run.data.metrics)
    parent = client.get_run(table.attrs["run_id"]).data
    assert parent.metrics["rnn_crps_mean"] == pytest.approx(table.loc["rnn", "crps_mean"])
    seeds = [r.data.metrics["test_crps"] for r in children if r.data.tags["cell"] == "rnn"]
    assert table.loc["rnn", "crps_mean"] == pytest.approx(np.mean(seeds))
    assert "crps_by_cell.png" in [a.path for a in client.list_artifacts(table.attrs["run_id"])]


def test_bad_arguments_fail_before_any_run(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    with raises_exactly(
        ValueError, "unknown cell 'lstmx'; known cells: 'cifg', 'gru', 'lstm', 'rnn'"
    ):
        fc.compare_cells(births(), cells=["lstmx"], progress=False, **OPTIONS)
    with raises_exactly(ValueError, "seeds must be a positive integer, got 0"):
        fc.compare_cells(births(), seeds=0, progress=False, **OPTIONS)
    with raises_exactly(
        ValueError, "unknown baseline 'arima'; known: ['linear', 'mean', 'naive', 'seasonal_naive']"
    ):
        fc.compare_cells(births(), baselines=["arima"], progress=False, **OPTIONS)
    with raises_exactly(
        ValueError,
        "metric='crsp' is not known; pass one of ('mae', 'mse', 'rmse', 'mape', 'smape', "
        "'mase'), or of a forecast's quantiles ('crps', 'pinball') or 'msis_<coverage>' (e.g. "
        "'msis_90')",
    ):
        fc.compare_cells(births(), metric="crsp", progress=False, **OPTIONS)
    assert not (tmp_path / "mlflow.db").exists()


COMPARE_SCRIPT = """
import sys, forecaster as fc
frame = fc.read_csv(sys.argv[1])
fc.compare_cells(frame, cells=["rnn"], seeds=int(sys.argv[3]), baselines=["naive"],
                 experiment=sys.argv[2], lookback=14, horizon=7, units=4,
                 epochs=int(sys.argv[4]), verbose=0)
"""


def start_compare(uri, experiment, seeds=1, epochs=2):
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri}
    data = str(DATA / "daily-total-female-births.csv")
    command = [sys.executable, "-c", COMPARE_SCRIPT, data, experiment, str(seeds), str(epochs)]
    return subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True, cwd=ROOT)


def test_two_comparisons_at_once_lose_no_run(tmp_path):
    """Both start on a store that does not exist yet, the hardest case."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    processes = [start_compare(uri, "shared") for _ in range(2)]
    for process in processes:
        _, stderr = process.communicate(timeout=600)
        assert process.returncode == 0, stderr[-3000:]
    runs = runs_of(MlflowClient(tracking_uri=uri), "shared")
    assert len(runs) == 2 * (1 + 1 + 1)
    assert {r.info.status for r in runs} == {"FINISHED"}


def test_sigterm_ends_every_open_run_killed(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    process = start_compare(uri, "stopped", seeds=2, epochs=500)
    deadline = time.monotonic() + 300
    for line in process.stderr:
        if line.startswith("[1/") or time.monotonic() > deadline:
            break
    time.sleep(3)  # well inside the first (cell, seed) run's training
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=120)
    assert process.returncode != 0
    runs = runs_of(MlflowClient(tracking_uri=uri), "stopped")
    assert len(runs) == 2
    assert {r.info.status for r in runs} == {"KILLED"}


def test_a_killed_comparison_ends_killed_when_the_store_is_next_opened(
    tmp_path, monkeypatch, capsys
):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    process = start_compare(uri, "crashed", seeds=2, epochs=500)
    deadline = time.monotonic() + 300
    for line in process.stderr:
        if line.startswith("[1/") or time.monotonic() > deadline:
            break
    time.sleep(3)  # well inside the first (cell, seed) run's training
    process.kill()  # SIGKILL: nothing in the process gets to end its runs
    process.communicate(timeout=120)
    client = MlflowClient(tracking_uri=uri)
    parent, trial = sorted(runs_of(client, "crashed"), key=lambda r: r.info.start_time)
    assert [parent.info.status, trial.info.status] == ["RUNNING", "RUNNING"]
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    capsys.readouterr()
    store.experiment_id("crashed")
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("forecaster")]
    assert lines == [
        f"forecaster: marked 2 runs KILLED whose process is gone (pid {process.pid} on host "
        f"{socket.gethostname()}): {parent.info.run_id}, {trial.info.run_id}"
    ]
    assert {r.info.status for r in runs_of(client, "crashed")} == {"KILLED"}


@pytest.fixture
def server(tmp_path):
    """A real `mlflow server` on 127.0.0.1 at a free port, stopped after the test."""
    port = free_port()
    command = [
        sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
        "--backend-store-uri", f"sqlite:///{tmp_path / 'server.db'}",
        "--artifacts-destination", str(tmp_path / "artifacts"), "--workers", "1",
    ]  # fmt: skip
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    wait_until_healthy(process, url)
    yield url
    os.killpg(process.pid, signal.SIGTERM)
    process.communicate(timeout=30)  # also closes the stderr pipe


def test_a_comparison_against_a_real_server(server, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server)
    table = fc.compare_cells(
        births(), cells=["rnn", "gru"], seeds=1, baselines=["naive"], experiment="served",
        progress=False, **OPTIONS,
    )  # fmt: skip
    client = MlflowClient(tracking_uri=server)
    runs = runs_of(client, "served")
    assert len(runs) == 4
    assert {r.info.status for r in runs} == {"FINISHED"}
    artifacts = {a.path for a in client.list_artifacts(table.attrs["run_id"])}
    assert "comparison.csv" in artifacts
