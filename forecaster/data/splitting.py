"""Chronological train / validation / test splits, with lookback context before each border.

`split` cuts a frame, `split_stream` a `forecaster.data.Source` (without reading it), by the
same rules and checks.

Each part is a slice of the series in time order. Validation and test may start `lookback`
rows before their border, so that their first window's inputs lie in the part before and
its targets right after the border, as in the long-horizon benchmark protocol
(`../shared/data/README.md`). Those context rows feed inputs only; every statistic is
fitted on `Split.train` alone.
"""

import dataclasses
import numbers
from datetime import date

import numpy as np
import pandas as pd

from forecaster.data.errors import DataError


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class Split:
    """The three parts of a series and where they were cut.

    Attributes:
        train: the training rows: a DataFrame from `split`, a `Source` from `split_stream`.
        val: the validation rows, led by up to `lookback` context rows from train.
        test: the test rows, led by up to `lookback` context rows from validation.
        lookback: the number of context rows before validation and test.
        borders: for each series (the key None in wide format), the row positions
            `(train_end, val_end, test_end)` within that series; a part's own rows are
            `[previous_end, end)`.
    """

    train: pd.DataFrame
    val: pd.DataFrame
    test: pd.DataFrame
    lookback: int
    borders: dict

    def map(self, function):
        """Returns a `Split` whose parts are `function(part)`, e.g. a fitted scaler's."""
        return dataclasses.replace(
            self, train=function(self.train), val=function(self.val), test=function(self.test)
        )

    def __repr__(self):
        """Shows the row ranges of the parts (of the first series in long format)."""
        key, (train_end, val_end, test_end) = next(iter(self.borders.items()))
        first = "" if key is None else f"series {key!r} of {len(self.borders)}: "
        val_start = _start(train_end, val_end, self.lookback)  # an empty part stays empty
        test_start = _start(val_end, test_end, self.lookback)
        return (
            f"Split({first}train rows [0, {train_end}), val rows [{val_start}, {val_end}), "
            f"test rows [{test_start}, {test_end}); lookback={self.lookback})"
        )


def _kind(value):
    if value is None:
        return None
    if isinstance(value, bool):
        return "bad"
    if isinstance(value, numbers.Integral):
        return "count"
    if isinstance(value, numbers.Real):
        return "fraction"
    if isinstance(value, str | date | np.datetime64):
        return "timestamp"
    return "bad"


def _check(train, val, test, lookback):
    sizes = {"train": train, "val": val, "test": test}
    kinds = {name: _kind(value) for name, value in sizes.items()}
    for name, kind in kinds.items():
        if kind == "bad":
            raise ValueError(
                f"{name}={sizes[name]!r} is not a fraction, a row count or a timestamp"
            )
    given = {kind for kind in kinds.values() if kind is not None}
    if kinds["train"] is None or len(given) > 1:
        raise ValueError(
            f"train, val and test must all be fractions, all row counts or all timestamps; "
            f"got train={train!r}, val={val!r}, test={test!r}"
        )
    kind = given.pop()
    if kind == "fraction":
        parts = [v for v in sizes.values() if v is not None]
        if any(not 0 <= v <= 1 for v in parts) or sum(parts) > 1 + 1e-9:
            raise ValueError(
                f"fractions must lie in [0, 1] and sum to at most 1; got train={train!r}, "
                f"val={val!r}, test={test!r}"
            )
    if kind == "count" and any(v < 0 for v in sizes.values() if v is not None):
        raise ValueError(
            f"row counts must be >= 0; got train={train!r}, val={val!r}, test={test!r}"
        )
    if isinstance(lookback, bool) or not isinstance(lookback, numbers.Integral) or lookback < 0:
        raise ValueError(f"lookback must be an integer >= 0, got {lookback!r}")
    return kind


def _ends(index, kind, train, val, test, label):
    """The exclusive end rows of train, validation and test within one series."""
    n = len(index)
    if kind == "fraction":
        train_end = int(n * train)
        if test is None:
            val_end = train_end + int(n * (val or 0.0))
            return train_end, val_end, n
        n_test = int(n * test)
        if val is None or abs(train + val + test - 1) < 1e-9:
            # The benchmark protocol's rounding: validation takes what train and test leave.
            return train_end, n - n_test, n
        val_end = train_end + int(n * val)
        return train_end, val_end, val_end + n_test
    if kind == "count":
        val_end = train + (val or 0)
        test_end = n if test is None else val_end + test
        if test_end > n:
            raise DataError(
                f"{label} has {n} rows, fewer than train + val + test = {test_end} asked for"
            )
        return train, val_end, test_end
    ends = []
    for name, stamp in (("train", train), ("val", val), ("test", test)):
        if stamp is None:
            ends.append(ends[-1] if name == "val" else n)
            continue
        try:
            stamp = pd.Timestamp(stamp)
            ends.append(int(index.searchsorted(stamp)))
        except (ValueError, TypeError):
            raise ValueError(
                f"{name}={stamp!r} cannot be compared with the index of {label} "
                f"(dtype {index.dtype}); pass a timestamp of the same kind"
            ) from None
    return tuple(ends)


def _borders(index, kind, sizes, lookback, label):
    """The ends of the parts of one series, checked to be in order and to leave the lookback."""
    train_end, val_end, test_end = _ends(index, kind, *sizes, label)
    if not 0 < train_end <= val_end <= test_end <= len(index):
        raise DataError(
            f"{label} splits into train rows [0, {train_end}), val [{train_end}, "
            f"{val_end}), test [{val_end}, {test_end}) of {len(index)}; the training part "
            "must be non-empty and the parts in time order"
        )
    if val_end > train_end and train_end < lookback:
        raise DataError(
            f"{label}: lookback={lookback} reaches before its first row; validation "
            f"starts at row {train_end}"
        )
    return train_end, val_end, test_end


def split(frame, train=0.7, val=0.1, test=None, *, lookback=0, id_col=None):
    """Splits a series (or each series of a long frame) into train, validation and test.

    `train`, `val` and `test` are all of one kind:

    - fractions of the rows (floats): ``split(frame, 0.7, 0.1, 0.2)``; when they sum to 1,
      validation takes the rows train and test leave (the benchmark protocol's rounding);
    - row counts (ints): ``split(frame, 8640, 2880, 2880)``; later rows are unused;
    - timestamps, each the exclusive end of its part:
      ``split(frame, "2017-07-01", "2017-11-01")``.

    `test=None` (and `val=None`) take the rest of the rows.

    Args:
        frame: a DataFrame on a DatetimeIndex, as from `read_csv`.
        train: the training part's size or end.
        val: the validation part's size or end.
        test: the test part's size or end; None: the remaining rows.
        lookback: context rows that validation and test start with, taken from the part
            before them (inputs only).
        id_col: in long format, the series column; None: ``frame.attrs["id_col"]``.

    Returns:
        A `Split`.

    Raises:
        DataError: a series is too short for the parts or the lookback.
        ValueError: the sizes are of mixed kinds, negative, or sum past the data.

    Example:
        >>> parts = split(frame, 8640, 2880, 2880, lookback=336)  # ETTh1's borders
        >>> len(parts.val)
        3216
    """
    kind = _check(train, val, test, lookback)
    id_col = frame.attrs.get("id_col") if id_col is None else id_col
    if id_col is not None and id_col not in frame.columns:
        raise DataError(f"id column {id_col!r} is not in the frame; columns are {list(frame)}")
    groups = {None: np.arange(len(frame))}
    if id_col is not None:
        groups = pd.Series(np.arange(len(frame))).groupby(frame[id_col].to_numpy()).indices
    # Row positions of each part, series by series; one `iloc` per part at the end, so
    # that thousands of series cost no more than thousands of small index lookups.
    pieces, borders = ([], [], []), {}
    index = frame.index
    for key, positions in groups.items():
        label = "the frame" if key is None else f"series {key!r}"
        series_index = index if key is None else index[positions]
        train_end, val_end, test_end = _borders(
            series_index, kind, (train, val, test), lookback, label
        )
        borders[key] = (train_end, val_end, test_end)
        pieces[0].append(positions[:train_end])
        pieces[1].append(positions[_start(train_end, val_end, lookback) : val_end])
        pieces[2].append(positions[_start(val_end, test_end, lookback) : test_end])
    parts = []
    for piece in pieces:
        part = frame.iloc[np.concatenate(piece)]
        part.attrs = dict(frame.attrs)
        parts.append(part)
    return Split(*parts, lookback=lookback, borders=borders)


def split_last(frame, val, test=0, *, lookback=0, id_col=None):
    """Splits off the last rows of each series: `test` rows, and `val` rows before them.

    For many series of different lengths, where a share of each would put the borders at
    different times of their history, and a protocol (M4's) holds out the same number of
    steps of every series. Validation and test are led by up to `lookback` context rows.

    Args:
        frame: a wide or long DataFrame.
        val: the rows of each series for validation, the ones before its last `test`.
        test: the last rows of each series for testing (0: no test part).
        lookback: context rows that validation and test start with.
        id_col: in long format, the series column; None: ``frame.attrs["id_col"]``.

    Returns:
        A `Split`.

    Raises:
        DataError: a series has no training row left.

    Example:
        >>> parts = split_last(m4_train, 48, lookback=336)  # each series' last 48 steps
    """
    for name, value in (("val", val), ("test", test), ("lookback", lookback)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
            raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
    id_col = frame.attrs.get("id_col") if id_col is None else id_col
    if id_col is not None and id_col not in frame.columns:
        raise DataError(f"id column {id_col!r} is not in the frame; columns are {list(frame)}")
    if id_col is None:
        lengths = pd.Series([len(frame)], index=[None])
        from_end = np.arange(len(frame))[::-1]
    else:
        groups = frame.groupby(id_col, sort=False)
        lengths = groups.size()
        from_end = groups.cumcount(ascending=False).to_numpy()  # 0 at each series' last row
    short = lengths[lengths <= val + test]
    if len(short):
        label = "the frame" if id_col is None else f"series {short.index[0]!r}"
        raise DataError(
            f"{label} has {short.iloc[0]} rows, not more than val + test = {val + test}; "
            "every series needs training rows"
        )
    masks = (
        from_end >= val + test,
        (from_end >= test) & (from_end < val + test + lookback) & (val > 0),
        (from_end < test + lookback) & (test > 0),
    )
    parts = []
    for mask in masks:
        part = frame.iloc[np.flatnonzero(mask)]
        part.attrs = dict(frame.attrs)
        parts.append(part)
    borders = {key: (int(n - val - test), int(n - test), int(n)) for key, n in lengths.items()}
    return Split(*parts, lookback=lookback, borders=borders)


def split_stream(source, train=0.7, val=0.1, test=None, *, lookback=0):
    """Splits a `Source` in time order, as `split` splits a frame, without reading it.

    The sizes are fractions of the rows or row counts, with `split`'s rounding; the rows
    were counted when the source was opened. Timestamps as borders are not supported.

    Args:
        source: a `Source` from `open_source`.
        train: the training part's size.
        val: the validation part's size.
        test: the test part's size; None: the remaining rows.
        lookback: context rows that validation and test start with, taken from the part
            before them (inputs only).

    Returns:
        A `Split` whose `train`, `val` and `test` are `Source`s over the parts' rows.

    Raises:
        DataError: the source is too short for the parts or the lookback.
        ValueError: the sizes are of mixed kinds, negative, timestamps, or sum past 1.

    Example:
        >>> parts = split_stream(source, 8640, 2880, 2880, lookback=336)
        >>> len(parts.val)
        3216
    """
    kind = _check(train, val, test, lookback)
    if kind == "timestamp":
        raise ValueError(
            f"split_stream takes fractions or row counts, not timestamps; got train={train!r}"
        )
    ends = _borders(range(len(source)), kind, (train, val, test), lookback, "the source")
    train_end, val_end, test_end = ends
    return Split(
        source.part(0, train_end),
        source.part(_start(train_end, val_end, lookback), val_end),
        source.part(_start(val_end, test_end, lookback), test_end),
        lookback=lookback,
        borders={None: ends},
    )


def _start(begin, end, lookback):
    """Where a part that owns rows [begin, end) starts, context included; empty stays empty."""
    return begin if end == begin else max(begin - lookback, 0)
