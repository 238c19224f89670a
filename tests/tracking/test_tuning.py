"""Fair tuning before a comparison, read back from a real SQLite store."""

import pytest
from mlflow.tracking import MlflowClient

import forecaster as fc
from forecaster.tracking import tuning
from tests.assertions import raises_exactly
from tests.data.util import DATA

OPTIONS = {"lookback": 14, "horizon": 7, "epochs": 4, "verbose": 0, "batch_size": 32}
SPACE = {
    "network.units": [4, 8, 16],
    "train.learning_rate": {"low": 1e-3, "high": 1e-2, "log": True},
}


def births():
    return fc.read_csv(DATA / "daily-total-female-births.csv")


@pytest.fixture(scope="module")
def tuned(tmp_path_factory):
    """Tunes rnn and gru with 4 trials each, then trains the choices over 2 seeds each."""
    uri = f"sqlite:///{tmp_path_factory.mktemp('store') / 'mlflow.db'}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", uri)
        table = fc.compare_cells(
            births(), cells=["rnn", "gru"], seeds=2, baselines=["naive"], tune=4, space=SPACE,
            experiment="tuned", dataset="births", progress=False, **OPTIONS,
        )  # fmt: skip
    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("tuned")
    runs = client.search_runs([experiment.experiment_id], max_results=1000)
    return table, client, runs


def test_every_cell_gets_the_same_budget_of_nested_tuning_runs(tuned):
    table, _, runs = tuned
    parent_id = table.attrs["run_id"]
    trials = [r for r in runs if r.data.tags.get("kind") == "tuning"]
    assert sorted(r.info.run_name for r in trials) == [
        f"{cell} tuning {n}" for cell in ("gru", "rnn") for n in range(4)
    ]
    assert {r.data.tags["mlflow.parentRunId"] for r in runs if r.info.run_id != parent_id} == {
        parent_id
    }
    for run in trials:
        assert run.data.params["network.units"] in {"4", "8", "16"}
        assert 1e-3 <= float(run.data.params["train.learning_rate"]) <= 1e-2
        assert run.data.params["data.lookback"] == "14"  # given, so fixed and not searched
        if run.data.tags.get("pruned") == "true":  # stopped early by the median rule
            assert "best_val_loss" not in run.data.metrics
        else:
            assert run.data.metrics["best_val_loss"] > 0


def test_each_cell_is_trained_over_the_seeds_with_its_best_trial(tuned):
    table, client, runs = tuned
    parent = client.get_run(table.attrs["run_id"]).data
    for cell in ("rnn", "gru"):
        finished = [
            r for r in runs
            if r.data.tags.get("kind") == "tuning" and r.data.tags["cell"] == cell
            and "best_val_loss" in r.data.metrics
        ]  # fmt: skip
        best = min(finished, key=lambda r: r.data.metrics["best_val_loss"])
        assert parent.params[f"tuned.{cell}.network.units"] == best.data.params["network.units"]
        assert parent.metrics[f"{cell}_best_val_loss"] == pytest.approx(
            best.data.metrics["best_val_loss"]
        )
        tags = [(r, (r.data.tags.get("kind"), r.data.tags.get("cell"))) for r in runs]
        seeds = [r for r, kind in tags if kind == ("trial", cell)]
        assert len(seeds) == 2
        for run in seeds:
            assert run.data.params["network.units"] == best.data.params["network.units"]
            assert run.data.params["train.learning_rate"] == best.data.params["train.learning_rate"]
    assert parent.params["tune"] == "4"


def test_a_tuned_lookback_is_searched_and_a_given_field_is_fixed(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    space = {"data.lookback": [7, 21], "network.units": [4, 16]}
    table = fc.compare_cells(
        births(), cells=["rnn"], seeds=1, baselines=["naive"], tune=2, space=space,
        experiment="lookback", progress=False, **{**OPTIONS, "epochs": 1, "units": 8},
    )  # fmt: skip
    client = MlflowClient(tracking_uri=uri)
    runs = client.search_runs([client.get_experiment_by_name("lookback").experiment_id])
    tuning_runs = [r for r in runs if r.data.tags.get("kind") == "tuning"]
    assert {r.data.params["data.lookback"] for r in tuning_runs} <= {"7", "21"}
    assert {r.data.params["network.units"] for r in tuning_runs} == {"8"}  # given: fixed
    (final,) = [r for r in runs if r.data.tags.get("kind") == "trial"]
    chosen = client.get_run(table.attrs["run_id"]).data.params["tuned.rnn.data.lookback"]
    assert final.data.params["data.lookback"] == chosen
    # Each model is scored on the same test steps, led by its own lookback.
    (naive,) = [r for r in runs if r.data.tags.get("kind") == "baseline"]
    assert final.data.metrics["test_windows"] == naive.data.metrics["test_windows"]
    with raises_exactly(
        ValueError,
        "every key of the search space is fixed by the keywords or configuration given; "
        "leave some out, or pass a space= of fields to tune",
    ):
        fc.compare_cells(births(), cells=["rnn"], tune=2, space={"network.units": [4, 16]},
                         progress=False, **{**OPTIONS, "units": 8})  # fmt: skip


def test_a_bad_space_is_refused_by_its_key():
    with raises_exactly(
        ValueError,
        "search space key 'network.unit' is not a tunable field; use section.field with a "
        "section of ['data', 'network', 'train'], e.g. 'network.units'",
    ):
        tuning.check_space({"network.unit": [8, 16]})
    with raises_exactly(
        ValueError, "search space key 'train.learning_rate' needs numbers low < high, got "
        "{'low': 0.1, 'high': 0.01}",
    ):  # fmt: skip
        tuning.check_space({"train.learning_rate": {"low": 0.1, "high": 0.01}})
