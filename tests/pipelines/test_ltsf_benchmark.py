import json
import os
import subprocess
import sys
from pathlib import Path

import mlflow
import pandas as pd
import pytest

import forecaster as fc
from forecaster.evaluation import ltsf
from tests.data.util import DATA

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "pipelines" / "ltsf_benchmark.py"


KEYS = {
    "data", "model", "lookback", "horizon", "quick", "mse", "mae", "windows", "wall_seconds",
    "run_id", "val_loss", "epochs", "params", "seconds_per_epoch", "configuration",
}  # fmt: skip


def benchmark(store, *args):
    env = {**os.environ, "MLFLOW_TRACKING_URI": store}  # never the project's mlruns/
    command = [sys.executable, str(SCRIPT), "--source.path", str(DATA), *args]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1  # the training log goes to stderr
    return json.loads(lines[0])


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return f"sqlite:///{tmp_path_factory.mktemp('ltsf') / 'mlflow.db'}"


def test_quick_naive_run_is_the_protocol_and_is_tracked(store):
    result = benchmark(
        store, "--data.lookback", "96", "--data.horizon", "48", "--ltsf.model", "naive",
        "--ltsf.quick",
    )  # fmt: skip
    assert set(result) == KEYS
    frame = fc.load_benchmark("ETTh1", path=DATA, download=False)
    expected = ltsf.run(fc.NaiveForecaster(lookback=96, horizon=48), frame, dataset="ETTh1")
    assert result["windows"] == 2880 - 48 + 1 == expected["windows"]
    assert result["mse"] == pytest.approx(expected["mse"], rel=1e-12)
    assert result["mae"] == pytest.approx(expected["mae"], rel=1e-12)
    assert (result["data"], result["model"], result["quick"]) == ("ETTh1", "naive", True)
    assert (result["lookback"], result["horizon"]) == (96, 48)
    assert result["configuration"]["data.lookback"] == 96
    mlflow.set_tracking_uri(store)
    run = mlflow.get_run(result["run_id"])
    assert run.info.status == "FINISHED"
    assert run.data.tags["quick"] == "true"
    assert run.data.metrics["test_scaled_mse"] == pytest.approx(result["mse"], rel=1e-9)
    assert run.data.params["data.horizon"] == "48"
    # The printed wall time covers the run's own (fit, scoring, logging) and reading the data.
    assert result["wall_seconds"] >= round(run.data.metrics["wall_seconds"], 2)


def test_quick_linear_run_is_the_channel_independent_map(store):
    result = benchmark(
        store, "--data.lookback", "96", "--data.horizon", "48", "--ltsf.model", "linear"
    )
    assert result["configuration"]["linear.channels"] == "independent"
    # Far better than the naive forecast on the same windows (MSE 1.29 at L=336, H=96).
    assert result["mse"] < 0.5


def test_quick_cell_run_trains_the_segment_network(store, tmp_path):
    result = benchmark(
        store, "--data.lookback", "96", "--data.horizon", "48", "--ltsf.model", "cifg",
        "--ltsf.quick", "--network.head_dropout", "0.5", "--train.lr_decay", "0.8",
    )  # fmt: skip
    assert result["windows"] == 2833  # every test window, whatever the training stride
    assert result["configuration"]["network.head_dropout"] == 0.5
    assert result["configuration"]["train.lr_decay"] == 0.8
    assert result["configuration"]["network.architecture"] == "segment"
    assert result["configuration"]["network.units"] == 16
    assert result["configuration"]["train.epochs"] == 1
    assert result["configuration"]["data.stride"] == 16
    assert result["configuration"]["network.cell"] == "cifg"
    assert result["configuration"]["train.loss"] == "mae"  # SegRNN's, the default here
    mlflow.set_tracking_uri(store)
    run = mlflow.get_run(result["run_id"])
    assert run.info.status == "FINISHED"
    assert len(mlflow.MlflowClient().get_metric_history(run.info.run_id, "val_loss")) == 1
    # The run's own timer covers its epoch and lies within the printed time, which adds reading.
    epoch = result["seconds_per_epoch"]
    assert epoch - 0.01 <= run.data.metrics["wall_seconds"] <= result["wall_seconds"]
    # The logged forecaster, scored again on the protocol's test part, gives the printed scores.
    folder = mlflow.artifacts.download_artifacts(
        run_id=result["run_id"], artifact_path="forecaster", dst_path=str(tmp_path)
    )
    model = fc.Forecaster.load(folder)
    frame = fc.load_benchmark("ETTh1", path=DATA, download=False)
    scores = model.evaluate(ltsf.protocol_split(frame, "ETTh1", 96).test)
    assert scores["scaled_mse"] == pytest.approx(result["mse"], rel=1e-6)
    assert scores["scaled_mae"] == pytest.approx(result["mae"], rel=1e-6)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--source.path", str(DATA / "nowhere")],
            f"config key 'source.path': path={str(DATA / 'nowhere')!r} is neither a file nor "
            "a folder; pass a copy of ETTh1.csv or a folder holding it",
        ),
        (
            ["--source.benchmark", "null", "--source.path", str(DATA / "ETTh3.csv")],
            f"data file {str(DATA / 'ETTh3.csv')!r} (config key 'source.path') does not exist",
        ),
        (
            ["--data.horizon", "100", "--ltsf.quick"],
            "config sections data, network, train: horizon=100 is not a multiple of "
            "segment_length=48; the segment design cuts it into whole segments",
        ),
        (
            ["--data.lookback", "9000", "--ltsf.model", "naive"],
            "the frame: lookback=9000 reaches before its first row; validation starts at row 8640",
        ),
        (
            ["--network.head_dropout", "1", "--ltsf.quick"],
            "config key 'network.head_dropout': head_dropout must be in [0, 1), got 1.0",
        ),
        (
            ["--train.lr_decay", "1", "--ltsf.quick"],
            "config key 'train.lr_decay': lr_decay must be None or in (0, 1), got 1.0",
        ),
        (
            ["--lookback", "96"],
            "argument --lookback: renamed --data.lookback in forecaster 0.2",
        ),
    ],
    ids=[
        "missing-folder",
        "missing-file",
        "horizon-not-whole-segments",
        "lookback-too-long",
        "head-dropout-1",
        "lr-decay-1",
        "old-flag",
    ],
)
def test_bad_input_is_one_line_and_logs_no_run(tmp_path, args, message):
    database = tmp_path / "mlflow.db"
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{database}"}
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--source.path", str(DATA), *args],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines()[-1] == f"ltsf_benchmark.py: error: {message}"
    assert "Traceback" not in done.stderr
    assert not database.exists()  # no MLflow run was started


# A cell small enough for a test: 4 units, one epoch.
TINY = ["--set", "network.units=4", "--set", "train.epochs=1", "--set", "train.verbose=0"]


def test_the_grid_writes_each_points_seeds_together_and_resumes(tmp_path, monkeypatch, capsys):
    from forecaster.cli import ltsf_grid

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    results = tmp_path / "ltsf.csv"
    common = ["--results", str(results), "--data", "ETTh1", "--seeds", "2"]
    common += ["--set", f"source.path={DATA}", "--set", "data.lookback=96", *TINY]
    baselines = [*common, "--horizons", "48", "96", "--models", "naive"]
    cells = [*common, "--horizons", "48", "--models", "gru"]
    assert ltsf_grid.main(baselines) == 0
    assert ltsf_grid.main(cells) == 0
    rows = results.read_text().splitlines()
    assert rows[0] == ",".join(ltsf_grid.RESULT_COLUMNS)
    table = pd.read_csv(results)
    assert table[["data", "horizon", "lookback", "model", "seed"]].values.tolist() == [
        ["ETTh1", 48, 96, "naive", 0], ["ETTh1", 96, 96, "naive", 0],  # no seed: one run
        ["ETTh1", 48, 96, "gru", 0], ["ETTh1", 48, 96, "gru", 1],
    ]  # fmt: skip
    assert table["config_hash"].nunique() == 3  # a configuration per horizon and model
    assert table["mse"].iloc[2] != table["mse"].iloc[3]  # each seed its own network
    frame = fc.load_benchmark("ETTh1", path=DATA, download=False)
    expected = ltsf.run(fc.NaiveForecaster(lookback=96, horizon=48), frame, dataset="ETTh1")
    assert table.loc[0, "mse"] == pytest.approx(expected["mse"], rel=1e-9)
    capsys.readouterr()
    assert ltsf_grid.main(baselines) == 0  # everything is in the file: nothing runs again
    assert ltsf_grid.main(cells) == 0
    assert results.read_text().splitlines() == rows
    assert capsys.readouterr().out.splitlines() == [
        "ETTh1 H=48 naive: in the file, skipped", "ETTh1 H=96 naive: in the file, skipped",
        "ETTh1 H=48 gru: in the file, skipped",
    ]  # fmt: skip


def test_the_grid_refuses_quick_runs_as_results(tmp_path, capsys):
    from forecaster.cli import ltsf_grid

    argv = ["--results", str(tmp_path / "r.csv"), "--data", "ETTh1", "--models", "naive"]
    assert ltsf_grid.main([*argv, "--set", f"source.path={DATA}", "--set", "ltsf.quick=true"]) == 2
    assert capsys.readouterr().err.strip() == (
        "ltsf_grid.py: error: ltsf.quick runs are smoke tests, not results; run them with "
        "forecaster ltsf, without a results file"
    )
    assert not (tmp_path / "r.csv").exists()


def test_an_interrupted_point_resumes_from_its_next_seed(tmp_path, monkeypatch):
    from forecaster.cli import ltsf_grid, results

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    out = tmp_path / "ltsf.csv"
    overrides = [f"source.path={DATA}", "data.lookback=96", *TINY[1::2]]
    config = ltsf_grid.config_of("ETTh1", 48, "gru", 0, overrides)
    digest, seeded = ltsf_grid._point_of(config, "gru")
    assert seeded
    finished_seed = {
        "data": "ETTh1", "horizon": 48, "lookback": 96, "model": "gru", "seed": 0,
        "config": "{}", "config_hash": digest, "val_loss": 1.0, "mse": 123.0, "mae": 9.0,
        "epochs": 1, "wall_seconds": 1.0, "cpu": "cpu", "commit": "abc", "run_id": "r0",
    }  # fmt: skip
    pending = results.pending_path(out)
    assert pending == tmp_path / "ltsf.pending.csv"
    results.append(pending, ltsf_grid.RESULT_COLUMNS, finished_seed)  # seed 0 ran, then a stop
    argv = ["--results", str(out), "--data", "ETTh1", "--horizons", "48", "--models", "gru"]
    argv += ["--seeds", "2", *(flag for value in overrides for flag in ("--set", value))]
    assert ltsf_grid.main(argv) == 0
    table = pd.read_csv(out)
    assert table["seed"].tolist() == [0, 1]
    assert table["mse"].iloc[0] == 123.0  # kept from the pending file, not run again
    assert table["mse"].iloc[1] != 123.0
    assert pd.read_csv(pending).empty  # released once the point is in the results


def test_a_run_records_its_row_in_the_results_file_it_is_given(store, tmp_path):
    out = tmp_path / "ltsf.csv"
    args = ["--data.lookback", "336", "--ltsf.model", "naive", "--ltsf.results", str(out)]
    result = benchmark(store, *args)
    table = pd.read_csv(out)
    assert table[["data", "horizon", "lookback", "model", "seed"]].values.tolist() == [
        ["ETTh1", 96, 336, "naive", 0]
    ]  # a model without a seed: at once
    assert table["mse"].iloc[0] == result["mse"]
    assert table["run_id"].iloc[0] == result["run_id"]


def test_a_quick_run_is_not_recorded_as_a_result(tmp_path):
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--source.path", str(DATA), "--ltsf.quick",
         "--ltsf.results", str(tmp_path / "ltsf.csv")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1] == (
        "ltsf_benchmark.py: error: config key 'ltsf.results': quick runs are smoke tests, "
        "not results; drop quick or results"
    )
    assert not (tmp_path / "ltsf.csv").exists()
