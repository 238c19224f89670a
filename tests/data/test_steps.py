"""Series without timestamps: read by step with ``time_col=False`` or ``orient="rows"``."""

import csv
import re

import numpy as np
import pandas as pd
import pytest
import yaml

from forecaster.cli import commands as cli
from forecaster.cli.loading import load_config
from forecaster.data import DataError, inspect_csv, read_csv
from tests.data.util import DATA, write

M4 = DATA / "m4" / "hourly-train.csv"
NO_TIME = (
    "{} has no column named like a time column ('date', 'datetime', 'date_time', "
    "'timestamp', 'time', 'ds', 'month', 'period', 'week', 'day', 'year', 'quarter', 'ts', "
    "'epoch', 'unix_time'); pass time_col= with one of {}"
)
# Three series, one per row: A is shorter (padded), B has a gap at its second step.
ROWS = "id,1,2,3,4\nA,5,6,,\nB,7,,9,10\nC,1,2,3,4\n"


def raises(message, kind=DataError):
    """`pytest.raises` for an error with exactly `message`."""
    return pytest.raises(kind, match=f"^{re.escape(message)}$")


# time_col=False: the rows are the steps.


def test_wide_rows_are_steps_from_zero(tmp_path):
    frame = read_csv(write(tmp_path, "a,b\n1,10\n2,20\n4,40\n"), time_col=False)
    pd.testing.assert_index_equal(frame.index, pd.RangeIndex(3, name="step"))
    assert frame.index.dtype == "int64"
    assert {k: frame.attrs[k] for k in ("freq", "id_col")} == {"freq": None, "id_col": None}
    assert frame.to_dict("list") == {"a": [1.0, 2.0, 4.0], "b": [10.0, 20.0, 40.0]}


def test_long_series_are_numbered_each_from_zero_in_file_order(tmp_path):
    path = write(tmp_path, "id,v\nB,1\nB,2\nA,3\nB,4\nA,5\n")
    frame = read_csv(path, id_col="id", time_col=False)
    assert frame.index.name == "step"
    assert frame.index.tolist() == [0, 1, 2, 0, 1]
    assert frame["id"].tolist() == ["B", "B", "B", "A", "A"]  # B's first row comes first
    assert frame["v"].tolist() == [1.0, 2.0, 4.0, 3.0, 5.0]
    assert frame["id"].dtype == "str"
    assert {k: frame.attrs[k] for k in ("freq", "id_col")} == {"freq": None, "id_col": "id"}


def test_an_empty_cell_is_refused_naming_its_row_or_filled_along_the_steps(tmp_path):
    path = write(tmp_path, "a,b\n1,10\n2,\n4,40\n")
    with raises(
        "column 'b' has 1 missing values (first at row 2); pass missing='interpolate', "
        "'ffill' or 'zero' to fill"
    ):
        read_csv(path, time_col=False)
    assert read_csv(path, time_col=False, missing="interpolate")["b"].tolist() == [10, 25, 40]
    assert read_csv(path, time_col=False, missing="ffill")["b"].tolist() == [10, 10, 40]


def test_long_gaps_are_filled_within_each_series(tmp_path):
    path = write(tmp_path, "id,v\nA,1\nB,10\nA,\nB,\nA,3\nB,30\nA,4\n")
    frame = read_csv(path, id_col="id", time_col=False, missing="interpolate")
    assert frame.loc[frame["id"] == "A", "v"].tolist() == [1.0, 2.0, 3.0, 4.0]
    assert frame.loc[frame["id"] == "B", "v"].tolist() == [10.0, 20.0, 30.0]
    with raises("id column 'id' is empty at row 2"):
        read_csv(write(tmp_path, "id,v\nA,1\n,2\n"), id_col="id", time_col=False)


def test_the_other_options_work_by_step(tmp_path):
    text = "exported\nw;n;k;x\n1,5;on;1;9\n2,5;off;2;9\n3,5;on;3;9\nTotal\n"
    frame = read_csv(
        write(tmp_path, text),
        time_col=False,
        sep=";",
        decimal=",",
        skiprows=1,
        skipfooter=1,
        columns=["w", "n"],
        categorical="onehot",
    )
    assert list(frame.columns) == ["w", "n=off", "n=on"]
    assert frame["w"].tolist() == [1.5, 2.5, 3.5]
    assert frame["n=on"].tolist() == [1.0, 0.0, 1.0]
    assert frame.index.tolist() == [0, 1, 2]


def test_options_that_need_timestamps_are_refused(tmp_path):
    path = write(tmp_path, ROWS)
    with raises(
        "time_col=True names no column; pass a column name, a list of them, or False for a "
        "file without timestamps",
        ValueError,
    ):
        read_csv(path, time_col=True)
    with raises(
        "freq='h' is for timestamps, which a series read with time_col=False has none of; "
        "leave freq out",
        ValueError,
    ):
        read_csv(path, time_col=False, freq="h")
    with raises(
        "date_format='%Y' is for timestamps, which a series read with orient='rows' has none "
        "of; leave date_format out",
        ValueError,
    ):
        read_csv(path, id_col="id", orient="rows", date_format="%Y")
    with raises(
        "orient='diagonal' is not an orientation; pass one of ('columns', 'rows')", ValueError
    ):
        read_csv(path, orient="diagonal")


# The refusal of a file without timestamps offers the reading by step.


def test_a_numeric_file_without_time_column_is_offered_time_col_false(tmp_path):
    path = write(tmp_path, "a,b\n1,10\n2,20\n4,40\n", name="counts.csv")
    with raises(
        NO_TIME.format("counts.csv", "['a', 'b']")
        + ", or time_col=False if its rows are the steps of a series without timestamps"
    ) as caught:
        read_csv(path)
    assert caught.value.fix == {"time_col": False}
    assert read_csv(path, **caught.value.fix)["b"].tolist() == [10.0, 20.0, 40.0]


def test_a_long_file_without_time_column_is_offered_time_col_false(tmp_path):
    path = write(tmp_path, "id,v\nA,1\nA,2\nB,3\n", name="long.csv")
    with raises(
        NO_TIME.format("long.csv", "['id', 'v']")
        + ", or time_col=False if each series' rows are its steps, without timestamps"
    ) as caught:
        read_csv(path, id_col="id")
    assert caught.value.fix == {"time_col": False}
    assert read_csv(path, id_col="id", **caught.value.fix).index.tolist() == [0, 1, 0]


def test_a_file_with_a_series_per_row_is_offered_orient_rows(tmp_path):
    path = write(tmp_path, ROWS, name="rows.csv")
    with raises(
        NO_TIME.format("rows.csv", "['id', '1', '2', '3', '4']")
        + ", or id_col='id', orient='rows' if each row is a series without timestamps"
    ) as caught:
        read_csv(path)
    assert caught.value.fix == {"id_col": "id", "orient": "rows"}
    assert len(read_csv(path, missing="zero", **caught.value.fix)) == 10
    with pytest.raises(DataError) as caught:
        read_csv(path, id_col="id")  # each id on one row: series along the row
    assert caught.value.fix == {"orient": "rows"}


def test_no_reading_by_step_is_offered_for_text_or_a_time_column_that_fails(tmp_path):
    path = write(tmp_path, "a,b\n1,x\n2,y\n", name="text.csv")
    with raises(NO_TIME.format("text.csv", "['a', 'b']")) as caught:
        read_csv(path)
    assert caught.value.fix is None
    path = write(tmp_path, "a,b\n1,10\n2,20\n", name="counts.csv")
    with raises(NO_TIME.format("counts.csv", "['a', 'b']")):
        read_csv(path, freq="h")  # a step for stamps: not a series by step
    with raises(
        "time column 'date' has 2 values that are not ISO 8601 timestamps (first at row 1: "
        "'foo'); pass date_format= with the column's format"
    ) as caught:
        read_csv(write(tmp_path, "date,x\nfoo,1\nbar,2\n"))
    assert caught.value.fix is None


def test_inspect_finds_the_reading_by_step_and_its_config_section_loads(tmp_path, capsys):
    path = write(tmp_path, "a,b\n1,10\n2,\n4,40\n", name="counts.csv")
    found = inspect_csv(path)
    assert found.options == {"time_col": False, "missing": "interpolate"}
    report = str(found)
    assert "time: none (time_col=False), one series of 3 steps (0 to 2)\n" in report
    assert "rows: 3 read, 3 steps\n" in report
    assert cli.main(["inspect", str(path)]) == 0
    section = capsys.readouterr().out.partition("config section:\n")[2]
    config_file = tmp_path / "run.yaml"
    config_file.write_text(section)
    assert yaml.safe_load(section)["source"]["time_col"] is False
    frame = load_config(config_file, needs=("source",)).source.load()
    assert frame["b"].tolist() == [10.0, 25.0, 40.0]
    assert frame.index.name == "step"


# orient="rows": one series per row.


def test_series_per_row_become_a_long_frame_of_steps(tmp_path):
    frame = read_csv(write(tmp_path, ROWS), id_col="id", orient="rows", missing="interpolate")
    assert list(frame.columns) == ["id", "value"]
    assert frame.index.name == "step"
    assert frame.index.dtype == "int64"
    assert frame.index.tolist() == [0, 1, 0, 1, 2, 3, 0, 1, 2, 3]  # A's padding dropped
    assert frame["id"].tolist() == ["A"] * 2 + ["B"] * 4 + ["C"] * 4
    assert frame["value"].tolist() == [5, 6, 7, 8, 9, 10, 1, 2, 3, 4]  # B's gap interpolated
    assert frame["id"].dtype == "str"
    assert {k: frame.attrs[k] for k in ("freq", "id_col")} == {"freq": None, "id_col": "id"}


def test_rows_match_a_row_by_row_reading(tmp_path):
    rng = np.random.default_rng(0)
    lines, expected = ["id," + ",".join(str(i) for i in range(1, 31))], []
    for n in range(40):
        length = int(rng.integers(1, 31))
        values = rng.normal(size=length).round(3)
        cells = [str(v) for v in values]
        for i in rng.integers(0, max(length - 1, 1), size=3):  # gaps before the last value
            if i < length - 1:
                cells[i] = ""
        lines.append(",".join([f"s{n}", *cells, *[""] * (30 - length)]))
        series = pd.Series([float(c) if c else np.nan for c in cells])
        expected.append(series.interpolate(limit_direction="both").to_numpy())
    path = write(tmp_path, "\n".join(lines) + "\n")
    frame = read_csv(path, id_col="id", orient="rows", missing="interpolate")
    for n, values in enumerate(expected):
        series = frame.loc[frame["id"] == f"s{n}", "value"]
        assert series.index.tolist() == list(range(len(values)))
        np.testing.assert_allclose(series.to_numpy(), values)


def test_a_gap_inside_a_row_is_refused_naming_the_series_and_column(tmp_path):
    with raises(
        "series.csv: series 'B' (row 2) has 1 missing values (first in column '2'); pass "
        "missing='interpolate', 'ffill' or 'zero' to fill"
    ) as caught:
        read_csv(write(tmp_path, ROWS), id_col="id", orient="rows")
    assert caught.value.fix == {"missing": "interpolate"}


def test_a_value_that_is_not_a_number_is_refused_naming_the_series_and_column(tmp_path):
    path = write(tmp_path, "id,1,2,3\nA,5,6,\nB,7,n.a.,9\n")
    with raises(
        "series.csv: series 'B' (row 2) has 'n.a.' in column '2', not a finite number; if it "
        "marks a missing value, pass na_values=['NA', 'N/A', '#N/A', 'null', 'NaN', '-', '?', "
        "'n.a.']"
    ) as caught:
        read_csv(path, id_col="id", orient="rows")
    options = {**caught.value.fix, "missing": "ffill"}
    assert read_csv(path, id_col="id", orient="rows", **options)["value"].tolist() == [
        5,
        6,
        7,
        7,
        9,
    ]
    with raises("series.csv: series 'A' (row 1) has 'inf' in column '2', not a finite number"):
        read_csv(write(tmp_path, "id,1,2\nA,5,inf\n"), id_col="id", orient="rows")


def test_rows_refuse_a_repeated_id_an_empty_one_and_a_row_without_values(tmp_path):
    with raises(
        "series.csv: series 'A' is on rows 1 and 3; with orient='rows' each series is one row"
    ):
        read_csv(write(tmp_path, "id,1,2\nA,1,2\nB,3,4\nA,5,6\n"), id_col="id", orient="rows")
    with raises("series.csv: id column 'id' is empty at row 2"):
        read_csv(write(tmp_path, "id,1,2\nA,1,2\n,3,4\n"), id_col="id", orient="rows")
    with raises("series.csv: series 'B' (row 2) has no values"):
        read_csv(write(tmp_path, "id,1,2\nA,1,2\nB,,\n"), id_col="id", orient="rows")
    with raises("series.csv has no id column 'V1'; columns are ['id', '1', '2']"):
        read_csv(write(tmp_path, "id,1,2\nA,1,2\n"), id_col="V1", orient="rows")


def test_a_file_without_header_is_refused_with_orient_rows(tmp_path):
    with raises(
        "series.csv has no header: its first line is a series ('H1,605,586,559'); add a "
        "first line naming the id column and the steps (e.g. V1,1,2,3)"
    ):
        read_csv(write(tmp_path, "H1,605,586,559\nH2,3,4,5\n"), id_col="V1", orient="rows")
    years = read_csv(write(tmp_path, "name,2019,2020\nA,1,2\n"), id_col="name", orient="rows")
    assert years["value"].tolist() == [1.0, 2.0]  # a header of years counts up by one


def test_rows_take_the_file_options(tmp_path):
    text = "# export\nid;s1;s2;s3\nA;1,5;2,5;\nB;NA;1;2\n"
    frame = read_csv(
        write(tmp_path, text),
        id_col="id",
        orient="rows",
        sep=";",
        decimal=",",
        skiprows=1,
        missing="zero",
        columns=["s1", "s2"],
    )
    assert frame["value"].tolist() == [1.5, 2.5, 0.0, 1.0]
    with raises(
        "orient='rows' reads one series per row; pass id_col= naming the column of series ids",
        ValueError,
    ):
        read_csv(write(tmp_path, ROWS), orient="rows")


@pytest.mark.skipif(not M4.is_file(), reason=f"the M4 hourly data is not in {M4.parent}")
def test_the_m4_hourly_file_reads_one_series_per_row():
    frame = read_csv(M4, id_col="V1", orient="rows")
    lengths = frame.groupby("V1", sort=False).size()
    assert len(lengths) == 414
    assert lengths.value_counts().to_dict() == {960: 245, 700: 169}
    assert lengths.index[[0, -1]].tolist() == ["H1", "H414"]
    assert {k: frame.attrs[k] for k in ("freq", "id_col")} == {"freq": None, "id_col": "V1"}
    assert frame.index.name == "step"
    with M4.open(newline="") as file:
        raw = {row[0]: [float(v) for v in row[1:] if v] for row in list(csv.reader(file))[1:]}
    for key in ("H1", "H414"):
        series = frame.loc[frame["V1"] == key, "value"]
        assert series.index.tolist() == list(range(len(raw[key])))
        assert series.iloc[[0, -1]].tolist() == [raw[key][0], raw[key][-1]]
    assert np.array_equal(frame["value"].to_numpy(), np.concatenate(list(raw.values())))


@pytest.mark.skipif(not M4.is_file(), reason=f"the M4 hourly data is not in {M4.parent}")
def test_inspect_finds_the_m4_layout():
    found = inspect_csv(M4)
    assert found.options == {"id_col": "V1", "orient": "rows"}
    assert "time: none (orient='rows'), 414 series of 700 to 960 steps" in str(found)
