"""Series indexed by step: files that hold no timestamps.

Some series come without stamps: a sensor's samples counted from 0, a simulation's steps,
the M4 competition's series (published without starting dates). `read_csv` reads them on
an integer index named ``"step"`` (0, 1, 2, ...) with ``frame.attrs["freq"]`` None, in two
orientations:

- ``time_col=False`` (with ``orient="columns"``, the default): the file has no time column
  and its rows are the consecutive steps of a regular series. In long format (``id_col=``)
  each series is numbered from 0 on its own, and the series come in the order of their
  first row in the file.
- ``orient="rows"`` (with ``id_col=``): each row is one series, its id in `id_col` and its
  observations along the other columns, as the M4 competition publishes them. The result
  is long: columns ``[id_col, "value"]``. The empty cells that end a row (a shorter series
  padded to the width of the longest) are not part of the series; an empty cell before a
  row's last value is a gap.

Steps are counted, not read, so no step is ever missing or repeated; the `missing` policy
fills empty cells along the steps as it does along a time grid (``"interpolate"`` linearly
between neighbours, `forecaster.data.timestamps.fill`).

A file in which no time column is found is refused (`forecaster.data.columns`); `advice`
gives that refusal the option that reads the file by step, where that reading fits it.
"""

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from forecaster.data.columns import listed
from forecaster.data.errors import DataError
from forecaster.data.numbers import marker_codes, to_floats
from forecaster.data.timestamps import fill

ORIENTS = ("columns", "rows")
STEP = "step"  # the name of the index of a series without timestamps
VALUE = "value"  # the value column of series read with orient="rows"
# A number as a file may write it (decimal comma, thousands separators, an exponent).
_GROUPING = ".,' \u00a0\u202f"  # marks inside numbers, as characters (RE2 has no \u)
_NUMBER = rf"^[+-]?[\d{_GROUPING}]*\d[\d{_GROUPING}]*([eE][+-]?\d+)?$"


def check_options(time_col, orient, id_col, freq, date_format):
    """Refuses `read_csv` options that contradict a reading by step, before the file is read.

    Raises:
        ValueError: `time_col` is True, `orient` is not one of `ORIENTS`, ``orient="rows"``
            without `id_col` or with a time column, or `freq` or `date_format` for a series
            without timestamps.
    """
    if time_col is True:
        raise ValueError(
            "time_col=True names no column; pass a column name, a list of them, or False "
            "for a file without timestamps"
        )
    if orient not in ORIENTS:
        raise ValueError(f"orient={orient!r} is not an orientation; pass one of {ORIENTS}")
    if orient == "rows":
        if id_col is None:
            raise ValueError(
                "orient='rows' reads one series per row; pass id_col= naming the column "
                "of series ids"
            )
        if time_col not in (None, False):
            raise ValueError(
                f"time_col={time_col!r} with orient='rows', whose series have no "
                "timestamps; leave time_col out"
            )
    if time_col is False or orient == "rows":
        reading = "orient='rows'" if orient == "rows" else "time_col=False"
        for key, value in (("freq", freq), ("date_format", date_format)):
            if value is not None:
                raise ValueError(
                    f"{key}={value!r} is for timestamps, which a series read with "
                    f"{reading} has none of; leave {key} out"
                )


def advice(cells, id_col, columns):
    """The reading by step that fits a file in which no time column was found.

    Args:
        cells: the file's trimmed text cells by column name (missing ones null).
        id_col: the id column given, or None.
        columns: the value columns given, or None.

    Returns:
        `(advice, fix)`: ``time_col=False`` when every value column holds numbers (and
        each series' rows repeat its id); ``orient="rows"`` (with ``id_col=`` the first
        column if none is given) when each row has an id of its own and numbers in two
        columns or more. None when neither fits: a column holds text, the id column is
        absent or has empty cells.
    """
    names = list(cells)
    ids = id_col
    if ids is None and columns is None and not _numeric(cells[names[0]]):
        ids = names[0]  # text first: the series' names
    if ids is not None and (ids not in cells or cells[ids].null_count):
        return None
    values = [c for c in (names if columns is None else listed(columns)) if c != ids]
    if not values or not all(c in cells and _numeric(cells[c]) for c in values):
        return None
    if ids is None:
        return "time_col=False if its rows are the steps of a series without timestamps", {
            "time_col": False
        }
    named = {} if id_col is not None else {"id_col": ids}
    if len(pc.unique(cells[ids])) < len(cells[ids]):
        if id_col is None:  # a repeated label is not surely a series id
            return None
        return "time_col=False if each series' rows are its steps, without timestamps", {
            "time_col": False
        }
    if len(values) < 2:
        return None
    fix = named | {"orient": "rows"}
    shown = ", ".join(f"{k}={v!r}" for k, v in fix.items())
    return f"{shown} if each row is a series without timestamps", fix


def _numeric(cells):
    present = cells.drop_null()
    return bool(pc.all(pc.match_substring_regex(present, _NUMBER)).as_py() in (True, None))


def check_header(names, id_col, name, header):
    """Refuses, for ``orient="rows"``, a first line that is a series rather than a header.

    A header of step numbers (``id,1,2,3``, or years ``id,2019,2020``) counts up by one;
    the numbers of a series do not.

    Args:
        names: the header's fields.
        id_col: the id column.
        name: the file's name, for the message.
        header: the header line as written, for the message.

    Raises:
        DataError: the fields besides the id are numbers that do not count up by one.
    """
    others = [n for n in names if n != id_col] if id_col in names else list(names[1:])
    numbers = pd.to_numeric(pd.Series([n for n in others if n], dtype=object), errors="coerce")
    if len(numbers) < 2 or numbers.isna().any() or (np.diff(numbers.to_numpy()) == 1).all():
        return
    raise DataError(
        f"{name} has no header: its first line is a series ({header[:60]!r}); add a first "
        f"line naming the id column and the steps (e.g. {id_col},1,2,3)"
    )


def step_frame(values, ids, rows, missing, id_col, name):
    """A file's rows as the steps of one series, or of each series of a long table.

    Args:
        values: the value columns, float64, one row per file row in file order.
        ids: each row's series id (text cells), or None in wide format.
        rows: each row's 1-based number, for messages.
        missing: the `forecaster.data.timestamps.MISSING_POLICIES` entry; empty cells
            under ``"error"`` were refused with their row before.
        id_col: the id column's name, or None.
        name: the file's name, for messages.

    Returns:
        A DataFrame on an int64 index named ``"step"``: in wide format 0 to n - 1; in long
        format `id_col` first, the series in the order of their first row, each numbered
        from 0.

    Raises:
        DataError: an empty id, or a column with no value at all (in a series).
    """
    if ids is None:
        frame = fill(values, missing, name)
        return frame.set_axis(pd.RangeIndex(len(frame), name=STEP), axis=0)
    if ids.isna().any():
        i = np.argmax(ids.isna().to_numpy())
        raise DataError(f"id column {id_col!r} is empty at row {rows[i]}")
    codes, keys = pd.factorize(ids.astype(str).to_numpy())  # keys in order of first row
    order = np.argsort(codes, kind="stable")
    counts = np.bincount(codes)
    ends = np.cumsum(counts)
    values = values.iloc[order].reset_index(drop=True)
    if missing != "error" and values.isna().to_numpy().any():
        parts = [
            fill(values.iloc[end - count : end], missing, f"series {key!r}")
            for key, count, end in zip(keys, counts, ends, strict=True)
        ]
        values = pd.concat(parts)
    steps = np.arange(len(order)) - np.repeat(ends - counts, counts)
    frame = values.set_axis(pd.Index(steps, name=STEP), axis=0)
    frame.insert(0, id_col, pd.Series(np.repeat(keys, counts), dtype="str", index=frame.index))
    return frame


def rows_frame(cells, rows, id_col, value_cols, number_format, missing, markers, name):
    """Series stored one per row, as a long frame of one value column.

    Args:
        cells: the file's trimmed text cells by column name (missing ones null).
        rows: each row's 1-based number, for messages.
        id_col: the column of series ids.
        value_cols: the columns holding the observations, in order.
        number_format: the file's `forecaster.data.numbers.NumberFormat`.
        missing: a `forecaster.data.timestamps.MISSING_POLICIES` entry.
        markers: the missing markers; those that are numbers match as numbers too.
        name: the file's name, for messages.

    Returns:
        `(frame, gaps)`: columns ``[id_col, "value"]`` on an int64 index named ``"step"``,
        the series in file order, each numbered from 0 and ending at its row's last value;
        and the number of empty cells filled before those ends.

    Raises:
        DataError: an empty or repeated id, a cell that is not a finite number (naming
            the series and the column), a series with no value, or a gap under
            ``missing="error"``.
    """
    if id_col == VALUE:
        raise DataError(
            f"{name}: the id column is called {VALUE!r}, the name of the values read with "
            "orient='rows'; rename the column in the file"
        )
    ids = cells[id_col].to_pandas().to_numpy(dtype=object)
    empty = pd.isna(ids)
    if empty.any():
        raise DataError(f"{name}: id column {id_col!r} is empty at row {rows[np.argmax(empty)]}")
    ids = ids.astype(str).astype(object)  # Python strings, for the messages
    repeated = pd.Index(ids).duplicated()
    if repeated.any():
        i = int(np.argmax(repeated))
        first = int(np.argmax(ids == ids[i]))
        raise DataError(
            f"{name}: series {ids[i]!r} is on rows {rows[first]} and {rows[i]}; with "
            "orient='rows' each series is one row"
        )
    codes = marker_codes(markers)
    matrix = np.empty((len(value_cols), len(ids)))  # (steps, series)
    for k, column in enumerate(value_cols):
        values, bad = to_floats(cells[column], number_format)
        bad |= np.isinf(values)
        if bad.any():
            raise _not_a_number(cells[column], values, bad, ids, rows, column, markers, name)
        matrix[k] = values
    matrix[np.isin(matrix, codes)] = np.nan
    present = ~np.isnan(matrix)
    lengths = np.where(present.any(axis=0), len(value_cols) - np.argmax(present[::-1], axis=0), 0)
    if not lengths.all():
        i = int(np.argmin(lengths))
        raise DataError(f"{name}: series {ids[i]!r} (row {rows[i]}) has no values")
    within = np.arange(len(value_cols))[:, None] < lengths  # (steps, series)
    holes = within & ~present
    if holes.any():
        if missing == "error":
            i = int(np.argmax(holes.any(axis=0)))
            raise DataError(
                f"{name}: series {ids[i]!r} (row {rows[i]}) has {int(holes[:, i].sum())} "
                f"missing values (first in column {value_cols[np.argmax(holes[:, i])]!r}); "
                "pass missing='interpolate', 'ffill' or 'zero' to fill",
                fix={"missing": "interpolate"},
            )
        matrix = fill(pd.DataFrame(matrix), missing, name).to_numpy()
    starts = np.cumsum(lengths) - lengths
    steps = np.arange(int(lengths.sum())) - np.repeat(starts, lengths)
    frame = pd.DataFrame(
        {
            id_col: pd.array(np.repeat(ids, lengths), dtype="str"),
            VALUE: matrix.T[within.T],  # series by series, each in step order
        },
        index=pd.Index(steps, name=STEP),
    )
    return frame, int(holes.sum())


def _not_a_number(cells, values, bad, ids, rows, column, markers, name):
    """The refusal of a cell that is not a finite number, naming its series and column."""
    i = int(np.argmax(bad))
    text = cells[i].as_py()
    message = (
        f"{name}: series {ids[i]!r} (row {rows[i]}) has {text!r} in column {column!r}, "
        "not a finite number"
    )
    words = cells.filter(pa.array(bad & ~np.isinf(values))).to_pandas()
    distinct = list(dict.fromkeys(words))
    if len(distinct) <= 6 and all(len(v) <= 12 for v in distinct) and not np.isinf(values[i]):
        marked = [*(m for m in markers if m), *distinct]
        return DataError(
            f"{message}; if it marks a missing value, pass na_values={marked}",
            fix={"na_values": marked},
        )
    return DataError(message)
