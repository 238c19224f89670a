import runpy
import sys
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from scipy import stats

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "pipelines" / "compare_cells.py"


def test_the_quick_comparison_prints_the_table_and_the_ui(tmp_path, monkeypatch, capsys):
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)  # never the project's mlruns/
    config = str(ROOT / "pipelines" / "configs" / "quick.yaml")
    monkeypatch.setattr(sys, "argv", [str(SCRIPT), "--config", config])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(str(SCRIPT), run_name="__main__")
    assert exit_info.value.code == 0
    captured = capsys.readouterr()
    progress = [line for line in captured.err.splitlines() if line.startswith("[")]
    assert progress == [
        "[1/6] lstm seed 0 (5 after this)",
        "[2/6] lstm seed 1 (4 after this)",
        "[3/6] cifg seed 0 (3 after this)",
        "[4/6] cifg seed 1 (2 after this)",
        "[5/6] naive (1 after this)",
        "[6/6] seasonal_naive (0 after this)",
    ]
    lines = captured.out.splitlines()
    assert lines[0] == (
        "Comparing lstm, cifg over 2 seed(s) and 2 baselines on bikeshare (1500 rows, last "
        "20% for testing): 6 runs."
    )
    # The ranking and the verdict come first, then the tables.
    assert lines[2] == "Ranking by scaled test mse (mean ± std over 2 seeds; lower is better):"
    ranked = [line.split()[1] for line in lines[3:7]]
    assert sorted(ranked) == ["cifg", "lstm", "naive", "seasonal_naive"]
    means = [float(line.split()[2]) for line in lines[3:7]]
    assert means == sorted(means)
    assert lines[7].startswith("Verdict: ")
    start = lines.index(
        "Test scores, mean and std over 2 seeds (the full table is in the MLflow run):"
    )
    header = [cell.strip() for cell in lines[start + 1].split("|")[1:-1]]
    assert header == [
        "model", "mse_mean", "mse_std", "mae_mean", "mase_mean", "scaled_mse_mean", "params",
        "seconds_per_epoch",
    ]  # fmt: skip
    models = [line.split("|")[1].strip() for line in lines[start + 3 : start + 7]]
    assert models == ranked  # the table in the ranking's order
    start = lines.index(
        "Welch's t-test p-values of the scaled test mse between cells, Holm-corrected:"
    )
    assert [cell.strip() for cell in lines[start + 1].split("|")[1:-1]] == ["", "lstm", "cifg"]
    printed = float(lines[start + 3].split("|")[3])
    run_lines = [line for line in captured.out.splitlines() + captured.err.splitlines()]
    run_lines = [line for line in run_lines if line.startswith("MLflow run ")]
    assert len(run_lines) == 1  # said once
    run_line = run_lines[0]
    assert run_line.endswith(f" in experiment 'quick' at {store}.")
    # The p-value is Welch's t-test of the per-seed scaled test MSEs the cells' runs logged.
    client = MlflowClient(tracking_uri=store)
    parent = client.get_run(run_line.split()[2])
    children = client.search_runs(
        [parent.info.experiment_id], f"tags.mlflow.parentRunId = '{parent.info.run_id}'"
    )
    mse = {
        cell: [r.data.metrics["test_scaled_mse"] for r in children if r.data.tags["cell"] == cell]
        for cell in ("lstm", "cifg")
    }
    assert [len(values) for values in mse.values()] == [2, 2]
    expected = stats.ttest_ind(mse["lstm"], mse["cifg"], equal_var=False).pvalue
    logged = client.download_artifacts(parent.info.run_id, "welch_p_values.csv", str(tmp_path))
    p_values = pd.read_csv(logged, index_col=0)
    assert p_values.loc["lstm", "cifg"] == pytest.approx(expected, rel=1e-9)
    assert printed == float(f"{expected:.3g}")
    assert lines[-1] == (
        "Open the MLflow UI with `forecaster ui` and browse to http://127.0.0.1:5000/#/"
        f"experiments/{parent.info.experiment_id}/runs/{parent.info.run_id}"
        "?workflowType=machine_learning"
    )  # MLflow 3.17 shows the model-training view by this, not by the experiment's kind


def test_tune_gives_each_cell_its_trials_and_keeps_the_files_keys(tmp_path, monkeypatch, capsys):
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)
    config = str(ROOT / "pipelines" / "configs" / "quick.yaml")
    space = "compare.space={network.units: [4, 16], network.dropout: [0.0, 0.2]}"
    argv = [str(SCRIPT), "--config", config, "--tune", "2", "--set", "compare.seeds=1"]
    monkeypatch.setattr(sys, "argv", [*argv, "--set", space])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(str(SCRIPT), run_name="__main__")
    assert exit_info.value.code == 0
    err = capsys.readouterr().err
    assert "tuning lstm, cifg: 2 trials each over ['network.dropout']" in err  # units: the file's
    client = MlflowClient(tracking_uri=store)
    experiment = client.get_experiment_by_name("quick")
    runs = client.search_runs([experiment.experiment_id])
    tuned = [r for r in runs if r.data.tags.get("kind") == "tuning"]
    assert sorted(r.info.run_name for r in tuned) == [
        "cifg tuning 0", "cifg tuning 1", "lstm tuning 0", "lstm tuning 1"
    ]  # fmt: skip
    assert {r.data.params["network.units"] for r in tuned} == {"8"}


def test_forecaster_tune_prints_each_cells_choice_as_config(tmp_path, monkeypatch, capsys):
    from forecaster.cli.commands import main

    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)
    config = str(ROOT / "pipelines" / "configs" / "quick.yaml")
    space = "compare.space={network.dropout: [0.0, 0.2]}"
    argv = ["tune", "--config", config, "--tune", "2", "--set", "compare.cells=[gru]"]
    assert main([*argv, "--set", space]) == 0
    out = capsys.readouterr().out
    chosen = out.split("# gru: its best trial's values, to set in its config\n")[1]
    assert chosen.startswith("network:\n  dropout: ")
    client = MlflowClient(tracking_uri=store)
    runs = client.search_runs([client.get_experiment_by_name("quick").experiment_id])
    (parent,) = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert parent.info.run_name == "bikeshare: tuning gru"
    dropout = float(chosen.split("dropout: ")[1].split()[0])
    assert float(parent.data.params["tuned.gru.network.dropout"]) == dropout
    assert sorted(r.info.run_name for r in runs if r is not parent) == [
        "gru tuning 0", "gru tuning 1"
    ]  # fmt: skip
    assert main(["tune", "--config", config]) == 2
    assert capsys.readouterr().err.strip() == (
        "forecaster tune: error: forecaster tune needs a budget of trials per cell: pass --tune N"
    )
