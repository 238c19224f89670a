"""Windows of (lookback inputs, horizon targets) over one series or many, without copies.

A `Windows` object keeps each input column once, as a float32 array `(time, features)`,
plus the start row of every window. NumPy output is a strided view of those arrays
(`numpy.lib.stride_tricks.sliding_window_view`) whenever the starts are evenly spaced, as
they always are in wide format; `Windows.dataset` gathers each batch on the fly from the
start indices. No window ever spans two series.

Window ``i`` starting at row ``s`` has inputs (and past covariates) at rows
``[s, s + lookback)``, targets at ``[s + lookback, s + lookback + horizon)``, and known-future
covariates over both, ``[s, s + lookback + horizon)``.
"""

import dataclasses

import numpy as np

from forecaster import checks
from forecaster.data.batches import (
    batch_gather,
    finite_floats,
    future_columns,
    window_values,
    window_x,
)
from forecaster.data.calendar import check_features
from forecaster.data.errors import DataError


@dataclasses.dataclass(frozen=True)
class WindowSpec:
    """What a window holds.

    Attributes:
        lookback: input steps per window.
        horizon: target steps per window.
        stride: rows between the starts of consecutive windows.
        inputs: the past input columns (targets' history and past-only covariates);
            None: every column except the id, known-future and static columns.
        targets: the columns to forecast; None: the same as `inputs`.
        known_future: columns known in advance, given over lookback and horizon.
        calendar: calendar features made from the timestamps, known in advance: some of
            "hour", "day_of_week", "day_of_year", "month" (each a sin/cos pair).
        static: per-series constant columns, given once per window.
    """

    lookback: int
    horizon: int
    stride: int = 1
    inputs: tuple | None = None
    targets: tuple | None = None
    known_future: tuple = ()
    calendar: tuple = ()
    static: tuple = ()

    def __post_init__(self):
        """Checks the sizes and turns column lists into tuples, so the spec stays hashable."""
        for field in ("lookback", "horizon", "stride"):
            checks.positive_int(field, getattr(self, field))
        for field in ("inputs", "targets", "known_future", "static"):
            object.__setattr__(self, field, checks.column_names(field, getattr(self, field)))
        object.__setattr__(self, "calendar", check_features(self.calendar))

    @property
    def covariates(self):
        """Whether windows carry more than past inputs (then `x` is a dict)."""
        return bool(self.known_future or self.calendar or self.static)


def describe(windows, heading):
    """A window set's `repr`: `heading`, then the first and last window's rows and the columns.

    For any object with `spec`, `starts` and the four column lists (`Windows`,
    `forecaster.data.StreamWindows`).
    """
    spec, first, last = windows.spec, windows.starts[0], windows.starts[-1]
    lookback, horizon = spec.lookback, spec.horizon
    lines = [
        f"{heading}, lookback={lookback}, horizon={horizon}, stride={spec.stride})",
        f"  input rows: [{first}, {first + lookback}) ... [{last}, {last + lookback})",
        f"  label rows: [{first + lookback}, {first + lookback + horizon}) ... "
        f"[{last + lookback}, {last + lookback + horizon})",
        f"  input columns: {windows.input_columns}",
        f"  label columns: {windows.target_columns}",
    ]
    if windows.future_columns:
        lines.append(f"  known-future columns: {windows.future_columns}")
    if windows.static_columns:
        lines.append(f"  static columns: {windows.static_columns}")
    return "\n".join(lines)


class Windows:
    """The windows of one frame; build it with `make_windows`.

    Attributes:
        spec: the `WindowSpec`.
        starts: the first input row of each window, `(windows,)`.
        input_columns, target_columns, future_columns, static_columns: the feature names.
    """

    def __init__(self, spec, arrays, columns, starts, series, keys):
        self.spec = spec
        self._past, self._target, self._future, self._static = arrays
        self.input_columns, self.target_columns, self.future_columns, self.static_columns = columns
        self.starts = starts
        self._series = series  # the series number of each window, `(windows,)`
        self._keys = keys

    def __len__(self):
        """The number of windows."""
        return len(self.starts)

    def __repr__(self):
        """Shows the input and label row ranges of the first and last window."""
        return describe(self, f"Windows({len(self)} windows over {len(self._keys)} series")

    @property
    def series(self):
        """The series number of each window, `(windows,)`: a position in `keys`."""
        return self._series

    @property
    def keys(self):
        """The series ids in the frame's order ([None] in wide format)."""
        return list(self._keys)

    @property
    def inputs(self):
        """Input windows `(windows, lookback, inputs)`, a view when starts are evenly spaced."""
        return self._windows(self._past, 0, self.spec.lookback)

    @property
    def labels(self):
        """Target windows `(windows, horizon, targets)`, likewise a view where possible."""
        return self._windows(self._target, self.spec.lookback, self.spec.horizon)

    @property
    def future(self):
        """Known-future windows `(windows, lookback + horizon, known)`, or None."""
        if self._future is None:
            return None
        return self._windows(self._future, 0, self.spec.lookback + self.spec.horizon)

    @property
    def static(self):
        """Static values `(windows, static)`, or None."""
        return None if self._static is None else self._static[self._series]

    def numpy(self):
        """Returns `(x, y)`: `x` the inputs, or a dict of "past", "future", "static" arrays."""
        return window_x(self.spec, self.inputs, self.future, self.static), self.labels

    def batches(self, size):
        """Yields `numpy`'s `(x, y)` in order, `size` windows at a time (the last fewer)."""
        x, y = self.numpy()
        for begin in range(0, len(y), size):
            part = slice(begin, begin + size)
            yield ({k: v[part] for k, v in x.items()} if isinstance(x, dict) else x[part]), y[part]

    def _windows(self, array, offset, length):
        # (time, F) -> (time - length + 1, F, length) -> (time - length + 1, length, F)
        view = np.lib.stride_tricks.sliding_window_view(array, length, axis=0)
        view = view.transpose(0, 2, 1)
        starts = self.starts + offset
        steps = np.diff(starts)
        if len(starts) > 1 and (steps == steps[0]).all():
            return view[starts[0] : starts[-1] + 1 : steps[0]]
        return view[starts]

    def dataset(self, batch_size=32, *, training=False, seed=None):
        """Returns a batched, prefetching `tf.data.Dataset` of `(x, y)` built per batch.

        Args:
            batch_size: windows per batch; the last batch may be smaller.
            training: whether to shuffle the windows (anew each epoch); only for training.
            seed: the shuffle seed.

        Returns:
            A dataset of `(x, y)`: `x` `(batch, lookback, inputs)` (or a dict as in
            `numpy`), `y` `(batch, horizon, targets)`, float32.
        """
        import tensorflow as tf  # imported here: reading and scaling do not need it

        checks.positive_int("batch_size", batch_size)
        gather = batch_gather(self.spec, self._past, self._target, self._future, self._static)
        data = tf.data.Dataset.from_tensor_slices((self.starts, self._series))
        if training:
            data = data.shuffle(len(self), seed=seed, reshuffle_each_iteration=True)
        data = data.batch(batch_size).map(gather, num_parallel_calls=tf.data.AUTOTUNE)
        return data.prefetch(tf.data.AUTOTUNE)


def make_windows(frame, spec, *, id_col=None):
    """Cuts a frame into windows as `spec` says; in long format, series by series.

    Args:
        frame: a regular DataFrame on a DatetimeIndex, e.g. a part of a `Split`.
        spec: a `WindowSpec`.
        id_col: in long format, the series column; None: ``frame.attrs["id_col"]``.

    Returns:
        A `Windows`.

    Raises:
        DataError: a named column is missing, not numeric or has NaNs, a static column
            varies within a series, or a series has fewer than lookback + horizon rows.

    Example:
        >>> windows = make_windows(frame, WindowSpec(lookback=336, horizon=96))
        >>> x, y = windows.numpy()  # (windows, 336, 7), (windows, 96, 7)
    """
    if not isinstance(spec, WindowSpec):
        raise ValueError(f"spec must be a WindowSpec, got {type(spec).__name__}")
    id_col = frame.attrs.get("id_col") if id_col is None else id_col
    inputs, targets = resolve_columns(spec, frame.columns, id_col)
    keys, bounds = series_bounds(frame, id_col)
    needed = spec.lookback + spec.horizon
    for key, (begin, end) in zip(keys, bounds, strict=True):
        if end - begin < needed:
            label = "the frame" if key is None else f"series {key!r}"
            raise DataError(
                f"{label} has {end - begin} rows, fewer than lookback + horizon = {needed}"
            )
    starts = [np.arange(b, e - needed + 1, spec.stride) for b, e in bounds]
    series = np.concatenate([np.full(len(s), i) for i, s in enumerate(starts)])
    past, target, future = window_values(frame, spec, inputs, targets)
    static = _static(frame, spec.static, keys, bounds) if spec.static else None
    columns = (list(inputs), list(targets), future_columns(spec), list(spec.static))
    return Windows(
        spec, (past, target, future, static), columns, np.concatenate(starts), series, keys
    )


def resolve_columns(spec, columns, id_col=None, where="frame"):
    """The input and target columns of a `WindowSpec` over a frame's or source's columns.

    Args:
        spec: the `WindowSpec`; its `inputs` None means every column except `id_col`,
            the known-future and the static ones, its `targets` None means the inputs.
        columns: the column names there are.
        id_col: in long format, the series column; None: none.
        where: what holds the columns, for the messages: "frame", "source".

    Returns:
        `(inputs, targets)`, tuples of column names.

    Raises:
        DataError: a column the spec names (or `id_col`) is not among `columns`, or no
            column is left for the inputs.

    Example:
        >>> resolve_columns(WindowSpec(4, 2, known_future=["hol"]), ["a", "b", "hol"])
        (('a', 'b'), ('a', 'b'))
    """
    columns = list(columns)
    reserved = {id_col, *spec.known_future, *spec.static}
    inputs = tuple(spec.inputs or (c for c in columns if c not in reserved))
    targets = tuple(spec.targets or inputs)
    for role, names in (
        ("id", () if id_col is None else (id_col,)),
        ("input", inputs),
        ("target", targets),
        ("known-future", spec.known_future),
        ("static", spec.static),
    ):
        absent = [n for n in names if n not in columns]
        if absent:
            raise DataError(
                f"{role} column {absent[0]!r} is not in the {where}; columns are {columns}"
            )
    if not inputs:
        raise DataError(f"the {where} has no input columns; columns are {columns}")
    return inputs, targets


def series_bounds(frame, id_col):
    """The series ids in the frame's order ([None] when wide) and their rows `[begin, end)`.

    Raises:
        DataError: a series' rows are not contiguous, naming the series.
    """
    if id_col is None:
        return [None], [(0, len(frame))]
    ids = frame[id_col].to_numpy()
    change = np.flatnonzero(ids[1:] != ids[:-1]) + 1
    begins, ends = np.r_[0, change], np.r_[change, len(ids)]
    keys = [key.item() if isinstance(key, np.generic) else key for key in ids[begins]]
    seen = set()
    for key in keys:
        if key in seen:
            raise DataError(
                f"the rows of series {key!r} are not contiguous; sort the frame by {id_col!r}"
            )
        seen.add(key)
    return keys, list(zip(begins.tolist(), ends.tolist(), strict=True))


def _static(frame, names, keys, bounds):
    values = finite_floats(frame, names)
    firsts = np.array([begin for begin, _ in bounds])
    lengths = np.array([end - begin for begin, end in bounds])
    varies = values != np.repeat(values[firsts], lengths, axis=0)  # each row vs its first
    if varies.any():
        row, column = np.argwhere(varies)[0]
        key = keys[np.searchsorted(firsts, row, side="right") - 1]
        label = "the frame" if key is None else f"series {key!r}"
        raise DataError(f"static column {names[column]!r} varies within {label}")
    return values[firsts]
