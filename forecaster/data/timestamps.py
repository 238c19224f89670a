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

Under every policy but ``"error"``, rows that share a timestamp are averaged, with a note
naming them, as long as they are rare (at most 1% of the rows). Where more rows share
stamps, the time column is coarser than the rows (a date beside a time column, several
series stacked without `id_col`) and no policy averages them into a coarser step: that is
an error under every policy. No policy fills a column that has no value at all.
"""

import warnings

import numpy as np
import pandas as pd

from forecaster.data.errors import DataError, DataNote

MISSING_POLICIES = ("error", "interpolate", "ffill", "zero")
# Rows may share a stamp under a fill policy only while they are this rare.
RARE_DUPLICATES = 0.01


def check_policy(missing):
    """Returns `missing` if it names a policy, else raises a ValueError listing them."""
    if missing not in MISSING_POLICIES:
        raise ValueError(f"missing={missing!r} is not a policy; pass one of {MISSING_POLICIES}")
    return missing


def _fill_hint():
    return "pass missing='interpolate', 'ffill' or 'zero' to fill"


def to_offset(freq):
    """Returns `freq` as a pandas DateOffset, or raises a ValueError naming it."""
    try:
        offset = pd.tseries.frequencies.to_offset(freq)
    except (ValueError, TypeError):
        offset = None
    if offset is None or offset.n <= 0:
        raise ValueError(
            f"freq={freq!r} is not a pandas frequency; pass e.g. 'h', '15min', 'D' or 'MS'"
        )
    return offset


def infer_frequency(times, label):
    """Infers the step of sorted, unique stamps, even when the series has gaps.

    Args:
        times: sorted, unique `pd.DatetimeIndex`.
        label: what to call the series in messages.

    Returns:
        A pandas DateOffset: calendar months ('MS', 'ME', multiples of them) when every
        stamp is a month's first or last midnight, business days ('B') when daily stamps
        over more than a week are all weekdays, else the most common difference.

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
    spans_weekends = (times[-1] - times[0]) >= pd.Timedelta(days=7)
    if days == 1 and midnight and spans_weekends and (times.day_of_week < 5).all():
        return to_offset("B")  # weekdays only: business days, holidays their gaps
    return to_offset(f"{int(days)}D" if days == int(days) else step)


def _mode(values):
    uniques, counts = np.unique(values, return_counts=True)
    return uniques[np.argmax(counts)]


def regularize(values, rows, offset, missing, label, coarse=None):
    """Puts one series on its regular grid under the `missing` policy.

    Args:
        values: float columns with a (possibly unsorted, duplicated, holey) DatetimeIndex.
        rows: the 1-based file row of each row of `values`, for messages.
        offset: the step as a DateOffset, or None to infer it.
        missing: one of `MISSING_POLICIES`.
        label: what to call the series in messages ("ETTh1.csv", "series 'A'").
        coarse: a function giving `(advice, fix)` for stamps that mostly repeat: what
            the message advises (``"pass time_col=['date', 'time']"``) and those
            `read_csv` arguments, or None; None advises naming the columns that make
            each stamp unique.

    Returns:
        `(frame, offset)`: the series sorted on its full grid with every hole filled.

    Raises:
        DataError: under every policy, stamps that repeat on more than a few rows, or a
            stamp off the grid; under ``missing="error"``, the first duplicate or gap.
    """
    order = np.lexsort((rows, values.index.to_numpy()))
    values, rows = values.iloc[order], rows[order]
    times = values.index
    dup = np.flatnonzero(times[1:] == times[:-1])
    if len(dup):
        i = dup[0]
        shared = np.unique(np.r_[dup, dup + 1])
        where = f"{times[i]} at rows {rows[i]} and {rows[i + 1]}"
        check_repeats(times, rows, label, coarse)
        if missing == "error":
            more = f", and {len(dup) - 1} more" if len(dup) > 1 else ""
            raise DataError(
                f"{label} has duplicate timestamp {times[i]} (rows {rows[i]} and "
                f"{rows[i + 1]}{more}); {_fill_hint()} (duplicates are then averaged)",
                fix={"missing": "interpolate"},
            )
        warnings.warn(
            f"{label}: averaged {len(shared)} rows that share {len(dup)} timestamps, the "
            f"first {where}",
            DataNote,
            stacklevel=4,
        )
        rows = rows[np.r_[True, times[1:] != times[:-1]]]  # each stamp's first row
        values = values.groupby(level=0, sort=True).mean()
        times = values.index
    if offset is None:
        offset = infer_frequency(times, label)
    _check_span(times, rows, offset, label)
    grid = pd.date_range(times[0], times[-1], freq=offset, name=times.name)
    on_grid = times.isin(grid)
    if not on_grid.all():
        i = int(np.argmin(on_grid))
        gaps = np.diff(times.to_numpy()).astype("timedelta64[ns]").astype("int64")
        step = pd.Timedelta(int(np.gcd.reduce(gaps)), unit="ns")
        points = (times[-1] - times[0]) / step if step > pd.Timedelta(0) else np.inf
        finer = step >= pd.Timedelta(seconds=1) and points <= 10 * len(times)
        advice = (
            f"pass freq='{to_offset(step).freqstr}' if that is the step"
            if finer
            else "the stamps lie on no regular grid: round them to the step before reading"
        )
        raise DataError(
            f"{label} has timestamp {times[i]} (row {rows[i]}) off the {offset.freqstr} grid "
            f"that starts at {times[0]}; {advice}",
            fix={"freq": to_offset(step).freqstr} if finer else None,
        )
    if len(grid) > len(times):
        if missing == "error":
            hole = grid[~grid.isin(times)]
            before = rows[np.searchsorted(times, hole[0]) - 1]
            raise DataError(
                f"{label} has {len(hole)} missing timestamps, the first {hole[0]} "
                f"(after row {before}); {_fill_hint()} gaps",
                fix={"missing": "interpolate"},
            )
        values = values.reindex(grid)
    return fill(values, missing, label), offset


def regularize_long(ids, values, rows, offset, missing, id_col):
    """Puts each series of a long table on its own grid of one shared step.

    Args:
        ids: each row's series id (text cells).
        values: float columns with each row's stamp as the index.
        rows: each row's 1-based number, for messages.
        offset: the step as a DateOffset, or None to infer it from the longest series.
        missing: one of `MISSING_POLICIES`.
        id_col: the id column's name, which leads the result's columns.

    Returns:
        `(frame, offset)`: the series, sorted by id and then time, each on its full grid.

    Raises:
        DataError: an empty id, or a series that `regularize` refuses.
    """
    if ids.isna().any():
        i = np.argmax(ids.isna().to_numpy())
        raise DataError(f"id column {id_col!r} is empty at row {rows[i]}")
    ids = ids.astype(str).to_numpy()
    groups = pd.Series(np.arange(len(ids))).groupby(ids, sort=True).indices
    if offset is None:  # the longest series gives the step most reliably
        longest = max(groups, key=lambda key: len(groups[key]))
        order = groups[longest]
        label = f"series {longest!r}"
        _, offset = regularize(values.iloc[order], rows[order], None, missing, label)
    frames = []
    for key, order in groups.items():
        frame, _ = regularize(values.iloc[order], rows[order], offset, missing, f"series {key!r}")
        frames.append(frame.assign(**{id_col: key})[[id_col, *frame.columns]])
    return pd.concat(frames), offset


def _check_span(times, rows, offset, label):
    """Refuses a grid far longer than the rows: a stray stamp, not a gap to fill."""
    try:
        steps = (times[-1] - times[0]) / pd.Timedelta(offset)
    except (ValueError, TypeError):  # calendar steps (months) vary: count them
        steps = len(pd.date_range(times[0], times[-1], freq=offset))
    if steps <= max(10 * len(times), 1000):
        return
    gaps = np.diff(times.asi8)
    i = int(np.argmax(gaps))
    raise DataError(
        f"{label} spans {steps:,.0f} steps of {offset.freqstr} for {len(times)} rows; the "
        f"largest gap is from {times[i]} (row {rows[i]}) to {times[i + 1]} (row "
        f"{rows[i + 1]}): a stamp far from the others, or another step (pass freq=)"
    )


def check_repeats(times, rows, label, coarse=None):
    """Refuses stamps shared by more than a few rows: the stamps are coarser than the rows.

    Args:
        times: the rows' stamps, in any order.
        rows: each row's 1-based number, for messages.
        label: what to call the series in messages.
        coarse: as for `regularize`.

    Raises:
        DataError: more rows than `RARE_DUPLICATES` of them (and more than two) share
            their stamp with another row; under every policy.
    """
    order = np.argsort(np.asarray(times), kind="stable")
    times, rows = times[order], rows[order]
    dup = np.flatnonzero(times[1:] == times[:-1])
    shared = np.unique(np.r_[dup, dup + 1])
    if len(shared) <= max(RARE_DUPLICATES * len(times), 2):
        return
    i = dup[0]
    advice, fix = (coarse and coarse()) or (
        "pass time_col= with the columns that together make each row's stamp unique",
        None,
    )
    raise DataError(
        f"{label}: {len(shared)} of {len(times)} rows share their timestamp with another "
        f"(the first {times[i]} at rows {rows[i]} and {rows[i + 1]}), so the stamps are "
        f"coarser than the rows; {advice}",
        fix=fix,
    )


def fill(values, missing, label):
    """Fills the NaN cells of one regular series under the `missing` policy.

    Raises:
        DataError: a column has no value at all: no policy fills it.
    """
    if missing == "error" or not values.isna().to_numpy().any():
        return values
    empty = values.isna().all().to_numpy()
    if empty.any():
        column = values.columns[np.argmax(empty)]
        others = [c for c in values.columns if c != column]
        raise DataError(
            f"{label} has no values in column {column!r}, which no policy fills; leave it "
            f"out with columns={others}",
            fix={"columns": others} if others else None,
        )
    if missing == "zero":
        return values.fillna(0.0)
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
