"""What each column of a file is: the time column(s), a row index, unnamed columns.

When `time_col` is not given, the candidates are, in this order:

- calendar parts: columns named ``year`` and ``month`` (with ``day``, ``hour``,
  ``minute``, ``second`` when present), read together as one stamp;
- a date column beside a column of times of day (``date`` + ``time``), read together;
- each column named like one of `TIME_COLUMN_NAMES`;
- else the one column whose text reads as timestamps.

One candidate is the time column. Of several, those whose values read as stamps count;
if one of them gives every row its own stamp and the others repeat theirs (a ``date``
beside a ``datetime``), that finest one is chosen and the others dropped with a note;
otherwise the file is refused with the exact ``time_col=`` (and ``columns=``) to pass.
Where no candidate is found, the refusal offers the reading without timestamps that fits
the file, if one does (`forecaster.data.steps.advice`).

`coarse_advice` says which column makes stamps unique when many rows share theirs: a
column of times of day to read with the date, or a column of series ids (long format).
"""

import re
import warnings

import numpy as np
import pandas as pd

from forecaster.data.dates import MONTHS, parse_times, times_of_day
from forecaster.data.errors import DataError, DataNote

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
    "quarter",
    "ts",
    "epoch",
    "unix_time",
)
CALENDAR_PARTS = ("year", "month", "day", "hour", "minute", "second")
HOUR_NAMES = ("hour", "hr", "hh")
# Header names of a column that only counts the rows (pandas writes '' for its index).
INDEX_NAMES = ("", "index", "no", "no.", "#", "row", "unnamed: 0")
# Words that make a column of numbers a series id.
_ID_WORDS = ("id", "store", "series", "item", "sensor", "station", "code", "key", "sku", "unit")
# Words in the name of a column that divides a stamp's period rather than naming a series.
_PERIOD_WORDS = ("hour", "week", "minute", "time", "period", "interval", "slot", "quarter")
_SHOWN = 12  # column names a message lists before it cuts the list short


def listed(names):
    """A column name or a list of them, as a list."""
    return [names] if isinstance(names, str) else list(names)


def time_columns(table, time_col, name, exclude=()):
    """The columns that hold a table's timestamps: `find_time_columns` without the dropped."""
    return find_time_columns(table, time_col, name, exclude)[0]


def find_time_columns(table, time_col, name, exclude=(), without=None):
    """The columns that hold a table's timestamps: those named, or the ones found.

    Args:
        table: a DataFrame of the file's columns as text (it may have no rows: then only
            names are looked at).
        time_col: a column name, a list of them, or None to find them (module docstring).
        name: the file's name, for the messages.
        exclude: columns that are not candidates (the value columns asked for).
        without: a function giving `(advice, fix)` for a file where no time column is
            found: the reading without timestamps that fits it (``"time_col=False if
            ..."`` and ``{"time_col": False}``), or None when none does.

    Returns:
        `(columns, dropped)`: the time column names, and the coarser candidates dropped
        beside the finest (both lists).

    Raises:
        DataError: a named column is absent, none is found, or several fit alike.
        ValueError: `time_col` is an empty list.
    """
    if time_col is not None:
        wanted = listed(time_col)
        absent = [c for c in wanted if c not in table.columns]
        if not wanted:
            raise ValueError("time_col=[] names no column; pass a column name or a list of them")
        if absent:
            raise DataError(
                f"{name} has no time column {absent[0]!r}; columns are {list(table.columns)}"
            )
        return wanted, []
    candidates = _candidates(table, exclude)
    if not candidates:
        advice, fix = (without and without()) or (None, None)
        raise DataError(
            f"{name} has no column named like a time column {TIME_COLUMN_NAMES}; pass "
            f"time_col= with one of {shown(table.columns)}" + (f", or {advice}" if advice else ""),
            fix=fix,
        )
    if len(candidates) == 1 or len(table) == 0:
        return candidates[0], []
    return _finest(table, candidates, name, exclude)


def _candidates(table, exclude):
    columns = [c for c in table.columns if c not in exclude]
    lower = {c: c.strip().lower() for c in columns}
    found, taken = [], set()
    parts = [c for c in columns if lower[c] in CALENDAR_PARTS]
    if {"year", "month"} <= {lower[c] for c in parts}:
        parts = sorted(parts, key=lambda c: CALENDAR_PARTS.index(lower[c]))
        found.append(parts)
        taken.update(parts)
    dates = [c for c in columns if "date" in lower[c] and c not in taken]
    clocks = [c for c in columns if lower[c].endswith("time") or lower[c] in HOUR_NAMES]
    for date in dates:
        repeats = table[date].duplicated().any()  # a date beside its clock repeats
        clock = next(
            (c for c in clocks if c != date and repeats and times_of_day(table[c], named=True)),
            None,
        )
        if clock is not None and len(table) > 0:
            found.append([date, clock])
            taken.update((date, clock))
            break
    found += [[c] for c in columns if lower[c] in TIME_COLUMN_NAMES and c not in taken]
    if len(table) == 0:
        return found
    taken.update(c for group in found for c in group)
    found += [
        [c]
        for c in columns
        if c not in taken and ("date" in lower[c] or "time" in lower[c]) and _text_stamps(table, c)
    ]
    if not found:  # the one column whose text reads as stamps, whatever its name
        stamped = [[c] for c in columns if _text_stamps(table, c)]
        found += stamped if len(stamped) == 1 else []
    return found


def _text_stamps(table, column):
    """Whether a column's text reads as timestamps (numbers count only in a named column)."""
    text = table[column].dropna().astype(str).str.strip()
    if len(text) == 0 or text.iloc[:20].str.match(r"^[+-]?\d+(\.\d+)?$").any():
        return False
    table = table.iloc[: len(table) - footer_rows(table[column])]
    if _stamps(table.iloc[:20], [column]) is None:
        return False
    return _stamps(table, [column]) is not None


def footer_rows(cells):
    """How many of a time column's last rows (five at most) are words, not stamps.

    Such rows are a footer (``Total``, ``Source: ...``), not data; none when every row is.
    """
    text = cells.iloc[-5:].fillna("").astype(str).str.strip()
    wordy = text.str.contains(r"[A-Za-z]{3,}") | text.eq("")
    wordy &= ~text.str.match(rf"^\d{{1,2}}[ -]?({MONTHS})|^({MONTHS})[a-z]*[ -]\d", case=False)
    count = 0
    for word in reversed(wordy.to_numpy()):
        if not word:
            break
        count += 1
    return count if count < len(cells) - 1 else 0


def _stamps(table, columns):
    try:
        return parse_times(table, columns, None, np.arange(1, len(table) + 1))
    except DataError:
        return None


def _finest(table, candidates, name, exclude):
    """The one candidate that reads and stamps every row apart from the others."""
    stamps = {tuple(c): _stamps(table, c) for c in candidates}
    reading = [c for c in candidates if stamps[tuple(c)] is not None]
    if len(reading) <= 1:
        return (reading or candidates)[0], []
    unique = [c for c in reading if not stamps[tuple(c)].has_duplicates]
    if len(unique) == 1:
        chosen = unique[0]
        dropped = [c for group in reading if group != chosen for c in group if c not in chosen]
        warnings.warn(
            f"{name}: time column {spelled(chosen)} chosen, the finest; dropped the coarser "
            f"{dropped} (pass time_col= to choose)",
            DataNote,
            stacklevel=4,
        )
        return chosen, dropped
    first, second = reading[:2]
    values = [c for c in table.columns if c not in first + second and c not in exclude]
    raise DataError(
        f"{name} has two time columns, {spelled(first)} and {spelled(second)}; pass "
        f"time_col={spelled(first)}, columns={values} or time_col={spelled(second)}, "
        f"columns={values}",
        fix={"time_col": _option(first), "columns": values},
    )


def shown(names):
    """Column names as a message lists them: all of a few, the first and last of many.

    Example:
        >>> shown(["a", "b"]), shown([f"V{i}" for i in range(1, 962)])
        ("['a', 'b']", "['V1', 'V2', 'V3', 'V4', 'V5', 'V6', ..., 'V961'] (961 columns)")
    """
    names = list(names)
    if len(names) <= _SHOWN:
        return repr(names)
    head = ", ".join(repr(n) for n in names[: _SHOWN // 2])
    return f"[{head}, ..., {names[-1]!r}] ({len(names)} columns)"


def spelled(columns):
    """One column as its quoted name, several as a list: as `time_col=` takes them."""
    return repr(columns[0]) if len(columns) == 1 else repr(list(columns))


def _option(columns):
    return columns[0] if len(columns) == 1 else list(columns)


def index_column(table):
    """The first column if it is a row index, else None.

    An unnamed first column of rising whole numbers (pandas's index, of a selection too),
    or one named like an index (`INDEX_NAMES`) that counts the rows (n, n+1, ...).
    """
    if not len(table.columns) or len(table) == 0:
        return None
    first = table.columns[0]
    if first.strip().lower() not in INDEX_NAMES:
        return None
    counts = pd.to_numeric(table[first], errors="coerce").to_numpy("float64")
    whole = not np.isnan(counts).any() and (counts == np.round(counts)).all()
    if not whole:
        return None
    if first.strip().lower() in ("", "unnamed: 0"):  # pandas's index, maybe of a selection
        return first if (np.diff(counts) > 0).all() else None
    return first if np.array_equal(counts, counts[0] + np.arange(len(counts))) else None


def coarse_advice(strings, times, time_cols):
    """What makes repeated stamps unique: a time-of-day column, or a series id column.

    Args:
        strings: the file's columns as text.
        times: each row's stamp.
        time_cols: the time column(s).

    Returns:
        `(advice, fix)` for `forecaster.data.timestamps.check_repeats`, or None when no
        column does.
    """
    others = [c for c in strings.columns if c not in time_cols]
    for column in others:
        lower = column.strip().lower()
        named = lower.endswith("time") or "hour" in lower or lower in HOUR_NAMES
        if times_of_day(strings[column], named=named):
            together = [*time_cols, column]
            rest = [c for c in others if c != column]
            return (
                f"pass time_col={together}, columns={rest}",
                {"time_col": together, "columns": rest},
            )
    ids = []
    for column in others:
        words = set(re.split(r"[^a-z]+", column.lower()))
        if "he" in words or any(part in column.lower() for part in _PERIOD_WORDS):
            continue  # a part of the time (week, hour ending), not a series
        cells = strings[column]
        text = cells.dropna().astype(str)
        numeric = text.str.match(r"^[+-]?[\d.]+$").all()
        if cells.isna().any() or (numeric and not words & set(_ID_WORDS)):
            continue  # an id is never empty; a number is an id only in a column named so
        if not pd.DataFrame({"t": times, "k": cells.to_numpy()}).duplicated().any():
            ids.append((text.nunique(), column))
    if ids:  # the fewest series
        column = min(ids)[1]
        return f"pass id_col={column!r} if each of its values is a series", {"id_col": column}
    return None
