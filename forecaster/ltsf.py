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
import time

from forecaster.data import split

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
        ValueError: the data set is shorter than its fixed borders.

    Example:
        >>> borders("ETTm1", 69680), borders("weather", 52704)
        ((34560, 46080, 57600), (36892, 42164, 52704))
    """
    fixed = FIXED_BORDERS.get(dataset.lower())
    if fixed is not None:
        if rows < fixed[-1]:
            raise ValueError(
                f"{dataset} has {rows} rows; the protocol's test part ends at row {fixed[-1]}"
            )
        return fixed
    train_end = int(rows * TRAIN_FRACTION)
    test_rows = int(rows * TEST_FRACTION)
    return train_end, rows - test_rows, rows


def protocol_split(frame, dataset, lookback):
    """Cuts `frame` at the protocol's borders, validation and test led by `lookback` rows.

    Args:
        frame: the whole data set, as from `forecaster.load_benchmark`.
        dataset: its name, for the borders (see `borders`).
        lookback: the input steps per window, L.

    Returns:
        A `forecaster.Split`; every statistic must come from its `train` part only.

    Example:
        >>> protocol_split(frame, "ETTh1", 336)
        Split(train rows [0, 8640), val rows [8304, 11520), test rows [11184, 14400); lookback=336)
    """
    train_end, val_end, test_end = borders(dataset, len(frame))
    return split(frame, train_end, val_end - train_end, test_end - val_end, lookback=lookback)


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


def run(model, frame, *, dataset, track=False, experiment="ltsf", **tags):
    """Runs the protocol for one model: split, fit, score every test window.

    Args:
        model: an unfitted forecaster or baseline; its `lookback` and `horizon` are the
            protocol's L and H, and its `targets` and `inputs` should be None (all columns).
        frame: the whole data set.
        dataset: its name, for the borders and the run's tags.
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
    parts = protocol_split(frame, dataset, model.data.lookback)
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
