"""The `forecaster` command: config errors, flags over the file, help, fit and backtest.

`forecaster ui` is in test_cli_ui.py, what the parser imports in test_cli_start.py, the
generated flags and the old spellings in test_flags.py.
"""

import argparse
import dataclasses
import json
import re
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import forecaster as fc
from forecaster.cli import commands as cli
from forecaster.cli.flags import add_arguments
from forecaster.cli.loading import load_config
from forecaster.cli.sections import NEEDS
from forecaster.config import NetworkConfig

ROOT = Path(__file__).resolve().parents[2]
# A few hundred rows of the shipped CSV and a model that trains in a blink.
TINY = {
    "source": {"shipped": "bikeshare", "rows": 400},
    "data": {"lookback": 12, "horizon": 6, "targets": ["bikers"]},
    "network": {"units": 4},
    "train": {"epochs": 1, "verbose": 0},
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


NETWORK_KEYS = sorted(f.name for f in dataclasses.fields(NetworkConfig))


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {**TINY, "modle": {"units": 4}},
            "config section 'modle' is not known; known sections are ['data', 'network', "
            "'train', 'linear', 'source', 'fit', 'compare', 'backtest', 'ltsf', 'ui']",
        ),
        (
            changed("network", "unit", 8),
            f"config key 'network.unit' is not known; known keys are {NETWORK_KEYS}",
        ),
        (
            changed("fit", "outputs", "x"),
            "config key 'fit.outputs' is not known; known keys are "
            "['experiment', 'output', 'test_fraction']",
        ),
        (
            changed("network", "units", "many"),
            "config key 'network.units' must be an integer, got 'many'",
        ),
        (
            changed("network", "units", 0),
            "config key 'network.units': units must be a positive integer, got 0",
        ),
        (
            changed("network", "cell", "tcn"),
            "config key 'network.cell': unknown cell 'tcn'; known cells: "
            "'cifg', 'gru', 'lstm', 'rnn'",
        ),
        (
            {**TINY, "network": {"units": 4, "cell": "rnn", "peephole": True}},
            "config key 'network.peephole': peephole=True needs an LSTM-type cell ('lstm' or "
            "'cifg'), got cell='rnn'",
        ),
        (
            changed("network", "dropout", "lots"),
            "config key 'network.dropout' must be a number, got 'lots'",
        ),
        (
            changed("data", "targets", [1, 2]),
            "config key 'data.targets' must be a list of strings or null, got [1, 2]",
        ),
        (changed("data", "lookback", None), "config key 'data.lookback' is required"),
        (
            changed("data", "scaler", "log"),
            "config key 'data.scaler': scaler='log' is not known; pass one of "
            "('standard', 'minmax', 'robust', 'none')",
        ),
        (
            changed("train", "lr_decay", 1),
            "config key 'train.lr_decay': lr_decay must be None or in (0, 1), got 1.0",
        ),
        (
            changed("linear", "alpha", -1),
            "config key 'linear.alpha': alpha must be a non-negative number, got -1.0",
        ),
        (
            changed("fit", "test_fraction", 1.5),
            "config key 'fit.test_fraction': test_fraction must be in (0, 1), got 1.5",
        ),
        (
            changed("source", "missing", "drop"),
            "config key 'source.missing': missing='drop' is not known; pass one of "
            "('error', 'interpolate', 'ffill', 'zero')",
        ),
        (
            changed("source", "decimal", ":"),
            "config key 'source.decimal': decimal=':' is not known; pass one of ('.', ',')",
        ),
        (
            changed("source", "path", "data/bikeshare.csv"),
            "config section 'source': 'shipped' and 'path' exclude each other",
        ),
        (
            changed("source", "shipped", None),
            "config section 'source': give one of 'shipped', 'path' or 'benchmark'",
        ),
        (
            changed("source", "shipped", "bikes"),
            "config key 'source.shipped': shipped='bikes' is not known; pass one of ('bikeshare',)",
        ),
        (
            {**TINY, "network": [12, 6]},
            "config section 'network' must be a mapping of keys to values, got [12, 6]",
        ),
    ],
)
def test_config_errors(tmp_path, capsys, config, message):
    assert error_of(capsys, ["--config", write(tmp_path, config)]) == message


def test_errors_of_the_other_sections(tmp_path, capsys):
    path = write(tmp_path, TINY)
    window = ["--config", path, "--set", "backtest.window=rolling"]
    assert error_of(capsys, window, "backtest") == (
        "config key 'backtest.window': window='rolling' is not known; pass one of "
        "('expanding', 'sliding')"
    )
    refit = ["--config", path, "--set", "backtest.refit=1"]
    assert error_of(capsys, refit, "backtest") == (
        "config key 'backtest.refit' must be true or false, got 1"
    )
    cells = ["--config", path, "--compare.cells", "lstm", "tcn"]
    assert error_of(capsys, cells, "compare") == (
        "config key 'compare.cells': unknown cell 'tcn'; known cells: 'cifg', 'gru', 'lstm', 'rnn'"
    )
    assert error_of(
        capsys, ["--config", path, "--set", "compare.baselines=[arima]"], "compare"
    ) == (
        "config key 'compare.baselines': baselines='arima' is not known; pass one of "
        "('naive', 'seasonal_naive', 'mean', 'linear')"
    )
    parallel = ["--config", path, "--set", "compare.parallel=dask"]
    assert error_of(capsys, parallel, "compare") == (
        "config key 'compare.parallel': parallel='dask' is not known; pass one of (None, 'ray')"
    )
    cpus = ["--config", path, "--compare.cpus_per_trial", "0"]
    assert error_of(capsys, cpus, "compare") == (
        "config key 'compare.cpus_per_trial': cpus_per_trial must be a positive integer, got 0"
    )
    assert error_of(capsys, ["--ui.port", "0"], "ui") == (
        "config key 'ui.port': port must be in [1, 65535], got 0"
    )
    model = ["--config", path, "--ltsf.model", "arima"]
    assert error_of(capsys, model, "ltsf") == (
        "config key 'ltsf.model': model='arima' is not known; pass one of "
        "('rnn', 'lstm', 'gru', 'cifg', 'naive', 'linear')"
    )


def test_sections_that_do_not_fit_together_are_one_line(tmp_path, capsys):
    """A check across sections is the forecaster's; the command names the sections."""
    segment = ["--config", write(tmp_path, TINY), "--network.architecture", "segment"]
    segment += ["--network.segment_length", "5"]
    for command in ("fit", "compare", "backtest", "ltsf"):
        assert error_of(capsys, segment, command) == (
            "config sections data, network, train: lookback=12 is not a multiple of "
            "segment_length=5; the segment design cuts it into whole segments"
        )
    recursive = ["--config", write(tmp_path, TINY), "--network.architecture", "recursive"]
    assert error_of(capsys, [*recursive, "--data.inputs", "bikers", "temp"]) == (
        "config sections data, network, train: architecture='recursive' feeds each forecast "
        "back as the next input, so the inputs must be the targets; got inputs ['bikers', "
        "'temp'] and targets ['bikers']"
    )


def test_file_errors(tmp_path, capsys):
    path = write(tmp_path, TINY)
    assert error_of(capsys, ["--config", str(tmp_path / "none.yaml")]) == (
        f"config file '{tmp_path / 'none.yaml'}' does not exist"
    )
    assert error_of(capsys, ["--config", path, "--source.path", "nowhere/rides.csv"]) == (
        "data file 'nowhere/rides.csv' (config key 'source.path') does not exist"
    )
    sep = ["--config", path, "--source.sep", ";;"]
    assert error_of(capsys, sep) == "config section 'source': sep=';;' is not a single character"
    benchmark = ["--config", path, "--source.benchmark", "ETTh1", "--source.path", "nowhere"]
    assert error_of(capsys, benchmark) == (
        "config key 'source.path': path='nowhere' is neither a file nor a folder; pass a copy "
        "of ETTh1.csv or a folder holding it"
    )
    listed = tmp_path / "list.yaml"
    listed.write_text("- data\n- network\n")
    assert error_of(capsys, ["--config", str(listed)]) == (
        f"config file '{listed}' must hold a mapping of sections, got ['data', 'network']"
    )
    broken = tmp_path / "broken.yaml"
    broken.write_text("network: {units: 4\n")
    assert error_of(capsys, ["--config", str(broken)]).startswith(
        f"config file '{broken}' is not valid YAML: "
    )
    (tmp_path / "taken").mkdir()
    taken = ["--config", path, "--fit.output", str(tmp_path / "taken")]
    assert error_of(capsys, taken) == (
        f"config key 'fit.output' is '{tmp_path / 'taken'}', which exists and is not a saved "
        "forecaster; pick a new folder"
    )


def test_set_errors(tmp_path, capsys):
    path = write(tmp_path, TINY)
    assert error_of(capsys, ["--config", path, "--set", "network.units"]) == (
        "--set takes section.key=value, got 'network.units'"
    )
    assert error_of(capsys, ["--config", path, "--set", "units=4"]) == (
        "override keys look like section.key, got 'units'"
    )
    assert error_of(capsys, ["--config", path, "--set", "network.unit=4"]) == (
        f"config key 'network.unit' is not known; known keys are {NETWORK_KEYS}"
    )
    assert error_of(capsys, ["--config", path, "--set", "data.calendar=[hour"]) == (
        "--set data.calendar: '[hour' is not a YAML value"
    )


def test_a_bad_flag_type_is_argparses_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["compare", "--compare.seeds", "three"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "forecaster compare: error: argument --compare.seeds: invalid int value: 'three'"
    )


def test_data_that_does_not_fit_the_config_is_one_line(tmp_path, capsys):
    config = changed("data", "targets", ["riders"])
    columns = list(fc.load_shipped("bikeshare").columns)
    assert error_of(capsys, ["--config", write(tmp_path, config)], "backtest") == (
        f"target column 'riders' is not in the frame; columns are {columns}"
    )


def test_flags_override_the_file_and_set_comes_last(tmp_path):
    path = write(tmp_path, TINY)
    flags = ["--network.units", "16", "--train.epochs", "3", "--network.cell", "gru"]
    args = cli.parser().parse_args(["fit", "--config", path, *flags])
    config = cli.config_from_args(args, "fit")
    assert (config.network.units, config.train.epochs, config.network.cell) == (16, 3, "gru")
    assert config.data.lookback == 12  # from the file
    args = cli.parser().parse_args(
        ["fit", "--config", path, "--network.units", "16", "--set", "network.units=32"]
    )
    assert cli.config_from_args(args, "fit").network.units == 32
    argv = ["compare", "--config", path, "--compare.seeds", "2", "--compare.cells", "gru"]
    compare = cli.config_from_args(cli.parser().parse_args(argv), "compare").compare
    assert (compare.seeds, compare.cells, compare.parallel) == (2, ("gru",), None)
    args = cli.parser().parse_args(["compare", "--config", path, "--compare.parallel", "ray"])
    args.overrides.append("compare.address=ray://head:10001")
    compare = cli.config_from_args(args, "compare").compare
    assert (compare.parallel, compare.address) == ("ray", "ray://head:10001")


def test_a_source_on_the_command_line_replaces_the_files(tmp_path):
    path = write(tmp_path, TINY)
    args = cli.parser().parse_args(["fit", "--config", path, "--source.path", "a.csv"])
    source = cli.config_from_args(args, "fit").source
    assert (source.shipped, source.path, source.rows) == (None, "a.csv", 400)
    args = cli.parser().parse_args(["fit", "--config", path, "--set", "source.benchmark=ETTh1"])
    source = cli.config_from_args(args, "fit").source
    assert (source.shipped, source.benchmark) == (None, "ETTh1")
    ltsf = str(ROOT / "pipelines" / "configs" / "ltsf" / "etth1.yaml")
    args = cli.parser().parse_args(["ltsf", "--config", ltsf, "--source.benchmark", "ETTm1"])
    source = cli.config_from_args(args, "ltsf").source
    assert (source.benchmark, source.path) == ("ETTm1", "../shared/data")  # a folder of both


def test_set_reads_values_as_yaml():
    config = load_config(
        None,
        [
            "source.benchmark=ETTh1",
            "data.lookback=24",
            "data.horizon=12",
            "data.calendar=[hour, month]",
            "data.targets=OT",
            "train.learning_rate=1e-3",  # YAML 1.1 reads this as text
            "network.layer_norm=true",
        ],
        needs=("source", "data", "network"),
    )
    assert config.data.calendar == ("hour", "month")
    assert config.data.targets == ("OT",)
    assert config.train.learning_rate == 0.001
    assert config.network.layer_norm is True
    assert (config.source.benchmark, config.compare, config.linear) == ("ETTh1", None, None)


def test_the_shipped_configs_load():
    for name in ("bikeshare", "quick"):
        config = load_config(
            ROOT / "pipelines" / "configs" / f"{name}.yaml", needs=NEEDS["compare"]
        )
        assert config.source.shipped == "bikeshare"
        assert config.data.targets == ("bikers",)
    sets = sorted((ROOT / "pipelines" / "configs" / "ltsf").glob("*.yaml"))
    assert [path.stem for path in sets] == ["etth1", "etth2", "ettm1", "ettm2", "weather"]
    for path in sets:
        config = load_config(path, needs=NEEDS["ltsf"])
        assert (config.source.benchmark.lower(), config.source.path) == (
            path.stem,
            "../shared/data",
        )
        assert (config.network.architecture, config.network.units) == ("segment", 512)
        assert (config.train.loss, config.ltsf.quick) == ("mae", False)


def test_quick_sets_its_keys_over_the_file_and_under_the_command_line():
    path = ROOT / "pipelines" / "configs" / "ltsf" / "etth1.yaml"
    quick = load_config(path, ["ltsf.quick=true"], needs=NEEDS["ltsf"])
    assert (quick.train.epochs, quick.network.units, quick.data.stride) == (1, 16, 16)
    flagged = load_config(path, ["ltsf.quick=true", "train.epochs=3"], needs=NEEDS["ltsf"])
    assert (flagged.train.epochs, flagged.network.units) == (3, 16)


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
    for command in ("fit", "compare", "backtest", "ltsf", "ui"):
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
    argv = ["fit", "--config", write(tmp_path, TINY), "--fit.output", str(output)]
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


def test_a_key_has_one_spelling_from_the_file_to_the_saved_model(tmp_path, capsys, store):
    """network.units: the YAML key, the flag, the MLflow parameter, the saved model's key."""
    import mlflow

    output = tmp_path / "model"
    argv = ["fit", "--config", write(tmp_path, TINY), "--fit.output", str(output)]
    assert cli.main([*argv, "--network.units", "7"]) == 0
    run_id = next(
        line.split()[2] for line in capsys.readouterr().out.splitlines() if "MLflow run" in line
    )
    params = mlflow.MlflowClient(tracking_uri=store).get_run(run_id).data.params
    saved = json.loads((output / "forecaster.json").read_text())["configs"]
    assert params["network.units"] == "7"
    assert saved["network"]["units"] == 7
    # Every field of the model's sections: the same name in all four places.
    parser = argparse.ArgumentParser()
    add_arguments(parser, "fit")
    flags = set(re.findall(r"--(\w+\.\w+)", parser.format_help()))
    for section in ("data", "network", "train"):
        config_class = type(getattr(load_config(argv[2], needs=NEEDS["fit"]), section))
        keys = {f"{section}.{f.name}" for f in dataclasses.fields(config_class)}
        assert keys <= flags
        assert keys == {key for key in params if key.startswith(f"{section}.")}
        assert {f"{section}.{name}" for name in saved[section]} == keys
        assert set(yaml.safe_load(Path(argv[2]).read_text())[section]) <= {
            key.partition(".")[2] for key in keys
        }


def test_backtest_end_to_end(tmp_path, capsys):
    argv = ["backtest", "--config", write(tmp_path, TINY), "--network.cell", "gru"]
    assert cli.main(argv) == 0
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
