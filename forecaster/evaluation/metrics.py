"""Forecast accuracy metrics as plain functions of arrays.

Every function takes `y_true` and `y_pred` of the same shape, `(..., targets)` or any shape
at all, and averages over every entry. Percentage metrics are in percent.
"""

import numpy as np

METRICS = ("mae", "mse", "rmse", "mape", "smape", "mase")


def _pair(y_true, y_pred):
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"y_true has shape {y_true.shape} but y_pred has shape {y_pred.shape}; "
            "they must be equal"
        )
    if y_true.size == 0:
        raise ValueError("y_true and y_pred are empty; a metric needs at least one value")
    return y_true, y_pred


def mae(y_true, y_pred):
    """Mean absolute error."""
    y_true, y_pred = _pair(y_true, y_pred)
    return float(np.mean(np.abs(y_true - y_pred)))


def mse(y_true, y_pred):
    """Mean squared error."""
    y_true, y_pred = _pair(y_true, y_pred)
    return float(np.mean((y_true - y_pred) ** 2))


def rmse(y_true, y_pred):
    """Root mean squared error."""
    return float(np.sqrt(mse(y_true, y_pred)))


def mape(y_true, y_pred):
    """Mean absolute percentage error, `100 * mean(|y - y^| / |y|)`.

    Entries whose true value is 0 are left out, since their percentage error is undefined;
    if every true value is 0 the result is NaN.
    """
    y_true, y_pred = _pair(y_true, y_pred)
    nonzero = y_true != 0
    if not nonzero.any():
        return float("nan")
    return float(100 * np.mean(np.abs(y_true - y_pred)[nonzero] / np.abs(y_true[nonzero])))


def smape(y_true, y_pred):
    """Symmetric MAPE, `100 * mean(2 |y - y^| / (|y| + |y^|))`, in [0, 200]; 0/0 counts as 0."""
    y_true, y_pred = _pair(y_true, y_pred)
    denominator = np.abs(y_true) + np.abs(y_pred)
    ratio = np.divide(
        2 * np.abs(y_true - y_pred),
        denominator,
        out=np.zeros_like(denominator),
        where=denominator != 0,
    )
    return float(100 * np.mean(ratio))


def seasonal_naive_scale(insample, season=1):
    """Mean absolute error of the in-sample seasonal-naive forecast, per target column.

    Args:
        insample: the training series, `(time,)` or `(time, targets)`.
        season: the seasonal period m; 1 gives the naive (random-walk) forecast.

    Returns:
        The scale, `()` or `(targets,)`.
    """
    insample = np.asarray(insample, dtype=np.float64)
    if isinstance(season, bool) or not isinstance(season, int | np.integer) or season < 1:
        raise ValueError(f"season must be a positive integer, got {season!r}")
    if insample.shape[0] <= season:
        raise ValueError(
            f"the in-sample series has {insample.shape[0]} steps; MASE with season "
            f"{season} needs more than {season}"
        )
    return np.mean(np.abs(insample[season:] - insample[:-season]), axis=0)


def mase(y_true, y_pred, insample, season=1):
    """Mean absolute scaled error (Hyndman & Koehler 2006).

    The absolute errors of each target column are divided by that column's in-sample
    seasonal-naive MAE, then averaged. Below 1, the forecast beats the seasonal-naive
    forecast's in-sample error.

    Args:
        y_true: true values, `(..., targets)`, or any shape when `insample` is 1-D.
        y_pred: forecasts, the shape of `y_true`.
        insample: the training series, `(time, targets)` or `(time,)`.
        season: the seasonal period m of the scaling forecast.

    Returns:
        The MASE, a float (inf when a column's in-sample series is constant and the
        forecast errs).

    Example:
        >>> mase([3.0, 4.0], [2.0, 4.0], insample=[1.0, 2.0, 3.0])
        0.5
    """
    return scaled_mae(y_true, y_pred, seasonal_naive_scale(insample, season))


def scaled_mae(y_true, y_pred, scale):
    """Mean of the absolute errors divided by a per-target `scale`, `()` or `(targets,)`.

    This is MASE when `scale` is `seasonal_naive_scale` of the training series; a column
    with scale 0 gives inf where the forecast errs and 0 where it is exact.
    """
    y_true, y_pred = _pair(y_true, y_pred)
    errors = np.abs(y_true - y_pred)
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled = errors / np.asarray(scale, dtype=np.float64)
    return float(np.mean(np.where(errors == 0, 0.0, scaled)))


def scores(y_true, y_pred, mase_scale):
    """Every metric of `METRICS` by name, MASE from a precomputed per-target `mase_scale`.

    Args:
        y_true: true values, `(..., targets)`.
        y_pred: forecasts, the shape of `y_true`.
        mase_scale: `seasonal_naive_scale` of the training series, `()` or `(targets,)`.
    """
    return {
        "mae": mae(y_true, y_pred),
        "mse": mse(y_true, y_pred),
        "rmse": rmse(y_true, y_pred),
        "mape": mape(y_true, y_pred),
        "smape": smape(y_true, y_pred),
        "mase": scaled_mae(y_true, y_pred, mase_scale),
    }


def all_metrics(y_true, y_pred, insample, season=1):
    """Every metric of `METRICS` by name, MASE scaled by the in-sample seasonal-naive error."""
    return scores(y_true, y_pred, seasonal_naive_scale(insample, season))
