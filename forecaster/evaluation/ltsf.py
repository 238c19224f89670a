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
place of its `val_fraction` hold-out) and its `evaluate` scores every test window. The
tracked run of the benchmark, with its configuration from a YAML file, is the command
`forecaster ltsf` (`forecaster.cli.commands.ltsf`).

>>> frame = forecaster.load_benchmark("ETTh1", path="../shared/data")
>>> scores = run(forecaster.NaiveForecaster(lookback=336, horizon=96), frame, dataset="ETTh1")
>>> round(scores["mse"], 3), round(scores["mae"], 3), scores["windows"]
(1.294, 0.713, 2785)
"""

import time

import pandas as pd

from forecaster.data import DataError, split

# Row borders (train end, validation end, test end) of the sets whose protocol fixes them.
_HOURLY_BORDERS = (12 * 30 * 24, 16 * 30 * 24, 20 * 30 * 24)  # 8640, 11520, 14400
FIXED_BORDERS = {
    "etth1": _HOURLY_BORDERS,
    "etth2": _HOURLY_BORDERS,
    "ettm1": tuple(4 * end for end in _HOURLY_BORDERS),  # 15-minute steps
    "ettm2": tuple(4 * end for end in _HOURLY_BORDERS),
}
TRAIN_FRACTION, TEST_FRACTION = 0.7, 0.2  # every other set; validation takes the rest


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


def run(model, frame, *, dataset, stamps=None):
    """Runs the protocol for one model: split, fit, score every test window.

    Every forecaster fits the same way: on the training part, with the protocol's
    validation part as its `val` (the neural one early-stops on it).

    Args:
        model: an unfitted forecaster; its `lookback` and `horizon` are the protocol's L
            and H, and its `targets` and `inputs` should be None (all columns).
        frame: the whole data set.
        dataset: its name, for the borders.
        stamps: the file's own row stamps where `frame` was made regular from it (see
            `protocol_split`); None: `frame`'s rows are the file's.

    Returns:
        A dict: "mse" and "mae" on the scaled values, "windows" (test windows scored),
        "wall_seconds" (splitting, fitting and scoring) and every other score of
        `evaluate` under "test_<name>".
    """
    start = time.perf_counter()
    parts = protocol_split(frame, dataset, model.data.lookback, stamps)
    model.fit(parts.train, val=parts.val)
    scores = model.evaluate(parts.test)
    result = {
        "mse": float(scores["scaled_mse"]),
        "mae": float(scores["scaled_mae"]),
        "windows": int(scores["windows"]),
        "wall_seconds": time.perf_counter() - start,
    }
    result.update({f"test_{k}": float(v) for k, v in scores.items() if k != "windows"})
    return result
