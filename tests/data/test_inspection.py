"""`inspect_csv`: what the reader finds, each refusal's fix applied, the call that loads."""

import pandas as pd
import pytest

from forecaster.data import DataNote, inspect_csv, read_csv
from tests.data.util import DATA, write

# A semicolon export with decimal commas, a preamble, a repeated header, a footer, NA cells
# and a text column: every problem has one option that gets past it.
MESSY = (
    "Exported by Logger 3\n"
    "Site;Basel\n"
    "date;temp;wind;dir\n"
    "2024-01-01 00:00;1,5;NA;N\n"
    "2024-01-01 01:00;2,5;3,0;S\n"
    "date;temp;wind;dir\n"
    "2024-01-01 02:00;3,5;4,0;S\n"
    "2024-01-01 03:00;4,5;5,0;N\n"
    "Total\n"
)


def test_every_fix_is_applied_until_the_file_loads(tmp_path):
    path = write(tmp_path, MESSY, name="logger.csv")
    found = inspect_csv(path)
    assert found.error is None
    assert found.options == {
        "skiprows": 2,
        "skipfooter": 1,
        "repeated_headers": "drop",
        "missing": "interpolate",
        "categorical": "onehot",
    }
    assert [step[1] for step in found.steps] == [{k: v} for k, v in found.options.items()]
    with pytest.warns(DataNote, match="dropped 1 rows that repeat the header"):
        frame = read_csv(path, **found.options)  # the call it prints loads the file
    assert frame["temp"].tolist() == [1.5, 2.5, 3.5, 4.5]
    assert frame["wind"].tolist() == [3.0, 3.0, 4.0, 5.0]
    assert list(frame.columns) == ["temp", "wind", "dir=N", "dir=S"]
    assert found.call() == (
        f"forecaster.read_csv({str(path)!r}, skiprows=2, skipfooter=1, "
        "repeated_headers='drop', missing='interpolate', categorical='onehot')"
    )


def test_the_report_says_what_was_found(tmp_path):
    path = write(tmp_path, MESSY, name="logger.csv")
    lines = inspect_csv(path).lines()
    assert lines[0].startswith("refused: logger.csv has 2 lines before what looks like the ")
    assert lines[1] == "  so: skiprows=2"
    found = lines[10:]
    assert found[0] == (
        "file: logger.csv, utf-8, separator ';' (found), header on line 3, numbers written 1234,5"
    )
    assert found[1] == "time: 'date', step 'h', 2024-01-01 00:00:00 to 2024-01-01 03:00:00"
    assert found[2] == "rows: 4 read, 4 on the grid (0 repeated stamps, 0 missing steps)"
    assert found[4] == "  temp: number, 0 missing, 1.5 to 4.5"
    assert found[5] == "  wind: number, 1 missing, 3 to 5"
    assert found[6] == "  dir=N: one-hot of text column 'dir', 0 missing, 0 to 1"
    assert found[8] == "note: logger.csv: dropped 1 rows that repeat the header (first 3)"
    assert found[-1].startswith("loads with: forecaster.read_csv(")


def test_a_refusal_without_a_fix_ends_the_report(tmp_path):
    path = write(tmp_path, "date;a\n2020-01-01;1,234\n2020-01-02;2,345\n")
    found = inspect_csv(path)
    assert found.loaded is None
    assert found.error.startswith("series.csv: column 'a' value '1,234' (row 1) reads as ")
    assert found.lines()[-1] == f"refused: {found.error}"


def test_gaps_duplicates_constants_and_sentinels_are_counted(tmp_path):
    text = "date,a,b\n2020-01-01,-9999,5\n2020-01-02,2,5\n2020-01-02,3,5\n2020-01-05,4,5\n"
    found = inspect_csv(write(tmp_path, text), missing="ffill")
    assert (found.loaded.duplicates, found.loaded.gaps) == (1, 2)
    lines = found.lines()
    assert "  b: number, 0 missing, constant, 5 to 5" in lines
    assert (
        "note: series.csv: column 'a' holds -9999 in 1 rows, a common code for a missing value; "
        "if it is one, pass na_values=['NA', 'N/A', '#N/A', 'null', 'NaN', '-', '?', -9999.0]"
    ) in lines


def test_a_real_file_needs_no_option():
    found = inspect_csv(DATA / "ETTh1.csv")
    assert (found.options, found.steps, found.error) == ({}, [], None)
    assert found.loaded.frame.index[0] == pd.Timestamp("2016-07-01")


def test_unknown_options_are_a_type_error():
    with pytest.raises(TypeError, match="unexpected keyword argument 'delimiter'"):
        inspect_csv(DATA / "ETTh1.csv", delimiter=";")
