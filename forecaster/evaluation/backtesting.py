"""Rolling-origin backtests: refit (or not) at each origin, forecast, score, aggregate."""

import numpy as np
import pandas as pd

from forecaster import checks
from forecaster.data import DataError
from forecaster.evaluation import metrics, probabilistic

WINDOWS = ("expanding", "sliding")
_BORDERS = ("cutoff", "train_start", "train_end", "test_start", "test_end")


def backtest(
    estimator,
    frame,
    folds=5,
    *,
    cutoffs=None,
    window="expanding",
    train_size=None,
    refit=True,
    interval=None,
    gamma=0.05,
    **fit_options,
):
    """Scores a forecaster from several forecast origins in time order.

    Each fold's origin is a cutoff: the last timestamp the model sees. It is fitted (with
    its scaler, so nothing leaks across folds) on the rows up to the cutoff, forecasts the
    `horizon` rows after it, and is scored on them in the original units.

    Args:
        estimator: any forecaster; it is cloned, never changed.
        frame: the whole series.
        folds: with no `cutoffs`, the number of folds; their forecasts tile the last
            `folds * horizon` rows.
        cutoffs: explicit cutoff timestamps instead of `folds`.
        window: "expanding" (train on every row up to the cutoff) or "sliding" (the last
            `train_size` rows up to it).
        train_size: the sliding window's rows; by default the first fold's training rows.
        refit: fit anew at every fold; if False, fit once at the first fold and forecast
            every later origin with that model and scaler.
        interval: a coverage in (0, 1), e.g. 0.9: each fold's forecast gets a central
            interval, calibrated (`calibrate`, split conformal per horizon step) on the
            last `val_fraction` of the fold's training rows, the ones a neural
            forecaster held out, at a miss rate that adapts from fold to fold (adaptive
            conformal inference, Gibbs and Candes 2021): ``alpha += gamma (1 - interval -
            missed)`` after each fold, so that intervals widen after folds that missed
            too often and narrow after folds that missed too little.
        gamma: the step of that adaptation; 0 keeps every fold at ``1 - interval``.
        **fit_options: passed to each fold's `fit`, overrides for that fit only (e.g.
            `epochs`, `verbose` for a `Forecaster`), or `callbacks`.

    Returns:
        A DataFrame with one row per fold (fold, cutoff, train_start, train_end,
        test_start, test_end and the metrics) and a last row, fold "mean", averaging the
        metrics over the folds. A forecaster with quantiles adds their scores
        (`forecaster.evaluation.probabilistic.quantile_scores`); with `interval`, the
        interval's "coverage_<c>", "width_<c>" and "msis_<c>" and the fold's "alpha".

    Example:
        >>> table = backtest(NaiveForecaster(lookback=24, horizon=12), frame, folds=4)
    """
    checks.choice("window", window, WINDOWS)
    frame = estimator.check_frame(frame)
    if estimator.data.id_col is not None or frame.attrs.get("id_col") is not None:
        raise DataError(
            "backtests of a long frame (many series) are not built yet; backtest one "
            "series (frame[frame[id_col] == key]) or score the test parts with "
            "evaluate_series"
        )
    ends = _fold_ends(frame, folds, cutoffs, estimator.data.horizon)
    train_size = ends[0] if train_size is None else checks.positive_int("train_size", train_size)
    target = None if interval is None else 1 - checks.fraction("interval", interval)
    alpha = target
    rows, model = [], None  # without refit, the first fold's model forecasts every fold
    for fold, end in enumerate(ends):
        start = 0 if window == "expanding" else max(end - train_size, 0)
        if refit or model is None:
            model = estimator.clone().fit(frame.iloc[start:end], **fit_options)
        row = {"fold": fold}
        if target is not None:
            alpha = _calibrated(model, frame, start, end, alpha)
            row["alpha"] = alpha
        row.update(_scored_fold(model, frame, start, end, target))
        rows.append(row)
        if target is not None:
            missed = 1 - row[f"coverage_{probabilistic.interval_name(target / 2)}"]
            alpha += gamma * (target - missed)
    return _with_mean(pd.DataFrame(rows))


def _calibrated(model, frame, start, end, alpha):
    """Calibrates `model` on the fold's last training rows; returns the alpha it used.

    The rows are the last `val_fraction` of the fold's training rows (at least one
    horizon), led by `lookback` rows of context. `alpha` is kept where the windows allow
    it: no lower than ``1 / (windows + 1)`` (an interval needs that many) and no higher
    than 0.99.
    """
    data = model.data
    rows = max(round(data.val_fraction * (end - start)), data.horizon)
    begin = max(end - rows - data.lookback, 0)
    windows = end - begin - data.lookback - data.horizon + 1
    if windows < 1:
        raise DataError(
            f"the fold ending at {frame.index[end - 1]} leaves no window to calibrate on; "
            "use fewer folds or a longer frame"
        )
    alpha = float(min(max(alpha, 1 / (windows + 1)), 0.99))
    low = round(alpha / 2, 12)
    model.calibrate(frame.iloc[begin:end], [low, round(1 - low, 12)])
    return alpha


def _with_mean(table):
    """The fold table with a last row, fold "mean", averaging each metric over the folds."""
    metric_names = [name for name in table.columns if name not in ("fold", *_BORDERS)]
    mean = {"fold": "mean", **table[metric_names].mean().to_dict()}
    return pd.concat([table.astype({"fold": object}), pd.DataFrame([mean])], ignore_index=True)


def _scored_fold(model, frame, start, end, target=None):
    """A fold's borders and the scores of `model`'s forecast after row `end`.

    With `target` (the interval's nominal miss rate), the calibrated interval's scores
    are named by it, whatever miss rate this fold's calibration used.
    """
    horizon = model.data.horizon
    targets = model.schema_["targets"]
    test = frame.iloc[end : end + horizon]
    future = test if model.data.known_future else None
    forecast = model.predict(frame.iloc[:end], future=future)
    actual = test[targets].to_numpy(dtype=np.float64)
    scale = np.asarray(model.schema_["mase_scale"])
    scores = metrics.scores(actual, forecast[targets].to_numpy(dtype=np.float64), scale)
    levels = list(model.quantile_levels())
    calibrated = [] if target is None else list(model.calibration_.levels)
    own = [level for level in levels if level not in calibrated]
    scores.update(
        probabilistic.quantile_scores(actual, _quantiles(forecast, targets, own), own, scale)
    )
    if calibrated:
        low, high = _quantiles(forecast, targets, calibrated).transpose(2, 0, 1)
        name = probabilistic.interval_name(target / 2)
        scores[f"coverage_{name}"] = probabilistic.coverage(actual, low, high)
        scores[f"width_{name}"] = probabilistic.width(low, high)
        interval_score = probabilistic.interval_score(actual, low, high, target)
        scores[f"msis_{name}"] = float(np.mean(interval_score / scale))
    borders = (
        frame.index[end - 1],
        frame.index[start],
        frame.index[end - 1],
        test.index[0],
        test.index[-1],
    )
    return {**dict(zip(_BORDERS, borders, strict=True)), **scores}


def _quantiles(forecast, targets, levels):
    """The forecast's quantile columns as `(horizon, targets, levels)`."""
    columns = [f"{t}_q{level}" for t in targets for level in levels]
    values = forecast[columns].to_numpy(dtype=np.float64)
    return values.reshape(len(forecast), len(targets), len(levels))


def _fold_ends(frame, folds, cutoffs, horizon):
    """Each fold's end of training (exclusive row position), in time order."""
    n = len(frame)
    if cutoffs is None:
        checks.positive_int("folds", folds)
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
