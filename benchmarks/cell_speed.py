"""Training-step time of forecaster's cells beside Keras's built-in recurrent layers.

Each model is Input(timesteps, features) -> recurrent layer(units) -> Dense(horizon), trained
with Adam on MSE through `Model.train_on_batch`, the same Keras training step a user gets
(default compile options, so no XLA on a CPU-only machine). The models are timed in turns,
round-robin, so that the machine's noise falls on all of them alike; every step is timed on
its own and the median over all timed steps is reported. Ratios are ours / Keras's for the
same kind of layer, measured in this run (LSTM and CIFG against keras.layers.LSTM, GRU
against keras.layers.GRU, the tanh RNN against keras.layers.SimpleRNN).

    python benchmarks/cell_speed.py                      # batch 64, 96 steps, 7 features, 64 units
    python benchmarks/cell_speed.py --timesteps 336 --units 128
"""

import argparse
import os
import platform
import statistics
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import numpy as np
import tensorflow as tf

import forecaster

BASELINE = {"rnn": "SimpleRNN", "lstm": "LSTM", "cifg": "LSTM", "gru": "GRU"}


def build(layer, args):
    model = keras.Sequential(
        [keras.Input((args.timesteps, args.features)), layer, keras.layers.Dense(args.horizon)]
    )
    model.compile(keras.optimizers.Adam(1e-3), "mse")
    return model


def models(args):
    """Our cells inside keras.layers.RNN and the Keras layers they are measured against."""
    built = {}
    for name in args.cells:
        built[f"ours:{name}"] = build(
            keras.layers.RNN(forecaster.cells.get(name)(args.units)), args
        )
    for keras_name in sorted({BASELINE[name] for name in args.cells}):
        built[f"keras:{keras_name}"] = build(getattr(keras.layers, keras_name)(args.units), args)
    return built


def time_training(built, x, y, args):
    times = {key: [] for key in built}
    for model in built.values():
        for _ in range(args.warmup):
            model.train_on_batch(x, y)
    for _ in range(args.repeats):
        for key, model in built.items():
            for _ in range(args.steps):
                start = time.perf_counter()
                model.train_on_batch(x, y)
                times[key].append(time.perf_counter() - start)
    return {key: statistics.median(values) for key, values in times.items()}


def time_inference(built, args):
    windows = np.random.default_rng(1).standard_normal(
        (args.predict_windows, args.timesteps, args.features)
    )
    rates = {key: [] for key in built}
    for model in built.values():
        model.predict(windows[: args.predict_batch], batch_size=args.predict_batch, verbose=0)
    for _ in range(args.repeats):
        for key, model in built.items():
            start = time.perf_counter()
            model.predict(windows, batch_size=args.predict_batch, verbose=0)
            rates[key].append(len(windows) / (time.perf_counter() - start))
    return {key: statistics.median(values) for key, values in rates.items()}


def describe_machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if "model name" in line)
    except (OSError, StopIteration):
        pass
    threads = tf.config.threading.get_intra_op_parallelism_threads() or os.cpu_count()
    return (
        f"{cpu}; {os.cpu_count()} cores visible, intra-op threads {threads}; TensorFlow "
        f"{tf.__version__}, Keras {keras.__version__}, Python {platform.python_version()}"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--timesteps", type=int, default=96)
    parser.add_argument("--features", type=int, default=7)
    parser.add_argument("--units", type=int, default=64)
    parser.add_argument("--horizon", type=int, default=24)
    parser.add_argument("--cells", nargs="+", default=["rnn", "lstm", "gru", "cifg"])
    parser.add_argument("--steps", type=int, default=10, help="timed steps per turn")
    parser.add_argument("--repeats", type=int, default=5, help="round-robin turns")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps per model")
    parser.add_argument("--predict-windows", type=int, default=2048)
    parser.add_argument("--predict-batch", type=int, default=256)
    args = parser.parse_args()

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.batch, args.timesteps, args.features)).astype("float32")
    y = rng.standard_normal((args.batch, args.horizon)).astype("float32")
    built = models(args)
    train = time_training(built, x, y, args)
    infer = time_inference(built, args)

    print(describe_machine())
    print(
        f"batch {args.batch} x {args.timesteps} steps x {args.features} features, "
        f"{args.units} units, Dense({args.horizon}), Adam; median of "
        f"{args.repeats * args.steps} timed train steps per model\n"
    )
    header = f"{'model':<16}{'params':>9}{'train ms/step':>15}{'vs keras':>10}{'predict win/s':>15}"
    print(header)
    print("-" * len(header))
    for key, model in built.items():
        kind, name = key.split(":")
        ratio = ""
        if kind == "ours":
            ratio = f"{train[key] / train['keras:' + BASELINE[name]]:.2f}"
        print(
            f"{key:<16}{model.count_params():>9}{1e3 * train[key]:>15.1f}{ratio:>10}"
            f"{infer[key]:>15.0f}"
        )


if __name__ == "__main__":
    main()
