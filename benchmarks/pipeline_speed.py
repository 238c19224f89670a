"""How fast ETTm1 goes from CSV to windows, and in how much memory (not a test).

Prints, as medians over `--repeats` runs:

- reading: rows/s of `forecaster.read_csv` (and of plain `pandas.read_csv` beside it);
- windowing (lookback 336, horizon 96, stride 1): windows/s for forecaster's NumPy views,
  for a full epoch of its `tf.data` pipeline, and for a full epoch of
  `keras.utils.timeseries_dataset_from_array` cut into (inputs, targets) the usual way;
- memory: the peak resident memory each windowing path adds, measured in a fresh process
  per path (Linux's peak-RSS counter is reset just before), beside the raw float32 array.

Run: python benchmarks/pipeline_speed.py [--repeats 5] [--batch-size 256]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "ETTm1.csv"
LOOKBACK, HORIZON = 336, 96
PATHS = ("views", "numpy_copy", "tf_data", "keras")


def _median_seconds(function, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _values():
    import forecaster as fc

    frame = fc.read_csv(DATA)
    return frame, frame.to_numpy(dtype="float32")


def _epoch(dataset):
    count = 0
    for _, y in dataset:
        count += int(y.shape[0])
    return count


def _run(path, batch_size, frame, values):
    """Builds (and iterates) all ETTm1 windows one way; returns how many windows."""
    import forecaster as fc

    if path in ("views", "numpy_copy", "tf_data"):
        windows = fc.make_windows(frame, fc.WindowSpec(LOOKBACK, HORIZON))
        if path == "views":
            x, y = windows.numpy()
            return len(x)
        if path == "numpy_copy":
            x, y = windows.numpy()
            x, y = x.copy(), y.copy()  # what a caller pays to own the arrays
            return len(x)
        return _epoch(windows.dataset(batch_size))
    import keras

    dataset = keras.utils.timeseries_dataset_from_array(
        values, None, sequence_length=LOOKBACK + HORIZON, batch_size=batch_size
    ).map(lambda w: (w[:, :LOOKBACK], w[:, LOOKBACK:]))  # (B, L + H, F) -> inputs, targets
    return _epoch(dataset)


def _rss_kib(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def _measure_memory(path, batch_size):
    """Runs in a fresh process: peak RSS added by one windowing path, in MiB."""
    import tensorflow as tf  # noqa: F401

    import forecaster  # noqa: F401  (imports TensorFlow and Keras before the baseline)

    frame, values = _values()
    Path("/proc/self/clear_refs").write_text("5")  # resets the peak-RSS counter (VmHWM)
    baseline = _rss_kib("VmRSS")
    _run(path, batch_size, frame, values)
    print(json.dumps({"peak_added_mib": (_rss_kib("VmHWM") - baseline) / 1024}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--memory-of", choices=PATHS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_of:
        _measure_memory(args.memory_of, args.batch_size)
        return

    import pandas as pd

    import forecaster as fc

    frame, values = _values()
    rows = len(frame)
    print(f"ETTm1: {rows} rows x {values.shape[1]} columns; medians of {args.repeats} runs")
    ours = _median_seconds(lambda: fc.read_csv(DATA), args.repeats)
    plain = _median_seconds(lambda: pd.read_csv(DATA), args.repeats)
    print(f"read   forecaster.read_csv      {ours * 1e3:8.1f} ms  {rows / ours:12,.0f} rows/s")
    print(f"read   pandas.read_csv (C)      {plain * 1e3:8.1f} ms  {rows / plain:12,.0f} rows/s")

    n = rows - LOOKBACK - HORIZON + 1
    labels = {
        "views": "forecaster NumPy views",
        "numpy_copy": "forecaster NumPy, copied",
        "tf_data": "forecaster tf.data epoch",
        "keras": "keras timeseries_dataset epoch",
    }
    raw_mib = values.nbytes / 2**20
    full_mib = n * (LOOKBACK + HORIZON) * values.shape[1] * 4 / 2**20
    print(f"windows (lookback {LOOKBACK}, horizon {HORIZON}, batch {args.batch_size}): {n}")
    for path in PATHS:
        seconds = _median_seconds(
            lambda path=path: _run(path, args.batch_size, frame, values), args.repeats
        )
        memory = subprocess.run(
            [sys.executable, __file__, "--memory-of", path, "--batch-size", str(args.batch_size)],
            capture_output=True,
            text=True,
            check=True,
        )
        peak = json.loads(memory.stdout.strip().splitlines()[-1])["peak_added_mib"]
        print(
            f"window {labels[path]:30} {seconds * 1e3:8.1f} ms  {n / seconds:12,.0f} windows/s"
            f"  peak +{peak:7.1f} MiB"
        )
    print(
        f"raw float32 array {raw_mib:.1f} MiB; every window copied out would be {full_mib:,.0f} MiB"
    )


if __name__ == "__main__":
    main()
