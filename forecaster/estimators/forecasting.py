"""Forecasts and scores of a fitted forecaster, for one series or many at once.

`BaseForecaster.predict` and `evaluate` run here. A wide frame is one series; a long frame
(the id column the fit saw) holds many, each forecast from its own last `lookback` rows in
one batch through the model, so a global model forecasts thousands of series in one call.
Every series is scaled with its own training statistics and mapped back with them, and a
non-negative target (`schema_["nonnegative"]`) is never forecast below 0.
"""

import numpy as np
import pandas as pd

from forecaster.data import DataError, make_windows, series_bounds
from forecaster.data.timestamps import to_offset
from forecaster.estimators import intervals, statics
from forecaster.estimators.preparation import holdout, is_step_index
from forecaster.evaluation import metrics, probabilistic


def encoding(model):
    """The fitted `statics.Statics` of a forecaster (none for one saved before them)."""
    state = model.schema_.get("statics")
    return statics.Statics() if state is None else statics.Statics.from_dict(state)


def horizon_index(last, horizon, freq):
    """The `horizon` stamps (or steps) after `last`."""
    if freq is None:
        return pd.Index(np.arange(int(last) + 1, int(last) + horizon + 1), name="step")
    offset = to_offset(freq)
    return pd.date_range(last, periods=horizon + 1, freq=offset)[1:]


def check_kind(model, frame):
    """Refuses a long frame for a wide fit, and a wide one for a long fit."""
    id_col = model.schema_.get("id_col")
    if id_col is None and frame.attrs.get("id_col") is not None:
        raise DataError(
            f"the model was fitted on one wide series, but the frame is in long format "
            f"(id_col={frame.attrs['id_col']!r}); select one series, e.g. "
            "frame[frame[id_col] == key], or fit on the long frame"
        )
    if id_col is not None and id_col not in frame.columns:
        raise DataError(
            f"the model was fitted on series in {id_col!r}, which is not in the frame; "
            f"columns are {list(frame.columns)}"
        )
    stepped = model.schema_.get("freq") is None
    if stepped != is_step_index(frame.index):
        # A step index may be a RangeIndex or an Index of integers: name the kind, not the class.
        want, have = ("a step index", "a DatetimeIndex")[:: 1 if stepped else -1]
        raise DataError(f"the model was fitted on a series with {want}; the frame has {have}")


def predict(model, frame, future=None, static=None, samples=None, seed=0):
    """`BaseForecaster.predict`: the `horizon` steps after each series' end, original units.

    Returns:
        Wide: a DataFrame on the horizon's stamps, a column per target, then one per
        target and quantile level (`intervals.column`). Long: the same stacked series by
        series, the id column first. With `samples`, instead `samples` draws of the
        forecast distribution, stacked with a "sample" column.
    """
    data, schema = model.data, model.schema_
    id_col = schema.get("id_col")
    # The frame's kind first: a wide frame for a long fit has no id column to attach by.
    frame = statics.attach(model.check_frame(frame), static, data.static, id_col)
    statics.require(frame, data.static)  # before `_block` selects them
    lookback, horizon = data.lookback, data.horizon
    keys, bounds = series_bounds(frame, id_col)
    for key, (begin, end) in zip(keys, bounds, strict=True):
        if end - begin < lookback:
            label = "" if key is None else f" of series {key!r}"
            raise DataError(
                f"predict needs at least lookback = {lookback} rows{label}, got {end - begin}"
            )
    positions = np.concatenate([np.arange(end - lookback, end) for _, end in bounds])
    recent = frame.iloc[positions]
    needed = list(dict.fromkeys([*schema["inputs"], *data.known_future]))
    gaps = recent[needed].isna().any(axis=1).to_numpy()
    if gaps.any():
        raise DataError(
            f"predict's input rows must be complete; row {recent.index[gaps.argmax()]}"
            + ("" if id_col is None else f" of series {recent[id_col].iloc[gaps.argmax()]!r}")
            + " has a missing value"
        )
    stamps = [horizon_index(frame.index[end - 1], horizon, schema["freq"]) for _, end in bounds]
    block = _block(model, recent, keys, stamps, future)
    raw, center, scale = forecast_block(model, block, keys)
    targets = schema["targets"]
    index = stamps[0].append(stamps[1:]) if len(stamps) > 1 else stamps[0]
    if samples is not None:
        draws = intervals.sample(model, raw, center, scale, samples, seed)  # (N, S, H, T)
        draws = floor(model, draws, 0.0)
        repeated = index[np.tile(np.arange(len(index)), samples)]
        out = pd.DataFrame(draws.reshape(-1, len(targets)), index=repeated, columns=targets)
        out.insert(0, "sample", np.repeat(np.arange(samples), len(index)))
    else:
        point, found, values = intervals.forecast(model, raw, center, scale)
        out = pd.DataFrame(point.reshape(-1, len(targets)), index=index, columns=targets)
        for t, target in enumerate(targets):
            for i, level in enumerate(found):
                out[intervals.column(target, level)] = values[..., t, i].reshape(-1)
    if id_col is None:
        return out
    reps = len(out) // (len(keys) * horizon)
    out.insert(0, id_col, np.tile(np.repeat(np.asarray(keys, dtype=object), horizon), reps))
    out.attrs.update(id_col=id_col, freq=schema["freq"])
    return out


def _block(model, recent, keys, stamps, future):
    """Each series' last `lookback` rows and its `horizon` future rows, series by series."""
    data, schema = model.data, model.schema_
    id_col = schema.get("id_col")
    lookback, horizon = data.lookback, data.horizon
    kept = list(
        dict.fromkeys([*schema["inputs"], *schema["targets"], *data.known_future, *data.static])
    )
    history = recent[kept]
    rows = stamps[0].append(stamps[1:]) if len(stamps) > 1 else stamps[0]
    ahead = pd.DataFrame(0.0, index=rows, columns=kept)  # unknown future targets: never read
    for name in data.static:  # a series' statics hold over its horizon too
        ahead[name] = np.repeat(history[name].to_numpy()[lookback - 1 :: lookback], horizon)
    if data.known_future:
        ahead[list(data.known_future)] = _future_rows(model, future, keys, stamps)
    history = history.astype({c: "float64" for c in kept if c not in data.static})
    if id_col is not None:
        history.insert(0, id_col, recent[id_col].to_numpy())
        ahead.insert(0, id_col, np.repeat(np.asarray(keys, dtype=object), horizon))
    block = pd.concat([history, ahead])
    series = np.r_[
        np.repeat(np.arange(len(keys)), lookback), np.repeat(np.arange(len(keys)), horizon)
    ]
    order = np.argsort(series, kind="stable")  # each series' history, then its horizon
    block = block.iloc[order]
    block.attrs = {"id_col": id_col}
    return block


def _future_rows(model, future, keys, stamps):
    """The known-future values over each series' horizon, `(series * horizon, known)`."""
    names = list(model.data.known_future)
    id_col = model.schema_.get("id_col")
    if future is None:
        raise DataError(
            f"known-future columns {names} need their values over the horizon: pass "
            f"future=, a DataFrame with them for the {len(stamps[0])} "
            f"{'steps' if model.schema_['freq'] is None else 'timestamps'} from {stamps[0][0]}"
            + ("" if id_col is None else f", and {id_col!r} naming each row's series")
        )
    absent = [c for c in names if c not in future.columns]
    if absent:
        raise DataError(f"future has no known-future column {absent[0]!r}")
    # Each series' rows looked up once, not a pass over `future` per series.
    by_series = None if id_col is None else dict(iter(future.groupby(id_col, sort=False)))
    parts = []
    for key, index in zip(keys, stamps, strict=True):
        rows = future if id_col is None else by_series.get(key, future.iloc[:0])
        missing = index.difference(rows.index)
        if len(missing):
            label = "" if key is None else f" of series {key!r}"
            raise DataError(
                f"future has no row for {missing[0]}{label}; it must cover {len(index)} steps"
            )
        parts.append(rows.loc[index, names].to_numpy(dtype="float64"))
    return np.concatenate(parts)


def forecast_block(model, block, keys):
    """Forecasts from a block of `lookback + horizon` rows per series.

    Returns:
        `(raw, center, scale)`: the model's scaled output, `(series, horizon, targets)`
        (and a last axis of channels for a probabilistic network), and each series'
        target statistics `(series, 1, targets)` (`intervals.forecast` takes them).
    """
    data, schema = model.data, model.schema_
    spec = model.window_spec(stride=data.lookback + data.horizon)
    scaled = encoding(model).encode(model.scaler_.transform(block))
    windows = make_windows(scaled, spec, id_col=schema.get("id_col"))
    x, _ = windows.numpy()
    center, scale = target_statistics(model, keys)
    return model._forecast(x), center[:, None], scale[:, None]


def target_statistics(model, keys):
    """`(center, scale)` of the targets for the series `keys`, `(len(keys), targets)`."""
    return model.scaler_.series_statistics(keys, model.schema_["targets"])


def floor(model, values, bound):
    """`values` kept at or above `bound` when the targets are non-negative."""
    if model.schema_.get("nonnegative"):
        return np.maximum(values, bound)
    return values


def scored_windows(model, frame, static=None):
    """`(y, raw, series, (center, scale))` of every window of `frame` (stride 1).

    `y` is scaled, `(windows, horizon, targets)`; `y * scale + center` gives the original
    units. `raw` is the model's scaled output (`forecast_block`'s). `series` is each
    window's position in `model.schema_["series"]`.
    """
    schema = model.schema_
    id_col = schema.get("id_col")
    frame = statics.attach(model.check_frame(frame), static, model.data.static, id_col)
    scaled = encoding(model).encode(model.scaler_.transform(frame))
    windows = make_windows(scaled, model.window_spec(stride=1), id_col=id_col)
    x, y = windows.numpy()
    center, scale = target_statistics(model, windows.keys)
    series = windows.series
    center, scale = center[series][:, None], scale[series][:, None]  # (windows, 1, targets)
    fitted = {key: i for i, key in enumerate(schema.get("series", [None]))}
    positions = np.array([fitted[key] for key in windows.keys])[series]
    return y, model._forecast(x), positions, (center, scale)


def evaluate(model, frame, static=None):
    """`BaseForecaster.evaluate`: every window's scores, pooled, original units and scaled.

    A forecaster with quantiles (its own or calibrated) adds their scores
    (`intervals.scores`) in the original units.
    """
    y, raw, positions, (center, scale) = scored_windows(model, frame, static)
    forecast, found, values = intervals.forecast(model, raw, center, scale)
    schema = model.schema_
    raw_scale = np.asarray(schema["mase_scale"], np.float64)
    scaled_scale = np.asarray(schema["scaled_mase_scale"], np.float64)
    if schema.get("id_col") is not None:  # one row per fitted series
        raw_scale, scaled_scale = raw_scale[positions][:, None], scaled_scale[positions][:, None]
    actual = y * scale + center
    scores = metrics.scores(actual, forecast, raw_scale)
    scaled = metrics.scores(y, (forecast - center) / scale, scaled_scale)
    result = {**scores, **{f"scaled_{k}": v for k, v in scaled.items()}, "windows": len(y)}
    result.update(probabilistic.quantile_scores(actual, values, found, raw_scale))
    if schema.get("id_col") is not None:
        result["series"] = len(np.unique(positions))
    return result


def evaluate_series(model, frame, static=None):
    """Scores per series: a DataFrame indexed by series id, a column per metric."""
    y, raw, positions, (center, scale) = scored_windows(model, frame, static)
    actual = y * scale + center
    forecast, found, values = intervals.forecast(model, raw, center, scale)
    schema = model.schema_
    raw_scale = np.asarray(schema["mase_scale"], np.float64)
    if schema.get("id_col") is None:
        raw_scale = raw_scale[None]
    rows = {}
    for position in np.unique(positions):
        mine = positions == position
        rows[schema["series"][position]] = {
            **metrics.scores(actual[mine], forecast[mine], raw_scale[position]),
            **probabilistic.quantile_scores(actual[mine], values[mine], found, raw_scale[position]),
            "windows": int(mine.sum()),
        }
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = schema.get("id_col") or "series"
    return table


def plot(model, frame, actual, future, path, history_steps, series):
    """`BaseForecaster.plot`: the forecast after `frame`, its intervals shaded."""
    from forecaster.evaluation.plotting import plot_forecast  # matplotlib only when plotting

    id_col = model.schema_.get("id_col")
    title = type(model).__name__
    if id_col is not None:
        if series is None:
            raise DataError(
                f"this model forecasts many series; pass series= naming the one to plot "
                f"(a value of {id_col!r})"
            )
        frame, actual, future = (
            None if part is None else part[part[id_col] == series]
            for part in (frame, actual, future)
        )
        if frame.empty:
            raise DataError(f"series {series!r} is not in the frame")
        title = f"{title}: {series}"
    forecast = model.predict(frame, future=future)
    targets = model.schema_["targets"]
    steps = history_steps or 3 * model.data.horizon
    history = frame[targets].iloc[-steps:]
    if actual is not None:
        actual = actual[targets]
    bands = {
        target: [
            (
                forecast[intervals.column(target, low)],
                forecast[intervals.column(target, high)],
                f"{probabilistic.interval_name(low)}% interval",
            )
            for low, high in probabilistic.central_pairs(intervals.levels(model))
        ]
        for target in targets
    }
    return plot_forecast(history, forecast[targets], actual, path=path, title=title, bands=bands)


def held_out(model, frame):
    """The validation part `fit` holds out of `frame`, where a model is calibrated.

    The last `val_fraction` of each series, led by `lookback` rows of context.
    """
    _, part = holdout(model.data, frame, None, id_col=model.schema_.get("id_col"))
    return part
