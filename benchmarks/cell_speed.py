"""Training-step time and predict throughput of forecaster's cells beside Keras's layers.

Each model is Input(timesteps, features) -> recurrent layer(units) -> Dense(horizon), trained
with Adam on MSE through `Model.train_on_batch`, the same Keras training step a user gets
(default compile options, so no XLA for the training step on a CPU-only machine). "ours" is
the layer `forecaster.networks.layers.recurrent` makes, the one every network uses: a
`forecaster.cells.FastRNN`, which runs the native C++ kernels (`forecaster.cells.native`)
where they are exact. `--slow` adds the cell inside Keras's own step-by-step loop,
`keras.layers.RNN(cell)`, as "loop", and Keras's layers with the whole training step under
XLA (`jit_compile=True`) as "keras-xla". The models of one size are timed in turns,
round-robin, a few steps each, so that the machine's noise falls on all of them alike;
every step is timed on its own and the median over all timed steps is reported, with the
load average before and after. Ratios are ours / Keras's for the same kind of layer in this
run (LSTM and CIFG against keras.layers.LSTM, GRU against keras.layers.GRU, the tanh RNN
against keras.layers.SimpleRNN). Every model runs in this one process, so under the same
TensorFlow allocator: importing forecaster turns on TensorFlow's caching CPU allocator
(TF_CPU_ALLOCATOR_USE_BFC=true) unless the environment sets it; set it to false to compare
under glibc's.

    python benchmarks/cell_speed.py                  # the three sizes below, about 5 minutes
    python benchmarks/cell_speed.py --sizes 64x96x64 --cells lstm --slow
    python benchmarks/cell_speed.py --targets native x86-64-v3 x86-64-v2

`--targets` times the kernels built for each x86-64 target in turn (`FORECASTER_MARCH`, one
process each, since a process loads one library); "native" is the build's own choice.
Only targets this processor can run make sense: x86-64-v4 needs AVX-512.

Sizes are batch x timesteps x units: 64x96x64, 64x336x128 and 256x96x64 by default.

Every run appends one row per model and size to `--results` (default
`benchmarks/results/cell_speed.csv`; `--results ''` writes nothing), with the run's id, the
commit, the processor, the flags the kernels were built with and the load average;
`benchmarks/report_cell_speed.py` renders the README's table from it.
"""

import argparse
import csv
import datetime
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

# First, so that TensorFlow starts quietly (see forecaster/__init__.py).
import forecaster  # isort: skip

import keras
import numpy as np
import tensorflow as tf

from forecaster.cli.info import native_kernels
from forecaster.networks import recurrent

BASELINE = {"rnn": "SimpleRNN", "lstm": "LSTM", "cifg": "LSTM", "gru": "GRU"}


def build(layer, args, jit_compile="auto"):
    model = keras.Sequential(
        [keras.Input((args.timesteps, args.features)), layer, keras.layers.Dense(args.horizon)]
    )
    model.compile(keras.optimizers.Adam(1e-3), "mse", jit_compile=jit_compile)
    return model


def models(args):
    """Our cells as the networks run them, Keras's layers, and with --slow the alternatives."""
    built = {}
    for name in args.cells:
        cell = forecaster.cells.get(name)
        built[f"ours:{name}"] = build(recurrent(cell(args.units), return_sequences=False), args)
        if args.slow:
            built[f"loop:{name}"] = build(keras.layers.RNN(cell(args.units)), args)
    for keras_name in sorted({BASELINE[name] for name in args.cells}):
        layer = getattr(keras.layers, keras_name)
        built[f"keras:{keras_name}"] = build(layer(args.units), args)
        if args.slow:
            built[f"keras-xla:{keras_name}"] = build(layer(args.units), args, jit_compile=True)
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
    for _ in range(args.predict_repeats):
        for key, model in built.items():
            start = time.perf_counter()
            model.predict(windows, batch_size=args.predict_batch, verbose=0)
            rates[key].append(len(windows) / (time.perf_counter() - start))
    return {key: statistics.median(values) for key, values in rates.items()}


RESULTS = Path(__file__).resolve().parent / "results" / "cell_speed.csv"
COLUMNS = [
    "run", "commit", "cpu", "isa", "kernels", "size", "model", "params", "train_ms", "vs_keras",
    "predict_windows_per_s", "load_start",
]  # fmt: skip


def git(*args):
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
    return done.stdout.strip()


def commit():
    """The checkout's HEAD commit, with "+" when tracked files have changed."""
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return git("rev-parse", "--short", "HEAD") + ("+" if dirty else "")


def append(path, rows):
    """Appends `rows` (dicts of `COLUMNS`) to the CSV at `path`, with a header if it is new."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists()
    with path.open("a", newline="") as file:
        writer = csv.DictWriter(file, COLUMNS)
        if new:
            writer.writeheader()
        writer.writerows(rows)


def describe_machine():
    state = native_kernels()
    cpu = state["processor"]
    threads = tf.config.threading.get_intra_op_parallelism_threads() or os.cpu_count()
    allocator = os.environ.get("TF_CPU_ALLOCATOR_USE_BFC")
    kernels = f"native kernels {state['native kernels']}"
    if "built with" in state:
        kernels += f", built with {state['built with']}"
    return (
        f"{cpu}; {os.cpu_count()} cores visible, intra-op threads {threads}; TensorFlow "
        f"{tf.__version__}, Keras {keras.__version__}, Python {platform.python_version()}; "
        f"TF_CPU_ALLOCATOR_USE_BFC={allocator}; {kernels}"
    )


def run_size(args):
    """Times every model at one size; returns rows of (key, params, ms, ratio, windows/s)."""
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.batch, args.timesteps, args.features)).astype("float32")
    y = rng.standard_normal((args.batch, args.horizon)).astype("float32")
    built = models(args)
    train = time_training(built, x, y, args)
    infer = time_inference(built, args)
    rows = []
    for key, model in built.items():
        kind, name = key.split(":")
        baseline = name if kind.startswith("keras") else BASELINE[name]
        ratio = "" if kind == "keras" else f"{train[key] / train['keras:' + baseline]:.2f}"
        rows.append((key, model.count_params(), 1e3 * train[key], ratio, infer[key]))
    keras.backend.clear_session()
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["64x96x64", "64x336x128", "256x96x64"])
    parser.add_argument("--features", type=int, default=7)
    parser.add_argument("--horizon", type=int, default=24)
    parser.add_argument("--cells", nargs="+", default=["rnn", "lstm", "gru", "cifg"])
    parser.add_argument(
        "--slow",
        action="store_true",
        help="also time FastRNN(cell) and Keras's layers under jit_compile=True",
    )
    parser.add_argument("--steps", type=int, default=2, help="timed steps per turn")
    parser.add_argument("--repeats", type=int, default=20, help="round-robin turns")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps per model")
    parser.add_argument("--predict-windows", type=int, default=2048)
    parser.add_argument("--predict-batch", type=int, default=256)
    parser.add_argument("--predict-repeats", type=int, default=5, help="round-robin turns")
    parser.add_argument(
        "--results",
        default=str(RESULTS),
        help="the CSV to append this run's rows to ('' for none)",
    )
    parser.add_argument(
        "--targets",
        nargs="+",
        metavar="MARCH",
        help="run the whole benchmark once per x86-64 target of the kernels (FORECASTER_MARCH; "
        "'native' is the build's own choice), each in its own process",
    )
    args = parser.parse_args()
    if args.targets:
        argv = sys.argv[1:]
        start = end = argv.index("--targets")  # the child runs every other argument
        while end + 1 < len(argv) and not argv[end + 1].startswith("-"):
            end += 1
        rest = argv[:start] + argv[end + 1 :]
        for target in args.targets:
            env = dict(os.environ)
            env.pop("FORECASTER_MARCH", None)
            if target != "native":
                env["FORECASTER_MARCH"] = target
            print(f"\n=== kernels for {target} ===", flush=True)
            subprocess.run([sys.executable, __file__, *rest], env=env, check=True)
        return

    print(describe_machine())
    load = os.getloadavg()
    print("load average (1, 5, 15 min) at the start: " + ", ".join(map(str, load)))
    state = native_kernels()
    kernels = state.get("built with") or state["native kernels"]
    run = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    rows = []
    print(
        f"{args.features} features, Dense({args.horizon}), Adam; median of "
        f"{args.repeats * args.steps} timed train steps per model, interleaved; predict "
        f"{args.predict_windows} windows in batches of {args.predict_batch}, median of "
        f"{args.predict_repeats} turns\n"
    )
    header = (
        f"{'size (BxTxH)':<13}{'model':<20}{'params':>8}{'train ms/step':>15}{'vs keras':>10}"
        f"{'predict win/s':>15}"
    )
    print(header)
    print("-" * len(header))
    for size in args.sizes:
        args.batch, args.timesteps, args.units = (int(v) for v in size.split("x"))
        for key, params, ms, ratio, rate in run_size(args):
            print(f"{size:<13}{key:<20}{params:>8}{ms:>15.1f}{ratio:>10}{rate:>15.0f}")
            values = [run, commit(), state["processor"], state["instruction set"], kernels]
            values += [size, key, params]
            values += [f"{ms:.2f}", ratio, f"{rate:.0f}", f"{load[0]:.2f}"]
            rows.append(dict(zip(COLUMNS, values, strict=True)))
    if args.results:
        append(args.results, rows)
        print(f"\n{len(rows)} rows appended to {args.results}")
    print("\nload average (1, 5, 15 min) at the end: " + ", ".join(map(str, os.getloadavg())))


if __name__ == "__main__":
    main()
