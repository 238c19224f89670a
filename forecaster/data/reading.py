"""Reading a time-series CSV into a pandas DataFrame on a regular DatetimeIndex.

The result is a plain `pd.DataFrame` (no wrapper class), so everything pandas offers works
on it:

- the index is a `pd.DatetimeIndex` (time-zone-aware if the stamps were), sorted, one row
  per step, with its `freq` set in wide format; for a series without timestamps
  (``time_col=False``, ``orient="rows"``) it is an int64 step index named ``"step"``
  (`forecaster.data.steps`);
- every value column is float64 (categorical columns one-hot encoded on request);
- in long format (``id_col=``) the id column comes first as strings and the rows are sorted
  by series, then time (by step: the series in the file's order); each series is on its own
  regular grid;
- ``frame.attrs`` holds ``"freq"`` (the step as a pandas frequency string; None for a
  series without timestamps) and ``"id_col"`` (None in wide format), which `split`,
  `Scaler` and `make_windows` read when not told, and ``"read_options"``, the arguments
  given that differ from the defaults (so a served model reads new data as this was read).

A file goes through these steps, each its own module: its bytes become text
(`forecaster.data.files`: compression, encoding), the text a header and rows
(`forecaster.data.layout`: separator, preamble, footer), the rows text cells that pyarrow
reads, the cells numbers (`forecaster.data.numbers`: missing markers, decimal comma,
thousands) and stamps (`forecaster.data.columns` finds the time column,
`forecaster.data.dates` reads it), and the series a regular grid
(`forecaster.data.timestamps`) or, without timestamps, a step index
(`forecaster.data.steps`). Every problem is a one-line `DataError` naming the file,
column, row or value and, in its `fix`, the option that gets past it; what the reader
drops on its own (an empty unnamed column, a row index, empty rows) it says in a
`DataNote` warning.
"""

import dataclasses
import functools
import inspect
import numbers
import warnings
from pathlib import Path

import pandas as pd
import pyarrow as pa

from forecaster import checks
from forecaster.data import columns as found_columns
from forecaster.data import steps
from forecaster.data.cells import read_cells
from forecaster.data.dates import parse_times
from forecaster.data.errors import DataError, DataNote
from forecaster.data.files import Text, read_text
from forecaster.data.layout import Layout, find_layout, preamble_error
from forecaster.data.numbers import (
    MISSING_MARKERS,
    NumberFormat,
    check_format,
    choose_format,
    value_frame,
)
from forecaster.data.timestamps import (
    check_policy,
    check_repeats,
    regularize,
    regularize_long,
    to_offset,
)

CATEGORICAL_POLICIES = ("error", "onehot")
REPEATED_HEADER_POLICIES = ("error", "drop")
_TEXT = pd.ArrowDtype(pa.string())  # text cells stay in pyarrow's memory


@dataclasses.dataclass
class Loaded:
    """A file as `load` read it: the frame and what was found on the way.

    Attributes:
        frame: what `read_csv` returns.
        text: the file's encoding and compression (`forecaster.data.files.Text`).
        layout: its separator and header (`forecaster.data.layout.Layout`).
        number_format: how it writes numbers (`forecaster.data.numbers.NumberFormat`).
        time_col: the time column(s), a list; empty for a series without timestamps.
        rows: the data rows read (before any regularizing).
        missing: each value column's missing cells (before filling), by name.
        duplicates: the rows that shared a stamp with an earlier one.
        gaps: the steps missing from the grid (filled by the policy); none by step.
        notes: what the reader dropped or chose on its own, one line each.
        encoded: the text columns one-hot encoded.
    """

    frame: pd.DataFrame
    text: Text
    layout: Layout
    number_format: NumberFormat
    time_col: list
    rows: int
    missing: dict
    duplicates: int
    gaps: int
    notes: list
    encoded: list


def read_csv(
    path,
    *,
    time_col=None,
    id_col=None,
    orient="columns",
    columns=None,
    date_format=None,
    freq=None,
    missing="error",
    categorical="error",
    encoding=None,
    sep=None,
    decimal=None,
    thousands=None,
    na_values=None,
    skiprows=0,
    skipfooter=0,
    repeated_headers="error",
):
    """Reads a wide or long time-series CSV into a regular, numeric DataFrame.

    Args:
        path: the CSV file, plain or compressed (gzip, bzip2, xz, a zip of one file),
            whatever its name.
        time_col: the column holding the timestamps, or a list of columns that together
            make them (``["year", "month", "day", "hour"]``, ``["date", "time"]``). None:
            found (see `forecaster.data.columns`). False: the file has no timestamps and
            its rows are consecutive steps (`forecaster.data.steps`).
        id_col: for long format (many series stacked in one file), the column naming each
            row's series. None: wide format, a single series with a column per variable.
        orient: "columns" (variables in columns, time in rows), or "rows": each row is
            one series without timestamps, its id in `id_col` and its observations in the
            other columns (as the M4 competition publishes them); the result is long,
            columns ``[id_col, "value"]``, and a row's trailing empty cells are padding.
        columns: the value columns to keep, in order. None: every other column.
        date_format: a `strftime` format for the time column(s), or "epoch_s" ("%s"),
            "epoch_ms" or "excel" for numbers; None infers it (`forecaster.data.dates`).
        freq: the step as a pandas frequency ('h', '15min', 'MS'); None infers it (and
            is the only value for a series without timestamps).
        missing: what to do with gaps, duplicated stamps and empty cells: "error",
            "interpolate", "ffill" or "zero" (see `forecaster.data.timestamps`).
        categorical: what to do with a text column: "error", or "onehot" to replace it by
            one float column per value, named ``"column=value"``.
        encoding: the file's text encoding, e.g. "cp1252"; None finds UTF-8, UTF-16 and
            UTF-32 (`forecaster.data.files`).
        sep: the field separator; None finds comma, semicolon, tab or pipe.
        decimal: the decimal mark, "." or ","; None (with `thousands` None) finds it.
        thousands: the thousands separator ("," "." " " or "'"), or None.
        na_values: the cells read as missing values (any case), replacing
            `forecaster.data.numbers.MISSING_MARKERS`; an empty cell is always missing.
        skiprows: lines skipped before the header (a preamble).
        skipfooter: non-blank lines dropped at the end (a footer such as ``Total,...``).
        repeated_headers: "error", or "drop" to drop rows that repeat the header.

    Returns:
        A `pd.DataFrame` as described in the module docstring.

    Raises:
        DataError: the file cannot become a regular numeric series; the one-line message
            names the file, column, row or value and the option that loads it.
        ValueError: an argument is not one of the accepted values.

    Example:
        >>> frame = read_csv("../shared/data/ETTh1.csv")
        >>> frame.attrs["freq"], frame.shape
        ('h', (17420, 7))
        >>> m4 = read_csv("../shared/data/m4/hourly-train.csv", id_col="V1", orient="rows")
        >>> m4.index.name, m4.attrs["read_options"], m4.shape
        ('step', {'id_col': 'V1', 'orient': 'rows'}, (353500, 2))
    """
    options = dict(locals())
    del options["path"]
    frame = _load(path, **options).frame
    defaults = inspect.signature(read_csv).parameters
    frame.attrs["read_options"] = {
        name: list(value) if isinstance(value, tuple) else value
        for name, value in options.items()
        if value != defaults[name].default
    }
    return frame


def load(path, **options):
    """Reads a CSV as ``read_csv(path, **options)`` does and says what it found.

    Returns:
        A `Loaded`.

    Raises:
        TypeError: an option that `read_csv` does not take.
    """
    bound = inspect.signature(read_csv).bind(path, **options)
    bound.apply_defaults()
    return _load(**bound.arguments)


def _load(path, **options):
    _check_arguments(options)
    na_values = options["na_values"]
    markers = MISSING_MARKERS if na_values is None else _markers(na_values)
    name = Path(path).name
    with warnings.catch_warnings(record=True) as noted:
        warnings.simplefilter("always", DataNote)
        text = read_text(path, options["encoding"])
        layout = find_layout(
            text.text, name, options["sep"], options["skiprows"], options["skipfooter"]
        )
        if options["orient"] == "rows":  # before a line of data as header repeats names
            header = layout.sep.join(layout.names)
            steps.check_header(layout.names, options["id_col"], name, header)
        cells, rows = read_cells(layout, name, markers, options["repeated_headers"])
        read = _by_row if options["orient"] == "rows" else _by_column
        found = read(cells, rows, layout, name, markers, options)
    notes = [str(w.message) for w in noted if issubclass(w.category, DataNote)]
    for w in noted:  # said again outside, where the caller's filters apply
        warnings.warn(w.message, w.category, stacklevel=3)
    return Loaded(text=text, layout=layout, rows=len(rows), notes=notes, **found)


def _by_column(cells, rows, layout, name, markers, options):
    """A file with variables in columns, on a time grid or (``time_col=False``) by step."""
    time_col, id_col, columns = options["time_col"], options["id_col"], options["columns"]
    missing = options["missing"]
    strings = pd.DataFrame(
        {c: pd.Series(cells[c], dtype=_TEXT, copy=False) for c in cells},
        index=pd.RangeIndex(len(rows)),
    )
    time_cols, dropped, times = [], [], None
    if time_col is not False:
        exclude = () if columns is None else found_columns.listed(columns)
        stamped = options["freq"] is not None or options["date_format"] is not None
        without = None if stamped else functools.partial(steps.advice, cells, id_col, columns)
        try:
            time_cols, dropped = found_columns.find_time_columns(
                strings, time_col, name, exclude, without
            )
        except DataError:
            _refuse_late_header(strings, layout, name, options["skiprows"])
            raise
        times = _stamps(
            strings, rows, time_cols, options["date_format"], name, options["skipfooter"]
        )
        coarse = functools.partial(found_columns.coarse_advice, strings, times, time_cols)
        if id_col is None:
            check_repeats(times, rows, name, coarse)
    value_cols = _value_columns(cells, columns, {*time_cols, *dropped, id_col}, id_col, name)
    number_format = _number_format(cells, value_cols, layout, name, options)
    policy = {"categorical": options["categorical"], "missing": missing, "markers": markers}
    values = value_frame(cells, value_cols, rows, number_format, policy, name)
    empty = {c: int(values[c].isna().sum()) for c in values.columns}
    duplicates = gaps = 0
    if times is None:
        ids = None if id_col is None else strings[id_col]
        frame = steps.step_frame(values, ids, rows, missing, id_col, name)
        freq = None
    else:
        values = values.set_axis(times, axis=0)
        offset = None if options["freq"] is None else to_offset(options["freq"])
        if id_col is None:
            frame, offset = regularize(values, rows, offset, missing, name, coarse)
            frame.index.freq = offset
        else:
            frame, offset = regularize_long(strings[id_col], values, rows, offset, missing, id_col)
        freq = offset.freqstr
        stamps = len(times.unique())
        duplicates = len(times) - stamps
        gaps = max(len(frame) - (stamps if id_col is None else len(times)), 0)
    frame.attrs.update(freq=freq, id_col=id_col)
    return {
        "frame": frame,
        "number_format": number_format,
        "time_col": time_cols,
        "missing": empty,
        "duplicates": duplicates,
        "gaps": gaps,
        "encoded": [c for c in value_cols if c not in values.columns],
    }


def _by_row(cells, rows, layout, name, markers, options):
    """A file of one series per row (``orient="rows"``), by step."""
    id_col = options["id_col"]
    value_cols = _value_columns(cells, options["columns"], {id_col}, id_col, name)
    number_format = _number_format(cells, value_cols, layout, name, options)
    frame, holes = steps.rows_frame(
        cells, rows, id_col, value_cols, number_format, options["missing"], markers, name
    )
    frame.attrs.update(freq=None, id_col=id_col)
    return {
        "frame": frame,
        "number_format": number_format,
        "time_col": [],
        "missing": {steps.VALUE: holes},
        "duplicates": 0,
        "gaps": 0,
        "encoded": [],
    }


def _number_format(cells, value_cols, layout, name, options):
    return choose_format(
        {c: cells[c] for c in value_cols},
        options["decimal"],
        options["thousands"],
        name,
        layout.sep != ",",
    )


def _check_arguments(options):
    """Refuses, before the file is opened, an argument that is not one `read_csv` takes."""
    steps.check_options(
        *(options[k] for k in ("time_col", "orient", "id_col", "freq", "date_format"))
    )
    if options["freq"] is not None:
        to_offset(options["freq"])
    check_policy(options["missing"])
    _check_choice("categorical", options["categorical"], CATEGORICAL_POLICIES)
    _check_choice("repeated_headers", options["repeated_headers"], REPEATED_HEADER_POLICIES)
    check_format(options["decimal"], options["thousands"])
    checks.count("skiprows", options["skiprows"])
    checks.count("skipfooter", options["skipfooter"])
    if options["time_col"] is not False:
        checks.column_names("time_col", options["time_col"])
    columns = checks.column_names("columns", options["columns"])
    if columns is not None and len(set(columns)) < len(columns):
        raise ValueError(f"columns={options['columns']!r} names a column more than once")
    if options["id_col"] is not None and not isinstance(options["id_col"], str):
        raise ValueError(f"id_col={options['id_col']!r} is not a column name")
    date_format = options["date_format"]
    if date_format is not None and not isinstance(date_format, str):
        raise ValueError(f"date_format={date_format!r} is not a format such as '%Y-%m-%d'")


def _markers(na_values):
    """`na_values` as the markers: text, numbers written as text; the empty cell always."""
    single = isinstance(na_values, str | numbers.Number)
    values = [na_values] if single else found_columns.listed(na_values)
    for value in values:
        if isinstance(value, bool) or not isinstance(value, str | numbers.Number):
            raise ValueError(f"na_values={na_values!r} holds {value!r}; pass strings or numbers")
    return ("", *(str(value) for value in values))


def _refuse_late_header(strings, layout, name, skiprows):
    """Refuses a file whose header is one of its first rows: a key,value preamble."""
    lines = layout.body.split(b"\n")
    filled = [n for n, text in enumerate(lines) if text.strip()]  # pyarrow skips blank lines
    for i in range(min(10, len(strings), len(filled))):
        cells = strings.iloc[i].dropna().astype(str).str.strip().str.lower()
        if cells.isin(found_columns.TIME_COLUMN_NAMES).any():
            line = layout.header_line + filled[i]  # the lines before that row
            shown = layout.sep.join(strings.iloc[i].fillna("").astype(str))
            raise preamble_error(name, line, shown, skiprows)


def _check_choice(key, value, accepted):
    if value not in accepted:
        raise ValueError(f"{key}={value!r} is not a policy; pass one of {accepted}")


def _stamps(strings, rows, time_cols, date_format, name, skipfooter):
    """The rows' stamps; rows at the end whose time cells are words are a footer."""
    try:
        return parse_times(strings, time_cols, date_format, rows)
    except DataError as error:
        footer = found_columns.footer_rows(strings[time_cols[0]])
        if not footer:
            raise
        try:
            parse_times(strings.iloc[:-footer], time_cols, date_format, rows[:-footer])
        except DataError:
            raise error from None
        last = strings.iloc[-footer].fillna("").astype(str).str.cat(sep=",")
        raise DataError(
            f"{name} ends with {footer} rows whose time column holds no stamp (row "
            f"{rows[-footer]}: {last[:60]!r}), a footer rather than data; pass "
            f"skipfooter={skipfooter + footer} to drop them",
            fix={"skipfooter": skipfooter + footer},
        ) from None


def _value_columns(cells, columns, taken, id_col, name):
    if id_col is not None and id_col not in cells:
        shown = found_columns.shown(cells)
        raise DataError(f"{name} has no id column {id_col!r}; columns are {shown}")
    if columns is None:
        chosen = [c for c in cells if c not in taken]
    else:
        chosen = found_columns.listed(columns)
        absent = [c for c in chosen if c not in cells or c in taken]
        if absent:
            raise DataError(
                f"{name} has no value column {absent[0]!r}; value columns are "
                f"{[c for c in cells if c not in taken]}"
            )
    if not chosen:
        raise DataError(f"{name} has no value columns besides {sorted(taken - {None})}")
    return chosen
