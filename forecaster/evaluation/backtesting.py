"""Rolling-origin backtests: refit (or not) at each origin, forecast, score, aggregate."""

import numbers

import numpy as np
import pandas as pd

from forecaster.data import DataError
from forecaster.evaluation import metrics

WINDOWS = ("expanding", "sliding")


def backtest(
    estimator,
    frame,
    folds=5,
    *,
    cutoffs=None,
    window="expanding",
    train_size=None,
    refit=True,
    **fit_options,
):
    """Scores a forecaster from several forecast origins in time order.

    Each fold's origin is a cutoff: the last timestamp the model sees. It is fitted (with
    its scaler, so nothing leaks across folds) on the rows up to the cutoff, forecasts the
    `horizon` rows after it, and is scored on them in the original units.

    Args:
        estimator: a `Forecaster` or baseline; it is cloned, never changed.
        frame: the whole series.
        folds: with no `cutoffs`, the number of folds; their forecasts tile the last
            `folds * horizon` rows.
        cutoffs: explicit cutoff timestamps instead of `folds`.
        window: "expanding" (train on every row up to the cutoff) or "sliding" (the last
            `train_size` rows up to it).
        train_size: the sliding window's rows; by default the first fold's training rows.
        refit: fit anew at every fold; if False, fit once at the first fold and forecast
            every later origin with that model and scaler.
        **fit_options: passed to `fit` (e.g. `epochs`, `verbose` for a `Forecaster`).

    Returns:
        A DataFrame with one row per fold (fold, cutoff, train_start, train_end,
        test_start, test_end and the metrics) and a last row, fold "mean", averaging the
        metrics over the folds.

    Example:
        >>> table = backtest(NaiveForecaster(lookback=24, horizon=12), frame, folds=4)
    """
    if window not in WINDOWS:
        raise ValueError(f"window={window!r} is not known; pass one of {WINDOWS}")
    frame = estimator._check_frame(frame)
    horizon = estimator.data.horizon
    ends = _fold_ends(frame, folds, cutoffs, horizon)
    if train_size is None:
        train_size = ends[0]
    elif (
        isinstance(train_size, bool)
        or not isinstance(train_size, numbers.Integral)
        or train_size < 1
    ):
        raise ValueError(f"train_size must be a positive integer, got {train_size!r}")
    rows, model = [], None
    for fold, end in enumerate(ends):
        start = 0 if window == "expanding" else max(end - train_size, 0)
        if refit or model is None:
            model = estimator.clone()
            model.fit(frame.iloc[start:end], **fit_options)
        targets = model.schema["targets"]
        test = frame.iloc[end : end + horizon]
        future = test if estimator.data.known_future else None
        forecast = model.predict(frame.iloc[:end], future=future)
        scores = metrics.scores(
            test[targets].to_numpy(dtype=np.float64),
            forecast.to_numpy(dtype=np.float64),
            np.asarray(model.schema["mase_scale"]),
        )
        rows.append(
            {
                "fold": fold,
                "cutoff": frame.index[end - 1],
                "train_start": frame.index[start],
                "train_end": frame.index[end - 1],
                "test_start": test.index[0],
                "test_end": test.index[-1],
                **scores,
            }
        )
    table = pd.DataFrame(rows)
    metric_names = list(scores)
    mean = {"fold": "mean", **table[metric_names].mean().to_dict()}
    return pd.concat([table.astype({"fold": object}), pd.DataFrame([mean])], ignore_index=True)


def _fold_ends(frame, folds, cutoffs, horizon):
    """Each fold's end of training (exclusive row position), in time order."""
    n = len(frame)
    if cutoffs is None:
        if isinstance(folds, bool) or not isinstance(folds, numbers.Integral) or folds < 1:
            raise ValueError(f"folds must be a positive integer, got {folds!r}")
        ends = [n - horizon * (folds - k) for k in range(folds)]
        if ends[0] < 1:
            raise DataError(
                f"{folds} folds of horizon {horizon} need more than {folds * horizon} rows; "
                f"the frame has {n}"
            )
        return ends
    ends = []
    for cutoff in cutoffs:
        stamp = pd.Timestamp(cutoff)
        if stamp.tzinfo is None and frame.index.tz is not None:
            stamp = stamp.tz_localize(frame.index.tz)
        if stamp not in frame.index:
            raise DataError(f"cutoff {cutoff!r} is not a timestamp of the frame")
        end = frame.index.get_loc(stamp) + 1
        if end + horizon > n:
            raise DataError(
                f"cutoff {cutoff!r} leaves {n - end} rows after it; a fold needs horizon = "
                f"{horizon}"
            )
        ends.append(end)
    if ends != sorted(set(ends)):
        raise ValueError(f"cutoffs must be distinct and in time order, got {list(cutoffs)!r}")
    return ends
