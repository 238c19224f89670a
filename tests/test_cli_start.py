"""The `forecaster` command answers help and argument errors without loading TensorFlow."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
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
        (
            ["compare", "--seeds", "x"],
            2,
            "forecaster compare: error: argument --seeds: invalid int value: 'x'",
        ),
        (
            ["backtest", "--folds"],
            2,
            "forecaster backtest: error: argument --folds: expected one argument",
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
