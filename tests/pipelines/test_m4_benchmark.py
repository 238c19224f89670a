"""The M4 Hourly runner, end to end through pipelines/m4_benchmark.py, on the real files."""

import json
import runpy
import sys
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from tests.data.util import DATA

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "pipelines" / "m4_benchmark.py"
M4 = DATA / "m4"

pytestmark = pytest.mark.skipif(
    not (M4 / "hourly-train.csv").is_file(), reason=f"the M4 Hourly files are not in {M4}"
)


def run(monkeypatch, capsys, tmp_path, *args):
    """Runs the script; returns (exit status, stdout lines, stderr, store URI)."""
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)  # never the project's mlruns/
    monkeypatch.setattr(sys, "argv", [str(SCRIPT), *args])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(str(SCRIPT), run_name="__main__")
    captured = capsys.readouterr()
    return exit_info.value.code, captured.out.splitlines(), captured.err, store


@pytest.mark.parametrize(
    ("model", "smape", "mase"), [("snaive", 13.912, 1.193), ("naive2", 18.383, 2.395)]
)
def test_the_benchmark_methods_give_the_published_figures(
    monkeypatch, capsys, tmp_path, model, smape, mase
):
    results = tmp_path / "m4.csv"
    status, out, _, store = run(
        monkeypatch,
        capsys,
        tmp_path,
        "--data",
        str(M4),
        "--model",
        model,
        "--results",
        str(results),
    )
    assert status == 0
    assert len(out) == 1  # one JSON line on stdout, the rest on stderr
    result = json.loads(out[0])
    assert (round(result["smape"], 3), round(result["mase"], 3)) == (smape, mase)
    assert result["series"] == 414
    owa = 0.5 * (result["smape"] / 18.383 + result["mase"] / 2.395)
    assert result["owa"] == pytest.approx(owa, abs=1e-3)
    run_data = MlflowClient(tracking_uri=store).get_run(result["run_id"]).data
    assert run_data.metrics["smape"] == pytest.approx(result["smape"], abs=1e-4)
    assert run_data.tags["cell"] == model
    rows = results.read_text().splitlines()
    assert rows[0].startswith("data,horizon,lookback,model,seed,series,")
    assert len(rows) == 2
    assert rows[1].startswith(f"M4 Hourly,48,,{model},,414,")
    assert result["run_id"] in rows[1]


def test_a_cell_trains_one_global_model_and_scores_every_series(monkeypatch, capsys, tmp_path):
    settings = [
        "train.epochs=1", "network.units=8", "data.lookback=48", "data.stride=8",
        "train.verbose=0",
    ]  # fmt: skip
    args = ["--data", str(M4), "--model", "cifg", "--seed", "3", "--series", "5"]
    args += ["--level", "60"]  # 5 series calibrate at most a 5 / 6 interval
    for setting in settings:
        args += ["--set", setting]
    status, out, _, store = run(monkeypatch, capsys, tmp_path, *args)
    assert status == 0
    result = json.loads(out[0])
    assert result["series"] == 5
    assert result["epochs"] == 1
    assert result["seed"] == 3
    assert result["configuration"]["network.cell"] == "cifg"
    assert result["configuration"]["data.lookback"] == 48
    assert 0 < result["smape"] < 200
    assert result["mase"] > 0
    run_data = MlflowClient(tracking_uri=store).get_run(result["run_id"]).data
    assert run_data.params["network.cell"] == "cifg"
    assert "val_loss" in run_data.metrics  # the epoch logger ran
    # The network learns the interval's quantiles, which are then calibrated (CQR).
    assert result["configuration"]["network.quantiles"] == [0.2, 0.5, 0.8]
    assert result["interval_method"] == "quantiles + conformal (CQR)"
    assert result["level"] == 60
    assert run_data.metrics["coverage"] == pytest.approx(result["coverage"], abs=1e-4)


def test_a_benchmark_interval_is_calibrated_on_the_last_training_steps(
    monkeypatch, capsys, tmp_path
):
    """The sNaive 95% interval: split conformal on the errors of each series' last 48 steps."""
    results = tmp_path / "m4.csv"
    results.write_text(
        "data,horizon,lookback,model,seed,series,config,config_hash,val_loss,smape,mase,owa,"
        "epochs,wall_seconds,cpu,commit,run_id\nM4 Hourly,48,,naive1,,414,,,,43.0,11.6,3.6,,"
        "1.0,cpu,abc,r1\n"
    )  # a file written before the interval columns
    args = ["--data", str(M4), "--model", "snaive", "--level", "95", "--results", str(results)]
    status, out, _, _ = run(monkeypatch, capsys, tmp_path, *args)
    assert status == 0
    result = json.loads(out[0])
    assert result["interval_method"] == "split conformal"
    assert 0.9 < result["coverage"] < 0.99
    assert result["msis"] < 71.245  # far better than M4's published Naive1 interval
    rows = results.read_text().splitlines()
    assert rows[0].endswith(",run_id,level,msis,coverage,interval_method")
    assert rows[1] == (
        "M4 Hourly,48,,naive1,,414,,,,43.0,11.6,3.6,,1.0,cpu,abc,r1,,,,"
    )  # the old row kept, its new cells empty
    assert rows[2].endswith(f",95,{result['msis']},{result['coverage']},split conformal")


def test_a_level_outside_0_to_100_is_refused(monkeypatch, capsys, tmp_path):
    status, _, err, _ = run(
        monkeypatch, capsys, tmp_path, "--data", str(M4), "--model", "snaive", "--level", "150"
    )
    assert status == 2
    assert err.strip().splitlines()[-1] == (
        "m4_benchmark.py: error: argument --level: must be a coverage in percent between 0 "
        "and 100 (e.g. 95), got '150'"
    )


def test_a_missing_folder_is_one_line(monkeypatch, capsys, tmp_path):
    status, out, err, _ = run(
        monkeypatch, capsys, tmp_path, "--data", str(tmp_path), "--model", "snaive"
    )
    assert status == 2
    assert out == []
    assert err.strip().splitlines() == [
        f"m4_benchmark.py: error: {tmp_path / 'hourly-train.csv'} does not exist; pass --data "
        "with the folder holding the M4 Hourly files hourly-train.csv and hourly-test.csv "
        "(../shared/data/m4)"
    ]


def test_a_series_count_below_one_is_refused(monkeypatch, capsys, tmp_path):
    status, out, err, _ = run(
        monkeypatch, capsys, tmp_path, "--data", str(M4), "--model", "snaive", "--series", "-3"
    )
    assert status == 2
    assert out == []
    assert err.strip().splitlines()[-1] == (
        "m4_benchmark.py: error: argument --series: must be a positive integer, got '-3'"
    )


def test_a_smoke_run_on_some_series_is_not_recorded_as_a_result(monkeypatch, capsys, tmp_path):
    out = tmp_path / "m4.csv"
    args = ["--data", str(M4), "--model", "snaive", "--series", "5", "--results", str(out)]
    status, _, err, _ = run(monkeypatch, capsys, tmp_path, *args)
    assert status == 2
    assert err.strip().splitlines()[-1] == (
        "m4_benchmark.py: error: --series runs are smoke tests, not results; run them "
        "without --results"
    )
    assert not out.exists()
