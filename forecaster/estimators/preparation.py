"""Fit preparation: a frame or a stream into the scaler, the schema and the windows.

What every fit shares, below every forecaster: the input and target columns after their
defaults, the holdout (the last `val_fraction` of the rows led by `lookback` rows of
context, or a fixed validation part), the scaler fitted on the training rows alone, the
schema that predict, evaluate and save read, and the training and validation windows.
`prepare` does it for a frame in memory and `prepare_stream` for a `Source` read chunk by
chunk, in one pass over the training rows; on the same rows the two give the same result.

>>> prepared = prepare(DataConfig(lookback=24, horizon=6, targets=("OT",)), frame)
>>> prepared.schema["season"], len(prepared.train), len(prepared.val)
"""

import dataclasses

import numpy as np
import pandas as pd

from forecaster.data import (
    DataError,
    Scaler,
    Source,
    make_windows,
    resolve_columns,
    series_bounds,
    split,
    split_stream,
    stream_scaler,
    stream_windows,
)
from forecaster.data.timestamps import infer_frequency, season_length, to_offset
from forecaster.estimators import statics
from forecaster.evaluation import metrics


@dataclasses.dataclass(frozen=True)
class Prepared:
    """What a fit starts from, on the scaled values.

    Attributes:
        scaler: the `Scaler` fitted on the training rows.
        schema: what predict, evaluate and save read: "inputs", "targets", "columns",
            "freq", "last_timestamp", "season", "mase_scale" and "scaled_mase_scale"
            (each target's in-sample seasonal-naive MAE on the training rows, in the
            original units and scaled).
        train: the training windows, `Windows` (a frame) or `StreamWindows` (a stream).
        val: the validation windows, or None where nothing is validated on.
        target_mean: each target's mean over the scaled training rows, `(targets,)`:
            overlapping windows would weight the rows unevenly.
    """

    scaler: Scaler
    schema: dict
    train: object
    val: object
    target_mean: np.ndarray


def check_frame(frame):
    """Returns `frame` if it is a DataFrame on a DatetimeIndex or a step index, else raises.

    A step index (integers, as `read_csv(..., time_col=False)` gives a series without
    timestamps) counts steps of a regular series; a long frame (many series) repeats it,
    or the timestamps, once per series.
    """
    if not isinstance(frame, pd.DataFrame) or not (
        isinstance(frame.index, pd.DatetimeIndex) or is_step_index(frame.index)
    ):
        raise DataError(
            "expected a DataFrame on a DatetimeIndex or a step index (as from "
            f"forecaster.read_csv), got {type(frame).__name__}"
            + ("" if not isinstance(frame, pd.DataFrame) else f" on a {type(frame.index).__name__}")
        )
    return frame


def is_step_index(index):
    """Whether `index` counts steps (integers) rather than holding timestamps."""
    return not isinstance(index, pd.DatetimeIndex) and pd.api.types.is_integer_dtype(index.dtype)


def series_column(data, frame):
    """The frame's series column: `data.id_col`, else `frame.attrs["id_col"]`; None: wide.

    Raises:
        DataError: the column is not in the frame.
    """
    id_col = data.id_col or frame.attrs.get("id_col")
    if id_col is not None and id_col not in frame.columns:
        raise DataError(
            f"id column {id_col!r} is not in the frame; columns are {list(frame.columns)}"
        )
    return id_col


def frame_freq(frame, id_col):
    """The step of a frame as a pandas frequency string; None for a step index.

    Raises:
        DataError: a frame on timestamps whose step cannot be found.
    """
    if is_step_index(frame.index):
        return None
    # The index's own step first, as `attrs` outlive a resample ("h" on a daily frame);
    # the reader's word only where the stamps do not say (gaps).
    first = frame.index if id_col is None else frame.index[frame[id_col] == frame[id_col].iloc[0]]
    freq = (frame.index.freqstr if id_col is None else None) or (
        infer_frequency(first, "the frame").freqstr if len(first) >= 2 else None
    )
    freq = freq or frame.attrs.get("freq")
    if freq is None:
        raise DataError(
            "the frame's step is unknown: set frame.attrs['freq'] (e.g. 'h'), or read it "
            "with forecaster.read_csv, which sets it"
        )
    return freq


def holdout(data, frame, val=None, *, hold_out=True, id_col=None):
    """The training part of `frame` and the validation part, each checked for a window.

    Args:
        data: a `DataConfig`.
        frame: the series, checked by `check_frame`.
        val: a fixed validation part led by `lookback` rows of context; None: hold out
            the last `val_fraction` of `frame` (led by `lookback` rows of context).
        hold_out: with no `val`, whether to hold out anything; False trains on every row
            and gives no validation part.
        id_col: in long format, the series column: each series is cut on its own, and
            each must fit a window in each part (`make_windows` names one that does not).

    Returns:
        `(train, val)`: DataFrames, `val` None when nothing is held out.
    """
    rows_needed = data.lookback + data.horizon
    if val is not None:
        val = check_frame(val)
        if id_col is None and len(val) < rows_needed:
            raise DataError(
                f"the validation part has {len(val)} rows, fewer than lookback + horizon "
                f"= {rows_needed} needed for one window"
            )
        return frame, val
    if not hold_out:
        return frame, None
    fraction = data.val_fraction
    parts = split(frame, 1 - fraction, fraction, 0.0, lookback=data.lookback, id_col=id_col)
    for name, part in (("training", parts.train), ("validation", parts.val)):
        if id_col is None and len(part) < rows_needed:
            raise DataError(
                f"the {name} part has {len(part)} rows (val_fraction={fraction} of "
                f"{len(frame)}), fewer than lookback + horizon = {rows_needed}; "
                "pass a longer frame or change val_fraction"
            )
    return parts.train, parts.val


def stream_holdout(data, source, val=None, *, hold_out=True):
    """`holdout` for a `Source`: the training and validation parts, each checked."""
    rows_needed = data.lookback + data.horizon
    if val is not None:
        parts = {"training": source, "validation": val}
    elif not hold_out:
        parts = {"training": source, "validation": None}
    else:
        fraction = data.val_fraction
        split_parts = split_stream(source, 1 - fraction, fraction, 0.0, lookback=data.lookback)
        parts = {"training": split_parts.train, "validation": split_parts.val}
    for name, part in parts.items():
        if part is not None and len(part) < rows_needed:
            raise DataError(
                f"the {name} part has {len(part)} rows, fewer than lookback + horizon = "
                f"{rows_needed} needed for one window"
            )
    return parts["training"], parts["validation"]


def prepare(
    data, frame, val=None, *, hold_out=True, window_spec=None, static=None, scale_targets=True
):
    """Scaler, schema and windows for fitting on a frame: one series, or many (long format).

    In long format (`data.id_col`, or the frame's `attrs["id_col"]`) every series is
    scaled on its own training rows, windows never cross two series, and the validation
    part is the end of each series; one model then learns from all of them.

    Args:
        data: a `DataConfig`.
        frame: a wide DataFrame, or a long one with an id column, on a DatetimeIndex or a
            step index, as from `forecaster.read_csv`.
        val: a fixed validation part (see `holdout`); None: hold out the last
            `val_fraction` of `frame` (of each series), if `hold_out`.
        hold_out: see `holdout`.
        window_spec: `window_spec(inputs, targets)` gives the training `WindowSpec`;
            None: `data.window_spec` with those columns.
        static: the static columns as a frame keyed by series (`statics.attach`); None:
            they are in `frame`.
        scale_targets: False leaves the targets in their own units (counts for a
            negative binomial); the scaler then fits the other columns only.

    Returns:
        A `Prepared`.

    Raises:
        DataError: the frame lacks a configured column, a series' rows are not
            contiguous, a series or part is shorter than one window, or calendar features
            are asked of a series without timestamps.
    """
    frame = check_frame(frame)
    id_col = series_column(data, frame)
    series_bounds(frame, id_col)  # one run per series, before `split` gathers them
    frame = statics.attach(frame, static, data.static, id_col)
    statics.per_series(frame, data.static, id_col)  # held-out rows too, not just training
    if data.calendar and is_step_index(frame.index):
        raise DataError(
            f"calendar features {list(data.calendar)} need timestamps; this frame is "
            "indexed by step: drop calendar= or read the file with its time column"
        )
    resolving = dataclasses.replace(data.window_spec(), static=data.static)
    inputs, targets = resolve_columns(resolving, frame.columns, id_col)
    rows_needed = data.lookback + data.horizon
    if id_col is None and len(frame) < rows_needed:
        raise DataError(
            f"the frame has {len(frame)} rows, fewer than lookback + horizon = "
            f"{rows_needed} needed for one window"
        )
    train_part, val_part = holdout(data, frame, val, hold_out=hold_out, id_col=id_col)
    if val_part is not None:
        val_part = statics.attach(val_part, static, data.static, id_col)
        statics.per_series(val_part, data.static, id_col)
    scaled_columns = list(dict.fromkeys([*inputs, *targets, *data.known_future]))
    if not scale_targets:
        scaled_columns = [c for c in scaled_columns if c not in targets]
    kind = data.scaler if scaled_columns else "none"
    scaler = Scaler(kind).fit(train_part, columns=scaled_columns, id_col=id_col)
    encoding = statics.Statics.fit(
        train_part, data.static, id_col=id_col, series_embedding=data.series_embedding
    )
    scaled_train = encoding.encode(scaler.transform(train_part))
    freq = frame_freq(frame, id_col)
    season = data.season or (season_length(freq) if freq is not None else 1)
    raw_targets = train_part[list(targets)].to_numpy(dtype=np.float64)
    scaled_targets = scaled_train[list(targets)].to_numpy(dtype=np.float64)
    schema = _schema(inputs, targets, frame.columns, freq, frame.index.max(), season)
    schema.update(id_col=id_col, statics=encoding.to_dict())
    schema.update(nonnegative_schema(data, raw_targets))
    keys = list(scaler.scalers)
    schema["series"] = keys  # Python values, as the scaler keys them
    raw = series_mase_scales(train_part, id_col, keys, list(targets), season)
    _, spread = scaler.series_statistics(keys, list(targets))
    # The scalers are affine per column, so scaled differences are the raw ones / scale.
    scaled = raw / spread
    if id_col is None:
        raw, scaled = raw[0], scaled[0]
    schema["mase_scale"], schema["scaled_mase_scale"] = raw.tolist(), scaled.tolist()
    spec = _training_spec(data, window_spec, inputs, targets)
    spec = dataclasses.replace(spec, static=tuple(encoding.columns))
    train = make_windows(scaled_train, spec, id_col=id_col)
    val = None
    if val_part is not None:
        val = make_windows(encoding.encode(scaler.transform(val_part)), spec, id_col=id_col)
    return Prepared(scaler, schema, train, val, scaled_targets.mean(axis=0))


def nonnegative_schema(data, raw_targets):
    """The schema's "nonnegative" (declared, or detected on the training targets) and how."""
    if data.nonnegative is not None:
        return {"nonnegative": data.nonnegative, "nonnegative_detected": False}
    detected = bool(np.all(raw_targets[np.isfinite(raw_targets)] >= 0))
    return {"nonnegative": detected, "nonnegative_detected": True}


def series_mase_scales(frame, id_col, keys, targets, season):
    """Each series' in-sample seasonal-naive MAE per target, `(len(keys), targets)`."""
    values = frame[targets].to_numpy(dtype=np.float64)
    if id_col is None:
        return mase_scale(values, season)[None]
    positions = pd.Series(np.arange(len(frame))).groupby(frame[id_col].to_numpy()).indices
    return np.stack([mase_scale(values[positions[key]], season) for key in keys])


def prepare_stream(
    data, source, val=None, *, hold_out=True, shuffle_buffer=1_000_000, window_spec=None
):
    """Scaler, schema and windows for fitting on a `Source`, as `prepare` on its rows.

    One pass over the training rows fits the scaler and gathers the schema's statistics;
    it also reads the validation rows once, to check them, so a bad row is a `DataError`
    before the first epoch. The windows read the files again at each pass over them.

    Args:
        data: a `DataConfig`.
        source: a `Source` from `forecaster.open_source` (the whole series, or with `val`
            the training part).
        val: a fixed validation `Source` led by `lookback` rows of context; None: hold
            out the last `val_fraction` of `source`, if `hold_out`.
        hold_out: as for `prepare`.
        shuffle_buffer: the rows of each piece whose training windows are shuffled (see
            `forecaster.stream_windows`); 0 keeps them in order.
        window_spec: as for `prepare`.

    Returns:
        A `Prepared` whose windows are `StreamWindows`.

    Raises:
        TypeError: `source` or `val` is not a `Source`.
        ValueError: `scaler="robust"`, which one pass cannot fit.
        DataError: a row of the data is bad, or a part is shorter than one window.
    """
    _check_sources(source=source, val=val)
    if data.id_col or data.static or data.series_embedding:
        raise DataError(
            "fit_stream reads one wide series; id_col, static and series_embedding need "
            "a frame: fit(frame)"
        )
    inputs, targets = resolve_columns(data.window_spec(), source.columns, where="source")
    train_part, val_part = stream_holdout(data, source, val, hold_out=hold_out)
    scaled_columns = list(dict.fromkeys([*inputs, *targets, *data.known_future]))
    season = data.season or season_length(source.freq)
    sums = _TargetSums(list(targets), season if len(train_part) > season else 1)
    scaler = stream_scaler(train_part, data.scaler, scaled_columns, each_chunk=sums.update)
    last = sums.last
    for chunk in () if val_part is None else val_part.chunks():  # checks every row now
        last = chunk.index[-1] if val is None else last
    center, scale = scaler.statistics()
    where = [scaled_columns.index(t) for t in targets]
    schema = _schema(inputs, targets, source.columns, source.freq, last, season)
    schema.update(id_col=None, statics=statics.Statics().to_dict(), series=[None])
    schema.update(nonnegative_schema(data, np.array([sums.low])))
    schema["mase_scale"] = sums.seasonal_scale().tolist()
    # The scalers are affine per column, so scaled differences are the raw ones / scale.
    schema["scaled_mase_scale"] = (sums.seasonal_scale() / scale[where]).tolist()
    spec = _training_spec(data, window_spec, inputs, targets)
    train = stream_windows(train_part, spec, scaler, shuffle_buffer=shuffle_buffer)
    val = None if val_part is None else stream_windows(val_part, spec, scaler)
    return Prepared(scaler, schema, train, val, (sums.mean() - center[where]) / scale[where])


def mase_scale(train_targets, season):
    """Per-target in-sample seasonal-naive MAE, falling back to the naive one when short."""
    season = season if len(train_targets) > season else 1
    return metrics.seasonal_naive_scale(train_targets, season)


def _check_sources(**parts):
    for name, part in parts.items():
        if not isinstance(part, Source) and (part is not None or name == "source"):
            raise TypeError(
                f"{name} must be a Source from forecaster.open_source, got {type(part).__name__}"
            )


def _schema(inputs, targets, names, freq, last_timestamp, season):
    return {
        "inputs": list(inputs),
        "targets": list(targets),
        "columns": list(names),
        "freq": None if freq is None else to_offset(freq).freqstr,
        "last_timestamp": last_timestamp.isoformat()
        if hasattr(last_timestamp, "isoformat")
        else int(last_timestamp),
        "season": season,
    }


def _training_spec(data, window_spec, inputs, targets):
    if window_spec is None:
        return data.window_spec(inputs=inputs, targets=targets)
    return window_spec(inputs, targets)


class _TargetSums:
    """The targets' sums and seasonal differences (`mase_scale`), gathered chunk by chunk."""

    def __init__(self, targets, season):
        self.targets, self.season = targets, season
        self.tail = None  # the last `season` rows seen, `(season, targets)`
        self.total, self.count, self.last = 0.0, 0, None
        self.sum, self.rows = 0.0, 0
        self.low = np.inf  # the smallest target value seen

    def update(self, chunk):
        """Adds a chunk's values and seasonal differences, its first rows against the tail."""
        values = chunk[self.targets].to_numpy(dtype=np.float64)
        if values.size:
            self.low = min(self.low, float(np.nanmin(values)))
        self.sum, self.rows = self.sum + values.sum(axis=0), self.rows + len(values)
        if self.tail is not None:
            values = np.concatenate([self.tail, values])
        self.total = self.total + np.abs(values[self.season :] - values[: -self.season]).sum(0)
        self.count += max(len(values) - self.season, 0)
        self.tail, self.last = values[-self.season :], chunk.index[-1]

    def seasonal_scale(self):
        """The per-target in-sample seasonal-naive MAE."""
        return self.total / self.count

    def mean(self):
        """The per-target mean."""
        return self.sum / self.rows
