"""Timestamps out of a file's time column: text in many formats, and numbers.

Text is read as ISO 8601 first, then in the first of the common formats (day-first and
month-first dates, month names such as ``Jan-2020``, ``1-01`` year-month stamps) that fits
every value. A column of numbers is read by its range, each reading having one that no
other shares:

=============== ======================================= =====================
reading          values                                  `date_format`
=============== ======================================= =====================
years            integers 1000-2999                      ``'%Y'``
Excel serial     days since 1899-12-30, 10000-73050      ``'excel'``
                 (1927-2099), a fraction is the time
dates            eight digits, ``20200131``              ``'%Y%m%d'``
epoch seconds    1e8-4.1e9 (1973-2099)                   ``'epoch_s'`` or ``'%s'``
epoch millis     1e11-4.1e12 (1973-2099)                 ``'epoch_ms'``
stamps           twelve digits, ``202001311530``         ``'%Y%m%d%H%M'``
=============== ======================================= =====================

A column that fits none, or more than one (``202001311530`` is also a time in 1976 in
milliseconds), is refused with the value and the `date_format` of each reading. A reading
given as `date_format` takes any number, in its range or not.
"""

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from forecaster.data.errors import DataError

# Formats tried, in order, when no date_format is given; ISO 8601 covers most files.
_DAY_FIRST = tuple(
    f"%d{sep}%m{sep}{year}{time}"
    for sep in "/.-"
    for year in ("%Y", "%y")
    for time in ("", " %H:%M", " %H:%M:%S", " %I:%M %p", " %I:%M:%S %p")
)
_MONTH_FIRST = tuple(
    f"%m{sep}%d{sep}{year}{time}"
    for sep in "/-"
    for year in ("%Y", "%y")
    for time in ("", " %H:%M", " %H:%M:%S", " %I:%M %p", " %I:%M:%S %p")
)
_YEAR_FIRST = ("%Y/%m/%d", "%Y/%m/%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y.%m.%d")
_QUARTER = r"^\d{4}-?Q[1-4]$"
_MONTH_NAMES = (
    "%b-%Y",
    "%b %Y",
    "%B %Y",
    "%B-%Y",
    "%b-%y",
    "%Y-%b",
    "%d-%b-%Y",
    "%d %b %Y",
    "%d-%b-%y",
    "%d %B %Y",
    "%b %d, %Y",
    "%B %d, %Y",
    "%d-%b-%Y %H:%M",
    "%d-%b-%Y %H:%M:%S",
)
# Year without century and month, as in the shampoo data set: "1-01" is January 2001.
_SHORT_YEAR_MONTH = re.compile(r"^\d{1,2}-\d{1,2}$")
_NUMBER = r"^[+-]?\d+(\.\d+)?$"
_CALENDAR_PARTS = ("year", "month", "day", "hour", "minute", "second")
MONTHS = "jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec"  # the start of each month's name
TIME_OF_DAY = r"^\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?(\s*[AaPp][Mm])?$"
_DOTTED_TIME = r"^\d{1,2}\.\d{2}(\.\d{2})?$"  # 13.00.00, taken only in a column named so
_HOURS = r"^([01]?\d|2[0-3])$"  # a column of whole hours, 0 to 23
# Numeric readings: date_format -> (low, high, digits or None, whole numbers only).
_READINGS = {
    "%Y": (1000, 2999, 4, True),
    "excel": (10_000, 73_050.99999, None, False),
    "%Y%m%d": (18_000_101, 22_001_231, 8, True),
    "epoch_s": (1e8, 4.1e9, None, False),
    "epoch_ms": (1e11, 4.1e12, None, False),
    "%Y%m%d%H%M": (180_001_010_000, 220_012_312_359, 12, True),
}
NUMERIC_FORMATS = ("epoch_s", "epoch_ms", "excel", "%s")


def _to_datetime(text, fmt):
    """`pd.to_datetime` with NaT for misfits; mixed UTC offsets become aware UTC stamps."""
    try:
        return pd.to_datetime(text, format=fmt, errors="coerce")
    except ValueError:  # mixed offsets (e.g. a DST change) cannot share one fixed offset
        return pd.to_datetime(text, format=fmt, errors="coerce", utc=True)


def _first_bad(text, parsed, rows, column, what):
    bad = np.flatnonzero(parsed.isna().to_numpy())
    i = bad[0]
    return DataError(
        f"time column {column!r} has {len(bad)} values that are not {what} "
        f"(first at row {rows[i]}: {text.iloc[i]!r}); pass date_format= with the column's format"
    )


def _fits(text, fmt):
    """`text` parsed in `fmt` if every value fits (tried on a head first), else None."""
    if _to_datetime(text.iloc[:50], fmt).isna().any():
        return None
    parsed = _to_datetime(text, fmt)
    return None if parsed.isna().any() else parsed


def _infer(text, rows, column):
    """Parses strings in the first known format that fits every value."""
    if text.str.match(_NUMBER).all():
        return _numeric(text, rows, column, None)
    parsed = _to_datetime(text, "ISO8601")
    if parsed.notna().all():
        return parsed
    if text.str.match(_QUARTER).all():  # 2015Q1
        try:
            quarters = pd.PeriodIndex(text.str.replace("-", ""), freq="Q").to_timestamp()
        except ValueError:
            raise _first_bad(text, parsed, rows, column, "quarters such as 2015Q1") from None
        return pd.Series(quarters)
    if text.str.match(_SHORT_YEAR_MONTH).all():  # 1-01, the shampoo set's year-month
        padded = text.str.split("-", expand=True)
        stamps = padded[0].str.zfill(2) + "-" + padded[1].str.zfill(2)
        short = pd.to_datetime(stamps, format="%y-%m", errors="coerce")
        if short.notna().all() and padded[1].nunique() > 1:  # months vary, as months do
            return short
    day_first = _first_fit(text, _DAY_FIRST)
    month_first = _first_fit(text, _MONTH_FIRST)
    if day_first and month_first and not day_first[1].equals(month_first[1]):
        raise DataError(
            f"time column {column!r} could be day-first or month-first "
            f"(row {rows[0]}: {text.iloc[0]!r}); pass date_format='{day_first[0]}' or "
            f"date_format='{month_first[0]}'",
        )
    found = day_first or month_first or _first_fit(text, _YEAR_FIRST + _MONTH_NAMES)
    if found:
        return found[1]
    raise _first_bad(text, parsed, rows, column, "ISO 8601 timestamps")


def _first_fit(text, formats):
    """`(format, stamps)` of the first format that reads every value, or None."""
    for fmt in formats:
        stamps = _fits(text, fmt)
        if stamps is not None:
            return fmt, stamps
    return None


def _numeric(text, rows, column, date_format):
    """Reads a column of numbers in the one reading whose range holds every value."""
    values = pd.to_numeric(text, errors="coerce").to_numpy("float64")
    whole = bool((values == np.round(values)).all())
    digits = text.str.lstrip("+-").str.len().to_numpy()
    if date_format is None:
        fitting = [
            fmt
            for fmt, (low, high, width, integral) in _READINGS.items()
            if (values >= low).all()
            and (values <= high).all()
            and (width is None or (digits == width).all())
            and (whole or not integral)
        ]
        read = {fmt: _read_numbers(text, values, fmt) for fmt in fitting}
        read = {fmt: stamps for fmt, stamps in read.items() if stamps.notna().all()}
        if len(read) == 1:
            return next(iter(read.values()))
        options = " or ".join(f"date_format={fmt!r}" for fmt in _READINGS)
        if not read:
            raise DataError(
                f"time column {column!r} holds numbers that are no known timestamp (row "
                f"{rows[0]}: {text.iloc[0]!r}); pass date_format= with the reading: {options}"
            )
        first, second = list(read)[:2]
        raise DataError(
            f"time column {column!r} value {text.iloc[0]!r} (row {rows[0]}) reads as "
            f"{read[first].iloc[0]} with date_format={first!r} or {read[second].iloc[0]} "
            f"with date_format={second!r}; pass the one the file uses"
        )
    if np.isnan(values).any():  # a given reading takes any number, in or out of its range
        i = np.argmax(np.isnan(values))
        raise DataError(
            f"time column {column!r} value {text.iloc[i]!r} (row {rows[i]}) is not a number, "
            f"which date_format={date_format!r} reads"
        )
    return _read_numbers(text, values, "epoch_s" if date_format == "%s" else date_format)


def _read_numbers(text, values, fmt):
    if fmt == "excel":
        days = pd.to_timedelta(values, unit="D")
        return pd.Series(pd.Timestamp("1899-12-30") + days).dt.round("s")
    if fmt in ("epoch_s", "epoch_ms"):
        unit = fmt[-2:].lstrip("_")
        return pd.Series(pd.to_datetime(values, unit=unit)).dt.round("ms")
    return _to_datetime(text, fmt)


def parse_times(frame, columns, date_format, rows):
    """Builds the timestamps of every row from one time column or several.

    Args:
        frame: the raw table as read, one row per data line.
        columns: the time column's name, or a list of names whose values together make the
            timestamp (``["year", "month", "day", "hour"]``, ``["date", "time"]``, or any
            columns whose text, joined by spaces, matches `date_format`).
        date_format: a `strftime` format, one of `NUMERIC_FORMATS`, or None to infer one.
        rows: the 1-based row number of each row of `frame`, for messages.

    Returns:
        A `pd.DatetimeIndex`, one stamp per row; time-zone-aware input stays aware.

    Raises:
        DataError: a stamp is missing or does not parse; the message names row and value.
    """
    names = [columns] if isinstance(columns, str) else list(columns)
    label = names[0] if len(names) == 1 else "+".join(names)
    parts = frame[names]
    empty = parts.isna().any(axis=1).to_numpy()
    if empty.any():
        raise DataError(f"time column {label!r} is empty at row {rows[np.argmax(empty)]}")
    if len(names) > 1 and date_format is None:
        lower = [n.lower() for n in names]
        if set(lower) <= set(_CALENDAR_PARTS) and {"year", "month"} <= set(lower):
            parts = parts.set_axis(lower, axis=1).astype(str)
            parts["month"] = _month_numbers(parts["month"])
            parts = parts.apply(pd.to_numeric, errors="coerce")
            if "day" not in lower:
                parts = parts.assign(day=1)
            parsed = pd.to_datetime(parts, errors="coerce")
            if parsed.isna().any():
                text = _joined(frame[names], clocks=False)
                raise _first_bad(text, parsed, rows, label, "valid dates")
            return pd.DatetimeIndex(parsed, name="time")
    if len(names) == 1 and date_format is None and parts[label].notna().all():
        fast = _iso_stamps(parts[label])
        if fast is not None:
            return pd.DatetimeIndex(fast, name=label)
    if len(names) > 1:
        text = _joined(frame[names])
    elif date_format is None and pd.api.types.is_datetime64_any_dtype(parts[label].dtype):
        return pd.DatetimeIndex(parts[label], name=label)
    else:
        text = parts[names[0]].astype(str)
    text = text.str.strip()
    end_of_day = text.str.contains("24:00", regex=False)  # hour-ending exports: midnight
    if end_of_day.any():
        end_of_day = text.str.contains(r"(?:^|\s)24:00(?::00)?$")
    if end_of_day.any():
        text = text.str.replace(r"(^|\s)24:00(:00)?$", r"\g<1>00:00", regex=True)
    if date_format is None:
        parsed = _infer(text, rows, label)
    elif date_format in NUMERIC_FORMATS:
        parsed = _numeric(text, rows, label, date_format)
    else:
        parsed = _to_datetime(text, date_format)
        if parsed.isna().any():
            raise _first_bad(text, parsed, rows, label, f"in date_format={date_format!r}")
    parsed = pd.Series(parsed).where(~end_of_day.to_numpy(), parsed + pd.Timedelta(days=1))
    return pd.DatetimeIndex(parsed, name=label if len(names) == 1 else "time")


def _iso_stamps(column):
    """Plain ISO 8601 stamps (``2016-07-01 00:15:00``) parsed by pyarrow, else None.

    Whole seconds only, so the index has the resolution pandas gives such text ("s").
    """
    if not isinstance(column.dtype, pd.ArrowDtype) or column.dtype.pyarrow_dtype != pa.string():
        return None
    try:
        stamps = pc.cast(pc.utf8_trim_whitespace(pa.array(column)), pa.timestamp("s"))
    except pa.ArrowInvalid:
        return None
    return stamps.to_pandas()


def _month_numbers(months):
    """A month column as numbers: names (``Jan``, ``January``) read, numbers kept."""
    text = months.str.strip()
    if text.str.match(r"^\d+$").all():
        return text
    for fmt in ("%b", "%B", "%Y-%m"):
        read = pd.to_datetime(text, format=fmt, errors="coerce")
        if read.notna().all():
            return read.dt.month.astype(str)
    return text


def _joined(parts, clocks=True):
    """The columns' text joined by spaces; with `clocks`, a time of day as ``HH:MM[:SS]``."""
    columns = []
    for i, (_, column) in enumerate(parts.items()):
        text = column.astype(str).str.strip()
        if clocks and i > 0 and text.str.match(_HOURS).all():  # date, hour
            text = text.str.zfill(2) + ":00"
        elif clocks and text.str.match(f"{TIME_OF_DAY}|{_DOTTED_TIME}").all():
            text = text.str.replace(r"^(\d)[:.]", r"0\1:", regex=True)
            text = text.str.replace(r"^(\d\d)\.(\d\d)(\.(\d\d))?", r"\1:\2:\4", regex=True)
            text = text.str.replace(r":(?=\s|$)", "", regex=True)
        columns.append(text.reset_index(drop=True))
    return columns[0].str.cat(columns[1:], sep=" ")


def times_of_day(text, named=False):
    """Whether every value of a text column is a time of day (``13:00``, ``1:30 PM``).

    A column `named` like a time also counts with ``13.00.00`` or whole hours 0-23.
    """
    text = text.dropna().astype(str).str.strip()
    pattern = f"{TIME_OF_DAY}|{_DOTTED_TIME}|{_HOURS}" if named else TIME_OF_DAY
    if len(text) == 0 or not text.iloc[:20].str.match(pattern).all():
        return False
    return bool(text.str.match(pattern).all())
