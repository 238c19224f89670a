import gzip
import re
import string
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forecaster.data import DataError, DataNote, read_csv
from tests.data.util import DATA, weather_notes, write

HOURS = "date,a,b\n2020-01-01 00:00,1,10\n2020-01-01 01:00,2,20\n2020-01-01 02:00,3,30\n"


def raises(message):
    """`pytest.raises` for a DataError with exactly `message`."""
    return pytest.raises(DataError, match=f"^{re.escape(message)}$")


# Real files.


def test_etth1_is_hourly_float_and_sorted():
    frame = read_csv(DATA / "ETTh1.csv")
    assert frame.shape == (17420, 7)
    assert list(frame.columns) == ["HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL", "OT"]
    assert frame.index.name == "date"
    assert frame.index[0] == pd.Timestamp("2016-07-01 00:00")
    assert frame.index.freqstr == "h"
    assert {k: frame.attrs[k] for k in ("freq", "id_col")} == {"freq": "h", "id_col": None}
    assert (frame.dtypes == "float64").all()
    assert frame["OT"].iloc[0] == pytest.approx(30.5310001373291)
    assert frame.attrs["read_options"] == {}  # nothing but the defaults


def test_the_frame_records_the_options_it_was_read_with():
    frame = read_csv(DATA / "ETTh1.csv", columns=("OT", "HUFL"), missing="interpolate")
    # What a served model needs to read new rows of the file the same way, as JSON.
    assert frame.attrs["read_options"] == {"columns": ["OT", "HUFL"], "missing": "interpolate"}


def test_weather_has_a_duplicate_and_a_gap_that_the_policy_handles():
    with raises(
        "weather.csv has duplicate timestamp 2020-05-12 06:00:00 (rows 19044 and 19045); "
        "pass missing='interpolate', 'ffill' or 'zero' to fill (duplicates are then averaged)"
    ):
        read_csv(DATA / "weather.csv")
    with weather_notes():
        frame = read_csv(DATA / "weather.csv", missing="ffill")
    assert frame.shape == (52704, 21)  # 52,696 rows - 1 duplicate + 9 filled steps
    assert frame.attrs["freq"] == "10min"
    gap = frame.loc["2020-05-29 09:30":"2020-05-29 11:10", "OT"]
    assert (gap.iloc[1:-1] == gap.iloc[0]).all()
    assert gap.iloc[-1] != gap.iloc[0]


def test_shampoo_year_month_stamps_without_century():
    frame = read_csv(DATA / "shampoo.csv")
    assert frame.index[0] == pd.Timestamp("2001-01-01")
    assert frame.index[-1] == pd.Timestamp("2003-12-01")
    assert frame.attrs["freq"] == "MS"
    assert frame["Sales"].iloc[[0, -1]].tolist() == [266.0, 646.9]


def test_airline_passengers_monthly_with_crlf_line_ends():
    frame = read_csv(DATA / "airline-passengers.csv")
    assert frame.shape == (144, 1)
    assert frame.attrs["freq"] == "MS"
    assert frame["Passengers"].iloc[[0, -1]].tolist() == [112, 432]


# Time columns.


def test_time_column_given_by_name_and_format(tmp_path):
    path = write(tmp_path, "when;x\n02.01.2020;1\n03.01.2020;2\n04.01.2020;3\n")
    frame = read_csv(path, time_col="when", date_format="%d.%m.%Y", sep=";")
    assert frame.index[0] == pd.Timestamp("2020-01-02")
    assert frame.attrs["freq"] == "D"


def test_time_built_from_several_columns(tmp_path):
    path = write(tmp_path, "year,month,day,hour,x\n2020,1,1,23,1\n2020,1,2,0,2\n2020,1,2,1,3\n")
    frame = read_csv(path, time_col=["year", "month", "day", "hour"])
    assert frame.index.tolist() == list(pd.date_range("2020-01-01 23:00", periods=3, freq="h"))
    assert list(frame.columns) == ["x"]


def test_time_built_from_text_columns_with_a_format(tmp_path):
    path = write(tmp_path, "d,t,x\n2020-01-01,10:00,1\n2020-01-01,10:30,2\n2020-01-01,11:00,3\n")
    frame = read_csv(path, time_col=["d", "t"], date_format="%Y-%m-%d %H:%M")
    assert frame.attrs["freq"] == "30min"


def test_aware_stamps_stay_aware(tmp_path):
    path = write(tmp_path, "date,x\n2020-01-01T00:00+01:00,1\n2020-01-01T01:00+01:00,2\n")
    frame = read_csv(path, freq="h")
    assert frame.index.tz is not None
    assert frame.index[0] == pd.Timestamp("2019-12-31 23:00", tz="UTC")


def test_mixed_offsets_across_a_dst_change_stay_aware(tmp_path):
    text = (
        "date,x\n2020-03-29 01:00 +01:00,1\n2020-03-29 03:00 +02:00,2\n2020-03-29 04:00 +02:00,3\n"
    )
    frame = read_csv(write(tmp_path, text))
    assert str(frame.index.tz) == "UTC"
    assert frame.attrs["freq"] == "h"


def test_day_first_dates_are_inferred_when_unambiguous(tmp_path):
    frame = read_csv(write(tmp_path, "date,x\n30/01/2020,1\n31/01/2020,2\n01/02/2020,3\n"))
    assert frame.index[-1] == pd.Timestamp("2020-02-01")


def test_ambiguous_dates_ask_for_a_format(tmp_path):
    with raises(
        "time column 'date' could be day-first or month-first (row 1: '01/02/2020'); "
        "pass date_format='%d/%m/%Y' or date_format='%m/%d/%Y'"
    ):
        read_csv(write(tmp_path, "date,x\n01/02/2020,1\n02/02/2020,2\n"))


def test_unparseable_stamp_names_row_and_value(tmp_path):
    with raises(
        "time column 'date' has 1 values that are not ISO 8601 timestamps "
        "(first at row 2: 'yesterday'); pass date_format= with the column's format"
    ):
        read_csv(write(tmp_path, "date,x\n2020-01-01,1\nyesterday,2\n2020-01-03,3\n"))


def test_stamp_against_date_format(tmp_path):
    with raises(
        "time column 'date' has 1 values that are not in date_format='%Y-%m-%d' "
        "(first at row 3: '2020/01/03'); pass date_format= with the column's format"
    ):
        path = write(tmp_path, "date,x\n2020-01-01,1\n2020-01-02,2\n2020/01/03,3\n")
        read_csv(path, date_format="%Y-%m-%d")


def test_empty_stamp(tmp_path):
    with raises("time column 'date' is empty at row 2"):
        read_csv(write(tmp_path, "date,x\n2020-01-01,1\n,2\n2020-01-03,3\n"))


def test_no_time_column(tmp_path):
    with raises(
        "series.csv has no column named like a time column ('date', 'datetime', 'date_time', "
        "'timestamp', 'time', 'ds', 'month', 'period', 'week', 'day', 'year', 'quarter', 'ts', "
        "'epoch', 'unix_time'); "
        "pass time_col= with one of ['a', 'b'], or time_col=False if its rows are the steps "
        "of a series without timestamps"
    ):
        read_csv(write(tmp_path, "a,b\n1,2\n3,4\n"))


def test_time_column_that_does_not_exist(tmp_path):
    with raises("series.csv has no time column 'stamp'; columns are ['date', 'a', 'b']"):
        read_csv(write(tmp_path, HOURS), time_col="stamp")


# Frequency, order, duplicates and gaps.


def test_unsorted_rows_are_sorted(tmp_path):
    text = "date,a\n2020-01-01 02:00,3\n2020-01-01 00:00,1\n2020-01-01 01:00,2\n"
    frame = read_csv(write(tmp_path, text))
    assert frame["a"].tolist() == [1, 2, 3]
    assert frame.index.is_monotonic_increasing


def test_gap_is_an_error_by_default(tmp_path):
    text = (
        "date,a\n2020-01-01 00:00,1\n2020-01-01 01:00,2\n2020-01-01 04:00,5\n2020-01-01 05:00,6\n"
    )
    with raises(
        "series.csv has 2 missing timestamps, the first 2020-01-01 02:00:00 (after row 2); "
        "pass missing='interpolate', 'ffill' or 'zero' to fill gaps"
    ):
        read_csv(write(tmp_path, text))


@pytest.mark.parametrize(
    ("missing", "expected"),
    [
        ("interpolate", [1, 2, 3, 4, 5, 6]),
        ("ffill", [1, 2, 2, 2, 5, 6]),
        ("zero", [1, 2, 0, 0, 5, 6]),
    ],
)
def test_gap_policies(tmp_path, missing, expected):
    text = (
        "date,a\n2020-01-01 00:00,1\n2020-01-01 01:00,2\n2020-01-01 04:00,5\n2020-01-01 05:00,6\n"
    )
    frame = read_csv(write(tmp_path, text), missing=missing)
    assert frame["a"].tolist() == expected
    assert frame.index.freqstr == "h"


@pytest.mark.parametrize(
    ("missing", "expected"),
    [("interpolate", [1, 2, 3, 4]), ("ffill", [1, 1, 3, 4]), ("zero", [1, 0, 3, 4])],
)
def test_empty_cells_follow_the_policy(tmp_path, missing, expected):
    text = "date,a\n2020-01-01,1\n2020-01-02,\n2020-01-03,3\n2020-01-04,4\n"
    assert read_csv(write(tmp_path, text), missing=missing)["a"].tolist() == expected


def test_leading_empty_cell_under_ffill_takes_the_first_value(tmp_path):
    text = "date,a\n2020-01-01,NA\n2020-01-02,2\n2020-01-03,3\n"
    assert read_csv(write(tmp_path, text), missing="ffill")["a"].tolist() == [2, 2, 3]


def test_empty_cells_are_an_error_by_default(tmp_path):
    text = "date,a,b\n2020-01-01,1,1\n2020-01-02,2,n/a\n2020-01-03,3,\n"
    with raises(
        "column 'b' has 2 missing values (first at row 2); "
        "pass missing='interpolate', 'ffill' or 'zero' to fill"
    ):
        read_csv(write(tmp_path, text))


def test_duplicates_are_averaged_under_a_fill_policy(tmp_path):
    text = "date,a\n2020-01-01,1\n2020-01-02,2\n2020-01-02,4\n2020-01-03,5\n"
    with pytest.warns(
        DataNote,
        match=r"^series.csv: averaged 2 rows that share 1 timestamps, the first 2020-01-02 "
        r"00:00:00 at rows 2 and 3$",
    ):
        frame = read_csv(write(tmp_path, text), missing="zero")
    assert frame["a"].tolist() == [1, 3, 5]


def test_off_grid_stamp(tmp_path):
    text = "date,a\n2020-01-01 00:00,1\n2020-01-01 01:00,2\n2020-01-01 02:00,3\n"
    text += "2020-01-01 03:00,4\n2020-01-01 03:30,9\n2020-01-01 04:00,5\n"
    path = write(tmp_path, text)
    with raises(
        "series.csv has timestamp 2020-01-01 03:30:00 (row 5) off the h grid that starts at "
        "2020-01-01 00:00:00; pass freq='30min' if that is the step"
    ):
        read_csv(path, missing="ffill")
    assert len(read_csv(path, missing="ffill", freq="30min")) == 9


def test_stamps_on_no_grid_are_not_told_to_pass_a_freq(tmp_path):
    stamps = ["00:00:02", "01:00:00", "02:00:03", "03:00:01", "04:00:00", "05:00:02"]
    lines = [f"2020-01-01 {t},{i}" for i, t in enumerate(stamps)]
    with raises(
        "series.csv has timestamp 2020-01-01 02:00:03 (row 3) off the 3598s grid that starts "
        "at 2020-01-01 00:00:02; the stamps lie on no regular grid: round them to the step "
        "before reading"
    ):
        read_csv(write(tmp_path, "\n".join(["date,a", *lines])))


def test_monthly_gap_is_found_in_calendar_months(tmp_path):
    text = "Month,x\n2020-01,1\n2020-02,2\n2020-04,4\n2020-05,5\n2020-07,7\n"
    frame = read_csv(write(tmp_path, text), missing="interpolate")
    assert frame.attrs["freq"] == "MS"
    assert frame["x"].tolist() == [1, 2, 3, 4, 5, 6, 7]


def test_a_given_freq_must_be_a_frequency(tmp_path):
    with pytest.raises(ValueError, match=r"^freq='fortnightly' is not a pandas frequency; "):
        read_csv(write(tmp_path, HOURS), freq="fortnightly")


def test_single_row_has_no_frequency(tmp_path):
    with raises("series.csv has 1 timestamp; its frequency cannot be inferred"):
        read_csv(write(tmp_path, "date,a\n2020-01-01,1\n"))


# Values.


def test_non_numeric_values_name_column_row_and_value(tmp_path):
    text = "date,a,OT\n2020-01-01,1,1.5\n2020-01-02,2,oops\n2020-01-03,3,2.5\n2020-01-04,4,?\n"
    with raises(
        "column 'OT' has 1 non-numeric values (first at row 2: 'oops'); if they mark missing "
        "values, pass na_values=['NA', 'N/A', '#N/A', 'null', 'NaN', '-', '?', 'oops']"
    ):
        read_csv(write(tmp_path, text))


def test_infinite_values_are_rejected(tmp_path):
    with raises(
        "column 'a' has 1 infinite values (first at row 2: inf); only finite numbers are accepted"
    ):
        read_csv(write(tmp_path, "date,a\n2020-01-01,1\n2020-01-02,inf\n2020-01-03,3\n"))


def test_text_column_is_rejected_by_default(tmp_path):
    text = "date,a,kind\n2020-01-01,1,low\n2020-01-02,2,high\n2020-01-03,3,low\n"
    with raises(
        "column 'kind' holds text (first at row 1: 'low'), not numbers; pass "
        "categorical='onehot' to one-hot encode it, or leave it out with columns="
    ):
        read_csv(write(tmp_path, text))


def test_text_column_one_hot(tmp_path):
    text = "date,a,kind\n2020-01-01,1,low\n2020-01-02,2,high\n2020-01-03,3,low\n"
    frame = read_csv(write(tmp_path, text), categorical="onehot")
    assert list(frame.columns) == ["a", "kind=high", "kind=low"]
    assert frame["kind=low"].tolist() == [1.0, 0.0, 1.0]
    assert frame["kind=high"].tolist() == [0.0, 1.0, 0.0]


def test_columns_selects_and_orders(tmp_path):
    frame = read_csv(write(tmp_path, HOURS), columns=["b", "a"])
    assert list(frame.columns) == ["b", "a"]


def test_missing_target_column(tmp_path):
    with raises("series.csv has no value column 'OT'; value columns are ['a', 'b']"):
        read_csv(write(tmp_path, HOURS), columns=["a", "OT"])


# Files.


def test_empty_file(tmp_path):
    with raises("series.csv is empty"):
        read_csv(write(tmp_path, "\n  \n"))


def test_header_only(tmp_path):
    with raises("series.csv has a header but no data rows"):
        read_csv(write(tmp_path, "date,a,b\n"))


def test_missing_file(tmp_path):
    with raises(f"cannot read {tmp_path / 'nope.csv'}: No such file or directory"):
        read_csv(tmp_path / "nope.csv")


def test_ragged_row(tmp_path):
    with raises("series.csv line 3 has 3 fields where the header has 2: '2020-01-02,2,3'"):
        read_csv(write(tmp_path, "date,a\n2020-01-01,1\n2020-01-02,2,3\n"))


def test_repeated_column_name(tmp_path):
    with raises("series.csv has the column name 'a' more than once"):
        read_csv(write(tmp_path, "date,a,a\n2020-01-01,1,2\n2020-01-02,2,3\n"))


def test_latin1_file_suggests_an_encoding(tmp_path):
    text = "date,SWDR (W/m²)\n2020-01-01,1\n2020-01-02,2\n"
    path = write(tmp_path, text, encoding="latin-1")
    with raises(
        "series.csv is not valid utf-8 (byte 0xb2 on line 1); pass encoding='cp1252' if that "
        "is the file's encoding"
    ):
        read_csv(path)
    assert list(read_csv(path, encoding="cp1252").columns) == ["SWDR (W/m²)"]
    assert list(read_csv(path, encoding="latin-1").columns) == ["SWDR (W/m²)"]


def test_byte_order_mark_is_ignored(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + HOURS.encode())
    assert read_csv(path).index.name == "date"


def test_unknown_policy_names():
    with pytest.raises(ValueError, match=r"^missing='drop' is not a policy; pass one of "):
        read_csv(DATA / "shampoo.csv", missing="drop")
    with pytest.raises(ValueError, match=r"^categorical='ordinal' is not a policy; "):
        read_csv(DATA / "shampoo.csv", categorical="ordinal")
    with pytest.raises(ValueError, match=r"^encoding='klingon' is not a known text encoding$"):
        read_csv(DATA / "shampoo.csv", encoding="klingon")


# Long format.

LONG = (
    "date,id,x,size\n"
    "2020-01-02,B,20,2\n2020-01-01,A,1,1\n2020-01-01,B,10,2\n"
    "2020-01-02,A,2,1\n2020-01-03,A,3,1\n2020-01-03,B,30,2\n"
)


def test_long_format_sorted_by_series_then_time(tmp_path):
    frame = read_csv(write(tmp_path, LONG), id_col="id")
    assert frame["id"].tolist() == ["A"] * 3 + ["B"] * 3
    assert frame["x"].tolist() == [1, 2, 3, 10, 20, 30]
    assert list(frame.columns) == ["id", "x", "size"]
    assert {k: frame.attrs[k] for k in ("freq", "id_col")} == {"freq": "D", "id_col": "id"}


def test_long_format_gaps_are_per_series(tmp_path):
    text = LONG.replace("2020-01-02,A,2,1\n", "")
    with raises(
        "series 'A' has 1 missing timestamps, the first 2020-01-02 00:00:00 (after row 2); "
        "pass missing='interpolate', 'ffill' or 'zero' to fill gaps"
    ):
        read_csv(write(tmp_path, text), id_col="id")
    frame = read_csv(write(tmp_path, text), id_col="id", missing="interpolate")
    assert frame["x"].tolist() == [1, 2, 3, 10, 20, 30]


def test_long_format_missing_id(tmp_path):
    with raises("id column 'id' is empty at row 3"):
        read_csv(write(tmp_path, LONG.replace("2020-01-01,B", "2020-01-01,")), id_col="id")
    with raises("series.csv has no id column 'series'; columns are ['date', 'id', 'x', 'size']"):
        read_csv(write(tmp_path, LONG), id_col="series")


# Any malformed CSV loads or raises a DataError, never anything else.

_CELL = st.one_of(
    st.text(alphabet=string.digits + "-.:/ eE+naNINF\"'", max_size=8),
    st.sampled_from(
        ["2020-01-01", "2020-01-02 00:00", "1-01", "", "NA", "x", "1e400", ",", "1,5", "?", "-"]
    ),
    st.sampled_from(["1.234,5", '"1,234.5"', "1577836800", "43831", "Jan-2020", "13:00", "Total"]),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
)
_HEADER = st.lists(
    st.sampled_from(["date", "a", "b", "", "OT", "id", "date", "time", "year", "month", "#x"]),
    max_size=4,
)


@st.composite
def _csv(draw):
    header = draw(_HEADER)
    rows = draw(st.lists(st.lists(_CELL, max_size=5), max_size=8))
    sep = draw(st.sampled_from([",", ";", "\t", "|"]))
    lines = [sep.join(header)] + [sep.join(row) for row in rows]
    text = draw(st.sampled_from(["\n", "\r\n"])).join(lines)
    if draw(st.booleans()):  # sometimes a plausible hourly series to get past the header
        stamps = pd.date_range("2020-01-01", periods=len(rows), freq="h").astype(str)
        text = "date,a\n" + "\n".join(
            f"{t},{r[0] if r else ''}" for t, r in zip(stamps, rows, strict=True)
        )
    data = text.encode(draw(st.sampled_from(["utf-8", "utf-16", "cp1252"])), "replace")
    if draw(st.booleans()):
        data += draw(st.binary(max_size=6))
    if draw(st.booleans()):
        data = gzip.compress(data)
    return data


def _refusal(path, options):
    """The reader's message for a file, or "" when it loads."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataNote)
            read_csv(path, **options)
    except DataError as error:
        return str(error)
    return ""


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=_csv(), missing=st.sampled_from(["error", "ffill", "interpolate", "zero"]))
def test_random_malformed_csv_loads_or_raises_a_data_error(tmp_path, data, missing):
    path = tmp_path / "fuzz.csv"
    path.write_bytes(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataNote)
            frame = read_csv(path, missing=missing, categorical="onehot")
    except DataError as error:
        message = str(error)
        if error.fix is not None:  # the option it names gets past this very problem
            options = {"missing": missing, "categorical": "onehot", **error.fix}
            assert _refusal(path, options) != message
    else:
        message = ""
        assert isinstance(frame.index, pd.DatetimeIndex)
        assert frame.index.is_monotonic_increasing
        assert np.isfinite(frame.to_numpy(dtype="float64")).all()
    assert "\n" not in message


def test_header_with_a_nul_byte_and_no_rows(tmp_path):
    path = tmp_path / "nul.csv"
    path.write_bytes(b"date,a\x00b")
    with raises("nul.csv has a header but no data rows"):
        read_csv(path)


@pytest.mark.parametrize("missing", ["error", "interpolate", "ffill", "zero"])
def test_a_column_without_any_value_is_never_filled(tmp_path, missing):
    text = "date,a,b\n2020-01-01,1,\n2020-01-02,2,\n"
    with raises(
        "series.csv: column 'b' is empty in all 2 rows, which no policy fills; leave it out "
        "with columns=['a']"
    ):
        read_csv(write(tmp_path, text), missing=missing)
    assert read_csv(write(tmp_path, text), columns=["a"])["a"].tolist() == [1.0, 2.0]
