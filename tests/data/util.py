"""Paths to the shared real data sets and a writer for small CSVs."""

import contextlib
from pathlib import Path

import pytest

from forecaster.data import DataNote

# The project reads real data from ../shared/data beside the repository; never copied in.
DATA = Path(__file__).parents[2] / ".." / "shared" / "data"


def write(tmp_path, text, name="series.csv", encoding="utf-8"):
    """Writes `text` to `tmp_path / name` and returns the path."""
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


@contextlib.contextmanager
def weather_notes():
    """Expects the notes that reading weather.csv gives: its -9999 codes and its duplicate."""
    with pytest.warns(DataNote) as notes:
        yield
    codes = "pass na_values=['NA', 'N/A', '#N/A', 'null', 'NaN', '-', '?', -9999.0]"
    assert [str(note.message) for note in notes] == [
        "weather.csv: column 'wv (m/s)' holds -9999 in 1 rows, a common code for a missing "
        f"value; if it is one, {codes}",
        "weather.csv: column 'max. PAR (\ufffdmol/m\ufffd/s)' holds -9999 in 30 rows, a common "
        f"code for a missing value; if it is one, {codes}",
        "weather.csv: column 'OT' holds -9999 in 50 rows, a common code for a missing value; if "
        f"it is one, {codes}",
        "weather.csv: averaged 2 rows that share 1 timestamps, the first 2020-05-12 06:00:00 "
        "at rows 19044 and 19045",
    ]
