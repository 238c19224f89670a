"""The M4 Competition's point-forecast evaluation and its benchmark methods, in NumPy.

Definitions follow the organisers' R code (`Benchmarks and Evaluation.R` in
`Mcompetitions/M4-methods`) as ``../shared/data/m4/README.md`` restates them: sMAPE and MASE
per series, averaged over series; OWA compares those averages with Naive2's. On the Hourly
subset (h = 48, m = 24) the benchmarks reproduce the organisers' published figures to the 3
decimals they give (`tests/evaluation/test_m4.py`).
"""

import math

import numpy as np

HOURLY_HORIZON = 48
HOURLY_SEASON = 24  # the m of MASE and of the seasonality test
# Naive2's Hourly averages, the OWA reference: the organisers' `Evaluation and Ranks.xlsx`,
# as quoted in ../shared/data/m4/README.md ("Published Hourly results").
HOURLY_NAIVE2_SMAPE = 18.383
HOURLY_NAIVE2_MASE = 2.395
HOURLY_NAIVE2 = (HOURLY_NAIVE2_SMAPE, HOURLY_NAIVE2_MASE)
# One-sided 95% critical value of M4's seasonality test (`tcrit` in `SeasonalityTest`).
SEASONALITY_CRITICAL_VALUE = 1.645


def _vector(values, name, least=1, purpose="it"):
    """`values` as a finite 1-D float array of `least` values or more; errors call it `name`."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    if array.size < least:
        raise ValueError(f"{name} has {array.size} values; {purpose} needs at least {least}")
    bad = np.flatnonzero(~np.isfinite(array))
    if bad.size:
        value = "NaN" if np.isnan(array[bad[0]]) else str(array[bad[0]])
        raise ValueError(f"{name} holds {value} at position {bad[0]}; every value must be finite")
    return array


def _pair(actual, forecast):
    actual, forecast = _vector(actual, "actual"), _vector(forecast, "forecast")
    if forecast.size != actual.size:
        raise ValueError(
            f"forecast has {forecast.size} values; expected {actual.size}, as many as actual"
        )
    return actual, forecast


def _count(value, name, least):
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < least:
        raise ValueError(f"{name} must be an integer of at least {least}, got {value!r}")
    return int(value)


def smape(actual, forecast):
    """M4's symmetric MAPE of one series, `mean(200 |y - y^| / (|y| + |y^|))`, in [0, 200].

    A step where `y` and `y^` are both 0 counts as 0 (NaN in M4's code; its data are positive).

    Args:
        actual: the true values, `(horizon,)`.
        forecast: the forecasts, `(horizon,)`.

    Returns:
        The sMAPE in percent, a float.

    Raises:
        ValueError: an array is not 1-D, empty or non-finite, or the lengths differ.

    Example:
        >>> smape([100.0, 50.0], [100.0, 150.0])
        50.0
    """
    actual, forecast = _pair(actual, forecast)
    total = np.abs(actual) + np.abs(forecast)
    ratio = np.divide(np.abs(actual - forecast), total, out=np.zeros_like(total), where=total > 0)
    return float(200 * np.mean(ratio))


def mase(actual, forecast, insample, season):
    """M4's mean absolute scaled error of one series.

    The scale is the in-sample MAE of the seasonal naive forecast with lag `season`,
    `mean(|x_t - x_{t-m}|)` over `t = m+1..n` of the training series.

    Args:
        actual: the true values, `(horizon,)`.
        forecast: the forecasts, `(horizon,)`.
        insample: the training series, `(time,)`, longer than `season`.
        season: the seasonal period m of the scaling forecast (24 for M4 Hourly).

    Returns:
        `mean(|y - y^|) / scale`, a float.

    Raises:
        ValueError: as `smape`, or `insample` is too short or its scale 0 (MASE undefined).

    Example:
        >>> mase([5.0, 7.0], [6.0, 6.0], insample=[1.0, 2.0, 4.0, 3.0], season=2)
        0.5
    """
    actual, forecast = _pair(actual, forecast)
    season = _count(season, "season", 1)
    insample = _vector(insample, "insample", season + 1, f"the MASE scale with season {season}")
    scale = np.mean(np.abs(insample[season:] - insample[:-season]))
    if scale == 0:
        raise ValueError(
            f"insample repeats itself exactly at lag {season}, so its MASE scale is 0 and "
            "MASE is undefined"
        )
    return float(np.mean(np.abs(actual - forecast)) / scale)


def owa(smape, mase, naive2_smape=HOURLY_NAIVE2_SMAPE, naive2_mase=HOURLY_NAIVE2_MASE):
    """M4's overall weighted average, `(sMAPE / sMAPE_Naive2 + MASE / MASE_Naive2) / 2`.

    M4 applies it to subset averages, never to one series, and its published OWAs use the
    averages rounded to 3 decimals: round them first to match those figures.

    Args:
        smape: the method's mean sMAPE over the subset.
        mase: the method's mean MASE over the subset.
        naive2_smape: Naive2's mean sMAPE on the same subset (Hourly's by default).
        naive2_mase: Naive2's mean MASE on the same subset (Hourly's by default).

    Returns:
        The OWA, a float; below 1 beats Naive2.

    Raises:
        ValueError: a Naive2 reference is not a positive finite number.

    Example:
        >>> round(owa(13.912, 1.193), 6)
        0.627454
    """
    for name, value in (("naive2_smape", naive2_smape), ("naive2_mase", naive2_mase)):
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return 0.5 * (smape / naive2_smape + mase / naive2_mase)


def _series_count(train_series, actual, forecasts, ids):
    counts = [len(train_series), len(actual), len(forecasts)] + ([] if ids is None else [len(ids)])
    if len(set(counts)) != 1:
        names = ["training series", "actual series", "forecasts", "ids"]
        listed = [f"{count} {name}" for count, name in zip(counts, names, strict=False)]
        raise ValueError(
            f"got {', '.join(listed[:-1])} and {listed[-1]}; expected one of each per series"
        )
    if counts[0] == 0:
        raise ValueError("got no series; scoring needs at least one")
    return counts[0]


def score(train_series, actual, forecasts, season, ids=None, naive2=HOURLY_NAIVE2):
    """Scores forecasts of many series the M4 way: per-series metrics, then their means.

    Args:
        train_series: the training series, a sequence of 1-D arrays of any lengths.
        actual: the true values after each training series, 1-D arrays (or one 2-D array).
        forecasts: the forecasts, one per series, each as long as its `actual`.
        season: the seasonal period m of MASE (24 for M4 Hourly).
        ids: optional names of the series (M4's "H1", ...) for error messages.
        naive2: Naive2's `(mean sMAPE, mean MASE)` on the same subset, for `owa`.

    Returns:
        A dict: `smape` and `mase`, the means over series; `owa` of those unrounded means;
        `series`, the count; `series_smape` and `series_mase`, `(series,)` in input order.

    Raises:
        ValueError: the counts differ, or a series fails a check of `smape` or `mase`
            (the message starts with the series' id or position).

    Example:
        >>> result = score([[1.0, 2.0, 4.0, 3.0]], [[5.0, 7.0]], [[6.0, 6.0]], season=2)
        >>> result["mase"], result["series"]
        (0.5, 1)
    """
    count = _series_count(train_series, actual, forecasts, ids)
    smapes, mases = np.empty(count), np.empty(count)
    for i, (x, y, f) in enumerate(zip(train_series, actual, forecasts, strict=True)):
        try:
            smapes[i], mases[i] = smape(y, f), mase(y, f, x, season)
        except ValueError as error:
            name = f"series at position {i}" if ids is None else f"series {ids[i]!r} (position {i})"
            raise ValueError(f"{name}: {error}") from None
    means = {"smape": float(np.mean(smapes)), "mase": float(np.mean(mases))}
    return {
        **means,
        "owa": owa(means["smape"], means["mase"], *naive2),
        "series": count,
        "series_smape": smapes,
        "series_mase": mases,
    }


def naive1(train, horizon, season=1):
    """M4's Naive1 benchmark: the last value, repeated.

    Args:
        train: the training series, `(time,)`.
        horizon: the number of steps to forecast.
        season: ignored; every benchmark takes it, so callers need not branch.

    Returns:
        The forecast, `(horizon,)`.

    Raises:
        ValueError: `train` is not finite, 1-D and non-empty, or `horizon` is below 1.

    Example:
        >>> naive1([3.0, 1.0, 2.0], 2)
        array([2., 2.])
    """
    train = _vector(train, "train")
    return np.full(_count(horizon, "horizon", 1), train[-1])


def snaive(train, horizon, season):
    """M4's seasonal naive benchmark: the last `season` values, repeated.

    Args:
        train: the training series, `(time,)`, at least `season` long.
        horizon: the number of steps to forecast.
        season: the seasonal period m.

    Returns:
        The forecast, `(horizon,)`; step t (from 0) is `train[n - season + t % season]`.

    Raises:
        ValueError: `train` is not finite and 1-D or shorter than `season`.

    Example:
        >>> snaive([1.0, 2.0, 3.0, 4.0, 5.0], 3, season=2)
        array([4., 5., 4.])
    """
    horizon, season = _count(horizon, "horizon", 1), _count(season, "season", 1)
    train = _vector(train, "train", season, f"the seasonal naive forecast with season {season}")
    return train[train.size - season + np.arange(horizon) % season]


def acf(x, max_lag):
    """The sample autocorrelations of `x` at lags 0..`max_lag`, as R's `acf` computes them.

    `r_k = sum_{t<n-k} (x_t - mean)(x_{t+k} - mean) / sum_t (x_t - mean)^2`.

    Args:
        x: the series, `(time,)`.
        max_lag: the highest lag, below `len(x)`.

    Returns:
        `(max_lag + 1,)`, 1 at lag 0; NaN throughout when `x` is constant.

    Raises:
        ValueError: `x` is not finite and 1-D, or `max_lag` is negative or not below n.

    Example:
        >>> acf([1.0, 2.0, 3.0, 4.0], 2).round(3).tolist()
        [1.0, 0.25, -0.3]
    """
    max_lag = _count(max_lag, "max_lag", 0)
    x = _vector(x, "x", max_lag + 1, f"the ACF up to lag {max_lag}")
    deviations = x - x.mean()
    total = deviations @ deviations
    if total == 0:
        return np.full(max_lag + 1, np.nan)
    lagged = [deviations[: x.size - k] @ deviations[k:] for k in range(max_lag + 1)]
    return np.asarray(lagged) / total


def is_seasonal(train, season):
    """M4's seasonality test (`SeasonalityTest`) at lag `season`.

    Seasonal when `|r_m| > 1.645 / sqrt(n) * sqrt(1 + 2 sum_{k=1}^{m-1} r_k^2)`, `r` from
    `acf`. As in M4's code, never seasonal when `season` is 1, when the series is constant
    or shorter than `3 season`, or when R's default `lag.max`, `floor(10 log10 n)`, stops
    before lag m (there `acf(...)[m]` is NA, read as not seasonal): n < 252 for m = 24.

    Args:
        train: the training series, `(time,)`.
        season: the lag m to test.

    Returns:
        A bool.

    Raises:
        ValueError: `train` is not finite, 1-D and non-empty, or `season` is below 1.

    Example:
        >>> is_seasonal(np.sin(2 * np.pi * np.arange(300) / 24), 24)
        True
    """
    train = _vector(train, "train")
    season = _count(season, "season", 1)
    n = train.size
    if season == 1 or n < 3 * season or math.floor(10 * math.log10(n)) < season:
        return False
    r = acf(train, season)  # NaN for a constant series, which compares False as R's NA
    limit = SEASONALITY_CRITICAL_VALUE / math.sqrt(n) * math.sqrt(1 + 2 * np.sum(r[1:-1] ** 2))
    return bool(abs(r[-1]) > limit)


def centred_moving_average(x, order):
    """The centred moving average of R's `decompose`: order m, or 2 x m for even m.

    Even orders weigh the m + 1 values around t by `[1/2, 1, ..., 1, 1/2] / m`, odd orders
    the m values around t equally.

    Args:
        x: the series, `(time,)`.
        order: the order m, at least 2 and below `len(x)`.

    Returns:
        `(time,)`, NaN for the `m // 2` values at each end that no window covers.

    Raises:
        ValueError: `x` is not finite and 1-D, or `order` is below 2 or not below n.

    Example:
        >>> centred_moving_average([1.0, 2.0, 6.0, 4.0, 5.0], 2).tolist()
        [nan, 2.75, 4.5, 4.75, nan]
    """
    order = _count(order, "order", 2)
    x = _vector(x, "x", order + 1, f"a moving average of order {order}")
    weights = np.ones(order + 1 - order % 2)
    if order % 2 == 0:
        weights[[0, -1]] = 0.5
    weights /= order
    half = weights.size // 2
    trend = np.full(x.size, np.nan)
    trend[half : x.size - half] = np.convolve(x, weights, mode="valid")
    return trend


def seasonal_indices(x, season):
    """The seasonal figure of R's `decompose(x, type="multiplicative")`.

    The ratios `x / centred_moving_average(x, season)` are averaged per position modulo
    `season`, then divided by their mean so that the figure averages 1.

    Args:
        x: the series, `(time,)`, positive, at least `2 season` long.
        season: the seasonal period m, at least 2.

    Returns:
        `(season,)`; entry j belongs to the positions t (from 0) with `t % season == j`.

    Raises:
        ValueError: `x` is not finite, positive and `2 season` long, or `season` is below 2.

    Example:
        >>> seasonal_indices(np.tile([2.0, 6.0], 4), 2).tolist()
        [0.5, 1.5]
    """
    season = _count(season, "season", 2)
    x = _vector(x, "x", 2 * season, f"a decomposition with season {season}")
    low = int(np.argmin(x))
    if x[low] <= 0:
        raise ValueError(
            f"x holds {x[low]} at position {low}; a multiplicative decomposition needs "
            "every value above 0"
        )
    padded = np.full(-(-x.size // season) * season, np.nan)
    padded[: x.size] = x / centred_moving_average(x, season)
    figure = np.nanmean(padded.reshape(-1, season), axis=0)  # (seasons, m) -> (m,)
    return figure / figure.mean()


def naive2(train, horizon, season):
    """M4's Naive2 benchmark: Naive1 on the seasonally adjusted series, reseasonalised.

    When `is_seasonal(train, season)`, the last value divided by its seasonal index is
    multiplied by the indices that continue the season past the end of `train`: step t
    (from 0) takes `seasonal_indices(train, season)[(n + t) % season]`. Otherwise `naive1`.

    Args:
        train: the training series, `(time,)`; positive when it is seasonal.
        horizon: the number of steps to forecast.
        season: the seasonal period m (24 for M4 Hourly).

    Returns:
        The forecast, `(horizon,)`.

    Raises:
        ValueError: as `naive1`, `is_seasonal` and `seasonal_indices`.

    Example:
        >>> x = np.tile([1.0, 2.0, 3.0, 2.0], 10)[:-1]  # stops one step short of a season
        >>> naive2(x, 3, 4).round(12).tolist()
        [2.0, 1.0, 2.0]
    """
    train = _vector(train, "train")
    horizon = _count(horizon, "horizon", 1)
    if not is_seasonal(train, season):
        return naive1(train, horizon)
    figure = seasonal_indices(train, season)
    n = train.size
    return train[-1] / figure[(n - 1) % season] * figure[(n + np.arange(horizon)) % season]


BENCHMARKS = {"naive1": naive1, "snaive": snaive, "naive2": naive2}
