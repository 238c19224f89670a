"""Fits small forecasters under tf.distribute in a fresh process and prints JSON results.

Run by tests/estimators/test_distribute.py, since TensorFlow's devices (two logical CPUs) and a
multi-worker strategy can only be set up before TensorFlow initializes in a process:

    python -m tests.estimators.distributed_fit mirrored
    TF_CONFIG='{...}' python -m tests.estimators.distributed_fit multiworker OUTPUT_FOLDER
"""

import json
import os
import sys

# Both must be set before keras or tensorflow is first imported.
os.environ["KERAS_BACKEND"] = "tensorflow"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras

import forecaster as fc
from tests.data.util import DATA

# Small enough to train in seconds; no dropout. The training part holds 256 windows (285 rows
# less lookback + horizon - 1) and the global batch is all of them: under a strategy Keras 3
# draws one batch to build the model, which advances the reshuffling of the training data
# by one epoch, so only a step over the whole part is the same step as on one device.
ROWS = 357
OPTIONS = {
    "cell": "gru",
    "lookback": 24,
    "horizon": 6,
    "targets": ["OT"],
    "units": 8,
    "epochs": 3,
    "batch_size": 256,
    "learning_rate": 1e-2,
    "verbose": 0,
    "seed": 7,
}


class Replicas(keras.callbacks.Callback):
    """Records how many replicas Keras trains on, as Keras itself sees it."""

    def on_train_begin(self, logs=None):
        self.count = self.model.distribute_strategy.num_replicas_in_sync


def frame():
    return fc.read_csv(DATA / "ETTh1.csv").iloc[:ROWS]


def fit(series, **options):
    model = fc.Forecaster(**{**OPTIONS, **options})
    replicas = Replicas()
    model.fit(series, callbacks=[replicas])
    return model, replicas.count, model.history_["loss"]


def mirrored():
    """One device against MirroredStrategy over two logical CPU devices."""
    import tensorflow as tf

    (cpu,) = tf.config.list_physical_devices("CPU")
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    series = frame()
    results = {}
    for name, distribute in (("one", None), ("mirrored", "mirrored")):
        model, replicas, losses = fit(series, distribute=distribute)
        results[name] = {
            "replicas": replicas,
            "losses": losses,
            "weights": [w.tolist() for w in model.model_.get_weights()],
            "forecast": model.predict(series)["OT"].tolist(),
        }
    try:  # 33 windows do not split between two replicas
        fit(series, distribute="mirrored", batch_size=33)
    except ValueError as error:
        results["odd_batch_error"] = str(error)
    return results


def multiworker(output):
    """One worker of a MultiWorkerMirroredStrategy cluster given by TF_CONFIG."""
    series = frame()
    model, replicas, losses = fit(series, distribute="multiworker")
    model.save(output)
    return {
        "replicas": replicas,
        "losses": losses,
        "forecast": model.predict(series)["OT"].tolist(),
    }


def main():
    mode, *args = sys.argv[1:]
    results = mirrored() if mode == "mirrored" else multiworker(*args)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
