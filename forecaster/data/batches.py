"""What in-memory and streamed windows share: the checked value arrays and the batch gather.

`make_windows` turns a whole frame into arrays with `window_values`, `StreamWindows` each
chunk of a stream; both datasets cut their batches with `batch_gather`. So a frame and a
stream of the same rows give the same arrays, the same errors and the same batches.

Window ``i`` starting at row ``s`` has inputs (and past covariates) at rows
``[s, s + lookback)``, targets at ``[s + lookback, s + lookback + horizon)``, and known-future
covariates over both, ``[s, s + lookback + horizon)``.
"""

import numpy as np
import pandas as pd

from forecaster.data.calendar import calendar_features
from forecaster.data.errors import DataError


def finite_floats(frame, columns, *, first_row=0):
    """The columns of a frame as one float32 array, checked to hold finite numbers.

    Args:
        frame: a DataFrame: a whole part, or one chunk of a stream.
        columns: the column names.
        first_row: the position of the frame's first row within the part it comes from,
            so that a chunk names a bad row as the whole part would.

    Returns:
        A float32 array `(rows, columns)`, each row contiguous.

    Raises:
        DataError: a column is not numeric, or holds NaN or infinite values once in
            float32 (a float64 beyond float32's range counts as infinite); the message
            names the column, how many such values it has and the position of the first.

    Example:
        >>> finite_floats(pd.DataFrame({"a": [1.0, 2.0], "b": [3, 4]}), ["b", "a"])
        array([[3., 1.],
               [4., 2.]], dtype=float32)
    """
    columns = list(columns)
    values = frame[columns]
    for column in columns:
        if not pd.api.types.is_numeric_dtype(values[column].dtype):
            raise DataError(f"column {column!r} is not numeric (dtype {values[column].dtype})")
    with np.errstate(over="ignore"):  # beyond float32's range becomes inf, named below
        array = np.ascontiguousarray(values.to_numpy(dtype="float32"))
    bad = ~np.isfinite(array)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise DataError(
            f"column {columns[col]!r} has {bad[:, col].sum()} NaN or infinite values "
            f"(first at position {first_row + row}); windows need finite numbers"
        )
    return array


def future_columns(spec):
    """The names of the known-future features of a `WindowSpec`: its columns, then calendar's."""
    calendar = calendar_features(pd.DatetimeIndex([]), spec.calendar).columns
    return list(spec.known_future) + list(calendar)


def window_values(frame, spec, inputs, targets, *, first_row=0):
    """The arrays windows are cut from, made from a frame's rows.

    Args:
        frame: a DataFrame on a DatetimeIndex: a whole part, or one chunk of a stream.
        spec: the `WindowSpec`, for its known-future columns and calendar features.
        inputs: the past input columns.
        targets: the target columns.
        first_row: the position of the frame's first row within its part (for errors).

    Returns:
        `(past, target, future)`: float32 arrays `(rows, inputs)`, `(rows, targets)` and
        `(rows, len(future_columns(spec)))` (None without known-future features); `target`
        is `past` itself when the targets are the inputs.

    Raises:
        DataError: as `finite_floats`, for any of the columns.
    """
    parts = []
    if spec.known_future:
        parts.append(finite_floats(frame, spec.known_future, first_row=first_row))
    if spec.calendar:
        parts.append(calendar_features(frame.index, spec.calendar).to_numpy())
    future = np.concatenate(parts, axis=1) if parts else None
    past = finite_floats(frame, inputs, first_row=first_row)
    # Targets that are the inputs share their memory: one array, two sets of windows.
    same = tuple(targets) == tuple(inputs)
    target = past if same else finite_floats(frame, targets, first_row=first_row)
    return past, target, future


def window_x(spec, past, future=None, static=None):
    """A model's input: `past` alone, or a dict of "past", "future" and "static" if given.

    Args:
        spec: the `WindowSpec`; without covariates the input is `past` alone.
        past: the input windows `(windows, lookback, inputs)`.
        future: the known-future windows `(windows, lookback + horizon, known)`, or None.
        static: the static values `(windows, static)`, or None.

    Returns:
        `past`, or the dict.
    """
    if not spec.covariates:
        return past
    x = {"past": past}
    if future is not None:
        x["future"] = future
    if static is not None:
        x["static"] = static
    return x


def batch_gather(spec, past, target, future=None, static=None):
    """Returns the function that cuts a batch of windows from the arrays, in TensorFlow.

    Args:
        spec: the `WindowSpec`, for lookback and horizon.
        past: the inputs `(rows, inputs)`, an array or a tensor.
        target: the targets `(rows, targets)`; `past` itself shares its tensor.
        future: the known-future values `(rows, known)`, or None.
        static: the static values of each series `(series, static)`, or None.

    Returns:
        `gather(starts, series=None) -> (x, y)`: for the windows' first rows `(batch,)`
        (and their series numbers, with static values), `x` as `window_x` gives it, of
        `(batch, lookback, inputs)` and `(batch, lookback + horizon, known)` tensors, and
        `y` `(batch, horizon, targets)`.

    Example:
        >>> gather = batch_gather(WindowSpec(4, 2), values, values)
        >>> x, y = gather(tf.constant([0, 3]))  # (2, 4, F), (2, 2, F)
    """
    import tensorflow as tf  # imported here: reading and scaling do not need it

    lookback, horizon = spec.lookback, spec.horizon
    past_tensor = tf.convert_to_tensor(past)
    target = past_tensor if target is past else tf.convert_to_tensor(target)
    future = None if future is None else tf.convert_to_tensor(future)
    static = None if static is None else tf.convert_to_tensor(static)
    past_steps = tf.range(lookback, dtype=tf.int64)
    label_steps = tf.range(lookback, lookback + horizon, dtype=tf.int64)
    all_steps = tf.range(lookback + horizon, dtype=tf.int64)

    def gather(starts, series=None):
        rows = tf.cast(starts, tf.int64)[:, None]  # (B,) -> (B, 1), broadcast on the steps
        x_past = tf.gather(past_tensor, rows + past_steps)  # (B, lookback, inputs)
        y = tf.gather(target, rows + label_steps)  # (B, horizon, targets)
        x_future = None if future is None else tf.gather(future, rows + all_steps)
        x_static = None if static is None or series is None else tf.gather(static, series)
        return window_x(spec, x_past, x_future, x_static), y

    return gather
