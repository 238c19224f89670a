"""Files as people bring them: each loads into the right frame or is refused with the fix.

Every refusal here is followed by its `DataError.fix`, which must load the file (or meet
its next problem), so a message can only ever suggest an option that works.
"""

import bz2
import gzip
import io
import lzma
import re
import zipfile

import numpy as np
import pandas as pd
import pytest

from forecaster.data import DataError, DataNote, read_csv
from tests.data.util import write

DAYS = pd.date_range("2020-01-01", periods=6, freq="D")


def refused(path, message, **options):
    """Reads `path`, expects exactly `message`, and returns the error's fix."""
    with pytest.raises(DataError, match=f"^{re.escape(message)}$") as caught:
        read_csv(path, **options)
    return caught.value.fix


def daily(sep=",", values=("1.5", "2.5", "3.5", "4.5", "5.5", "6.5"), header="date,value"):
    rows = [f"{d:%Y-%m-%d}{sep}{v}" for d, v in zip(DAYS, values, strict=True)]
    return "\n".join([header.replace(",", sep), *rows]) + "\n"


def assert_daily(frame, expected=(1.5, 2.5, 3.5, 4.5, 5.5, 6.5), column="value"):
    assert {k: frame.attrs[k] for k in ("freq", "id_col")} == {"freq": "D", "id_col": None}
    assert frame.index.equals(pd.DatetimeIndex(DAYS, freq="D", name=frame.index.name))
    assert frame[column].tolist() == list(expected)
    assert (frame.dtypes == "float64").all()


# Separators and number formats.


@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_each_common_separator_is_found(tmp_path, sep):
    assert_daily(read_csv(write(tmp_path, daily(sep))))


def test_semicolons_with_decimal_commas(tmp_path):
    text = daily(";", ("1,5", "2,5", "3,5", "4,5", "5,5", "6,5"))
    assert_daily(read_csv(write(tmp_path, text)))


def test_quoted_thousands_separators(tmp_path):
    values = ('"1,234.5"', "2.5", '"10,000"', "4.5", "5.5", '"1,000,000.25"')
    frame = read_csv(write(tmp_path, daily(",", values)))
    assert_daily(frame, (1234.5, 2.5, 10000.0, 4.5, 5.5, 1000000.25))


def test_european_thousands_and_decimal_comma(tmp_path):
    values = ("1.234,5", "2,5", "10.000", "4,5", "5,5", "1.000.000,25")
    frame = read_csv(write(tmp_path, daily(";", values)))
    assert_daily(frame, (1234.5, 2.5, 10000.0, 4.5, 5.5, 1000000.25))


def test_a_value_two_formats_read_differently_is_refused_with_both(tmp_path):
    path = write(tmp_path, daily(";", ("1,234", "2,345", "3,456", "4,567", "5,678", "6,789")))
    fix = refused(
        path,
        "series.csv: column 'value' value '1,234' (row 1) reads as 1.234 with decimal=',' or "
        "1234 with thousands=','; pass the one the file uses",
    )
    assert fix is None
    assert read_csv(path, decimal=",")["value"].iloc[0] == 1.234
    assert read_csv(path, thousands=",")["value"].iloc[0] == 1234.0


def test_a_plain_file_with_three_decimals_stays_plain(tmp_path):
    # 1.234 could be a thousand with a dot separator only if the file showed decimal commas.
    values = ("1.234", "2.345", "3.456", "4.567", "5.678", "6.789")
    frame = read_csv(write(tmp_path, daily(",", values)))
    assert_daily(frame, tuple(float(v) for v in values))


def test_an_ambiguous_separator_is_refused(tmp_path):
    text = "date;a,b\n2020-01-01;1,2\n"
    with pytest.raises(DataError, match=r"could be separated by ',' or ';' alike; pass"):
        read_csv(write(tmp_path, text))


def test_given_formats_are_checked():
    with pytest.raises(ValueError, match=r"^decimal=':' is not a decimal mark; pass '.' or ','$"):
        read_csv("nowhere.csv", decimal=":")
    with pytest.raises(ValueError, match=r"^thousands=',' is not a thousands separator besides "):
        read_csv("nowhere.csv", decimal=",", thousands=",")


# Missing values.


@pytest.mark.parametrize("marker", ["NA", "N/A", "#N/A", "null", "NaN", "-", "?", "", "na", " NA "])
def test_each_missing_marker_is_missing(tmp_path, marker):
    path = write(tmp_path, daily(",", ("1", "2", marker, "4", "5", "6")))
    fix = refused(
        path,
        "column 'value' has 1 missing values (first at row 3); pass missing='interpolate', "
        "'ffill' or 'zero' to fill",
    )
    assert_daily(read_csv(path, **fix), (1, 2, 3, 4, 5, 6))


def test_na_values_replaces_the_markers(tmp_path):
    path = write(tmp_path, daily(",", ("1", "2", "n.a.", "4", "-", "6")))
    fix = refused(
        path,
        "column 'value' has 1 non-numeric values (first at row 3: 'n.a.'); if they mark missing "
        "values, pass na_values=['NA', 'N/A', '#N/A', 'null', 'NaN', '-', '?', 'n.a.']",
    )
    frame = read_csv(path, missing="interpolate", **fix)
    assert_daily(frame, (1, 2, 3, 4, 5, 6))
    with pytest.raises(DataError, match=r"column 'value' has 1 non-numeric values .*'-'"):
        read_csv(path, na_values=["n.a."], missing="interpolate")


def test_an_integer_column_with_na_and_calendar_parts_loads(tmp_path):
    """The Beijing PM2.5 layout.

    A row number, the time in four columns, NA in an integer column, wind direction as text.
    """
    hours = pd.date_range("2010-01-01", periods=30, freq="h")
    pm = ["NA", "NA", *range(100, 128)]
    lines = ["No,year,month,day,hour,pm2.5,TEMP,cbwd"] + [
        f"{i + 1},{t.year},{t.month},{t.day},{t.hour},{p},-{i % 7},{'NW' if i % 2 else 'cv'}"
        for i, (t, p) in enumerate(zip(hours, pm, strict=True))
    ]
    path = write(tmp_path, "\n".join(lines) + "\n", name="PRSA.csv")
    fix = refused(
        path,
        "column 'pm2.5' has 2 missing values (first at row 1); pass missing='interpolate', "
        "'ffill' or 'zero' to fill",
    )
    fix = refused(
        path,
        "column 'cbwd' holds text (first at row 1: 'cv'), not numbers; pass "
        "categorical='onehot' to one-hot encode it, or leave it out with columns=",
        **fix,
    )
    with pytest.warns(DataNote, match=r"^PRSA.csv: dropped column 'No', which counts the rows"):
        frame = read_csv(path, missing="interpolate", categorical="onehot")
    assert fix == {"categorical": "onehot"}
    assert list(frame.columns) == ["pm2.5", "TEMP", "cbwd=NW", "cbwd=cv"]
    assert frame.index.equals(pd.DatetimeIndex(hours, freq="h", name="time"))
    assert frame["pm2.5"].iloc[2:].tolist() == list(range(100, 128))
    assert frame["pm2.5"].iloc[:2].tolist() == [100.0, 100.0]  # filled from the first value


# Spreadsheet exports.


def test_trailing_separators_are_dropped_with_a_note(tmp_path):
    for header in ("date,value,", "date,value"):  # Excel writes the comma on the rows only
        text = daily(values=("1,", "2,", "3,", "4,", "5,", "6,"), header=header)
        with pytest.warns(DataNote, match=r"^series.csv: dropped 1 empty columns without a name$"):
            assert_daily(read_csv(write(tmp_path, text)), (1, 2, 3, 4, 5, 6))


def test_a_header_ending_in_empty_names(tmp_path):
    text = daily(values=("1,,,", "2,,,", "3,,,", "4,,,", "5,,,", "6,,,"), header="date,value,,,")
    with pytest.warns(DataNote, match=r"^series.csv: dropped 3 empty columns without a name$"):
        assert_daily(read_csv(write(tmp_path, text)), (1, 2, 3, 4, 5, 6))


def test_empty_rows_are_dropped_with_a_note(tmp_path):
    text = daily().replace("2020-01-02", ",\n2020-01-02")
    with pytest.warns(DataNote, match=r"^series.csv: dropped 1 empty rows \(first at row 2\)$"):
        assert_daily(read_csv(write(tmp_path, text)))


def test_a_repeated_header_is_refused_then_dropped(tmp_path):
    text = daily().replace("2020-01-04", "date,value\n2020-01-04")
    path = write(tmp_path, text)
    fix = refused(
        path,
        "series.csv row 4 repeats the header ('date,value'); pass repeated_headers='drop' "
        "to drop such rows",
    )
    with pytest.warns(DataNote, match=r"dropped 1 rows that repeat the header \(first 4\)$"):
        assert_daily(read_csv(path, **fix))


@pytest.mark.parametrize(
    ("footer", "message"),
    [
        (
            "Total,24.0",
            "series.csv ends with 1 rows whose time column holds no stamp (row 7: "
            "'Total,24.0'), a footer rather than data; pass skipfooter=1 to drop them",
        ),
        (
            "Source: the city\nExported 2024",
            "series.csv ends with 2 lines that are not rows of 2 fields (the last: "
            "'Exported 2024'); pass skipfooter=2 to drop them",
        ),
    ],
)
def test_a_footer_is_refused_with_skipfooter(tmp_path, footer, message):
    path = write(tmp_path, daily() + footer + "\n")
    assert_daily(read_csv(path, **refused(path, message)))


@pytest.mark.parametrize("preamble", ["Station: Basel\nUnits: degC\n", "# exported, v2\n\n"])
def test_a_preamble_is_refused_with_skiprows(tmp_path, preamble):
    path = write(tmp_path, preamble + daily())
    lines = preamble.count("\n")
    fix = refused(
        path,
        f"series.csv has {lines} lines before what looks like the header (line {lines + 1}: "
        f"'date,value'); pass skiprows={lines} to skip them",
    )
    assert_daily(read_csv(path, **fix))


def test_a_file_without_a_header_is_refused(tmp_path):
    path = write(tmp_path, daily().partition("\n")[2])
    refused(
        path,
        "series.csv has no header: its first line is data ('2020-01-01,1.5'); add a first "
        "line that names the columns (e.g. date,value)",
    )


def test_a_pandas_index_column_is_dropped_with_a_note(tmp_path):
    frame = pd.DataFrame({"date": DAYS.strftime("%Y-%m-%d"), "value": np.arange(6) + 1.5})
    path = tmp_path / "series.csv"
    frame.to_csv(path)  # writes the index as an unnamed first column
    with pytest.warns(DataNote, match=r"dropped column 'Unnamed: 0', which counts the rows"):
        assert_daily(read_csv(path))


def test_an_entirely_empty_column_is_named_and_never_filled(tmp_path):
    text = daily(values=("1,", "2,", "3,", "4,", "5,", "6,"), header="date,value,humidity")
    path = write(tmp_path, text)
    for missing in ("error", "zero", "interpolate"):
        fix = refused(
            path,
            "series.csv: column 'humidity' is empty in all 6 rows, which no policy fills; "
            "leave it out with columns=['value']",
            missing=missing,
        )
    assert_daily(read_csv(path, **fix), (1, 2, 3, 4, 5, 6))


# Time columns.


def _numbers_file(tmp_path, stamps, name="stamp"):
    rows = [f"{s},{i + 1}" for i, s in enumerate(stamps)]
    return write(tmp_path, "\n".join([f"{name},value", *rows]) + "\n")


HOURS = pd.date_range("2021-03-01", periods=5, freq="h")


@pytest.mark.parametrize(
    ("stamps", "name"),
    [
        ([str(int(t.timestamp())) for t in HOURS], "ts"),
        ([str(int(t.timestamp()) * 1000) for t in HOURS], "timestamp"),
        ([f"{(t - pd.Timestamp('1899-12-30')) / pd.Timedelta(days=1):.6f}" for t in HOURS], "date"),
    ],
    ids=["epoch seconds", "epoch milliseconds", "Excel serial"],
)
def test_numeric_stamps_are_read_by_their_range(tmp_path, stamps, name):
    frame = read_csv(_numbers_file(tmp_path, stamps, name))
    assert frame.index.equals(pd.DatetimeIndex(HOURS, freq="h", name=name))


def test_excel_serial_days(tmp_path):
    frame = read_csv(_numbers_file(tmp_path, range(43831, 43837), "date"))
    assert frame.index[0] == pd.Timestamp("2020-01-01")
    assert frame.attrs["freq"] == "D"


def test_numbers_with_two_readings_are_refused_with_both(tmp_path):
    path = _numbers_file(tmp_path, ["202001011200", "202001011300", "202001011400"], "date")
    refused(
        path,
        "time column 'date' value '202001011200' (row 1) reads as 1976-05-26 23:23:31.200000 "
        "with date_format='epoch_ms' or 2020-01-01 12:00:00 with date_format='%Y%m%d%H%M'; "
        "pass the one the file uses",
    )
    assert read_csv(path, date_format="%Y%m%d%H%M").attrs["freq"] == "h"


def test_numbers_with_no_reading_are_refused(tmp_path):
    path = _numbers_file(tmp_path, ["500000", "500001", "500002"], "date")
    refused(
        path,
        "time column 'date' holds numbers that are no known timestamp (row 1: '500000'); "
        "pass date_format= with the reading: date_format='%Y' or date_format='excel' or "
        "date_format='%Y%m%d' or date_format='epoch_s' or date_format='epoch_ms' or "
        "date_format='%Y%m%d%H%M'",
    )
    assert read_csv(path, date_format="%s").index[0] == pd.Timestamp("1970-01-06 18:53:20")


def test_years_stay_years(tmp_path):
    frame = read_csv(_numbers_file(tmp_path, range(2001, 2007), "year"))
    assert frame.index[0] == pd.Timestamp("2001-01-01")
    assert frame.attrs["freq"] == "YS-JAN"


@pytest.mark.parametrize(
    "stamps",
    [
        ["Jan-2020", "Feb-2020", "Mar-2020"],
        ["January 2020", "February 2020", "March 2020"],
        ["01-Jan-2020", "01-Feb-2020", "01-Mar-2020"],
    ],
)
def test_month_names(tmp_path, stamps):
    frame = read_csv(_numbers_file(tmp_path, stamps, "Month"))
    assert frame.index.tolist() == list(pd.date_range("2020-01-01", periods=3, freq="MS"))
    assert frame.attrs["freq"] == "MS"


def _date_and_time(tmp_path, header="date,time,value", hours=48):
    stamps = pd.date_range("2020-01-01", periods=hours, freq="h")
    rows = [f"{t:%Y-%m-%d},{t.hour}:00,{i}" for i, t in enumerate(stamps)]
    return write(tmp_path, "\n".join([header, *rows]) + "\n"), stamps


@pytest.mark.parametrize("header", ["date,time,value", "Date,Time,value"])
def test_date_and_time_in_two_columns_are_found_by_name(tmp_path, header):
    path, stamps = _date_and_time(tmp_path, header)
    frame = read_csv(path)
    assert frame.index.equals(pd.DatetimeIndex(stamps, freq="h", name="time"))
    assert frame["value"].tolist() == list(range(48))


def test_stamps_that_mostly_repeat_are_never_averaged(tmp_path):
    path, stamps = _date_and_time(tmp_path, "day_of,clock,value")
    for missing in ("error", "interpolate", "ffill", "zero"):
        fix = refused(
            path,
            "series.csv: 48 of 48 rows share their timestamp with another (the first "
            "2020-01-01 00:00:00 at rows 1 and 2), so the stamps are coarser than the rows; "
            "pass time_col=['day_of', 'clock'], columns=['value']",
            time_col="day_of",
            missing=missing,
        )
    frame = read_csv(path, **fix)
    assert frame.index.equals(pd.DatetimeIndex(stamps, freq="h", name="time"))


def test_stacked_series_without_id_col_are_refused_with_it(tmp_path):
    rows = [f"{d:%Y-%m-%d},{s},{i}" for i, d in enumerate(DAYS) for s in "AB"]
    path = write(tmp_path, "\n".join(["date,store,value", *rows]) + "\n")
    fix = refused(
        path,
        "series.csv: 12 of 12 rows share their timestamp with another (the first 2020-01-01 "
        "00:00:00 at rows 1 and 2), so the stamps are coarser than the rows; pass "
        "id_col='store' if each of its values is a series",
    )
    frame = read_csv(path, **fix)
    assert frame["store"].tolist() == ["A"] * 6 + ["B"] * 6


def test_a_rare_repeated_stamp_is_averaged_with_a_note(tmp_path):
    text = daily().replace("2020-01-03,3.5\n", "2020-01-03,3.0\n2020-01-03,4.0\n")
    with pytest.warns(DataNote, match=r"averaged 2 rows that share 1 timestamps, the first"):
        frame = read_csv(write(tmp_path, text), missing="interpolate")
    assert frame["value"].iloc[2] == 3.5


def test_the_finest_of_two_time_columns_is_chosen_with_a_note(tmp_path):
    stamps = pd.date_range("2020-01-01", periods=30, freq="h")
    rows = [f"{t:%Y-%m-%d},{t:%Y-%m-%d %H:%M},{i}" for i, t in enumerate(stamps)]
    path = write(tmp_path, "\n".join(["date,datetime,value", *rows]) + "\n")
    with pytest.warns(DataNote, match=r"time column 'datetime' chosen, the finest; dropped the "):
        frame = read_csv(path)
    assert list(frame.columns) == ["value"]
    assert frame.attrs["freq"] == "h"


def test_two_time_columns_alike_are_refused_with_the_exact_call(tmp_path):
    stamps = pd.date_range("2020-01-01", periods=5, freq="h")
    rows = [
        f"{t:%Y-%m-%d %H:%M},{t + pd.Timedelta(hours=1):%Y-%m-%d %H:%M},{i}"
        for i, t in enumerate(stamps)
    ]
    path = write(tmp_path, "\n".join(["timestamp,local_time,value", *rows]) + "\n")
    fix = refused(
        path,
        "series.csv has two time columns, 'timestamp' and 'local_time'; pass "
        "time_col='timestamp', columns=['value'] or time_col='local_time', columns=['value']",
    )
    assert read_csv(path, **fix).index[0] == stamps[0]


def test_an_unnamed_time_column_is_found_by_its_text(tmp_path):
    assert_daily(read_csv(write(tmp_path, daily(header="when,value"))))


def test_a_file_with_no_time_column_is_refused_naming_time_col(tmp_path):
    with pytest.raises(DataError, match=r"has no column named like a time column .*pass time_col="):
        read_csv(write(tmp_path, "a,b\n1,2\n3,4\n"))


# Files.


def _compressed(kind, data):
    if kind == "zip":
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("inner.csv", data)
        return buffer.getvalue()
    return {"gzip": gzip.compress, "bzip2": bz2.compress, "xz": lzma.compress}[kind](data)


@pytest.mark.parametrize("kind", ["gzip", "bzip2", "xz", "zip"])
def test_compression_is_found_by_content_whatever_the_name(tmp_path, kind):
    path = tmp_path / "series.csv"
    path.write_bytes(_compressed(kind, daily().encode()))
    assert_daily(read_csv(path))


def test_a_zip_of_several_files_is_refused(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.csv", daily())
        archive.writestr("b.csv", daily())
    path = tmp_path / "series.csv"
    path.write_bytes(buffer.getvalue())
    refused(
        path,
        "series.csv is a zip archive of 2 files ['a.csv', 'b.csv']; a zip is read when it "
        "holds one CSV: unzip it and read the CSV you want",
    )


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_unicode_encodings_are_found(tmp_path, encoding):
    text = daily(header="date,Temp (°C)")
    frame = read_csv(write(tmp_path, text, encoding=encoding))
    assert_daily(frame, column="Temp (°C)")


def test_a_windows_file_is_refused_with_an_encoding_that_reads_it(tmp_path):
    path = write(tmp_path, daily(header="date,Temp (°C) €"), encoding="cp1252")
    fix = refused(
        path,
        "series.csv is not valid utf-8 (byte 0xb0 on line 1); pass encoding='cp1252' if that "
        "is the file's encoding",
    )
    assert_daily(read_csv(path, **fix), column="Temp (°C) €")


def test_a_workbook_is_refused_naming_what_it_is(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
    path = tmp_path / "series.csv"
    path.write_bytes(buffer.getvalue())
    refused(
        path,
        "series.csv is an Excel or OpenDocument workbook, not a CSV; save the sheet as CSV "
        "(File > Save As > CSV) and read that",
    )


def test_crlf_and_spaces_around_cells(tmp_path):
    text = daily().replace(",", " , ").replace("\n", "\r\n")
    assert_daily(read_csv(write(tmp_path, text)))


# Found by a held-out corpus of awkward files.


def test_dotted_integers_in_a_semicolon_file_are_refused_with_both_readings(tmp_path):
    text = "Datum;Besucher\n01.01.2020;1.234\n02.01.2020;987\n03.01.2020;12.500\n"
    path = write(tmp_path, text)
    refused(
        path,
        "series.csv: column 'Besucher' value '1.234' (row 1) reads as 1.234 with decimal='.' "
        "or 1234 with decimal=',', thousands='.'; pass the one the file uses",
    )
    frame = read_csv(path, decimal=",", thousands=".")
    assert frame["Besucher"].tolist() == [1234.0, 987.0, 12500.0]
    assert read_csv(path, decimal=".")["Besucher"].tolist() == [1.234, 987.0, 12.5]


def test_no_break_space_thousands(tmp_path):
    values = ("1\u00a0034,5", "2,5", "3,5", "4,5", "5,5", "12\u00a0000")
    frame = read_csv(write(tmp_path, daily(";", values)))
    assert_daily(frame, (1034.5, 2.5, 3.5, 4.5, 5.5, 12000.0))


def test_numbers_in_a_form_not_read_are_not_text(tmp_path):
    path = write(tmp_path, daily())  # 1.5, 2.5, ...: told the decimal mark is a comma
    refused(
        path,
        "column 'value' holds numbers written in a form not read (row 1: '1.5'); pass "
        "decimal= and thousands= as the file writes them",
        decimal=",",
        categorical="onehot",
    )


@pytest.mark.parametrize(
    "first", ["Jan-2018,331.6", "2020-01-01,north,0.5", "2020-01-01,1.5"], ids=str
)
def test_a_headerless_file_is_refused_whatever_its_first_row(tmp_path, first):
    text = first + "\n" + first.replace("1", "2") + "\n"
    with pytest.raises(DataError, match=r"^series.csv has no header: its first line is data"):
        read_csv(write(tmp_path, text))


def test_a_pandas_index_of_a_slice_is_dropped(tmp_path):
    frame = pd.DataFrame({"date": DAYS.strftime("%Y-%m-%d"), "value": np.arange(6) + 1.5})
    path = tmp_path / "series.csv"
    frame.set_axis(range(500, 506)).to_csv(path)
    with pytest.warns(DataNote, match=r"dropped column 'Unnamed: 0', which counts the rows"):
        assert_daily(read_csv(path))


def test_numeric_missing_codes(tmp_path):
    path = write(tmp_path, daily(",", ("1.0", "-9999.0", "3.0", "4.0", "-9999", "6.0")))
    with pytest.warns(
        DataNote,
        match=r"^series.csv: column 'value' holds -9999 in 2 rows, a common code for a missing "
        r"value; if it is one, pass na_values=\['NA', .*, '\?', -9999.0\]$",
    ):
        assert read_csv(path)["value"].min() == -9999.0
    frame = read_csv(path, na_values=[-9999], missing="interpolate")
    assert_daily(frame, (1, 2, 3, 4, 5, 6))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"na_values": [None]}, "na_values=[None] holds None; pass strings or numbers"),
        ({"columns": 5}, "columns must be column names, got 5"),
        ({"time_col": 5}, "time_col must be column names, got 5"),
        ({"columns": ["a", "a"]}, "columns=['a', 'a'] names a column more than once"),
        ({"date_format": 123}, "date_format=123 is not a format such as '%Y-%m-%d'"),
        ({"skipfooter": -1}, "skipfooter must be an integer >= 0, got -1"),
    ],
)
def test_bad_arguments_are_value_errors(options, message):
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        read_csv("nowhere.csv", **options)


def test_weekday_stamps_are_business_days(tmp_path):
    days = pd.bdate_range("2021-01-11", "2021-01-29").delete([5])  # a holiday: Monday 18th
    rows = [f"{d:%Y-%m-%d},{i}" for i, d in enumerate(days)]
    path = write(tmp_path, "\n".join(["Date,Close", *rows]) + "\n")
    fix = refused(
        path,
        "series.csv has 1 missing timestamps, the first 2021-01-18 00:00:00 (after row 5); "
        "pass missing='interpolate', 'ffill' or 'zero' to fill gaps",
    )
    frame = read_csv(path, **fix)
    assert frame.attrs["freq"] == "B"
    assert len(frame) == 15  # three weeks of weekdays, no weekend filled


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        ("Station,Heathrow\nUnits,degC\n" + daily(), 2),  # a key,value preamble
        (",\n,\n" + daily(), 2),  # empty spreadsheet rows above the header
        ("Station,XYZ\n\nUnits,C\n" + daily(), 3),  # key,value with a blank line
    ],
    ids=["key-value", "empty rows", "key-value with blank lines"],
)
def test_preambles_that_look_like_rows(tmp_path, text, lines):
    path = write(tmp_path, text)
    fix = refused(
        path,
        f"series.csv has {lines} lines before what looks like the header (line {lines + 1}: "
        f"'date,value'); pass skiprows={lines} to skip them",
    )
    assert_daily(read_csv(path, **fix))


def test_old_mac_line_ends_and_spaces_before_quotes(tmp_path):
    assert_daily(read_csv(write(tmp_path, daily().replace("\n", "\r"))))
    values = ('"1,000.5"', "2.5", "3.5", "4.5", "5.5", "6.5")
    text = daily(",", values).replace(",", ", ").replace(", 000", ",000")
    frame = read_csv(write(tmp_path, text))
    assert_daily(frame, (1000.5, 2.5, 3.5, 4.5, 5.5, 6.5))


def test_a_footer_fix_adds_to_the_footer_already_skipped(tmp_path):
    path = write(tmp_path, daily() + "Total,24.0\nSource: the city\n")
    first = refused(
        path,
        "series.csv ends with 1 lines that are not rows of 2 fields (the last: 'Source: the "
        "city'); pass skipfooter=1 to drop them",
    )
    second = refused(
        path,
        "series.csv ends with 1 rows whose time column holds no stamp (row 7: 'Total,24.0'), "
        "a footer rather than data; pass skipfooter=2 to drop them",
        **first,
    )
    assert_daily(read_csv(path, **second))


@pytest.mark.parametrize(
    ("header", "clock"),
    [("date,hour,value", "{h}"), ("Date;Time;value", "{h:02d}.00.00")],
    ids=["whole hours", "dotted times"],
)
def test_a_date_beside_hours_written_other_ways(tmp_path, header, clock):
    sep = header[4]
    stamps = pd.date_range("2020-01-01", periods=30, freq="h")
    rows = [f"{t:%Y-%m-%d}{sep}{clock.format(h=t.hour)}{sep}{i}" for i, t in enumerate(stamps)]
    frame = read_csv(write(tmp_path, "\n".join([header, *rows]) + "\n"))
    assert frame.index.equals(pd.DatetimeIndex(stamps, freq="h", name="time"))


def test_hour_ending_24_00_is_the_next_midnight(tmp_path):
    stamps = pd.date_range("2020-01-01 01:00", periods=30, freq="h")
    rows = [
        f"{(t - pd.Timedelta(hours=1)):%Y-%m-%d} {24 if t.hour == 0 else t.hour:02d}:00,{i}"
        for i, t in enumerate(stamps)
    ]
    frame = read_csv(write(tmp_path, "\n".join(["datetime,value", *rows]) + "\n"))
    assert frame.index.equals(pd.DatetimeIndex(stamps, freq="h", name="datetime"))


def test_quarters(tmp_path):
    frame = read_csv(_numbers_file(tmp_path, ["2019Q3", "2019Q4", "2020Q1"], "quarter"))
    assert frame.index.tolist() == list(pd.date_range("2019-07-01", periods=3, freq="QS"))


# Found by a review of the reader.


def test_day_first_dates_with_am_pm_are_ambiguous_too(tmp_path):
    text = (
        "Month,Sales\n1/01/2020 12:00:00 AM,5\n1/02/2020 12:00:00 AM,6\n1/03/2020 12:00:00 AM,7\n"
    )
    with pytest.raises(DataError, match=r"could be day-first or month-first"):
        read_csv(write(tmp_path, text))


def test_day_month_without_a_year_is_not_read_as_years(tmp_path):
    with pytest.raises(DataError, match=r"^time column 'date' has 3 values that are not ISO"):
        read_csv(write(tmp_path, "date,v\n13-01,1\n14-01,2\n15-01,3\n"))


def test_an_unnamed_index_of_a_filtered_frame_is_dropped(tmp_path):
    text = ",date,value\n0,2020-01-01,1\n1,2020-01-02,2\n5,2020-01-03,3\n9,2020-01-04,4\n"
    with pytest.warns(DataNote, match=r"dropped column 'Unnamed: 0', which counts the rows"):
        frame = read_csv(write(tmp_path, text))
    assert list(frame.columns) == ["value"]


def test_a_part_of_the_period_is_never_offered_as_a_series_id(tmp_path):
    rows = [f"{y},{w},{w}" for y in (2019, 2020) for w in range(1, 53)]
    path = write(tmp_path, "\n".join(["year,week,cases", *rows]) + "\n")
    assert refused(path, _any_message(path)) is None


def _any_message(path):
    try:
        read_csv(path)
    except DataError as error:
        return str(error)
    raise AssertionError("loaded")


def test_an_hour_of_day_column_is_offered_as_part_of_the_time(tmp_path):
    stamps = pd.date_range("2020-01-01", periods=48, freq="h")
    rows = [f"{t:%Y-%m-%d},{t.hour},{i}" for i, t in enumerate(stamps)]
    path = write(tmp_path, "\n".join(["Date,HourOfDay,Load", *rows]) + "\n")
    fix = refused(path, _any_message(path))
    assert fix == {"time_col": ["Date", "HourOfDay"], "columns": ["Load"]}
    assert read_csv(path, **fix).attrs["freq"] == "h"


@pytest.mark.parametrize("cell", ["$10", "5 %", "12 kWh", "(12)"])
def test_numbers_in_units_or_brackets_are_refused_without_a_fix(tmp_path, cell):
    path = write(tmp_path, daily(",", ("1", cell, "3", cell, "5", "6")))
    assert "no option reads them: write plain numbers in the file" in _any_message(path)
    assert refused(path, _any_message(path)) is None
    path = write(tmp_path, daily(",", (cell,) * 6))
    assert refused(path, _any_message(path)) is None  # never one-hot encoded


def test_a_stray_stamp_is_not_a_gap_to_fill(tmp_path):
    text = daily().replace("2020-01-01", "1900-01-01")
    path = write(tmp_path, text)
    fix = refused(
        path,
        "series.csv spans 43,834 steps of D for 6 rows; the largest gap is from 1900-01-01 "
        "00:00:00 (row 1) to 2020-01-02 00:00:00 (row 2): a stamp far from the others, or "
        "another step (pass freq=)",
        missing="interpolate",
    )
    assert fix is None


def test_a_zero_step_is_refused():
    with pytest.raises(ValueError, match=r"^freq='0h' is not a pandas frequency"):
        read_csv("nowhere.csv", freq="0h")


def test_separators_quotes_and_headers_of_other_exports(tmp_path):
    tsv = 'date\ta\tb\n2020-01-01\t\t"3"\n2020-01-02\t1\t"4"\n2020-01-03\t2\t"5"\n'
    frame = read_csv(write(tmp_path, tsv), missing="interpolate")
    assert frame["b"].tolist() == [3.0, 4.0, 5.0]
    pivot = ",101,102\n2020-01-01,1,2\n2020-01-02,3,4\n2020-01-03,5,6\n"
    with pytest.warns(DataNote, match=r"columns without a name but with values are called"):
        assert list(read_csv(write(tmp_path, pivot)).columns) == ["101", "102"]
    commented = "#date,value\n" + daily().partition("\n")[2]
    assert_daily(read_csv(write(tmp_path, commented)))
    unquoted = "date,value\n2020-01-01,1,5\n2020-01-02,2,5\n2020-01-03,3,25\n"
    fix = refused(
        write(tmp_path, unquoted),
        "series.csv: its rows have 3 fields but the header has 2 (line 1: 'date,value', line "
        "2: '2020-01-01,1,5'); a value holding the separator ',' (a decimal comma) must be "
        "quoted",
    )
    assert fix is None


def test_calendar_parts_with_month_names(tmp_path):
    frame = read_csv(write(tmp_path, "Year,Month,Sales\n2020,Jan,1\n2020,Feb,2\n2020,Mar,3\n"))
    assert frame.index.tolist() == list(pd.date_range("2020-01-01", periods=3, freq="MS"))


def test_a_utf8_mark_on_a_windows_file(tmp_path):
    path = tmp_path / "series.csv"
    path.write_bytes(b"\xef\xbb\xbf" + daily(header="date,Temp (\xb0C)").encode("cp1252"))
    fix = refused(path, _any_message(path))
    assert_daily(read_csv(path, **fix), column="Temp (°C)")
