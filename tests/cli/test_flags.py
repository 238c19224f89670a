"""The flags generated from the section dataclasses, and the old spellings' errors."""

import argparse
import dataclasses
import re
from pathlib import Path

import pytest
import yaml

from forecaster.cli import commands as cli
from forecaster.cli.flags import add_arguments, config_from_args, field_help
from forecaster.cli.sections import NEEDS, SECTIONS
from forecaster.config import NetworkConfig, TrainConfig

ROOT = Path(__file__).resolve().parents[2]


def parser_of(command):
    parser = argparse.ArgumentParser(prog=f"forecaster {command}")
    add_arguments(parser, command)
    return parser


@pytest.mark.parametrize("command", sorted(NEEDS))
def test_every_field_of_every_section_read_is_a_flag(command):
    shown = set(re.findall(r"--[a-z][a-z_.]*", parser_of(command).format_help()))
    fields = {
        f"--{section}.{field.name}"
        for section in NEEDS[command]
        for field in dataclasses.fields(SECTIONS[section])
    }
    tune = {"--tune"} if command in ("compare", "tune") else set()  # --compare.tune's short form
    assert shown == {"--help", "--config", "--set", *tune, *fields}


def test_the_flags_take_their_fields_types():
    args = parser_of("ltsf").parse_args(
        [
            "--network.units", "8",
            "--train.learning_rate", "0.01",
            "--train.lr_decay", "null",
            "--network.residual",
            "--train.shuffle", "false",
            "--data.targets", "OT", "HUFL",
            "--data.calendar", "hour",
            "--source.time_col", "date",
            "--source.rows", "null",
            "--source.benchmark", "null",
            "--ltsf.model", "lstm",
        ]
    )  # fmt: skip
    given = {key: value for key, value in vars(args).items() if "." in key}
    assert given == {
        "network.units": 8,
        "train.learning_rate": 0.01,
        "train.lr_decay": None,
        "network.residual": True,
        "train.shuffle": False,
        "data.targets": ["OT", "HUFL"],
        "data.calendar": ["hour"],  # a tuple field: one value is a list of one
        "source.time_col": "date",  # str or a list: one value is the string
        "source.rows": None,
        "source.benchmark": None,  # null before str: `str | None` takes it as None
        "ltsf.model": "lstm",
    }
    args.config = str(ROOT / "pipelines" / "configs" / "ltsf" / "etth1.yaml")
    args.overrides = ["source.path=a.csv"]  # the file's path is a folder of benchmark sets
    config = config_from_args(args, "ltsf")
    assert (config.data.targets, config.data.calendar) == (("OT", "HUFL"), ("hour",))
    assert (config.train.lr_decay, config.network.residual) == (None, True)


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (["--network.units", "8.5"], "argument --network.units: invalid int value: '8.5'"),
        (
            ["--train.lr_decay", "fast"],
            "argument --train.lr_decay: invalid float or null value: 'fast'",
        ),
        (
            ["--network.residual", "yes"],
            "argument --network.residual: invalid true or false value: 'yes'",
        ),
    ],
)
def test_a_value_of_the_wrong_type_is_argparses_error(capsys, argv, error):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["fit", *argv])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == f"forecaster fit: error: {error}"


def test_a_flag_is_never_abbreviated(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["fit", "--network.unit", "8"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "forecaster: error: unrecognized arguments: --network.unit 8"
    )


def test_the_help_is_the_dataclasses_docstring():
    helps = field_help(NetworkConfig)
    assert helps["units"] == "hidden units per recurrent layer."
    assert field_help(TrainConfig)["shuffle"] == (
        "shuffle the training windows every epoch (seeded); False: in time order."
    )
    for section, config_class in SECTIONS.items():
        assert set(field_help(config_class)) == {
            f.name for f in dataclasses.fields(config_class)
        }, section
    assert "hidden units per recurrent layer." in parser_of("fit").format_help()


@pytest.mark.parametrize(
    ("command", "old", "new"),
    [
        ("fit", "--units", "--network.units"),
        ("fit", "--epochs", "--train.epochs"),
        ("fit", "--cell", "--network.cell"),
        ("fit", "--data", "--source.path"),
        ("fit", "--experiment", "--fit.experiment"),
        ("fit", "--output", "--fit.output"),
        ("compare", "--cells", "--compare.cells"),
        ("compare", "--seeds", "--compare.seeds"),
        ("compare", "--experiment", "--compare.experiment"),
        ("compare", "--parallel", "--compare.parallel"),
        ("compare", "--address", "--compare.address"),
        ("backtest", "--folds", "--backtest.folds"),
        ("ui", "--port", "--ui.port"),
        ("ltsf", "--data", "--source.path"),
        ("ltsf", "--model", "--ltsf.model"),
        ("ltsf", "--quick", "--ltsf.quick"),
        ("ltsf", "--lookback", "--data.lookback"),
        ("ltsf", "--head-dropout", "--network.head_dropout"),
        ("ltsf", "--lr-decay", "--train.lr_decay"),
        ("ltsf", "--experiment", "--ltsf.experiment"),
    ],
)
def test_an_old_flag_names_the_new_one(capsys, command, old, new):
    with pytest.raises(SystemExit) as exit_info:
        cli.main([command, old, "1"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"forecaster {command}: error: argument {old}: renamed {new} in forecaster 0.2"
    )


def error_of(capsys, tmp_path, config, *argv):
    path = tmp_path / "old.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    assert cli.main(["fit", "--config", str(path), *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    return err.removeprefix("forecaster fit: error: ").removesuffix("\n")


def test_an_old_section_names_the_new_key(tmp_path, capsys):
    old = {"data": {"shipped": "bikeshare"}, "model": {"units": 4, "lookback": 12}}
    assert error_of(capsys, tmp_path, old) == (
        "config section 'model' was split into 'data', 'network' and 'train' in forecaster "
        "0.2: write model.units as network.units"
    )
    old["model"] = {"epochs": 3}
    assert error_of(capsys, tmp_path, old) == (
        "config section 'model' was split into 'data', 'network' and 'train' in forecaster "
        "0.2: write model.epochs as train.epochs"
    )
    new = {"source": {"shipped": "bikeshare"}, "data": {"lookback": 12, "horizon": 6}}
    assert error_of(capsys, tmp_path, new, "--set", "model.calendar=[hour]") == (
        "config section 'model' was split into 'data', 'network' and 'train' in forecaster "
        "0.2: write model.calendar as data.calendar"
    )
    del old["model"]
    assert error_of(capsys, tmp_path, old) == (
        "config key 'data.shipped' moved to 'source.shipped' in forecaster 0.2 (the section "
        "'data' holds the DataConfig: lookback, horizon, ...)"
    )
    assert error_of(capsys, tmp_path, new, "--set", "data.rows=100") == (
        "config key 'data.rows' moved to 'source.rows' in forecaster 0.2 (the section 'data' "
        "holds the DataConfig: lookback, horizon, ...)"
    )
