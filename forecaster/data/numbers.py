"""Numbers as people write them in CSVs: missing markers, decimal commas, thousands separators.

A value column arrives as text. Its cells are trimmed; a cell that is one of the missing
markers (any case) is missing; the rest are read in the file's number format. The format
(the decimal mark, and the thousands separator if any) is the reader's `decimal=` and
`thousands=`, or, when not given, found from the cells: the plain form (``1234.5``) unless
a cell does not read that way, and then the format that reads the most cells of the file
among the common ones (``1234,5``; ``1,234.5``; ``1.234,5``; ``1 234.5``). Where two
formats read the same cells into different numbers (``1,234`` alone is 1.234 or 1234), the
file is refused with both options, never guessed.
"""

import dataclasses
import re
import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from forecaster.data.errors import DataError, DataNote

# Cells read as missing values (compared without case, after trimming spaces).
MISSING_MARKERS = ("", "NA", "N/A", "#N/A", "null", "NaN", "-", "?")
THOUSANDS = (",", ".", " ", "'", "\u00a0", "\u202f")  # the last two: no-break spaces
# Numbers that exports write for "no value": noted when one is a column's least or greatest.
SENTINELS = (-9999.0, -999.0, 9999.0, 99999.0)
# The formats tried, in order of preference, as (decimal mark, thousands separator).
FORMATS = (
    (".", None),
    (",", None),
    (".", ","),
    (",", "."),
    (".", " "),
    (",", " "),
    (".", "'"),
    (",", "\u00a0"),
    (",", "\u202f"),
)
# Dotted integers in thousands (1.234, 12.500), which a plain reading takes for decimals.
_GROUPED = r"^[+-]?[1-9]\d{0,2}(\.\d{3})+$"
_NUMERIC_TEXT = r"^[+-]?[\d.,' \u00a0\u202f]*\d[\d.,' \u00a0\u202f]*$"
# A number with a unit, a currency sign or accounting brackets: $10, 5 %, 12 kWh, (12).
_DECORATED = r"^\(?[-+]?[$€£¥]?\s*[-+]?\d[\d.,' \u00a0\u202f]*\s*(%|[A-Za-z°/²³]{1,5})?\)?$"


@dataclasses.dataclass(frozen=True)
class NumberFormat:
    """How a file writes its numbers.

    Attributes:
        decimal: the decimal mark, "." or ",".
        thousands: the thousands separator, or None.
        detected: whether it was found from the cells rather than given.
    """

    decimal: str = "."
    thousands: str | None = None
    detected: bool = False

    @property
    def plain(self):
        """Whether numbers are written as Python writes them (``1234.5``)."""
        return self.decimal == "." and self.thousands is None

    def options(self):
        """The `read_csv` arguments that name this format (none for the plain one)."""
        chosen = {} if self.decimal == "." else {"decimal": self.decimal}
        return chosen | ({} if self.thousands is None else {"thousands": self.thousands})


def trimmed(strings, markers):
    """Text cells without surrounding spaces, the missing ones (empty, a marker) null."""
    strings = pc.utf8_trim_whitespace(strings)
    longest = max(len(m.encode()) for m in markers)
    shortest = pc.min(pc.binary_length(strings)).as_py()
    if shortest is not None and shortest > longest:
        return strings  # no cell is as short as a marker (the common case: long numbers)
    lowered = pc.utf8_lower(strings)
    found = pc.is_in(lowered, value_set=pa.array([m.lower() for m in markers], pa.string()))
    return pc.if_else(pc.fill_null(found, False), pa.scalar(None, pa.string()), strings)


def choose_format(columns, decimal, thousands, name, european=False):
    """The number format of a file's value columns.

    Args:
        columns: a dict from column name to its trimmed text cells (`trimmed`).
        decimal: the decimal mark given, or None to find it.
        thousands: the thousands separator given, or None (when `decimal` is None too:
            find it; else: there is none).
        name: the file's name, for messages.
        european: whether the file looks European (separated by ';'): then integers
            written with dots (``12.500``) are not taken for plain decimals unasked.

    Returns:
        A `NumberFormat`.

    Raises:
        DataError: two formats read the cells into different numbers.
        ValueError: `decimal` or `thousands` is not an accepted mark.
    """
    if decimal is not None or thousands is not None:
        return NumberFormat(*check_format(decimal, thousands))
    if all(_plain(cells) for cells in columns.values()):
        grouped = [column for column, cells in columns.items() if european and _all_grouped(cells)]
        for column in grouped:
            _refuse_if_read_apart(column, columns[column], FORMATS[0], (",", "."), name)
        return NumberFormat()
    counts = {fmt: sum(_reads(cells, *fmt) for cells in columns.values()) for fmt in FORMATS}
    most = max(counts.values())
    best = [fmt for fmt in FORMATS if counts[fmt] == most]
    first = best[0]
    for other in best[1:]:
        for column, cells in columns.items():
            _refuse_if_read_apart(column, cells, first, other, name)
    return NumberFormat(*first, detected=first != FORMATS[0])


def _all_grouped(cells):
    dotted = cells.filter(pc.fill_null(pc.match_substring(cells, "."), False))
    if len(dotted) == 0:
        return False
    return bool(pc.all(pc.match_substring_regex(dotted, _GROUPED)).as_py())


def _refuse_if_read_apart(column, cells, first, other, name):
    """Refuses a column that two formats read into different numbers, naming both."""
    a, b = to_floats(cells, NumberFormat(*first)), to_floats(cells, NumberFormat(*other))
    both = ~(a[1] | b[1]) & ~np.isnan(a[0]) & ~np.isnan(b[0])
    differ = np.flatnonzero(both & (a[0] != b[0]))
    if len(differ):
        i = differ[0]
        text = cells[int(i)].as_py()
        raise DataError(
            f"{name}: column {column!r} value {text!r} (row {i + 1}) reads as "
            f"{a[0][i]:g} with {_spelled(first)} or {b[0][i]:g} with "
            f"{_spelled(other)}; pass the one the file uses"
        )


def check_format(decimal, thousands):
    """`(decimal, thousands)` as given to the reader, checked; decimal None is "."."""
    decimal = "." if decimal is None else decimal
    if decimal not in (".", ","):
        raise ValueError(f"decimal={decimal!r} is not a decimal mark; pass '.' or ','")
    accepted = [mark for mark in THOUSANDS if mark != decimal]
    if thousands is not None and thousands not in accepted:
        raise ValueError(
            f"thousands={thousands!r} is not a thousands separator besides "
            f"decimal={decimal!r}; pass one of {accepted}"
        )
    return decimal, thousands


def _spelled(fmt):
    return ", ".join(f"{k}={v!r}" for k, v in NumberFormat(*fmt).options().items()) or (
        "decimal='.'"
    )


def _plain(cells):
    try:
        pc.cast(cells, pa.float64())
    except pa.ArrowInvalid:
        return False
    return True


def _pattern(decimal, thousands):
    digits = r"\d+" if thousands is None else rf"(\d{{1,3}}({re.escape(thousands)}\d{{3}})+|\d+)"
    fraction = re.escape(decimal) + r"\d*"
    return rf"^[+-]?({digits}({fraction})?|{re.escape(decimal)}\d+)([eE][+-]?\d+)?$"


def _reads(cells, decimal, thousands):
    """How many cells read as numbers in this format."""
    return pc.sum(pc.match_substring_regex(cells, _pattern(decimal, thousands))).as_py() or 0


def to_floats(cells, fmt):
    """Reads trimmed text cells as numbers in a format.

    Args:
        cells: trimmed text cells, missing ones null (`trimmed`).
        fmt: a `NumberFormat`.

    Returns:
        `(values, bad)`: float64 values (NaN where missing or unreadable) and a boolean
        array of the cells that are present but not numbers in that format.
    """
    present = pc.is_valid(cells).to_numpy(zero_copy_only=False)
    if fmt.plain:
        try:
            values = pc.cast(cells, pa.float64()).to_numpy(zero_copy_only=False)
            return np.array(values, dtype="float64"), np.zeros(len(present), bool)
        except pa.ArrowInvalid:
            values = pd.to_numeric(cells.to_pandas(), errors="coerce").to_numpy("float64")
            return values, present & np.isnan(values)
    ok = pc.fill_null(pc.match_substring_regex(cells, _pattern(fmt.decimal, fmt.thousands)), False)
    text = pc.if_else(ok, cells, pa.scalar(None, pa.string()))
    if fmt.thousands is not None:
        text = pc.replace_substring(text, fmt.thousands, "")
    if fmt.decimal != ".":
        text = pc.replace_substring(text, fmt.decimal, ".")
    values = pc.cast(text, pa.float64()).to_numpy(zero_copy_only=False).astype("float64")
    bad = present & ~ok.to_numpy(zero_copy_only=False)
    if bad.any():  # "inf" reads in no format; it stays infinite for the reader to refuse
        plain = pd.to_numeric(cells.filter(pa.array(bad)).to_pandas(), errors="coerce")
        infinite = np.isinf(plain.to_numpy("float64"))
        values[np.flatnonzero(bad)[infinite]] = plain.to_numpy("float64")[infinite]
        bad[np.flatnonzero(bad)[infinite]] = False
    return values, bad


def value_frame(cells, value_cols, rows, number_format, options, name):
    """The value columns as float64: text columns one-hot encoded or refused, NaNs policed.

    Args:
        cells: a dict from column name to trimmed text cells (`trimmed`).
        value_cols: the value columns, in order.
        rows: each row's 1-based number, for messages.
        number_format: the file's `NumberFormat`.
        options: the reader's `categorical` ("error", or "onehot" to encode a text
            column), `missing` (under "error" a missing cell is refused) and `markers`
            (the missing markers; those that are numbers match as numbers, so -9999 is
            missing as ``-9999.0`` too).
        name: the file's name, for messages.

    Returns:
        A DataFrame of float64 columns on a RangeIndex.

    Raises:
        DataError: an empty column, a non-numeric or infinite value, a text column under
            "error", a missing cell under "error".
    """
    categorical, missing, markers = options["categorical"], options["missing"], options["markers"]
    codes = marker_codes(markers)
    parts = []
    for column in value_cols:
        if cells[column].null_count == len(cells[column]):
            others = [c for c in value_cols if c != column]
            raise DataError(
                f"{name}: column {column!r} is empty in all {len(rows)} rows, which no policy "
                f"fills; leave it out with columns={others}",
                fix={"columns": others} if others else None,
            )
        values, bad = to_floats(cells[column], number_format)
        if bad.any():
            if np.isnan(values).all():  # no number at all: text, or numbers not read
                text = cells[column].to_pandas()
                _refuse_unread_numbers(column, text, rows)
                parts.append(_categorical(column, text, rows, categorical, missing))
                continue
            raise _non_numeric(cells[column], bad, rows, column, markers)
        values[np.isin(values, codes)] = np.nan
        _note_sentinels(column, values, name)
        finite = np.isfinite(values) | np.isnan(values)
        if not finite.all():
            i = np.argmin(finite)
            raise DataError(
                f"column {column!r} has {(~finite).sum()} infinite values "
                f"(first at row {rows[i]}: {float(values[i])!r}); only finite numbers are accepted"
            )
        _police_missing(column, np.isnan(values), rows, missing)
        parts.append(pd.Series(values, name=column))
    return pd.concat(parts, axis=1)


def marker_codes(markers):
    """The missing-value markers that are numbers (e.g. -9999), as floats."""
    return [float(m) for m in markers if _is_number(m)]


def _is_number(text):
    try:
        float(text)
    except (TypeError, ValueError):
        return False
    return True


def _refuse_unread_numbers(column, text, rows):
    """A column of numbers in a form no format reads is not text to encode."""
    present = text.dropna()
    if present.str.match(_NUMERIC_TEXT).all():
        raise DataError(
            f"column {column!r} holds numbers written in a form not read (row {rows[0]}: "
            f"{present.iloc[0]!r}); pass decimal= and thousands= as the file writes them"
        )
    if present.str.match(_DECORATED).mean() > 0.5:
        raise _decorated(column, present, rows)


def _decorated(column, text, rows):
    """Numbers dressed in units, currency signs or brackets: the file needs cleaning."""
    i = int(np.argmax(text.str.match(_DECORATED).to_numpy()))
    return DataError(
        f"column {column!r} holds numbers with units, currency signs or brackets (row "
        f"{rows[text.index[i]]}: {text.iloc[i]!r}); no option reads them: write plain "
        "numbers in the file"
    )


def _note_sentinels(column, values, name):
    finite = values[~np.isnan(values)]
    if not len(finite):
        return
    for code in SENTINELS:
        count = int((finite == code).sum())
        if count and code in (finite.min(), finite.max()):
            warnings.warn(
                f"{name}: column {column!r} holds {code:g} in {count} rows, a common code for "
                f"a missing value; if it is one, pass na_values={[*MISSING_MARKERS[1:], code]}",
                DataNote,
                stacklevel=4,
            )


def _non_numeric(cells, bad, rows, column, markers):
    i = int(np.argmax(bad))
    text = cells.filter(pa.array(bad)).to_pandas()
    message = (
        f"column {column!r} has {int(bad.sum())} non-numeric values (first at row {rows[i]}: "
        f"{text.iloc[0]!r})"
    )
    if text.str.match(_DECORATED).any():  # a number in other dress is not a missing value
        return _decorated(column, text.set_axis(np.flatnonzero(bad)), rows)
    distinct = list(dict.fromkeys(text))
    if len(distinct) <= 6 and all(len(v) <= 12 for v in distinct):
        markers = [*(m for m in markers if m), *distinct]
        return DataError(
            f"{message}; if they mark missing values, pass na_values={markers}",
            fix={"na_values": markers},
        )
    return DataError(message)


def _categorical(column, text, rows, categorical, missing):
    if categorical == "error":
        raise DataError(
            f"column {column!r} holds text (first at row {rows[0]}: {text.dropna().iloc[0]!r}), "
            "not numbers; pass categorical='onehot' to one-hot encode it, or leave it out "
            "with columns=",
            fix={"categorical": "onehot"},
        )
    _police_missing(column, text.isna().to_numpy(), rows, missing)
    onehot = pd.get_dummies(text, prefix=column, prefix_sep="=", dtype="float64")
    return onehot.where(text.notna(), np.nan).reindex(sorted(onehot.columns), axis=1)


def _police_missing(column, empty, rows, missing):
    if missing == "error" and empty.any():
        raise DataError(
            f"column {column!r} has {empty.sum()} missing values (first at row "
            f"{rows[np.argmax(empty)]}); pass missing='interpolate', 'ffill' or 'zero' to fill",
            fix={"missing": "interpolate"},
        )
