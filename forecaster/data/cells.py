"""The rows of a laid-out CSV as text cells, and the rows and columns that are not data.

pyarrow reads the rows (`forecaster.data.layout.Layout.body`) as text, every column; the
cells are trimmed and the missing markers made null (`forecaster.data.numbers`). Then:
empty rows are dropped with a note; rows that repeat the header are refused, or dropped
with ``repeated_headers="drop"``; empty columns without a name (a spreadsheet's trailing
separators) and a first column that only counts the rows (pandas's index) are dropped with
a note; a column without a name but with values is called ``Unnamed: <position>``.
"""

import csv
import io
import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from forecaster.data.columns import index_column
from forecaster.data.errors import DataError, DataNote
from forecaster.data.numbers import trimmed


def read_cells(layout, name, markers, repeated_headers):
    """The rows' cells as trimmed text arrays, by column name, and each row's number.

    Args:
        layout: the file's `forecaster.data.layout.Layout`.
        name: the file's name, for messages.
        markers: the cells read as missing values.
        repeated_headers: "error" or "drop".

    Returns:
        `(cells, rows)`: a dict from column name to a pyarrow string array (nulls where
        missing), and the 1-based row number of each remaining row.

    Raises:
        DataError: no rows, a row with another number of fields, a repeated header row
            (under "error"), or a column name used twice.
    """
    names = layout.names
    keys = [f"f{i}" for i in range(len(names))]
    if not layout.body.strip():
        raise DataError(f"{name} has a header but no data rows")
    try:
        table = pacsv.read_csv(
            io.BytesIO(layout.body),
            read_options=pacsv.ReadOptions(column_names=keys),
            parse_options=pacsv.ParseOptions(delimiter=layout.sep),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(keys, pa.string()),
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )
    except pa.ArrowInvalid as error:
        raise _parse_error(error, layout, name) from None
    if table.num_rows == 0:
        raise DataError(f"{name} has a header but no data rows")
    raw = {key: table[key].combine_chunks() for key in keys}
    cells = {key: trimmed(raw[key], markers) for key in keys}
    rows = np.arange(1, table.num_rows + 1)
    keep = ~np.all([pc.is_null(cells[k]).to_numpy(zero_copy_only=False) for k in keys], axis=0)
    if not keep.all():
        _note(f"{name}: dropped {int((~keep).sum())} empty rows (first at row {rows[~keep][0]})")
    headers = _repeated_headers(raw, names, keys)
    if headers.any():
        first = int(rows[headers][0])
        line = layout.sep.join(names)
        more = f", as do {int(headers.sum()) - 1} more rows" if headers.sum() > 1 else ""
        if repeated_headers == "error":
            raise DataError(
                f"{name} row {first} repeats the header ({line[:60]!r}){more}; pass "
                "repeated_headers='drop' to drop such rows",
                fix={"repeated_headers": "drop"},
            )
        _note(f"{name}: dropped {int(headers.sum())} rows that repeat the header (first {first})")
        keep &= ~headers
    if not keep.all():
        mask = pa.array(keep)
        cells = {key: array.filter(mask) for key, array in cells.items()}
        rows = rows[keep]
    if len(rows) == 0:
        raise DataError(f"{name} has a header but no data rows")
    return _named(cells, names, keys, name), rows


def _parse_error(error, layout, name):
    """The line whose field count breaks the table, found again with Python's reader."""
    lines = csv.reader(io.StringIO(layout.body.decode(), newline=""), delimiter=layout.sep)
    try:
        for i, fields in enumerate(lines):
            if fields and len(fields) != len(layout.names):
                line = layout.header_line + 1 + i
                shown = layout.sep.join(fields)[:60]
                return DataError(
                    f"{name} line {line} has {len(fields)} fields where the header has "
                    f"{len(layout.names)}: {shown!r}"
                )
    except csv.Error:  # a carriage return inside a field: pyarrow's reason is the best one
        pass
    reason = str(error).splitlines()[0] if str(error) else type(error).__name__
    return DataError(f"{name} is not a well-formed CSV: {reason[:200]}")


def _repeated_headers(raw, names, keys):
    named = [(key, n) for key, n in zip(keys, names, strict=True) if n]
    if len(named) < 2:
        return np.zeros(len(raw[keys[0]]), bool)
    matches = sum(
        pc.fill_null(pc.equal(pc.utf8_trim_whitespace(raw[key]), n), False)
        .to_numpy(zero_copy_only=False)
        .astype(int)
        for key, n in named
    )
    return matches >= len(named)


def _named(cells, names, keys, name):
    """Cells by column name: unnamed empty columns and a row index dropped with a note."""
    empty = [
        key
        for key, column in zip(keys, names, strict=True)
        if not column and cells[key].null_count == len(cells[key])
    ]
    if empty:
        _note(f"{name}: dropped {len(empty)} empty columns without a name")
    out = {}
    for i, (key, column) in enumerate(zip(keys, names, strict=True)):
        if key in empty:
            continue
        label = column or f"Unnamed: {i}"
        if label in out:
            raise DataError(f"{name} has the column name {column!r} more than once")
        out[label] = cells[key]
    first = next(iter(out))
    head = pd.DataFrame({first: out[first].to_pandas()})
    if index_column(head) is not None:
        _note(f"{name}: dropped column {first!r}, which counts the rows (a row index, not data)")
        del out[first]
    unnamed = [label for label in out if label.startswith("Unnamed: ") and label not in names]
    if unnamed:
        _note(f"{name}: columns without a name but with values are called {unnamed}")
    return out


def _note(message):
    warnings.warn(message, DataNote, stacklevel=4)
