"""Streaming a series too large for memory against reading it whole (not a test).

Writes a random walk of `--rows` hourly rows and 8 columns once, as one CSV and as a folder
of Parquet pieces, in a temporary folder; then, each in a fresh process, takes it from
file to one epoch of training windows (lookback 96, horizon 24, stride 1, batch 256,
shuffled) both ways:

- memory: `read_csv`, `split`, `Scaler.fit`, `transform`, `make_windows`, `dataset`;
- stream: `open_source` (100,000-row chunks), `split_stream`, `stream_scaler` (one pass
  over the training rows), `stream_windows(...).dataset` with a 10,000-window buffer.

Prints, per path, the seconds and rows/s of the preparation (reading, splitting, scaling),
the seconds and windows/s of the epoch, and the peak resident memory of the process
beyond what importing TensorFlow takes (Linux's ``ru_maxrss``). With ``--epochs E`` each
run takes E epochs over the same dataset and counts the median one's seconds; with
``--repeat N`` each path runs N times, alternating, and each figure is the median of the N
runs.

Run: python benchmarks/streaming_speed.py [--rows 5000000] [--folder DIR] [--repeat 1]
    [--epochs 1] [--paths memory stream "stream parquet"]
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

LOOKBACK, HORIZON, BATCH, CHUNK, BUFFER = 96, 24, 256, 100_000, 10_000
COLUMNS = [f"x{i}" for i in range(8)]


def _write(folder, rows):
    """The series as `series.csv` and as `pieces/part-NNN.parquet` (500,000 rows each)."""
    import numpy as np
    import pandas as pd

    csv = folder / "series.csv"
    if csv.exists():
        return
    (folder / "pieces").mkdir(exist_ok=True)
    rng = np.random.default_rng(0)
    start = pd.Timestamp("2000-01-01")
    piece = 500_000
    for i, begin in enumerate(range(0, rows, piece)):
        n = min(piece, rows - begin)
        values = rng.normal(size=(n, len(COLUMNS))).cumsum(axis=0).round(4)
        frame = pd.DataFrame(values, columns=COLUMNS)
        frame.insert(
            0, "date", pd.date_range(start + pd.Timedelta(hours=begin), periods=n, freq="h")
        )
        frame.to_parquet(folder / "pieces" / f"part-{i:03d}.parquet", index=False)
        frame.to_csv(csv, mode="a", header=i == 0, index=False, date_format="%Y-%m-%d %H:%M:%S")


def _rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _measure(path, source, epochs=1):
    """Runs one path in this process and returns its figures (the median epoch's seconds)."""
    import tensorflow as tf

    import forecaster as fc

    tf.constant(0.0)  # TensorFlow's own start-up memory, before the data
    base = _rss_mb()
    spec = fc.WindowSpec(LOOKBACK, HORIZON)
    start = time.perf_counter()
    if path == "memory":
        frame = fc.read_csv(source)
        parts = fc.split(frame, 0.7, 0.1, 0.2, lookback=LOOKBACK)
        scaler = fc.Scaler("standard").fit(parts.train)
        windows = fc.make_windows(scaler.transform(parts.train), spec)
        rows = len(frame)
    else:
        stream = fc.open_source(source, chunk_rows=CHUNK)
        parts = fc.split_stream(stream, 0.7, 0.1, 0.2, lookback=LOOKBACK)
        scaler = fc.stream_scaler(parts.train, "standard")
        windows = fc.stream_windows(parts.train, spec, scaler, shuffle_buffer=BUFFER)
        rows = len(stream)
    prepared = time.perf_counter()
    dataset = windows.dataset(BATCH, training=True, seed=0)
    seconds = []
    for _ in range(epochs):
        begin, count = time.perf_counter(), 0
        for _, y in dataset:
            count += int(y.shape[0])
        seconds.append(time.perf_counter() - begin)
    return {
        "rows": rows,
        "prepare_s": prepared - start,
        "epoch_s": statistics.median(seconds),
        "windows": count,
        "peak_mb": _rss_mb() - base,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--folder", help="where to write (and reuse) the data; default: a temp")
    parser.add_argument("--repeat", type=int, default=1, help="runs per path; medians shown")
    parser.add_argument("--epochs", type=int, default=1, help="epochs per run; the median counts")
    parser.add_argument(
        "--paths",
        nargs="+",
        default=["memory", "stream", "stream parquet"],
        choices=["memory", "stream", "stream parquet"],
    )
    parser.add_argument("--measure", nargs=2, help=argparse.SUPPRESS)  # path, source: internal
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(_measure(*args.measure, args.epochs)))
        return
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(args.folder or temp)
        folder.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        _write(folder, args.rows)
        size = (folder / "series.csv").stat().st_size / 2**20
        print(
            f"data: {args.rows:,} rows x {len(COLUMNS)} columns, CSV {size:.0f} MiB "
            f"({time.perf_counter() - start:.0f} s to write or find)"
        )
        print(
            f"{'path':<16} {'prepare s':>9} {'rows/s':>10} {'epoch s':>8} {'windows/s':>10} "
            f"{'peak MiB':>9}"
        )
        sources = {
            "memory": folder / "series.csv",
            "stream": folder / "series.csv",
            "stream parquet": folder / "pieces",
        }
        runs = {path: [] for path in args.paths}
        for _ in range(args.repeat):  # alternating, so a slow spell of the machine hits all
            for path in args.paths:
                runs[path].append(_run(path, sources[path], args.epochs))
        for path, results in runs.items():
            r = {key: statistics.median(result[key] for result in results) for key in results[0]}
            print(
                f"{path:<16} {r['prepare_s']:>9.2f} {r['rows'] / r['prepare_s']:>10,.0f} "
                f"{r['epoch_s']:>8.2f} {r['windows'] / r['epoch_s']:>10,.0f} "
                f"{r['peak_mb']:>9,.0f}"
            )


def _run(path, source, epochs):
    """Measures one path in a fresh process and returns its figures."""
    result = subprocess.run(
        [
            sys.executable,
            __file__,
            "--measure",
            path.split()[0],
            str(source),
            "--epochs",
            str(epochs),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
