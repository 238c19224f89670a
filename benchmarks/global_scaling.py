"""Time and memory of one global model against the number of series it learns from.

    python benchmarks/global_scaling.py                 # 10, 100, 414 M4; 10,000 synthetic
    python benchmarks/global_scaling.py --series 10 100 # some of them
    python benchmarks/global_scaling.py --write         # render docs/scaling.md from the file

Each size runs in a fresh process (so its peak memory is its own) and appends one row to
`benchmarks/results/global_scaling.csv`: the series and rows, the seconds to prepare the
windows (per-series scaling, splitting, windowing), of one training epoch and of one forecast
of every series, the peak resident memory, the processor, the load average and the commit.
Up to 414 series are the first of M4 Hourly (``../shared/data/m4``); more are synthetic
hourly series (daily and weekly cycles, levels from 10 to 10,000, noise) of 400 steps.
Every size uses the same model: a GRU segment network (lookback 168, horizon 48, 64 units,
stride 8, batch 256), one epoch, the last 48 steps of each series for validation.

`--write` replaces what stands between `<!-- global_scaling:begin -->` and
`<!-- global_scaling:end -->` in docs/scaling.md with a table of the latest row per size.
"""

import argparse
import csv
import datetime
import json
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

from forecaster.cells.native.build import processor_name

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "global_scaling.csv"
DOC = ROOT / "docs" / "scaling.md"
M4 = ROOT.parent / "shared" / "data" / "m4" / "hourly-train.csv"
SIZES = (10, 100, 414, 10_000)
COLUMNS = (
    "run", "series", "rows", "windows", "prepare_seconds", "epoch_seconds", "predict_seconds",
    "peak_rss_mib", "cpu", "load", "commit",
)  # fmt: skip
BLOCK = re.compile(
    r"^(<!-- global_scaling:begin -->\n)(.*?)^(<!-- global_scaling:end -->)$",
    re.MULTILINE | re.DOTALL,
)


def frame_of(series):
    """The long frame of `series` series: M4 Hourly's first ones, or synthetic beyond 414."""
    import numpy as np
    import pandas as pd

    import forecaster as fc

    if series <= 414:
        frame = fc.read_csv(M4, id_col="V1", orient="rows")
        kept = frame["V1"].isin(frame["V1"].unique()[:series]).to_numpy()
        return frame[kept]
    rng = np.random.default_rng(0)
    steps = np.arange(400)
    level = 10 ** rng.uniform(1, 4, series)[:, None]
    phase = rng.uniform(0, 2 * np.pi, series)[:, None]
    cycle = 1 + 0.5 * np.sin(2 * np.pi * steps / 24 + phase) + 0.2 * np.sin(2 * np.pi * steps / 168)
    values = level * cycle * (1 + 0.05 * rng.standard_normal((series, len(steps))))
    frame = pd.DataFrame(
        {"id": np.repeat([f"s{i}" for i in range(series)], len(steps)), "value": values.ravel()},
        index=pd.Index(np.tile(steps, series), name="step"),
    )
    frame.attrs.update(id_col="id", freq=None)
    return frame


def EpochClock():  # noqa: N802 - a factory: keras loads only in the measuring process
    """A Keras callback that keeps the wall time of the (one) epoch as `seconds`."""
    import keras

    class Clock(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds = time.perf_counter() - self.start

    return Clock()


def measure(series):
    """One size's row, measured in this process."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import forecaster as fc
    from forecaster.estimators import preparation

    frame = frame_of(series)
    id_col = frame.attrs["id_col"]
    model = fc.Forecaster(
        "gru", lookback=168, horizon=48, season=24, architecture="segment", segment_length=24,
        units=64, stride=8, batch_size=256, epochs=1, verbose=0, id_col=id_col,
    )  # fmt: skip
    parts = fc.split_last(frame, 48, lookback=168, id_col=id_col)
    start = time.perf_counter()
    prepared = preparation.prepare(model.data, parts.train, parts.val)
    prepare_seconds = time.perf_counter() - start
    clock = EpochClock()
    model.fit(parts.train, val=parts.val, callbacks=[clock])
    epoch_seconds = clock.seconds
    start = time.perf_counter()
    model.predict(frame)
    predict_seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return {
        "series": series,
        "rows": len(frame),
        "windows": len(prepared.train),
        "prepare_seconds": round(prepare_seconds, 2),
        "epoch_seconds": round(epoch_seconds, 1),
        "predict_seconds": round(predict_seconds, 2),
        "peak_rss_mib": round(peak),
    }


def append(row):
    """Appends a measured row, with the run's stamp, processor, load and commit."""
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    row = {
        "run": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        **row,
        "cpu": processor_name(),
        "load": round(os.getloadavg()[0], 2),
        "commit": commit,
    }
    new = not RESULTS.is_file()
    with RESULTS.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        if new:
            writer.writeheader()
        writer.writerow(row)
    return row


def table():
    """The markdown table of the latest row per size, from the results file."""
    with RESULTS.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    latest = {}
    for row in rows:
        latest[int(row["series"])] = row
    lines = [
        "| series | rows | training windows | prepare (s) | one epoch (s) | forecast all (s) "
        "| peak memory (MiB) | CPU, load | commit |",
        "|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for series in sorted(latest):
        row = latest[series]
        lines.append(
            f"| {series:,} | {int(row['rows']):,} | {int(row['windows']):,} | "
            f"{row['prepare_seconds']} | {row['epoch_seconds']} | {row['predict_seconds']} | "
            f"{row['peak_rss_mib']} | {row['cpu']}, {row['load']} | {row['commit']} |"
        )
    return "\n".join(lines) + "\n"


def write():
    """Renders the table into docs/scaling.md between its markers."""
    text = DOC.read_text(encoding="utf-8")
    if not BLOCK.search(text):
        raise SystemExit(f"{DOC} has no <!-- global_scaling:begin --> ... end block")
    DOC.write_text(BLOCK.sub(lambda m: m.group(1) + table() + m.group(3), text), encoding="utf-8")


def main(argv=None):
    """Measures each size in its own process and appends it, or renders the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, nargs="*", default=list(SIZES))
    parser.add_argument("--write", action="store_true", help="render docs/scaling.md")
    parser.add_argument("--measure", type=int, help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args(argv)
    if args.measure is not None:
        print(json.dumps(measure(args.measure)))
        return 0
    if args.write:
        write()
        return 0
    for series in args.series:
        child = subprocess.run(
            [sys.executable, __file__, "--measure", str(series)],
            capture_output=True,
            text=True,
            check=True,
        )
        row = append(json.loads(child.stdout.strip().splitlines()[-1]))
        print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
