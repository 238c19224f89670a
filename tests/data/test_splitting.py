import re

import numpy as np
import pandas as pd
import pytest

import forecaster as fc
from forecaster.data import DataError, read_csv, split
from tests.assertions import raises_exactly
from tests.data.util import DATA


@pytest.fixture(scope="module")
def etth1():
    return read_csv(DATA / "ETTh1.csv")


def _hourly(n, **columns):
    index = pd.date_range("2020-01-01", periods=n, freq="h", name="date")
    return pd.DataFrame({"a": range(n), **columns}, index=index, dtype="float64")


def test_benchmark_protocol_borders_on_etth1(etth1):
    parts = split(etth1, 8640, 2880, 2880, lookback=336)
    assert parts.borders == {None: (8640, 11520, 14400)}
    assert (len(parts.train), len(parts.val), len(parts.test)) == (8640, 3216, 3216)
    assert parts.val.index[0] == etth1.index[8640 - 336]
    assert parts.test.index[0] == etth1.index[11520 - 336]
    assert parts.test.index[-1] == etth1.index[14399]
    assert repr(parts) == (
        "Split(train rows [0, 8640), val rows [8304, 11520), test rows [11184, 14400); "
        "lookback=336)"
    )


def test_fractions_follow_the_protocol_rounding():
    parts = split(_hourly(101), 0.7, 0.1, 0.2, lookback=5)
    assert parts.borders == {None: (70, 81, 101)}  # int(70.7), 101 - int(20.2)
    assert parts.val["a"].iloc[0] == 65
    assert parts.test["a"].tolist()[:6] == [76, 77, 78, 79, 80, 81]


def test_fractions_that_leave_rows_unused():
    assert split(_hourly(100), 0.5, 0.2, 0.1).borders == {None: (50, 70, 80)}
    assert split(_hourly(100), 0.5, 0.2).borders == {None: (50, 70, 100)}


def test_timestamps_end_each_part():
    parts = split(_hourly(48), "2020-01-01 12:00", pd.Timestamp("2020-01-02 00:00"), lookback=2)
    assert parts.borders == {None: (12, 24, 48)}
    assert parts.train.index[-1] == pd.Timestamp("2020-01-01 11:00")
    assert parts.val.index[0] == pd.Timestamp("2020-01-01 10:00")


def test_attrs_and_freq_travel_with_the_parts(etth1):
    parts = split(etth1, 0.7, 0.1, 0.2)
    assert parts.test.attrs == {"freq": "h", "id_col": None, "read_options": {}}
    assert parts.train.index.freqstr == "h"


def test_long_format_splits_each_series(tmp_path):
    rows = ["date,id,x"] + [f"2020-01-{d + 1:02d},{s},{d}" for s in "AB" for d in range(10)]
    rows += [f"2020-01-{d + 1:02d},C,{d}" for d in range(20)]
    (tmp_path / "long.csv").write_text("\n".join(rows))
    frame = read_csv(tmp_path / "long.csv", id_col="id")
    parts = split(frame, 0.6, 0.2, 0.2, lookback=1)
    assert parts.borders == {"A": (6, 8, 10), "B": (6, 8, 10), "C": (12, 16, 20)}
    assert parts.train.groupby("id").size().to_dict() == {"A": 6, "B": 6, "C": 12}
    assert parts.val.groupby("id")["x"].first().to_dict() == {"A": 5, "B": 5, "C": 11}


def test_counts_past_the_end():
    with pytest.raises(
        DataError, match=r"^the frame has 10 rows, fewer than train \+ val \+ test = 12 asked for$"
    ):
        split(_hourly(10), 6, 3, 3)


def test_lookback_before_the_first_row():
    with pytest.raises(
        DataError,
        match=r"^the frame: lookback=8 reaches before its first row; validation starts at row 5$",
    ):
        split(_hourly(10), 5, 3, lookback=8)


def test_empty_training_part():
    with pytest.raises(
        DataError,
        match=re.escape(
            "the frame splits into train rows [0, 0), val [0, 5), test [5, 10) of 10; the "
            "training part must be non-empty and the parts in time order"
        ),
    ):
        split(_hourly(10), 0.0, 0.5)


@pytest.mark.parametrize(
    ("sizes", "message"),
    [
        ((0.7, 10), "train, val and test must all be fractions, all row counts or all timestamps"),
        ((0.9, 0.2), "fractions must lie in [0, 1] and sum to at most 1"),
        ((5, -1), "row counts must be >= 0"),
        ((True, 1), "train=True is not a fraction, a row count or a timestamp"),
    ],
)
def test_bad_sizes(sizes, message):
    with pytest.raises(ValueError, match=f"^{re.escape(message)}"):
        split(_hourly(10), *sizes)


def test_bad_lookback():
    with pytest.raises(ValueError, match=r"^lookback must be an integer >= 0, got -1$"):
        split(_hourly(10), 0.5, lookback=-1)


def test_split_last_holds_out_the_same_steps_of_every_series():
    lengths = {"a": 10, "b": 14}
    frame = pd.concat(
        pd.DataFrame({"id": key, "v": np.arange(n, dtype=float) + 100 * i}, index=pd.RangeIndex(n))
        for i, (key, n) in enumerate(lengths.items())
    )
    frame.attrs["id_col"] = "id"
    parts = fc.split_last(frame, 3, 2, lookback=4)
    for i, (key, n) in enumerate(lengths.items()):
        train = parts.train[parts.train["id"] == key]["v"].to_numpy() - 100 * i
        val = parts.val[parts.val["id"] == key]["v"].to_numpy() - 100 * i
        test = parts.test[parts.test["id"] == key]["v"].to_numpy() - 100 * i
        np.testing.assert_array_equal(train, np.arange(n - 5))
        np.testing.assert_array_equal(val, np.arange(n - 9, n - 2))  # 4 context + 3 own
        np.testing.assert_array_equal(test, np.arange(n - 6, n))  # 4 context + 2 own
        assert parts.borders[key] == (n - 5, n - 2, n)
    with raises_exactly(
        fc.DataError,
        "series 'a' has 10 rows, not more than val + test = 10; every series needs training rows",
    ):
        fc.split_last(frame, 8, 2)
    with raises_exactly(ValueError, "val must be an integer >= 0, got -1"):
        fc.split_last(frame, -1)
