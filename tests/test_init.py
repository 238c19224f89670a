"""`import forecaster`: light and quiet, each public name loaded on first use."""

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

import forecaster as fc

HEAVY = ("keras", "mlflow", "pandas", "sklearn", "tensorflow")


def python(code, *args, env=None):
    """Runs `code` in a fresh interpreter; returns the finished process (text output)."""
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def clean_env(**extra):
    """This environment without the variables that quiet TensorFlow or Python for us.

    FORECASTER_NATIVE=0 keeps a build of the native kernels out of what is measured.
    """
    env = {
        k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "PYTHONWARNINGS")
    }
    return {**env, "FORECASTER_NATIVE": "0", **extra}


# Where each public name is defined.
DEFINED_IN = {
    "forecaster.cells": ["CIFGCell", "GRUCell", "LSTMCell", "SimpleRNNCell"],
    "forecaster.config": ["DataConfig", "LinearConfig", "NetworkConfig", "TrainConfig"],
    "forecaster.data": [
        "BENCHMARKS",
        "DataError",
        "DataNote",
        "Scaler",
        "Source",
        "Split",
        "StreamWindows",
        "WindowSpec",
        "Windows",
        "benchmark_path",
        "inspect_csv",
        "load_benchmark",
        "load_shipped",
        "make_windows",
        "open_source",
        "read_csv",
        "shipped_path",
        "split",
        "split_last",
        "split_stream",
        "stream_scaler",
        "stream_windows",
    ],
    "forecaster.estimators": [
        "Forecaster",
        "LinearForecaster",
        "MeanForecaster",
        "NaiveForecaster",
        "SeasonalNaiveForecaster",
        "TrainingError",
        "load",
    ],
    "forecaster.evaluation": ["backtest"],
    "forecaster.tracking": ["compare_cells", "track_fit"],
}
SUBMODULES = {
    "cells": "forecaster.cells",
    "data": "forecaster.data",
    "metrics": "forecaster.evaluation.metrics",
    "tracking": "forecaster.tracking",
}


def test_import_is_light_and_each_name_loads_on_first_use():
    code = f"""
import importlib, json, sys
import forecaster as fc
report = {{"at_import": sorted(m for m in {HEAVY!r} if m in sys.modules)}}
report["dir"] = sorted(set(fc.__all__) - set(dir(fc)))
report["wrong"] = [
    name
    for module, names in {DEFINED_IN!r}.items()
    for name in names
    if getattr(fc, name) is not getattr(importlib.import_module(module), name)
]
report["wrong"] += [
    m for m, home in {SUBMODULES!r}.items() if getattr(fc, m) is not sys.modules[home]
]
from forecaster import Forecaster, tracking
report["same"] = [Forecaster is fc.Forecaster, tracking is fc.tracking]
print(json.dumps(report))
"""
    result = python(code, env=clean_env())
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout) == {
        "at_import": [],
        "dir": [],
        "wrong": [],
        "same": [True, True],
    }
    listed = [name for names in DEFINED_IN.values() for name in names]
    assert sorted(listed + list(SUBMODULES)) == sorted(fc.__all__)


def test_backtest_stays_the_function_when_its_module_is_imported():
    code = (
        "import sys, forecaster as fc\n"
        "import forecaster.cli.sections, forecaster.evaluation.backtesting\n"
        "print(fc.backtest is sys.modules['forecaster.evaluation.backtesting'].backtest)\n"
    )
    result = python(code, env=clean_env())
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout == "True\n"


def test_unknown_names_are_errors():
    with pytest.raises(AttributeError) as error:
        fc.Forcaster  # noqa: B018
    assert str(error.value) == "module 'forecaster' has no attribute 'Forcaster'"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("forecaster.forecaster", "forecaster.estimators.neural"),
        ("forecaster.runconfig", "forecaster.cli.sections"),
        ("forecaster.backtest", "forecaster.evaluation.backtesting"),
    ],
)
def test_a_module_of_the_old_layout_names_where_it_went(old, new):
    with pytest.raises(ModuleNotFoundError) as error:
        importlib.import_module(old)
    assert str(error.value) == (
        f"{old} moved to {new} in forecaster 0.2; import it from there, or the public names "
        "from forecaster itself"
    )
    assert importlib.import_module(new).__name__ == new


def test_import_writes_nothing():
    result = python("import forecaster", env=clean_env())
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_tensorflow_starts_quietly_and_keeps_other_lines():
    # A line written to stderr while TensorFlow loads, to show the filter keeps what is not
    # TensorFlow's start-up noise.
    code = """
import importlib.abc, os, sys

class Speak(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "tensorflow.python":
            os.write(2, b"a line written while TensorFlow loads\\n")

sys.meta_path.insert(0, Speak())
import forecaster
forecaster.Forecaster
import tensorflow as tf
tf.constant(1.0) + 1
"""
    result = python(code, env=clean_env())
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout == ""
    assert result.stderr == "a line written while TensorFlow loads\n"


def test_what_is_written_while_tensorflow_fails_to_load_is_kept():
    code = """
import importlib.abc, os, sys

class Fail(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "tensorflow.python":
            os.write(2, b"a line written while TensorFlow loads\\n")
            raise ImportError("no tensorflow.python here")

sys.meta_path.insert(0, Fail())
import forecaster
try:
    import tensorflow
except ImportError as error:
    print(error)
"""
    result = python(code, env=clean_env())
    assert result.returncode == 0, result.stderr[-3000:]
    assert (result.stdout, result.stderr) == (
        "no tensorflow.python here\n",
        "a line written while TensorFlow loads\n",
    )


@pytest.mark.skipif(
    sys.platform != "linux" or any(Path(p).exists() for p in ("/dev/nvidiactl", "/dev/dxg")),
    reason="TensorFlow's start-up lines are those of a Linux machine without a GPU",
)
def test_a_zero_log_level_shows_tensorflows_lines():
    code = "import forecaster; forecaster.Forecaster; import tensorflow as tf; tf.constant(1.0)"
    result = python(code, env=clean_env(TF_CPP_MIN_LOG_LEVEL="0"))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "absl::InitializeLog() is called are written to STDERR" in result.stderr
    assert "] Could not find cuda drivers on your machine, GPU will not be used." in result.stderr


@pytest.fixture(scope="module")
def saved_network(tmp_path_factory):
    """A .keras file holding a CIFG cell, and its outputs on random inputs."""
    folder = tmp_path_factory.mktemp("network")
    network = keras.Sequential(
        [keras.Input((5, 2)), keras.layers.RNN(fc.CIFGCell(3)), keras.layers.Dense(1)]
    )
    x = np.random.default_rng(0).normal(size=(4, 5, 2)).astype("float32")
    network.save(folder / "cifg.keras")
    np.save(folder / "x.npy", x)
    return folder, network.predict(x, verbose=0)


RELOAD = """
import sys, numpy as np{first}
import keras
network = keras.saving.load_model(sys.argv[1] + "/cifg.keras")
np.save(sys.argv[1] + "/y.npy", network.predict(np.load(sys.argv[1] + "/x.npy"), verbose=0))
"""


def test_a_saved_network_reloads_after_import_forecaster(saved_network):
    folder, expected = saved_network
    code = RELOAD.format(
        first="\nimport forecaster\nassert 'keras' not in sys.modules, 'keras loaded early'"
    )
    result = python(code, str(folder), env=clean_env())
    assert result.returncode == 0, result.stderr[-3000:]
    np.testing.assert_allclose(np.load(folder / "y.npy"), expected, rtol=1e-6)


def test_keras_does_not_import_the_cells_module_itself(saved_network):
    folder, expected = saved_network
    code = (
        "import sys, keras\n"
        "try:\n"
        "    keras.saving.load_model(sys.argv[1] + '/cifg.keras')\n"
        "except TypeError as error:\n"
        "    print(error)\n"
        + RELOAD.format(first="\nimport forecaster  # after keras: registers the cells now")
    )
    result = python(code, str(folder), env=clean_env(TF_CPP_MIN_LOG_LEVEL="3"))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Could not locate class 'CIFGCell'" in result.stdout
    np.testing.assert_allclose(np.load(folder / "y.npy"), expected, rtol=1e-6)
