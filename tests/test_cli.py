"""The `forecaster` command: config errors, flags over the file, help, fit and backtest.

`forecaster ui` is in test_cli_ui.py, what the parser imports in test_cli_start.py.
"""

import runpy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import forecaster as fc
from forecaster.cli import commands as cli
from forecaster.cli.loading import load_config
from forecaster.cli.sections import NEEDS, ModelConfig

ROOT = Path(__file__).resolve().parents[1]
# A few hundred rows of the shipped CSV and a model that trains in a blink.
TINY = {
    "data": {"shipped": "bikeshare", "rows": 400},
    "model": {
        "lookback": 12,
        "horizon": 6,
        "targets": ["bikers"],
        "units": 4,
        "epochs": 1,
        "verbose": 0,
    },
    "backtest": {"folds": 2, "baselines": ["naive"]},
    "fit": {"experiment": "tiny"},
}


def write(tmp_path, config, name="config.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(config))
    return str(path)


def changed(section, key, value):
    """TINY with one key set (None removes it)."""
    config = {name: dict(values) for name, values in TINY.items()}
    if value is None:
        config[section].pop(key, None)
    else:
        config.setdefault(section, {})[key] = value
    return config


def error_of(capsys, argv, command="fit"):
    """Runs the command in-process; demands status 2 and returns the one-line error."""
    assert cli.main([command, *argv]) == 2
    err = capsys.readouterr().err
    assert err.endswith("\n")
    assert err.count("\n") == 1, err
    prefix = f"forecaster {command}: error: "
    assert err.startswith(prefix)
    return err[len(prefix) : -1]


@pytest.fixture(autouse=True)
def store(tmp_path, monkeypatch):
    """A temporary MLflow store for every test, so none can write to the project's mlruns/."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    return uri


MODEL_KEYS = sorted(ModelConfig.annotations())


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {**TINY, "modle": {"units": 4}},
            "config section 'modle' is not known; known sections are "
            "['data', 'model', 'compare', 'backtest', 'fit', 'ui']",
        ),
        (
            changed("model", "unit", 8),
            f"config key 'model.unit' is not known; known keys are {MODEL_KEYS}",
        ),
        (
            changed("fit", "outputs", "x"),
            "config key 'fit.outputs' is not known; known keys are "
            "['experiment', 'output', 'test_fraction']",
        ),
        (
            changed("model", "units", "many"),
            "config key 'model.units' must be an integer, got 'many'",
        ),
        (
            changed("model", "units", 0),
            "config key 'model.units': units must be a positive integer, got 0",
        ),
        (
            changed("model", "cell", "tcn"),
            "config key 'model.cell': unknown cell 'tcn'; known cells: "
            "'cifg', 'gru', 'lstm', 'rnn'",
        ),
        (
            {**TINY, "model": {**TINY["model"], "cell": "rnn", "peephole": True}},
            "config key 'model.peephole': peephole=True needs an LSTM-type cell ('lstm' or "
            "'cifg'), got cell='rnn'",
        ),
        (
            changed("model", "dropout", "lots"),
            "config key 'model.dropout' must be a number, got 'lots'",
        ),
        (
            changed("model", "targets", [1, 2]),
            "config key 'model.targets' must be a list of strings or null, got [1, 2]",
        ),
        (changed("model", "lookback", None), "config key 'model.lookback' is required"),
        (
            changed("fit", "test_fraction", 1.5),
            "config key 'fit.test_fraction' must be a number in (0, 1), got 1.5",
        ),
        (
            changed("data", "missing", "drop"),
            "config key 'data.missing' is 'drop'; known values are "
            "['error', 'interpolate', 'ffill', 'zero']",
        ),
        (
            changed("data", "path", "data/bikeshare.csv"),
            "config keys 'data.shipped' and 'data.path' exclude each other",
        ),
        (
            changed("data", "shipped", None),
            "config section 'data' needs one of 'shipped', 'path', 'benchmark'",
        ),
        (
            changed("data", "shipped", "bikes"),
            "config key 'data.shipped' is 'bikes'; known values are ['bikeshare']",
        ),
        (
            {**TINY, "model": [12, 6]},
            "config section 'model' must be a mapping of keys to values, got [12, 6]",
        ),
    ],
)
def test_config_errors(tmp_path, capsys, config, message):
    assert error_of(capsys, ["--config", write(tmp_path, config)]) == message


def test_errors_of_the_other_sections(tmp_path, capsys):
    path = write(tmp_path, TINY)
    window = ["--config", path, "--set", "backtest.window=rolling"]
    assert error_of(capsys, window, "backtest") == (
        "config key 'backtest.window' is 'rolling'; known values are ['expanding', 'sliding']"
    )
    refit = ["--config", path, "--set", "backtest.refit=1"]
    assert error_of(capsys, refit, "backtest") == (
        "config key 'backtest.refit' must be true or false, got 1"
    )
    assert error_of(capsys, ["--config", path, "--cells", "lstm", "tcn"], "compare") == (
        "config key 'compare.cells': unknown cell 'tcn'; known cells: 'cifg', 'gru', 'lstm', 'rnn'"
    )
    assert error_of(
        capsys, ["--config", path, "--set", "compare.baselines=[arima]"], "compare"
    ) == (
        "config key 'compare.baselines' is 'arima'; known values are "
        "['naive', 'seasonal_naive', 'mean', 'linear']"
    )
    parallel = ["--config", path, "--set", "compare.parallel=dask"]
    assert error_of(capsys, parallel, "compare") == (
        "config key 'compare.parallel' is 'dask'; known values are [None, 'ray']"
    )
    cpus = ["--config", path, "--set", "compare.cpus_per_trial=0"]
    assert error_of(capsys, cpus, "compare") == (
        "config key 'compare.cpus_per_trial' must be a positive integer, got 0"
    )
    assert error_of(capsys, ["--port", "0"], "ui") == (
        "config key 'ui.port' must be a port number in [1, 65535], got 0"
    )


def test_file_errors(tmp_path, capsys):
    path = write(tmp_path, TINY)
    assert error_of(capsys, ["--config", str(tmp_path / "none.yaml")]) == (
        f"config file '{tmp_path / 'none.yaml'}' does not exist"
    )
    assert error_of(capsys, ["--config", path, "--data", "nowhere/rides.csv"]) == (
        "data file 'nowhere/rides.csv' (config key 'data.path') does not exist"
    )
    listed = tmp_path / "list.yaml"
    listed.write_text("- data\n- model\n")
    assert error_of(capsys, ["--config", str(listed)]) == (
        f"config file '{listed}' must hold a mapping of sections, got ['data', 'model']"
    )
    broken = tmp_path / "broken.yaml"
    broken.write_text("model: {units: 4\n")
    assert error_of(capsys, ["--config", str(broken)]).startswith(
        f"config file '{broken}' is not valid YAML: "
    )
    (tmp_path / "taken").mkdir()
    taken = ["--config", path, "--output", str(tmp_path / "taken")]
    assert error_of(capsys, taken) == (
        f"config key 'fit.output' is '{tmp_path / 'taken'}', which exists and is not a saved "
        "forecaster; pick a new folder"
    )


def test_set_errors(tmp_path, capsys):
    path = write(tmp_path, TINY)
    assert error_of(capsys, ["--config", path, "--set", "model.units"]) == (
        "--set takes section.key=value, got 'model.units'"
    )
    assert error_of(capsys, ["--config", path, "--set", "units=4"]) == (
        "override keys look like section.key, got 'units'"
    )
    assert error_of(capsys, ["--config", path, "--set", "model.unit=4"]) == (
        f"config key 'model.unit' is not known; known keys are {MODEL_KEYS}"
    )
    assert error_of(capsys, ["--config", path, "--set", "model.calendar=[hour"]) == (
        "--set model.calendar: '[hour' is not a YAML value"
    )


def test_a_bad_flag_type_is_argparses_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["compare", "--seeds", "three"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "forecaster compare: error: argument --seeds: invalid int value: 'three'"
    )


def test_data_that_does_not_fit_the_config_is_one_line(tmp_path, capsys):
    config = changed("model", "targets", ["riders"])
    columns = list(fc.load_shipped("bikeshare").columns)
    assert error_of(capsys, ["--config", write(tmp_path, config)], "backtest") == (
        f"target column 'riders' is not in the frame; columns are {columns}"
    )


def test_flags_override_the_file_and_set_comes_last(tmp_path):
    path = write(tmp_path, TINY)
    args = cli.parser().parse_args(
        ["fit", "--config", path, "--units", "16", "--epochs", "3", "--cell", "gru"]
    )
    config = cli.config_from_args(args, "fit")
    assert (config.model.network.units, config.model.train.epochs) == (16, 3)
    assert config.model.network.cell == "gru"
    assert config.model.data.lookback == 12  # from the file
    args = cli.parser().parse_args(
        ["fit", "--config", path, "--units", "16", "--set", "model.units=32"]
    )
    assert cli.config_from_args(args, "fit").model.network.units == 32
    args = cli.parser().parse_args(["compare", "--config", path, "--seeds", "2", "--cells", "gru"])
    compare = cli.config_from_args(args, "compare").compare
    assert (compare.seeds, compare.cells, compare.parallel) == (2, ("gru",), None)
    args = cli.parser().parse_args(["compare", "--config", path, "--parallel", "ray"])
    args.overrides.append("compare.address=ray://head:10001")
    compare = cli.config_from_args(args, "compare").compare
    assert (compare.parallel, compare.address) == ("ray", "ray://head:10001")


def test_data_flag_replaces_the_source(tmp_path):
    args = cli.parser().parse_args(["fit", "--config", write(tmp_path, TINY), "--data", "a.csv"])
    data = cli.config_from_args(args, "fit").data
    assert (data.shipped, data.path, data.rows) == (None, "a.csv", 400)


def test_set_reads_values_as_yaml():
    config = load_config(
        None,
        [
            "data.benchmark=ETTh1",
            "model.lookback=24",
            "model.horizon=12",
            "model.calendar=[hour, month]",
            "model.targets=OT",
            "model.learning_rate=1e-3",  # YAML 1.1 reads this as text
            "model.layer_norm=true",
        ],
        needs=("data", "model"),
    )
    assert config.model.data.calendar == ("hour", "month")
    assert config.model.data.targets == ("OT",)
    assert config.model.train.learning_rate == 0.001
    assert config.model.network.layer_norm is True
    assert (config.data.benchmark, config.compare) == ("ETTh1", None)


def test_the_shipped_configs_load():
    for name in ("bikeshare", "quick"):
        config = load_config(
            ROOT / "pipelines" / "configs" / f"{name}.yaml", needs=NEEDS["compare"]
        )
        assert config.data.shipped == "bikeshare"
        assert config.model.data.targets == ("bikers",)


def test_help(capsys):
    result = subprocess.run(
        [sys.executable, "-m", "forecaster", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("usage: forecaster [-h] COMMAND ...")
    for command in ("fit", "compare", "backtest", "ui"):
        assert f"    {command} " in result.stdout
        with pytest.raises(SystemExit) as exit_info:
            cli.main([command, "--help"])
        assert exit_info.value.code == 0
        text = capsys.readouterr().out
        assert text.startswith(f"usage: forecaster {command} [-h] [--config YAML]")
        assert "--set SECTION.KEY=VALUE" in text


def test_the_module_exits_with_the_status(tmp_path, monkeypatch, capsys):
    missing = str(tmp_path / "no.yaml")
    monkeypatch.setattr(sys, "argv", ["forecaster", "backtest", "--config", missing])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_module("forecaster", run_name="__main__")
    assert exit_info.value.code == 2
    assert capsys.readouterr().err == (
        f"forecaster backtest: error: config file '{missing}' does not exist\n"
    )


def test_fit_end_to_end(tmp_path, capsys, store):
    output = tmp_path / "model"
    argv = ["fit", "--config", write(tmp_path, TINY), "--output", str(output)]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "Fitting lstm on 320 rows of bikeshare; scoring on the last 80."
    assert lines[1].split() == ["|", "|", "test", "|"]
    assert any(line.startswith("| mase ") for line in lines)
    assert f"Model saved to {output} (forecaster.Forecaster.load reads it back)." in lines
    run_line = next(line for line in lines if line.startswith("MLflow run "))
    assert run_line.endswith(f" in experiment 'tiny' at {store}.")
    assert lines[-1] == (
        "Open the MLflow UI with `forecaster ui` and browse to http://127.0.0.1:5000."
    )
    loaded = fc.Forecaster.load(output)
    assert (loaded.network.units, loaded.data.lookback) == (4, 12)
    assert not (ROOT / "mlruns" / "artifacts" / "tiny").exists()


def test_backtest_end_to_end(tmp_path, capsys):
    assert cli.main(["backtest", "--config", write(tmp_path, TINY), "--cell", "gru"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (
        "Backtesting gru on bikeshare: 2 folds of 6 steps, expanding window, refit at every fold."
    )
    header = [cell.strip() for cell in lines[1].split("|")[1:-1]]
    assert header == ["fold", "cutoff", "mae", "mse", "rmse", "smape", "mase"]
    assert [line.split("|")[1].strip() for line in lines[3:6]] == ["0", "1", "mean"]
    assert lines[3].split("|")[2].strip() == "2011-12-31 11:00:00"
    summary = lines[lines.index("Mean over the folds, model and baselines:") + 3 :]
    assert [line.split("|")[1].strip() for line in summary] == ["gru", "naive"]
