"""The M4 Hourly benchmark: one global model (or a benchmark method) over all 414 series.

python pipelines/m4_benchmark.py --data ../shared/data/m4 --model gru --seed 0

The protocol is the organisers' (``../shared/data/m4/README.md``): the published wide files
are read with `forecaster.read_csv(..., id_col="V1", orient="rows")`, each series indexed by
step with the declared season of 24; every series is forecast 48 steps after the end of its
training row and scored with sMAPE, MASE (m = 24, scaled by the in-sample seasonal-naive
error) and OWA against Naive2 (`forecaster.evaluation.m4`). A cell trains one model across
every series in the configuration `pipelines/configs/m4_hourly.yaml`; its validation part is
the last 48 steps of each training series (early stopping and nothing else), and the test
file is read only to score the final forecasts. The run is tracked in MLflow; stdout gets one
line of JSON, the log goes to stderr.
"""

import argparse
import contextlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from forecaster.cells.native.build import processor_name
from forecaster.cli import results
from forecaster.cli.commands import flat
from forecaster.cli.loading import load_config
from forecaster.cli.sections import ConfigError
from forecaster.config import CELLS

TRAIN_FILE, TEST_FILE = "hourly-train.csv", "hourly-test.csv"
ID_COL = "V1"
BENCHMARK_MODELS = ("naive1", "snaive", "naive2")
MODELS = (*BENCHMARK_MODELS, *CELLS)
CONFIG = Path(__file__).resolve().parents[2] / "pipelines" / "configs" / "m4_hourly.yaml"


def parser():
    """The command's argument parser."""
    main = argparse.ArgumentParser(
        prog="m4_benchmark.py",
        description="Scores one model on the M4 Hourly protocol (414 series, horizon 48).",
    )
    main.add_argument("--data", required=True, help="the folder holding hourly-train.csv")
    main.add_argument("--model", required=True, choices=MODELS)
    main.add_argument("--seed", type=int, default=0, help="the cell's seed (default 0)")
    main.add_argument("--config", default=str(CONFIG), help="the cells' YAML configuration")
    main.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override a key of the configuration, e.g. --set train.epochs=2",
    )
    main.add_argument(
        "--series", type=_positive, default=None, help="only the first N series (a smoke test)"
    )
    main.add_argument(
        "--level",
        type=_level,
        default=None,
        metavar="PERCENT",
        help="also score a central prediction interval of this coverage, e.g. 95 (M4's): "
        "adds msis, coverage and interval_method to the result",
    )
    main.add_argument("--experiment", default="m4-hourly", help="the MLflow experiment")
    main.add_argument(
        "--results",
        default=None,
        metavar="PATH",
        help="record the run's row in this CSV file (e.g. benchmarks/results/m4.csv); a "
        "cell's rows wait beside it until its point has three seeds",
    )
    return main


RESULT_COLUMNS = (
    "data", "horizon", "lookback", "model", "seed", "series", "config", "config_hash",
    "val_loss", "smape", "mase", "owa", "epochs", "wall_seconds", "cpu", "commit", "run_id",
    "level", "msis", "coverage", "interval_method",
)  # fmt: skip
# How intervals are made (forecaster.estimators.intervals), calibrated on each series' last
# `horizon` training steps: a cell's network is trained for the interval's two quantiles
# beside its point forecast, and they are conformalized (CQR); a benchmark method gets
# split-conformal margins around its forecast.
INTERVAL_METHODS = {"cell": "quantiles + conformal (CQR)", "benchmark": "split conformal"}


# The columns that name a point; its runs differ only in their seed.
POINT = ("data", "model", "config_hash", "level")


def append_result(path, result):
    """Records `result` as a row of the results file (`forecaster.cli.results.record`).

    A benchmark method's row is appended at once; a cell's waits beside the file until its
    point has `results.SEEDS` seeds, which are then appended together.
    """
    configuration = result.get("configuration") or {}
    row = {
        **{k: result.get(k) for k in RESULT_COLUMNS},
        "horizon": 48,
        "lookback": configuration.get("data.lookback"),
        "config": json.dumps(configuration, sort_keys=True) if configuration else "",
        "commit": results.commit(),
    }
    seeds = results.SEEDS if row["model"] in CELLS else 1
    results.record(path, RESULT_COLUMNS, row, POINT, seeds)


def read(folder, series=None):
    """The training and test series: two long frames (`V1`, "value") indexed by step.

    Raises:
        FileNotFoundError: `folder` lacks one of the two files.
    """
    from forecaster.data import read_csv

    frames = []
    for name in (TRAIN_FILE, TEST_FILE):
        path = Path(folder) / name
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} does not exist; pass --data with the folder holding the M4 Hourly "
                f"files {TRAIN_FILE} and {TEST_FILE} (../shared/data/m4)"
            )
        frame = read_csv(path, id_col=ID_COL, orient="rows")
        if series is not None:
            kept = frame[ID_COL].isin(frame[ID_COL].unique()[:series])
            frame = frame[kept.to_numpy()]
        frames.append(frame)
    return frames


def arrays(frame):
    """Each series' values as a 1-D array, in the frame's order: `(ids, arrays)`."""
    groups = frame.groupby(ID_COL, sort=False)["value"]  # in the order series first appear
    keys, values = zip(*((key, group.to_numpy(np.float64)) for key, group in groups), strict=True)
    return list(keys), list(values)


def benchmark_forecasts(method, train, horizon, season):
    """The forecasts of a benchmark method for every training series."""
    from forecaster.evaluation import m4

    return [m4.BENCHMARKS[method](series, horizon, season) for series in train]


def benchmark_intervals(method, train, horizon, season, level):
    """Split-conformal intervals of a benchmark method: `(lower, upper)` lists.

    Each series' last `horizon` training steps are forecast from the steps before them;
    per horizon step, the `level` quantile (with the finite-sample correction) of the
    absolute errors, each divided by its series' in-sample seasonal-naive error, is the
    half-width, scaled back by each series' error.
    """
    from forecaster.evaluation import m4

    held = [m4.BENCHMARKS[method](series[:-horizon], horizon, season) for series in train]
    scales = np.array([_seasonal_error(series, season) for series in train])
    errors = np.abs(np.stack([s[-horizon:] for s in train]) - np.stack(held)) / scales[:, None]
    n = len(train)
    rank = int(np.ceil((n + 1) * level / 100))
    if rank > n:
        raise ConfigError(f"a {level}% interval needs more than {n} series to calibrate on")
    margin = np.sort(errors, axis=0)[rank - 1]  # (horizon,)
    forecasts = benchmark_forecasts(method, train, horizon, season)
    lower = [f - margin * s for f, s in zip(forecasts, scales, strict=True)]
    upper = [f + margin * s for f, s in zip(forecasts, scales, strict=True)]
    return lower, upper


def _seasonal_error(series, season):
    from forecaster.evaluation.metrics import seasonal_naive_scale

    lag = season if len(series) > season else 1
    return max(float(seasonal_naive_scale(series, lag)), 1e-12)


def cell_forecasts(model, frame, run, level=None):
    """Fits the global model on all but each series' last `horizon` steps; forecasts all.

    With `level`, the model's intervals are calibrated on those last steps
    (`BaseForecaster.calibrate`) before the forecast.

    Returns:
        `(forecasts, intervals, facts)`: the forecasts in the order of `arrays(frame)`,
        `(lower, upper)` lists (None without `level`), and what the fit learned about
        itself (epochs, best validation loss, parameters).
    """
    from forecaster.data import split_last

    horizon = model.data.horizon
    parts = split_last(frame, horizon, lookback=model.data.lookback, id_col=ID_COL)
    model.fit(parts.train, val=parts.val, callbacks=run.callbacks)
    if level is not None:
        model.calibrate(parts.val, _bounds(level))
    forecast = model.predict(frame)
    keys, _ = arrays(frame)
    groups = dict(iter(forecast.groupby(ID_COL)))

    def column(name):
        return [groups[key][name].to_numpy(np.float64) for key in keys]

    bounds = None
    if level is not None:
        bounds = tuple(column(f"value_q{q}") for q in _bounds(level))
    history = model.history_
    facts = {
        "epochs": len(history["loss"]),
        "val_loss": float(np.min(history["val_loss"])),
        "params": int(model.count_params()),
    }
    return column("value"), bounds, facts


def interval_scores(train, test, bounds, season, level):
    """M4's MSIS (the mean over series) and the share of test values inside the interval."""
    from forecaster.evaluation import probabilistic

    alpha = 1 - level / 100
    lower, upper = bounds
    msis = [
        probabilistic.msis(y, lo, hi, series, season=season, alpha=alpha)
        for series, y, lo, hi in zip(train, test, lower, upper, strict=True)
    ]
    inside = np.concatenate(
        [(y >= lo) & (y <= hi) for y, lo, hi in zip(test, lower, upper, strict=True)]
    )
    return {"msis": float(np.mean(msis)), "coverage": float(inside.mean())}


def build(name, config_path, seed, overrides):
    """The cell's forecaster from the configuration file, with its seed and overrides."""
    from forecaster.cli import models

    pairs = [*overrides, f"network.cell={name}", f"train.seed={seed}"]
    config = load_config(config_path, pairs, needs=("data", "network", "train"))
    return models.build(name, config), config


def run(args):
    """Runs the benchmark as the parsed `args` say; prints and returns the JSON dict."""
    from forecaster import tracking
    from forecaster.evaluation import m4
    from forecaster.tracking.benchmarks import benchmark_run

    if args.results and args.series is not None:
        raise ConfigError("--series runs are smoke tests, not results; run them without --results")
    start = time.perf_counter()
    train_frame, test_frame = read(args.data, args.series)
    ids, train = arrays(train_frame)
    test_ids, test = arrays(test_frame)
    if list(test_ids) != list(ids):
        raise ConfigError(f"{TEST_FILE} does not hold the series of {TRAIN_FILE} in order")
    horizon, season = m4.HOURLY_HORIZON, m4.HOURLY_SEASON
    facts, configuration = {}, {}
    if args.model in BENCHMARK_MODELS:
        model, label = None, f"{args.model}"
    else:
        overrides = list(args.set)
        if args.level is not None:
            low, high = _bounds(args.level)
            overrides.insert(0, f"network.quantiles=[{low}, 0.5, {high}]")
        model, config = build(args.model, args.config, args.seed, overrides)
        configuration = flat(model.configs())
        if config.data.horizon != horizon:
            raise ConfigError(f"data.horizon must be {horizon} for M4 Hourly")
        label = f"{args.model} seed {args.seed}"
    tracking.open_store()
    with (
        contextlib.redirect_stdout(sys.stderr),
        benchmark_run(
            args.experiment,
            label,
            model,
            train_frame,
            dataset="M4 Hourly",
            cell=args.model,
            seed=str(args.seed),
            kind="benchmark",
        ) as tracked,
    ):
        bounds = None
        if model is None:
            forecasts = benchmark_forecasts(args.model, train, horizon, season)
            if args.level is not None:
                bounds = benchmark_intervals(args.model, train, horizon, season, args.level)
        else:
            forecasts, bounds, facts = cell_forecasts(model, train_frame, tracked, args.level)
        scores = m4.score(train, test, forecasts, season, ids=ids)
        interval = {}
        if bounds is not None:
            interval = interval_scores(train, test, bounds, season, args.level)
        wall = time.perf_counter() - start
        tracked.log_metrics(
            {"smape": scores["smape"], "mase": scores["mase"], "owa": scores["owa"]}
            | interval
            | {"wall_seconds": wall}
        )
    result = {
        "data": "M4 Hourly",
        "model": args.model,
        "seed": args.seed if model is not None else None,
        "smape": round(float(scores["smape"]), 4),
        "mase": round(float(scores["mase"]), 4),
        "owa": round(float(scores["owa"]), 4),
        "series": int(scores["series"]),
        **{name: round(value, 4) for name, value in interval.items()},
        **(
            {
                "level": args.level,
                "interval_method": INTERVAL_METHODS["cell" if model else "benchmark"],
            }
            if args.level is not None
            else {}
        ),
        "wall_seconds": round(wall, 1),
        **facts,
        "run_id": tracked.run_id,
        "cpu": processor_name(),
        "config_hash": results.point_hash(configuration) if configuration else None,
        "configuration": configuration,
    }
    print(json.dumps(result), flush=True)
    if args.results:
        append_result(args.results, result)
    return result


def main(argv=None):
    """Parses the arguments and runs; a refusal is one line on stderr and exit status 2."""
    args = parser().parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        run(args)
    except (ConfigError, FileNotFoundError, ValueError) as error:
        print(f"m4_benchmark.py: error: {error}", file=sys.stderr)
        return 2
    return 0


def _positive(text):
    """An argparse type: a positive integer, else a one-line usage error."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def _bounds(level):
    """The quantile levels of the central `level`% interval, e.g. (0.025, 0.975)."""
    low = round((1 - level / 100) / 2, 10)
    return low, round(1 - low, 10)


def _level(text):
    """An argparse type: an interval's coverage in percent, in (0, 100)."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < 100:
        raise argparse.ArgumentTypeError(
            f"must be a coverage in percent between 0 and 100 (e.g. 95), got {text!r}"
        )
    return int(value) if value.is_integer() else value
