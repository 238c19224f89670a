"""The long-horizon forecasting (LTSF) benchmark protocol of Informer, DLinear and SegRNN.

The protocol (``../shared/data/README.md``) fixes everything but the model:

- the borders: ETTh1/ETTh2 train rows [0, 8640), validation [8640 - L, 11520), test
  [11520 - L, 14400) for a lookback L (later rows unused); ETTm1/ETTm2 the same times 4;
  every other set 70% / 10% / 20% of the rows, validation and test again led by L rows;
- a standard scaler fitted on the training rows only; all columns in, all columns out;
- windows with stride 1, every test window counted; MSE and MAE on the scaled values,
  averaged over windows, horizon steps and columns.

This module only decides the borders and passes the parts on: `forecaster.split` cuts them,
the forecaster's own `fit(train, val=val)` scales and trains (a fixed validation part in
place of its `val_fraction` hold-out) and its `evaluate` scores every test window.

>>> frame = load_benchmark("ETTh1", path="../shared/data")
>>> scores = run(NaiveForecaster(lookback=336, horizon=96), frame, dataset="ETTh1")
>>> round(scores["mse"], 3), round(scores["mae"], 3), scores["windows"]
(1.294, 0.713, 2785)
"""

import dataclasses
import numbers
import time
from pathlib import Path

import pandas as pd

from forecaster import cells
from forecaster.data import DataError, read_csv, split
from forecaster.data.datasets import BENCHMARKS, benchmark_path, load_benchmark
from forecaster.estimators.baselines import LinearForecaster, NaiveForecaster
from forecaster.estimators.neural import Forecaster

# Row borders (train end, validation end, test end) of the sets whose protocol fixes them.
_HOURLY_BORDERS = (12 * 30 * 24, 16 * 30 * 24, 20 * 30 * 24)  # 8640, 11520, 14400
FIXED_BORDERS = {
    "etth1": _HOURLY_BORDERS,
    "etth2": _HOURLY_BORDERS,
    "ettm1": tuple(4 * end for end in _HOURLY_BORDERS),  # 15-minute steps
    "ettm2": tuple(4 * end for end in _HOURLY_BORDERS),
}
TRAIN_FRACTION, TEST_FRACTION = 0.7, 0.2  # every other set; validation takes the rest
MODELS = (*cells.NAMES, "naive", "linear")
# The quick (smoke) mode: one epoch of a small network on every 16th training window; the
# test windows are all scored as always.
QUICK = {"epochs": 1, "units": 16, "stride": 16}


def borders(dataset, rows):
    """The protocol's exclusive end rows of the training, validation and test parts.

    Args:
        dataset: the data set's name ("ETTh1", "ETTm2", "weather", ...), any case; a name
            without fixed borders gets the 70/10/20 split.
        rows: the number of rows in the data set.

    Returns:
        `(train_end, val_end, test_end)`; each part owns the rows from the previous end.

    Raises:
        DataError: the data set is shorter than its fixed borders.

    Example:
        >>> borders("ETTm1", 69680), borders("weather", 52696)
        ((34560, 46080, 57600), (36887, 42157, 52696))
    """
    fixed = FIXED_BORDERS.get(dataset.lower())
    if fixed is not None:
        if rows < fixed[-1]:
            raise DataError(
                f"{dataset} has {rows} rows; the protocol's test part ends at row {fixed[-1]}"
            )
        return fixed
    train_end = int(rows * TRAIN_FRACTION)
    test_rows = int(rows * TEST_FRACTION)
    return train_end, rows - test_rows, rows


def protocol_split(frame, dataset, lookback, stamps=None):
    """Cuts `frame` at the protocol's borders, validation and test led by `lookback` rows.

    The published code counts the borders in the file's rows as they stand. Where the frame
    was made regular from its file (weather: a duplicated stamp merged, a gap filled), pass
    the file's own `stamps`: the borders are counted in those rows and cut `frame` at the
    same timestamps, so validation and test hold the published rows.

    Args:
        frame: the whole data set, as from `forecaster.load_benchmark`.
        dataset: its name, for the borders (see `borders`).
        lookback: the input steps per window, L.
        stamps: the timestamps of the file's rows, in file order (`file_stamps`); None:
            `frame`'s rows are the file's.

    Returns:
        A `forecaster.Split`; every statistic must come from its `train` part only.

    Raises:
        DataError: the data set is too short, or a border's stamp is not in `frame`.

    Example:
        >>> protocol_split(frame, "ETTh1", 336)
        Split(train rows [0, 8640), val rows [8304, 11520), test rows [11184, 14400); lookback=336)
    """
    if stamps is None:
        train_end, val_end, test_end = borders(dataset, len(frame))
    else:
        train_end, val_end, test_end = (
            _position(frame, stamps, end) for end in borders(dataset, len(stamps))
        )
    return split(frame, train_end, val_end - train_end, test_end - val_end, lookback=lookback)


def _position(frame, stamps, row):
    """The position in `frame` of the file's row `row` (`len(stamps)`: the frame's end)."""
    if row == len(stamps):
        return len(frame)
    position = frame.index.searchsorted(stamps[row])
    if position == len(frame) or frame.index[position] != stamps[row]:
        raise DataError(
            f"the file's row {row} is stamped {stamps[row]}, which the frame does not hold; "
            "pass the stamps of the file the frame was read from"
        )
    return int(position)


def file_stamps(path, column):
    """The timestamps of `path`'s rows as the file holds them, duplicates and gaps kept.

    Args:
        path: the CSV.
        column: its time column, e.g. "date".

    Returns:
        A `pandas.DatetimeIndex`, one stamp a row.
    """
    stamps = pd.read_csv(path, usecols=[column], encoding_errors="replace")[column]
    return pd.DatetimeIndex(pd.to_datetime(stamps))


def fit(model, parts):
    """Fits an unfitted forecaster or baseline on `parts.train`, validating on `parts.val`.

    A forecaster that validates (the neural one) early-stops on the protocol's validation
    part instead of holding out its own; a baseline fits on the training rows alone.

    Args:
        model: an unfitted `forecaster.Forecaster` or baseline.
        parts: the `forecaster.Split` from `protocol_split`.

    Returns:
        What the model's `fit` returns.
    """
    if model.uses_validation:
        return model.fit(parts.train, val=parts.val)
    return model.fit(parts.train)


def run(model, frame, *, dataset, stamps=None, track=False, experiment="ltsf", **tags):
    """Runs the protocol for one model: split, fit, score every test window.

    Args:
        model: an unfitted forecaster or baseline; its `lookback` and `horizon` are the
            protocol's L and H, and its `targets` and `inputs` should be None (all columns).
        frame: the whole data set.
        dataset: its name, for the borders and the run's tags.
        stamps: the file's own row stamps where `frame` was made regular from it (see
            `protocol_split`); None: `frame`'s rows are the file's.
        track: log the run in MLflow through `forecaster.tracking.track_split`.
        experiment: the MLflow experiment when tracking.
        **tags: extra MLflow tags when tracking, e.g. `quick="true"`.

    Returns:
        A dict: "mse" and "mae" on the scaled values, "windows" (test windows scored),
        "wall_seconds" (fit and scoring, and logging when tracking), every score of
        `evaluate` under "test_<name>", and when tracking "run_id", "params" and
        "seconds_per_epoch".
    """
    start = time.perf_counter()
    parts = protocol_split(frame, dataset, model.data.lookback, stamps)
    if track:
        from forecaster import tracking  # mlflow only when tracking

        scores = tracking.track_split(model, parts, experiment=experiment, dataset=dataset, **tags)
    else:
        fit(model, parts)
        scores = model.evaluate(parts.test)
    result = {
        "mse": float(scores["scaled_mse"]),
        "mae": float(scores["scaled_mae"]),
        "windows": int(scores["windows"]),
        "wall_seconds": round(time.perf_counter() - start, 2),
    }
    for name, value in scores.items():
        if name in ("run_id", "params", "seconds_per_epoch"):  # what tracking adds
            result[name] = value
        elif name != "windows":
            result[f"test_{name}"] = float(value)
    return result


def configuration(model):
    """The model's configuration dataclasses as one flat dict, for printing beside scores."""
    return {
        f"{section}.{name}": value
        for section, config in model.configs().items()
        for name, value in dataclasses.asdict(config).items()
    }


@dataclasses.dataclass(frozen=True)
class BenchmarkConfig:
    """One protocol run: the data, the model and how it trains.

    Attributes:
        data: the CSV; a file named after a benchmark (ETTh1.csv, ..., weather.csv) is read
            and checked as `forecaster.load_benchmark` does.
        lookback: input steps, L.
        horizon: steps forecast, H.
        model: a cell ("rnn", "lstm", "gru", "cifg") in the segment-recurrent network,
            "naive" (repeat the last value) or "linear" (one least-squares map from a
            series' own window to its horizon, shared by the channels: the "Linear" of
            Zeng et al. 2023, solved in closed form).
        quick: the smoke mode, `QUICK`'s epochs, units and training stride.
        epochs: the most epochs; None: 1 when quick, else 30.
        units: the recurrent units; None: 16 when quick, else 512 (SegRNN's).
        segment_length: steps per segment; L and H must be multiples of it.
        normalization: "last" or "revin", per window.
        head_dropout: the fraction of the decoder's outputs dropped in training before the
            map to values (SegRNN's dropout; its scripts use 0.5).
        batch_size: windows per step (each window is `channels` series).
        learning_rate: Adam's initial learning rate.
        lr_decay: None halves the rate after 3 epochs without a better validation loss; a
            factor multiplies it every epoch after the fourth (SegRNN's schedule, 0.8).
        loss: the training loss, "mae" (SegRNN's choice) or "mse"; scores are both ways.
        patience: epochs without a better validation loss before stopping.
        seed: seeds the weights and the shuffling.
        verbose: Keras's training log: 0 none, 2 a line per epoch.
        experiment: the MLflow experiment.
    """

    data: str
    lookback: int = 720
    horizon: int = 96
    model: str = "gru"
    quick: bool = False
    epochs: int | None = None
    units: int | None = None
    segment_length: int = 48
    normalization: str = "last"
    head_dropout: float = 0.0
    batch_size: int = 256
    learning_rate: float = 1e-3
    lr_decay: float | None = None
    loss: str = "mae"
    patience: int = 10
    seed: int = 0
    verbose: int = 2
    experiment: str = "ltsf"

    def __post_init__(self):
        """Checks the model's name; the forecaster's configs check the rest."""
        if self.model not in MODELS:
            raise ValueError(f"model={self.model!r} is not known; pass one of {MODELS}")
        for name in ("epochs", "units"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1
            ):
                raise ValueError(f"{name} must be a positive integer or None, got {value!r}")

    @property
    def dataset(self):
        """The data set's name, the file's stem (e.g. "ETTh1")."""
        return Path(self.data).stem

    def make_model(self):
        """The unfitted forecaster or baseline this run benchmarks."""
        options = {"lookback": self.lookback, "horizon": self.horizon}
        if self.model == "naive":
            return NaiveForecaster(**options)
        if self.model == "linear":
            return LinearForecaster(channels="independent", **options)
        quick = QUICK if self.quick else {}
        return Forecaster(
            cell=self.model,
            architecture="segment",
            units=self.units or quick.get("units", 512),
            segment_length=self.segment_length,
            normalization=self.normalization,
            head_dropout=self.head_dropout,
            stride=quick.get("stride", 1),
            epochs=self.epochs or quick.get("epochs", 30),
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            lr_decay=self.lr_decay,
            loss=self.loss,
            patience=self.patience,
            seed=self.seed,
            verbose=self.verbose,
            **options,
        )

    def read(self):
        """The whole data set, and the file's own row stamps where the set was made regular.

        Returns:
            `(frame, stamps)`; `stamps` is None unless the file's rows differ from the frame's
            (weather), as `protocol_split` takes it.
        """
        known = {name.lower(): name for name in BENCHMARKS}
        name = known.get(self.dataset.lower())
        if name is None:
            return read_csv(self.data), None
        frame = load_benchmark(name, path=self.data, download=False)
        stamps = file_stamps(benchmark_path(name, path=self.data, download=False), frame.index.name)
        return frame, None if stamps.equals(frame.index) else stamps


def benchmark(config):
    """Runs the protocol for `config` in an MLflow run; returns the scores and the setup.

    Args:
        config: a `BenchmarkConfig`.

    Returns:
        A dict: "data", "model", "lookback", "horizon", "quick", "mse", "mae" (scaled),
        "windows", "wall_seconds" (reading, fitting, scoring and logging), "run_id",
        "params", "seconds_per_epoch" and "configuration" (the model's configs, flat).

    Example:
        >>> benchmark(BenchmarkConfig("../shared/data/ETTh1.csv", 336, 96, model="naive"))
    """
    start = time.perf_counter()
    frame, stamps = config.read()
    model = config.make_model()
    scores = run(
        model,
        frame,
        dataset=config.dataset,
        stamps=stamps,
        track=True,
        experiment=config.experiment,
        quick=str(config.quick).lower(),
        protocol="ltsf",
    )
    result = {
        "data": config.dataset,
        "model": config.model,
        "lookback": config.lookback,
        "horizon": config.horizon,
        "quick": config.quick,
        "mse": scores["mse"],
        "mae": scores["mae"],
        "windows": scores["windows"],
        "wall_seconds": round(time.perf_counter() - start, 2),
        "run_id": scores["run_id"],
        "params": scores["params"],
        "seconds_per_epoch": round(scores["seconds_per_epoch"], 2),
        "configuration": configuration(model),
    }
    return result
