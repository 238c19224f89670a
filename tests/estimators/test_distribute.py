"""Data-parallel training: MirroredStrategy and MultiWorkerMirroredStrategy on the CPU.

The strategies with several replicas run in fresh processes
(tests/estimators/distributed_fit.py): logical CPU devices and a multi-worker strategy must
be set up before TensorFlow starts.
The processes start together, in a module fixture, so that their start-up overlaps.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

import forecaster as fc
from forecaster.cli.loading import load_config
from forecaster.cli.sections import ConfigError
from tests.assertions import raises_exactly
from tests.estimators import distributed_fit
from tests.servers import free_port

ROOT = Path(__file__).parents[2]
SECONDS = 240  # a worker waiting for a peer that died must fail the test, not hang it


def _start(*args, env=None):
    return subprocess.Popen(
        [sys.executable, "-m", "tests.estimators.distributed_fit", *args],
        cwd=ROOT,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _result(process):
    try:
        out, err = process.communicate(timeout=SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        pytest.fail(f"{process.args} ran past {SECONDS} s: {err[-2000:]}")
    assert process.returncode == 0, err[-3000:]
    return json.loads(out.splitlines()[-1])


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The mirrored comparison and a two-worker cluster, started at once."""
    out = tmp_path_factory.mktemp("multiworker")
    ports = [free_port(), free_port()]
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    processes = {"mirrored": _start("mirrored")}
    for index in range(2):
        config = {"cluster": cluster, "task": {"type": "worker", "index": index}}
        processes[f"worker{index}"] = _start(
            "multiworker",
            str(out / f"saved-by-worker{index}"),
            env={"TF_CONFIG": json.dumps(config)},
        )
    try:
        yield {"out": out, **{name: _result(process) for name, process in processes.items()}}
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()


def test_mirrored_over_two_cpus_matches_one_device(runs):
    one, mirrored = runs["mirrored"]["one"], runs["mirrored"]["mirrored"]
    assert (one["replicas"], mirrored["replicas"]) == (1, 2)
    for single, replicated in zip(one["weights"], mirrored["weights"], strict=True):
        np.testing.assert_allclose(replicated, single, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(mirrored["losses"], one["losses"], rtol=1e-5)
    np.testing.assert_allclose(mirrored["forecast"], one["forecast"], rtol=1e-5)
    assert one["losses"][-1] < one["losses"][0]  # it trained: the weights moved


def test_a_batch_that_does_not_split_among_the_replicas_is_refused(runs):
    assert runs["mirrored"]["odd_batch_error"] == (
        "batch_size=33 does not split evenly among the 2 replicas; pass a multiple of 2"
    )


def test_two_workers_train_one_model_that_only_the_chief_saves(runs):
    chief, worker, one_device = runs["worker0"], runs["worker1"], runs["mirrored"]["one"]
    assert chief["replicas"] == worker["replicas"] == 2
    assert chief["forecast"] == worker["forecast"]  # one model, kept in sync
    np.testing.assert_allclose(chief["losses"], one_device["losses"], rtol=1e-5)
    np.testing.assert_allclose(chief["forecast"], one_device["forecast"], rtol=1e-5)
    assert sorted(p.name for p in runs["out"].iterdir()) == ["saved-by-worker0"]
    loaded = fc.Forecaster.load(runs["out"] / "saved-by-worker0")
    series = distributed_fit.frame()
    np.testing.assert_allclose(loaded.predict(series)["OT"], chief["forecast"], rtol=1e-6)
    manifest = json.loads((runs["out"] / "saved-by-worker0" / "forecaster.json").read_text())
    assert manifest["configs"]["train"]["distribute"] == "multiworker"
    assert loaded.train.distribute is None  # a loaded forecaster refits on one device


def test_a_strategy_object_stays_on_the_forecaster_and_is_not_saved(tmp_path):
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    model = fc.Forecaster(**{**distributed_fit.OPTIONS, "epochs": 1, "distribute": strategy})
    seen = Seen()
    model.fit(distributed_fit.frame(), callbacks=[seen])
    assert seen.strategy is strategy
    assert model.strategy is strategy
    assert model.train.distribute is None
    assert model.clone().strategy is strategy
    model.save(tmp_path / "saved")
    manifest = json.loads((tmp_path / "saved" / "forecaster.json").read_text())
    assert manifest["configs"]["train"]["distribute"] is None
    assert fc.Forecaster.load(tmp_path / "saved").strategy is None


class Seen(distributed_fit.keras.callbacks.Callback):
    """Records the strategy Keras trains under."""

    def on_train_begin(self, logs=None):
        self.strategy = self.model.distribute_strategy


def test_an_unknown_strategy_is_refused():
    with raises_exactly(
        ValueError,
        "distribute='bogus' is not known; pass None, 'mirrored' or 'multiworker', "
        "or a tf.distribute.Strategy to Forecaster",
    ):
        fc.Forecaster(lookback=24, horizon=6, distribute="bogus")


def test_the_yaml_config_takes_distribute():
    sizes = ["data.lookback=24", "data.horizon=6"]
    assert load_config(overrides=sizes, needs=("data", "train")).train.distribute is None
    overrides = [*sizes, "train.distribute=mirrored"]
    assert load_config(overrides=overrides).train.distribute == "mirrored"
    with raises_exactly(
        ConfigError,
        "config key 'train.distribute': distribute='bogus' is not known; pass None, "
        "'mirrored' or 'multiworker', or a tf.distribute.Strategy to Forecaster",
    ):
        load_config(overrides=[*sizes, "train.distribute=bogus"])
