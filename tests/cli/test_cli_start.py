"""The `forecaster` command answers help and argument errors without loading TensorFlow."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("keras", "mlflow", "pandas", "sklearn", "tensorflow")

# Runs the command in-process, then reports its exit status and the heavy modules loaded.
CODE = f"""
import json, runpy, sys
argv = json.loads(sys.argv[1])
try:
    if argv[0] == "-m":
        sys.argv = ["forecaster", *argv[1:]]
        runpy.run_module("forecaster", run_name="__main__")
    else:
        from forecaster.cli import main
        main(argv)
except SystemExit as stop:
    status = stop.code
print(json.dumps([status, sorted(m for m in {HEAVY!r} if m in sys.modules)]), file=sys.stderr)
"""


@pytest.mark.parametrize(
    ("argv", "status", "error"),
    [
        (["-m", "--help"], 0, None),
        (["--help"], 0, None),
        (["fit", "--help"], 0, None),
        (["ui", "--help"], 0, None),
        (["ltsf", "--help"], 0, None),
        (
            ["compare", "--compare.seeds", "x"],
            2,
            "forecaster compare: error: argument --compare.seeds: invalid int value: 'x'",
        ),
        (
            ["backtest", "--backtest.folds"],
            2,
            "forecaster backtest: error: argument --backtest.folds: expected one argument",
        ),
        (
            ["compare", "--seeds", "3"],
            2,
            "forecaster compare: error: argument --seeds: renamed --compare.seeds in "
            "forecaster 0.2",
        ),
    ],
)
def test_help_and_argument_errors_load_no_heavy_module(argv, status, error):
    env = {**os.environ, "FORECASTER_NATIVE": "0"}
    result = subprocess.run(
        [sys.executable, "-c", CODE, json.dumps(argv)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    *lines, report = result.stderr.splitlines()
    assert json.loads(report) == [status, []]
    if error is None:
        assert result.stdout.startswith("usage: forecaster")
    else:
        assert lines[-1] == error


REFUSE = f"""
import json, sys
from forecaster.cli import main
status = main(json.loads(sys.argv[1]))
print(json.dumps([status, sorted(m for m in {HEAVY!r} if m in sys.modules)]), file=sys.stderr)
"""


@pytest.mark.parametrize("command", ["fit", "compare", "ui"])
def test_a_store_that_cannot_be_opened_is_refused_before_anything_loads(command):
    """Refused in one line, before TensorFlow or MLflow (seconds) load: nothing to wait for."""
    env = {**os.environ, "FORECASTER_NATIVE": "0", "MLFLOW_TRACKING_URI": "sqlite:////proc/m.db"}
    argv = [command, "--config", "pipelines/configs/quick.yaml"]
    result = subprocess.run(
        [sys.executable, "-c", REFUSE, json.dumps(argv)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    *lines, report = result.stderr.splitlines()
    assert json.loads(report) == [2, []]
    assert lines == [
        f"forecaster {command}: error: MLFLOW_TRACKING_URI is sqlite:////proc/m.db: the folder "
        "/proc is not writable; point MLFLOW_TRACKING_URI at a database in a folder you can "
        "write to"
    ]
    assert not Path("/proc/m.db").exists()


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (
            ["--set", "network.units=0"],
            "config key 'network.units': units must be a positive integer, got 0",
        ),
        (
            ["--train.lr_decay", "1.5"],
            "config key 'train.lr_decay': lr_decay must be None or in (0, 1), got 1.5",
        ),
        (
            ["--set", "model.units=64"],
            "config section 'model' was split into 'data', 'network' and 'train' in forecaster "
            "0.2: write model.units as network.units",
        ),
    ],
)
def test_a_config_error_loads_no_heavy_module(tmp_path, argv, error):
    """A bad hyperparameter is refused before pandas or TensorFlow load: in well under a second."""
    env = {
        **os.environ,
        "FORECASTER_NATIVE": "0",
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
    }
    command = ["fit", "--config", "pipelines/configs/quick.yaml", *argv]
    result = subprocess.run(
        [sys.executable, "-c", REFUSE, json.dumps(command)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    *lines, report = result.stderr.splitlines()
    assert json.loads(report) == [2, []]
    assert lines == [f"forecaster fit: error: {error}"]
    assert not (tmp_path / "mlflow.db").exists()
