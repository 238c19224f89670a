"""Timestamps: parsing a time column, inferring the step, and the gap/duplicate policy.

A series leaves this module on a regular grid: sorted, one row per step, no holes. How it
gets there is the `missing` policy, which covers duplicated timestamps, gaps in the grid
and empty cells alike:

- ``"error"`` (the default) raises a `DataError` that names the first offender;
- ``"interpolate"`` fills linearly in time (this looks ahead to the next observed value,
  so a gap that straddles a split border borrows from the later part; ``"ffill"`` is the
  strictly causal choice);
- ``"ffill"`` carries the last value forward (leading holes take the first value);
- ``"zero"`` fills with 0.

Under every policy but ``"error"``, rows that share a timestamp are averaged.
"""

import re

import numpy as np
import pandas as pd

from forecaster.data.errors import DataError

MISSING_POLICIES = ("error", "interpolate", "ffill", "zero")

# Formats tried, in order, when no date_format is given; ISO 8601 covers most files.
_DAY_FIRST = ("%d/%m/%Y", "%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%d.%m.%Y", "%d.%m.%Y %H:%M")
_MONTH_FIRST = ("%m/%d/%Y", "%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S")
_OTHER_FORMATS = ("%Y%m%d", "%Y%m%d%H%M", "%Y")
# Year without century and month, as in the shampoo data set: "1-01" is January 2001.
_SHORT_YEAR_MONTH = re.compile(r"^\d{1,2}-\d{1,2}$")
_CALENDAR_PARTS = ("year", "month", "day", "hour", "minute", "second")


def check_policy(missing):
    """Returns `missing` if it names a policy, else raises a ValueError listing them."""
    if missing not in MISSING_POLICIES:
        raise ValueError(f"missing={missing!r} is not a policy; pass one of {MISSING_POLICIES}")
    return missing


def _fill_hint():
    return "pass missing='interpolate', 'ffill' or 'zero' to fill"


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


def _infer(text, rows, column):
    """Parses strings in the first known format that fits every value."""
    parsed = _to_datetime(text, "ISO8601")
    if parsed.notna().all():
        return parsed
    if text.str.match(_SHORT_YEAR_MONTH).all():
        padded = text.str.split("-", expand=True)
        return pd.to_datetime(padded[0].str.zfill(2) + "-" + padded[1].str.zfill(2), format="%y-%m")
    fits = {}
    for fmt in _DAY_FIRST + _MONTH_FIRST + _OTHER_FORMATS:
        candidate = _to_datetime(text, fmt)
        if candidate.notna().all():
            fits[fmt] = candidate
    day_first = [f for f in fits if f in _DAY_FIRST]
    month_first = [f for f in fits if f in _MONTH_FIRST]
    if day_first and month_first and not fits[day_first[0]].equals(fits[month_first[0]]):
        raise DataError(
            f"time column {column!r} could be day-first or month-first "
            f"(row {rows[0]}: {text.iloc[0]!r}); pass date_format='{day_first[0]}' or "
            f"date_format='{month_first[0]}'"
        )
    if fits:
        return next(iter(fits.values()))
    raise _first_bad(text, parsed, rows, column, "ISO 8601 timestamps")


def parse_times(frame, columns, date_format, rows):
    """Builds the timestamps of every row from one time column or several.

    Args:
        frame: the raw table as read, one row per data line.
        columns: the time column's name, or a list of names whose values together make the
            timestamp (``["year", "month", "day", "hour"]``, or any columns whose text,
            joined by spaces, matches `date_format`).
        date_format: a `strftime` format, or None to infer one (ISO 8601, day-first and
            month-first dates, ``1-01`` year-month stamps).
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
            parts = parts.apply(pd.to_numeric, errors="coerce").set_axis(lower, axis=1)
            if "day" not in lower:
                parts = parts.assign(day=1)
            parsed = pd.to_datetime(parts, errors="coerce")
            text = frame[names].astype(str).agg(" ".join, axis=1)
            if parsed.isna().any():
                raise _first_bad(text, parsed, rows, label, "valid dates")
            return pd.DatetimeIndex(parsed, name="time")
    if len(names) > 1:
        text = frame[names].astype(str).agg(" ".join, axis=1)
    elif date_format is None and pd.api.types.is_datetime64_any_dtype(parts[label].dtype):
        return pd.DatetimeIndex(parts[label], name=label)
    else:
        text = parts[names[0]].astype(str)
    text = text.str.strip()
    if date_format is None:
        parsed = _infer(text, rows, label)
    else:
        parsed = _to_datetime(text, date_format)
        if parsed.isna().any():
            raise _first_bad(text, parsed, rows, label, f"in date_format={date_format!r}")
    return pd.DatetimeIndex(parsed, name=label if len(names) == 1 else "time")


def to_offset(freq):
    """Returns `freq` as a pandas DateOffset, or raises a ValueError naming it."""
    try:
        return pd.tseries.frequencies.to_offset(freq)
    except (ValueError, TypeError):
        raise ValueError(
            f"freq={freq!r} is not a pandas frequency; pass e.g. 'h', '15min', 'D' or 'MS'"
        ) from None


def infer_frequency(times, label):
    """Infers the step of sorted, unique stamps, even when the series has gaps.

    Args:
        times: sorted, unique `pd.DatetimeIndex`.
        label: what to call the series in messages.

    Returns:
        A pandas DateOffset: calendar months ('MS', 'ME', multiples of them) when every
        stamp is a month's first or last midnight, else the most common difference.

    Raises:
        DataError: fewer than two stamps.
    """
    if len(times) < 2:
        raise DataError(f"{label} has {len(times)} timestamp; its frequency cannot be inferred")
    if len(times) >= 3:
        with pd.option_context("future.infer_freq_returns_offset", True):
            exact = pd.infer_freq(times)  # an offset: the string form is deprecated
        if exact is not None:
            return to_offset(exact)
    midnight = (times == times.normalize()).all()
    months = times.year.to_numpy() * 12 + times.month.to_numpy()
    step = _mode(np.diff(months))
    if midnight and step > 0 and (times.day == 1).all():
        return to_offset(f"{step}MS")
    if midnight and step > 0 and times.is_month_end.all():
        return to_offset(f"{step}ME")
    step = pd.Timedelta(_mode(np.diff(times.to_numpy())))
    days = step / pd.Timedelta(days=1)
    return to_offset(f"{int(days)}D" if days == int(days) else step)


def _mode(values):
    uniques, counts = np.unique(values, return_counts=True)
    return uniques[np.argmax(counts)]


def regularize(values, rows, offset, missing, label):
    """Puts one series on its regular grid under the `missing` policy.

    Args:
        values: float columns with a (possibly unsorted, duplicated, holey) DatetimeIndex.
        rows: the 1-based file row of each row of `values`, for messages.
        offset: the step as a DateOffset, or None to infer it.
        missing: one of `MISSING_POLICIES`.
        label: what to call the series in messages ("ETTh1.csv", "series 'A'").

    Returns:
        `(frame, offset)`: the series sorted on its full grid with every hole filled.

    Raises:
        DataError: under ``missing="error"``, the first duplicate or gap; under every
            policy, a stamp off the grid.
    """
    order = np.lexsort((rows, values.index.to_numpy()))
    values, rows = values.iloc[order], rows[order]
    times = values.index
    dup = np.flatnonzero(times[1:] == times[:-1])
    if len(dup):
        if missing == "error":
            i = dup[0]
            raise DataError(
                f"{label} has duplicate timestamp {times[i]} (rows {rows[i]} and "
                f"{rows[i + 1]}); {_fill_hint()} (duplicates are then averaged)"
            )
        rows = rows[np.r_[True, times[1:] != times[:-1]]]  # each stamp's first row
        values = values.groupby(level=0, sort=True).mean()
        times = values.index
    if offset is None:
        offset = infer_frequency(times, label)
    grid = pd.date_range(times[0], times[-1], freq=offset, name=times.name)
    on_grid = times.isin(grid)
    if not on_grid.all():
        i = int(np.argmin(on_grid))
        raise DataError(
            f"{label} has timestamp {times[i]} (row {rows[i]}) off the {offset.freqstr} grid "
            f"that starts at {times[0]}; pass freq= if the step is not {offset.freqstr}"
        )
    if len(grid) > len(times):
        if missing == "error":
            hole = grid[~grid.isin(times)]
            before = rows[np.searchsorted(times, hole[0]) - 1]
            raise DataError(
                f"{label} has {len(hole)} missing timestamps, the first {hole[0]} "
                f"(after row {before}); {_fill_hint()} gaps"
            )
        values = values.reindex(grid)
    return fill(values, missing, label), offset


def fill(values, missing, label):
    """Fills the NaN cells of one regular series under the `missing` policy.

    Raises:
        DataError: a column has no value at all to fill from.
    """
    if missing == "error" or not values.isna().to_numpy().any():
        return values
    if missing == "zero":
        return values.fillna(0.0)
    empty = values.isna().all().to_numpy()
    if empty.any():
        raise DataError(
            f"{label} has no values in column {values.columns[np.argmax(empty)]!r} to "
            f"{missing} from; leave it out with columns= or pass missing='zero'"
        )
    if missing == "ffill":
        return values.ffill().bfill()
    return values.interpolate(method="linear", limit_direction="both")


def season_length(freq):
    """The usual seasonal period of a frequency, or 1 when it has none.

    A day of sub-daily steps, a week of days, a year of weeks, months or quarters.

    Example:
        >>> season_length("h"), season_length("15min"), season_length("MS")
        (24, 96, 12)
    """
    offset = to_offset(freq)
    name = offset.rule_code.upper()
    try:
        step = pd.Timedelta(offset)
    except (ValueError, TypeError):  # calendar offsets (months, quarters, years) vary
        step = None
    if step is not None:
        day = pd.Timedelta(days=1)
        if step < day and day % step == pd.Timedelta(0):
            return int(day / step)
        return {day: 7, 7 * day: 52}.get(step, 1)
    if name.startswith(("M", "BM", "SM")):
        return max(12 // offset.n, 1)
    if name.startswith(("Q", "BQ")):
        return max(4 // offset.n, 1)
    if name.startswith("W"):
        return 52
    return 1
