"""Fit preparation: a frame or a stream into the scaler, the schema and the windows.

What every fit shares, below every forecaster: the input and target columns after their
defaults, the holdout (the last `val_fraction` of the rows led by `lookback` rows of
context, or a fixed validation part), the scaler fitted on the training rows alone, the
schema that predict, evaluate and save read, and the training and validation windows.
`prepare` does it for a frame in memory and `prepare_stream` for a `Source` read chunk by
chunk, in one pass over the training rows; on the same rows the two give the same result.

>>> prepared = prepare(DataConfig(lookback=24, horizon=6, targets=("OT",)), frame)
>>> prepared.scaler.transform(frame)  # fitted on the training rows only
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
    split,
    split_stream,
    stream_scaler,
    stream_windows,
)
from forecaster.data.timestamps import season_length, to_offset
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
    """Returns `frame` if it is one wide series on a DatetimeIndex, else raises `DataError`."""
    if not isinstance(frame, pd.DataFrame) or not isinstance(frame.index, pd.DatetimeIndex):
        raise DataError(
            f"expected a DataFrame on a DatetimeIndex (as from forecaster.read_csv), "
            f"got {type(frame).__name__}"
            + ("" if not isinstance(frame, pd.DataFrame) else " without one")
        )
    if frame.attrs.get("id_col") is not None:
        raise DataError(
            f"the frame is in long format (id_col={frame.attrs['id_col']!r}); forecasters "
            "fit one wide series: select one series, e.g. frame[frame[id_col] == key]"
        )
    return frame


def holdout(data, frame, val=None, *, hold_out=True):
    """The training part of `frame` and the validation part, each checked for a window.

    Args:
        data: a `DataConfig`.
        frame: the series, checked by `check_frame`.
        val: a fixed validation part led by `lookback` rows of context; None: hold out
            the last `val_fraction` of `frame` (led by `lookback` rows of context).
        hold_out: with no `val`, whether to hold out anything; False trains on every row
            and gives no validation part.

    Returns:
        `(train, val)`: DataFrames, `val` None when nothing is held out.
    """
    rows_needed = data.lookback + data.horizon
    if val is not None:
        val = check_frame(val)
        if len(val) < rows_needed:
            raise DataError(
                f"the validation part has {len(val)} rows, fewer than lookback + horizon "
                f"= {rows_needed} needed for one window"
            )
        return frame, val
    if not hold_out:
        return frame, None
    fraction = data.val_fraction
    parts = split(frame, 1 - fraction, fraction, 0.0, lookback=data.lookback)
    for name, part in (("training", parts.train), ("validation", parts.val)):
        if len(part) < rows_needed:
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


def prepare(data, frame, val=None, *, hold_out=True, window_spec=None):
    """Scaler, schema and windows for fitting on a frame.

    Args:
        data: a `DataConfig`.
        frame: a wide DataFrame on a DatetimeIndex, as from `forecaster.read_csv`.
        val: a fixed validation part (see `holdout`); None: hold out the last
            `val_fraction` of `frame`, if `hold_out`.
        hold_out: see `holdout`.
        window_spec: `window_spec(inputs, targets)` gives the training `WindowSpec`;
            None: `data.window_spec` with those columns.

    Returns:
        A `Prepared`.

    Raises:
        DataError: the frame is not one wide series, lacks a configured column, or a
            part is shorter than one window.
    """
    frame = check_frame(frame)
    inputs, targets = resolve_columns(data.window_spec(), frame.columns)
    rows_needed = data.lookback + data.horizon
    if len(frame) < rows_needed:
        raise DataError(
            f"the frame has {len(frame)} rows, fewer than lookback + horizon = "
            f"{rows_needed} needed for one window"
        )
    train_part, val_part = holdout(data, frame, val, hold_out=hold_out)
    scaled_columns = list(dict.fromkeys([*inputs, *targets, *data.known_future]))
    scaler = Scaler(data.scaler).fit(train_part, columns=scaled_columns)
    scaled_train = scaler.transform(train_part)
    freq = frame.attrs.get("freq") or frame.index.freq
    season = data.season or season_length(freq)
    scaled_targets = scaled_train[list(targets)].to_numpy(dtype=np.float64)
    schema = _schema(inputs, targets, frame.columns, freq, frame.index[-1], season)
    schema["mase_scale"] = mase_scale(
        train_part[list(targets)].to_numpy(dtype=np.float64), season
    ).tolist()
    schema["scaled_mase_scale"] = mase_scale(scaled_targets, season).tolist()
    spec = _training_spec(data, window_spec, inputs, targets)
    train = make_windows(scaled_train, spec)
    val = None if val_part is None else make_windows(scaler.transform(val_part), spec)
    return Prepared(scaler, schema, train, val, scaled_targets.mean(axis=0))


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
        "freq": to_offset(freq).freqstr,
        "last_timestamp": last_timestamp.isoformat(),
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

    def update(self, chunk):
        """Adds a chunk's values and seasonal differences, its first rows against the tail."""
        values = chunk[self.targets].to_numpy(dtype=np.float64)
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
