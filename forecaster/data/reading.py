"""Reading a time-series CSV into a pandas DataFrame on a regular DatetimeIndex.

The result is a plain `pd.DataFrame` (no wrapper class), so everything pandas offers works
on it:

- the index is a `pd.DatetimeIndex` (time-zone-aware if the stamps were), sorted, one row
  per step, with its `freq` set in wide format;
- every value column is float64 (categorical columns one-hot encoded on request);
- in long format (``id_col=``) the id column comes first as strings and the rows are sorted
  by series, then time; each series is on its own regular grid;
- ``frame.attrs`` holds ``"freq"`` (the step as a pandas frequency string) and ``"id_col"``
  (None in wide format), which `split`, `Scaler` and `make_windows` read when not told.

The file is parsed by pandas's pyarrow engine; every problem becomes a one-line
`DataError` instead of an error from inside pandas or pyarrow.
"""

import codecs
import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from forecaster.data.errors import DataError
from forecaster.data.timestamps import check_policy, parse_times, regularize, to_offset

CATEGORICAL_POLICIES = ("error", "onehot")
# Header names taken for the time column when `time_col` is not given (case-insensitive).
TIME_COLUMN_NAMES = (
    "date",
    "datetime",
    "date_time",
    "timestamp",
    "time",
    "ds",
    "month",
    "period",
    "week",
    "day",
    "year",
)


def read_csv(
    path,
    *,
    time_col=None,
    id_col=None,
    columns=None,
    date_format=None,
    freq=None,
    missing="error",
    categorical="error",
    encoding="utf-8",
    sep=",",
):
    """Reads a wide or long time-series CSV into a regular, numeric DataFrame.

    Args:
        path: the CSV file.
        time_col: the column holding the timestamps, or a list of columns that together
            make them (``["year", "month", "day", "hour"]``). None: the first column named
            like one of `TIME_COLUMN_NAMES`, else the first column if it parses as time.
        id_col: for long format (many series stacked in one file), the column naming each
            row's series. None: wide format, a single series with a column per variable.
        columns: the value columns to keep, in order. None: every other column.
        date_format: a `strftime` format for the time column(s); None infers ISO 8601,
            day- or month-first dates and ``1-01`` year-month stamps.
        freq: the step as a pandas frequency ('h', '15min', 'MS'); None infers it.
        missing: what to do with gaps, duplicated stamps and empty cells: "error",
            "interpolate", "ffill" or "zero" (see `forecaster.data.timestamps`).
        categorical: what to do with a text column: "error", or "onehot" to replace it by
            one float column per value, named ``"column=value"``.
        encoding: the file's text encoding, e.g. "latin-1".
        sep: the field separator.

    Returns:
        A `pd.DataFrame` as described in the module docstring.

    Raises:
        DataError: the file cannot become a regular numeric series; the one-line message
            names the file, column, row or value and what would be accepted.
        ValueError: an argument is not one of the accepted values.

    Example:
        >>> frame = read_csv("../shared/data/ETTh1.csv")
        >>> frame.attrs["freq"], frame.shape
        ('h', (17420, 7))
    """
    check_policy(missing)
    if categorical not in CATEGORICAL_POLICIES:
        raise ValueError(
            f"categorical={categorical!r} is not a policy; pass one of {CATEGORICAL_POLICIES}"
        )
    if not isinstance(sep, str) or len(sep) != 1:
        raise ValueError(f"sep={sep!r} is not a single character")
    offset = None if freq is None else to_offset(freq)
    name = Path(path).name
    # Stamps that will be joined or matched to a format stay text, not pyarrow's guesses.
    as_text = date_format is not None or not isinstance(time_col, str | None)
    text_cols = [] if time_col is None or not as_text else _listed(time_col)
    table = _parse(_utf8_bytes(path, encoding, name), sep, name, text_cols)
    rows = np.arange(1, len(table) + 1)
    time_cols = time_columns(table, time_col, name)
    times = parse_times(table, time_cols, date_format, rows)
    taken = set(time_cols) | {id_col}
    if id_col is not None and id_col not in table.columns:
        raise DataError(f"{name} has no id column {id_col!r}; columns are {list(table.columns)}")
    if columns is None:
        columns = [c for c in table.columns if c not in taken]
    else:
        columns = [columns] if isinstance(columns, str) else list(columns)
        absent = [c for c in columns if c not in table.columns or c in taken]
        if absent:
            raise DataError(
                f"{name} has no value column {absent[0]!r}; value columns are "
                f"{[c for c in table.columns if c not in taken]}"
            )
    if not columns:
        raise DataError(f"{name} has no value columns besides the time column {time_cols!r}")
    values = _numeric(table[columns], rows, categorical, missing).set_axis(times, axis=0)
    if id_col is None:
        frame, offset = regularize(values, rows, offset, missing, name)
        frame.index.freq = offset
    else:
        frame, offset = _regularize_long(table[id_col], values, rows, offset, missing, id_col)
    frame.attrs.update(freq=offset.freqstr, id_col=id_col)
    return frame


def _utf8_bytes(path, encoding, name):
    """The file's bytes as UTF-8 (the only encoding pyarrow reads), checked on the way."""
    try:
        codec = codecs.lookup(encoding).name
    except (LookupError, TypeError):
        raise ValueError(f"encoding={encoding!r} is not a known text encoding") from None
    try:
        raw = Path(path).read_bytes()
    except OSError as error:
        raise DataError(f"cannot read {path}: {error.strerror}") from None
    try:
        text = raw.decode(codec)
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        raise DataError(
            f"{name} is not valid {encoding} (byte 0x{raw[error.start]:02x} on line {line}); "
            "pass encoding= with the file's encoding, e.g. encoding='latin-1'"
        ) from None
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise DataError(f"{name} is empty")
    return raw if codec == "utf-8" and not raw.startswith(codecs.BOM_UTF8) else text.encode()


def _listed(names):
    return [names] if isinstance(names, str) else list(names)


def _parse(data, sep, name, text_cols):
    header = data.split(b"\n", 1)[0].decode().rstrip("\r")
    names = next(csv.reader([header], delimiter=sep), [])
    repeated = [c for c in names if names.count(c) > 1]
    if repeated:
        raise DataError(f"{name} has the column name {repeated[0]!r} more than once")
    text_cols = {c: "string" for c in text_cols if c in names}
    try:
        table = pd.read_csv(io.BytesIO(data), engine="pyarrow", sep=sep, dtype=text_cols or None)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, pa.ArrowException) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DataError(f"{name} is not a well-formed CSV: {reason[:200]}") from None
    if len(table.columns) == 0:
        raise DataError(f"{name} has no header")
    table.columns = [str(c) for c in table.columns]
    if len(table) == 0:
        raise DataError(f"{name} has a header but no data rows")
    return table


def time_columns(table, time_col, name):
    """The columns that hold a table's timestamps: those named, or the one found.

    Args:
        table: a DataFrame of the file's columns (it may have no rows: then the first
            column is taken only if named like a time column).
        time_col: a column name, a list of them, or None to find the first column named
            like one of `TIME_COLUMN_NAMES` (any case), else the first column if it holds
            datetimes.
        name: the file's name, for the messages.

    Returns:
        The time column names, a list.

    Raises:
        DataError: a named column is absent, or none is found.
        ValueError: `time_col` is an empty list.
    """
    if time_col is not None:
        wanted = _listed(time_col)
        absent = [c for c in wanted if c not in table.columns]
        if not wanted:
            raise ValueError("time_col=[] names no column; pass a column name or a list of them")
        if absent:
            raise DataError(
                f"{name} has no time column {absent[0]!r}; columns are {list(table.columns)}"
            )
        return wanted
    for column in table.columns:
        if column.strip().lower() in TIME_COLUMN_NAMES:
            return [column]
    first = table.columns[0]
    if pd.api.types.is_datetime64_any_dtype(table[first].dtype):
        return [first]
    raise DataError(
        f"{name} has no column named like a time column {TIME_COLUMN_NAMES}; pass time_col= "
        f"with one of {list(table.columns)}"
    )


def _numeric(table, rows, categorical, missing):
    """Float64 value columns; text columns one-hot encoded or rejected, NaNs policed."""
    parts = []
    for column in table.columns:
        values = table[column]
        if pd.api.types.is_numeric_dtype(values.dtype):  # booleans included
            numbers = values.astype("float64")
        else:
            text = values.astype(str).where(values.notna())
            numbers = pd.to_numeric(text.str.strip(), errors="coerce")
            bad = (text.notna() & numbers.isna()).to_numpy()
            if bad.all() or (bad.any() and not numbers.notna().any()):
                parts.append(_categorical(column, text, rows, categorical, missing))
                continue
            if bad.any():
                i = np.argmax(bad)
                raise DataError(
                    f"column {column!r} has {bad.sum()} non-numeric values "
                    f"(first at row {rows[i]}: {text.iloc[i]!r})"
                )
        finite = np.isfinite(numbers.to_numpy()) | numbers.isna().to_numpy()
        if not finite.all():
            i = np.argmin(finite)
            raise DataError(
                f"column {column!r} has {(~finite).sum()} infinite values "
                f"(first at row {rows[i]}: {float(numbers.iloc[i])!r}); only finite numbers "
                "are accepted"
            )
        _police_missing(column, numbers.isna().to_numpy(), rows, missing)
        parts.append(numbers.rename(column))
    return pd.concat(parts, axis=1).reset_index(drop=True)


def _categorical(column, text, rows, categorical, missing):
    if categorical == "error":
        raise DataError(
            f"column {column!r} holds text (first at row {rows[0]}: {text.dropna().iloc[0]!r}), "
            "not numbers; pass categorical='onehot' to one-hot encode it, or leave it out "
            "with columns="
        )
    _police_missing(column, text.isna().to_numpy(), rows, missing)
    onehot = pd.get_dummies(text, prefix=column, prefix_sep="=", dtype="float64")
    return onehot.where(text.notna(), np.nan).reindex(sorted(onehot.columns), axis=1)


def _police_missing(column, empty, rows, missing):
    if missing == "error" and empty.any():
        raise DataError(
            f"column {column!r} has {empty.sum()} missing values (first at row "
            f"{rows[np.argmax(empty)]}); pass missing='interpolate', 'ffill' or 'zero' to fill"
        )


def _regularize_long(ids, values, rows, offset, missing, id_col):
    """Regularizes each series of a long table on a grid shared by all of them."""
    if ids.isna().any():
        i = np.argmax(ids.isna().to_numpy())
        raise DataError(f"id column {id_col!r} is empty at row {rows[i]}")
    ids = ids.astype(str).to_numpy()
    groups = pd.Series(np.arange(len(ids))).groupby(ids, sort=True).indices
    if offset is None:  # the longest series gives the step most reliably
        longest = max(groups, key=lambda key: len(groups[key]))
        order = groups[longest]
        _, offset = regularize(values.iloc[order], rows[order], None, missing, _series(longest))
    frames = []
    for key, order in groups.items():
        frame, _ = regularize(values.iloc[order], rows[order], offset, missing, _series(key))
        frames.append(frame.assign(**{id_col: key})[[id_col, *frame.columns]])
    return pd.concat(frames), offset


def _series(key):
    return f"series {key!r}"
