"""Scaling and windowing a `Source` chunk by chunk, never holding the series whole.

The steps mirror the in-memory ones (`split_stream` lives beside `split`), and give the
same results on the same rows:

>>> source = open_source("big.csv", chunk_rows=100_000)
>>> parts = split_stream(source, 0.7, 0.1, 0.2, lookback=336)  # as `split`
>>> scaler = stream_scaler(parts.train, "standard")  # as `Scaler("standard").fit`
>>> train = stream_windows(parts.train, WindowSpec(336, 96), scaler)  # as `make_windows`
>>> dataset = train.dataset(32, training=True, seed=0)

`StreamWindows` carries the last rows of each chunk into the next, so its windows are
exactly `make_windows`'s on the same rows, in the same order, whatever the chunk size. The
path is the in-memory one: the columns are resolved by `resolve_columns`, each chunk becomes
checked arrays by `window_values` and each batch is cut by `batch_gather`
(`forecaster.data.batches`).
"""

import numbers

import numpy as np

from forecaster import checks
from forecaster.data.batches import batch_gather, future_columns, window_values, window_x
from forecaster.data.errors import DataError
from forecaster.data.scaling import SCALERS, Scaler
from forecaster.data.windowing import WindowSpec, describe, resolve_columns


def stream_scaler(part, kind="standard", columns=None, *, each_chunk=None):
    """Fits a `Scaler` in one pass over a part's chunks, as `Scaler(kind).fit` on its rows.

    "standard" merges each chunk's count, mean and sum of squared deviations into the
    running ones (Chan et al.'s update, scikit-learn's ``partial_fit``); "minmax" keeps the
    running extremes. The result is the same `Scaler`, with the same JSON, as fitting the
    frame in memory, up to float rounding.

    Args:
        part: a `Source` over the training rows (e.g. `split_stream(...).train`).
        kind: "standard", "minmax" or "none"; "robust" needs quantiles, which one pass
            over a stream cannot give exactly, and is refused.
        columns: the columns to scale; None: all of the source's value columns.
        each_chunk: called with every chunk read, for other statistics gathered in the
            same pass.

    Returns:
        The fitted `Scaler`.

    Raises:
        ValueError: `kind` is "robust" or unknown, or a column is not in the source.
    """
    scaler = Scaler(kind)  # checks the kind
    if kind == "robust":
        raise ValueError(
            "scaler='robust' needs the median and quartiles of the training part, which one "
            "pass over a stream cannot give; use 'standard', 'minmax' or 'none', or fit "
            "Scaler('robust') on a frame from read_csv"
        )
    columns = list(part.columns if columns is None else columns)
    absent = [c for c in columns if c not in part.columns]
    if absent:
        raise ValueError(f"column {absent[0]!r} is not in the source; it has {list(part.columns)}")
    fitted = None if kind == "none" else SCALERS[kind]()
    for chunk in part.chunks():
        if fitted is not None:
            fitted.partial_fit(chunk[columns].to_numpy(dtype="float64"))
        if each_chunk is not None:
            each_chunk(chunk)
    if len(part) == 0:
        raise DataError("the part has no rows to fit a scaler on")
    scaler.columns, scaler.id_col, scaler.scalers = columns, None, {None: fitted}
    return scaler


def stream_windows(part, spec, scaler=None, *, shuffle_buffer=1_000_000):
    """The windows of a part of a `Source`, as `make_windows` cuts a frame, read lazily.

    Args:
        part: a `Source` (e.g. a part of `split_stream`).
        spec: a `WindowSpec` without static columns (a stream is one wide series).
        scaler: a fitted `Scaler` applied to each chunk (as `scaler.transform` to a frame
            before `make_windows`); None: the values as read.
        shuffle_buffer: for `dataset(training=True)`, the rows of each shuffled piece:
            the windows that start in each `shuffle_buffer` consecutive rows are permuted,
            the pieces taken in time order. A piece holds its rows, not its windows, in
            memory (rows x columns float32). 0 keeps the order.

    Returns:
        A `StreamWindows`.

    Raises:
        DataError: a column is not in the source, or the part is shorter than one window.
        ValueError: the spec has static columns, or shuffle_buffer is negative.

    Example:
        >>> train = stream_windows(parts.train, WindowSpec(336, 96), scaler)
        >>> model.fit(train.dataset(32, training=True, seed=0), epochs=10)
    """
    if not isinstance(spec, WindowSpec):
        raise ValueError(f"spec must be a WindowSpec, got {type(spec).__name__}")
    if spec.static:
        raise ValueError(f"a stream is one series, so it has no static columns; got {spec.static}")
    bad = isinstance(shuffle_buffer, bool) or not isinstance(shuffle_buffer, numbers.Integral)
    if bad or shuffle_buffer < 0:
        raise ValueError(f"shuffle_buffer must be an integer >= 0, got {shuffle_buffer!r}")
    inputs, targets = resolve_columns(spec, part.columns, where="source")
    needed = spec.lookback + spec.horizon
    if len(part) < needed:
        raise DataError(f"the part has {len(part)} rows, fewer than lookback + horizon = {needed}")
    return StreamWindows(part, spec, scaler, (list(inputs), list(targets)), shuffle_buffer)


class StreamWindows:
    """The windows of a `Source` part; build it with `stream_windows`.

    It offers what a fit reads from `Windows`: `spec`, the column lists, `starts`,
    `len`, `dataset` and `numpy`, the last for parts small enough to hold.

    Attributes:
        spec: the `WindowSpec`.
        source: the part the windows are cut from.
        starts: the first input row of each window within the part, `(windows,)`.
        input_columns, target_columns, future_columns, static_columns: the feature names.
    """

    def __init__(self, source, spec, scaler, columns, shuffle_buffer):
        self.source, self.spec, self.scaler = source, spec, scaler
        self.input_columns, self.target_columns = columns
        self.future_columns = future_columns(spec)
        self.static_columns = []
        self.shuffle_buffer = shuffle_buffer
        self.starts = np.arange(0, len(source) - spec.lookback - spec.horizon + 1, spec.stride)

    def __len__(self):
        """The number of windows."""
        return len(self.starts)

    def __repr__(self):
        """Shows the input and label row ranges of the first and last window."""
        return describe(self, f"StreamWindows({len(self)} windows over {self.source!r}")

    def pieces(self, rows=None, rng=None):
        """Yields the part as pieces of rows, each with the starts of the windows it holds.

        Each chunk is scaled and joined to the rows the chunks before it left over; once
        the rows reach `rows` (or the part ends) they are a piece, cut after the last row
        its windows use, and the rows from the next window's start on are kept for the
        next piece: fewer than lookback + horizon of them, so memory stays bounded.

        Args:
            rows: the least rows per piece (the last may have fewer); None: a chunk's.
            rng: a NumPy `Generator` to permute each piece's starts; None keeps them in
                order.

        Yields:
            `(past, target, future, starts)`: float32 arrays `(rows, columns)` (`future`
            None without known-future columns) and the windows' first rows within the
            piece, `(windows,)`, in the order of `self.starts`.
        """
        lookback, horizon, stride = self.spec.lookback, self.spec.horizon, self.spec.stride
        same = self.target_columns == self.input_columns
        carry, carry_begin, next_start = [], 0, 0  # arrays kept, their first row, next window
        held = 0  # rows in `carry`
        for chunk in self.source.chunks():
            carry.append(self._arrays(chunk, carry_begin + held))
            held += len(chunk)
            if rows is not None and held < rows and carry_begin + held < len(self.source):
                continue  # not a piece yet: read on
            arrays = [_joined([c[i] for c in carry]) for i in range(3)]
            arrays[1] = arrays[0] if same else arrays[1]
            end = carry_begin + held
            starts = np.arange(next_start, end - lookback - horizon + 1, stride)
            if len(starts):
                local = starts - carry_begin
                used = local[-1] + lookback + horizon
                piece = [None if a is None else a[:used] for a in arrays]
                yield (*piece, local if rng is None else rng.permutation(local))
                next_start = starts[-1] + stride
            cut = min(next_start - carry_begin, held)
            carry = [[None if a is None else a[cut:] for a in arrays]]
            carry_begin, held = carry_begin + cut, held - cut

    def numpy(self):
        """Returns `(x, y)` of all windows, as `Windows.numpy`; only for parts that fit."""
        xs, ys = zip(*self.batches(), strict=True)
        if isinstance(xs[0], dict):
            return {key: np.concatenate([x[key] for x in xs]) for key in xs[0]}, np.concatenate(ys)
        return np.concatenate(xs), np.concatenate(ys)

    def batches(self, size=None):
        """Yields the windows' `(x, y)` in order, as `Windows.batches`, reading the chunks.

        Args:
            size: the most windows per batch (the last of each piece of rows has fewer);
                None: a piece's windows at once.
        """
        spec = self.spec
        past_steps = np.arange(spec.lookback)
        label_steps = spec.lookback + np.arange(spec.horizon)
        all_steps = np.arange(spec.lookback + spec.horizon)
        for past, target, future, starts in self.pieces():  # a piece has one window or more
            step = size or len(starts)
            for begin in range(0, len(starts), step):
                rows = starts[begin : begin + step, None]  # (B,) -> (B, 1), against the steps
                window_future = None if future is None else future[rows + all_steps]
                x = window_x(spec, past[rows + past_steps], window_future)  # (B, lookback, F)
                yield x, target[rows + label_steps]  # (B, horizon, targets)

    def dataset(self, batch_size=32, *, training=False, seed=None):
        """Returns a batched, prefetching `tf.data.Dataset` of `(x, y)` read from the chunks.

        The structure, shapes and batches are `Windows.dataset`'s: `x` `(batch, lookback,
        inputs)` (or a dict of "past" and "future"), `y` `(batch, horizon, targets)`,
        float32, the last batch perhaps smaller; unshuffled, the windows come in the same
        order. Each pass over it reads the files anew; the rows (not the windows, which
        repeat each row lookback + horizon times) go from Python to TensorFlow, and each
        batch is gathered from them there.

        Args:
            batch_size: windows per batch.
            training: whether to shuffle the windows, anew each epoch: those of each
                piece of `shuffle_buffer` consecutive rows are permuted, the pieces taken
                in time order. Only for training.
            seed: the shuffle seed; with it, every pass is reproducible.

        Returns:
            The `tf.data.Dataset`, of known length.
        """
        import tensorflow as tf  # imported here: reading and scaling do not need it

        checks.positive_int("batch_size", batch_size)
        same = self.target_columns == self.input_columns

        def windows(past, target, future, starts):
            target = past if same else target[0]
            gather = batch_gather(self.spec, past, target, future[0] if future else None)
            return tf.data.Dataset.from_tensor_slices(starts).batch(batch_size).map(gather)

        data = self._piece_dataset(training and self.shuffle_buffer > 0, seed)
        data = data.flat_map(windows).rebatch(batch_size)  # batches across piece borders
        batches = -(-len(self) // batch_size)
        data = data.apply(tf.data.experimental.assert_cardinality(batches))
        return data.prefetch(tf.data.AUTOTUNE)

    def _piece_dataset(self, shuffle, seed):
        """`pieces` as a dataset of `(past, (target,), (future,), starts)`, read anew each pass.

        The targets are left out, `()`, when they are the inputs (so the rows are sent to
        TensorFlow once), and so are the known-future values when there are none.
        """
        import tensorflow as tf  # imported here: reading and scaling do not need it

        same = self.target_columns == self.input_columns
        epochs = iter(range(2**62))  # each pass permutes with the next seed

        def pieces():
            rng = None
            if shuffle:
                rng = np.random.default_rng(None if seed is None else [seed, next(epochs)])
            rows = self.shuffle_buffer if shuffle else None
            for past, target, future, starts in self.pieces(rows, rng):
                target = () if same else (target,)
                yield past, target, (() if future is None else (future,)), starts

        def columns(names):
            return tf.TensorSpec((None, len(names)), tf.float32)

        signature = (
            columns(self.input_columns),
            () if same else (columns(self.target_columns),),
            (columns(self.future_columns),) if self.future_columns else (),
            tf.TensorSpec((None,), tf.int64),
        )
        return tf.data.Dataset.from_generator(pieces, output_signature=signature)

    def _arrays(self, chunk, first_row):
        """The chunk's past inputs, targets and known-future values, scaled and checked.

        Args:
            chunk: a chunk of the source.
            first_row: its first row's position within the part (for errors).

        Returns:
            `[past, target, future]` as `window_values` makes them.

        Raises:
            DataError: as `finite_floats`, naming the row within the part.
        """
        if self.scaler is not None:
            chunk = self.scaler.transform(chunk)
        inputs, targets = self.input_columns, self.target_columns
        return list(window_values(chunk, self.spec, inputs, targets, first_row=first_row))


def _joined(arrays):
    """The arrays joined along the rows (None stays None)."""
    return None if arrays[0] is None else np.concatenate(arrays)
