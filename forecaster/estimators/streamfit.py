"""`BaseForecaster.fit_stream`: fitting on a `Source` read chunk by chunk, as `fit` on a frame.

The scaler and the schema (columns, frequency, last timestamp, MASE scales) come from one
pass over the training rows; the windows are `forecaster.data.StreamWindows`, which the
subclass's `_fit_windows` reads through `dataset` as it reads in-memory `Windows`.
"""

import numpy as np

from forecaster.data import DataError, Source, split_stream, stream_scaler, stream_windows
from forecaster.data.timestamps import season_length, to_offset


def fit_stream(estimator, source, val, shuffle_buffer):
    """Fits `estimator` on `source`; see `BaseForecaster.fit_stream`."""
    if not estimator.fits_streams:
        raise TypeError(
            f"{type(estimator).__name__} fits from every window in memory and cannot fit on "
            "a stream; use fit(read_csv(...)), or a Forecaster"
        )
    for name, part in (("source", source), ("val", val)):
        if not isinstance(part, Source) and (part is not None or name == "source"):
            raise TypeError(
                f"{name} must be a Source from forecaster.open_source, got {type(part).__name__}"
            )
    data = estimator.data
    inputs, targets = estimator._columns(source)
    train_part, val_part = _holdout(data, source, val)
    scaled_columns = list(dict.fromkeys([*inputs, *targets, *data.known_future]))
    season = data.season or season_length(source.freq)
    errors = _SeasonalErrors(list(targets), season if len(train_part) > season else 1)
    scaler = stream_scaler(train_part, data.scaler, scaled_columns, each_chunk=errors.update)
    last = errors.last
    for chunk in val_part.chunks():  # checks every validation row before training
        last = chunk.index[-1] if val is None else last
    scale = scaler.statistics()[1][[scaled_columns.index(t) for t in targets]]
    estimator.scaler = scaler
    estimator.schema = {
        "inputs": list(inputs),
        "targets": list(targets),
        "columns": list(source.columns),
        "freq": to_offset(source.freq).freqstr,
        "last_timestamp": last.isoformat(),
        "season": season,
        "mase_scale": errors.scale().tolist(),
        # The scalers are affine per column, so scaled differences are the raw ones / scale.
        "scaled_mase_scale": (errors.scale() / scale).tolist(),
    }
    spec = estimator._training_spec(inputs, targets)
    train = stream_windows(train_part, spec, scaler, shuffle_buffer=shuffle_buffer)
    return estimator._fit_windows(train, stream_windows(val_part, spec, scaler), None)


def _holdout(data, source, val):
    """`BaseForecaster._holdout` for a `Source`: the training and validation parts, checked."""
    rows_needed = data.lookback + data.horizon
    if val is not None:
        parts = {"training": source, "validation": val}
    else:
        fraction = data.val_fraction
        split = split_stream(source, 1 - fraction, fraction, 0.0, lookback=data.lookback)
        parts = {"training": split.train, "validation": split.val}
    for name, part in parts.items():
        if len(part) < rows_needed:
            raise DataError(
                f"the {name} part has {len(part)} rows, fewer than lookback + horizon = "
                f"{rows_needed} needed for one window"
            )
    return parts["training"], parts["validation"]


class _SeasonalErrors:
    """`estimator._mase_scale` gathered chunk by chunk: the mean of |y[t] - y[t - season]|."""

    def __init__(self, targets, season):
        self.targets, self.season = targets, season
        self.tail = None  # the last `season` rows seen, `(season, targets)`
        self.total, self.count, self.last = 0.0, 0, None

    def update(self, chunk):
        """Adds a chunk's seasonal differences, its first rows taken against the tail."""
        values = chunk[self.targets].to_numpy(dtype=np.float64)
        if self.tail is not None:
            values = np.concatenate([self.tail, values])
        self.total = self.total + np.abs(values[self.season :] - values[: -self.season]).sum(0)
        self.count += max(len(values) - self.season, 0)
        self.tail, self.last = values[-self.season :], chunk.index[-1]

    def scale(self):
        """The per-target in-sample seasonal-naive MAE."""
        return self.total / self.count
