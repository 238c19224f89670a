import pandas as pd
import pytest

from forecaster.data import DataError, DataNote
from forecaster.data.timestamps import infer_frequency, regularize


@pytest.mark.parametrize(
    ("stamps", "expected"),
    [
        (pd.date_range("2020-01-01", periods=5, freq="15min"), "15min"),
        (pd.date_range("2020-01-01", periods=5, freq="15min").delete([2]), "15min"),
        (pd.date_range("2020-01-01", periods=6, freq="MS").delete([2]), "MS"),
        (pd.date_range("2020-01-31", periods=6, freq="ME").delete([2]), "ME"),
        (pd.date_range("2020-01-01", periods=8, freq="3MS").delete([4]), "3MS"),
        (pd.DatetimeIndex(["2020-01-01", "2020-01-08"]), "7D"),
        (pd.date_range("2020-03-28", periods=5, freq="D", tz="Europe/Berlin"), "D"),
    ],
)
def test_frequency_is_the_most_common_step_despite_gaps(stamps, expected):
    assert infer_frequency(stamps, "s").freqstr == expected


def test_regularize_keeps_rows_for_messages_after_sorting():
    index = pd.DatetimeIndex(["2020-01-03", "2020-01-01", "2020-01-03"])
    frame = pd.DataFrame({"x": [3.0, 1.0, 5.0]}, index=index)
    rows = pd.Series([1, 2, 3]).to_numpy()
    with pytest.raises(
        DataError,
        match=r"^s has duplicate timestamp 2020-01-03 00:00:00 \(rows 1 and 3\); ",
    ):
        regularize(frame, rows, None, "error", "s")
    with pytest.warns(DataNote, match=r"^s: averaged 2 rows that share 1 timestamps"):
        filled, offset = regularize(
            frame, rows, pd.tseries.frequencies.to_offset("D"), "ffill", "s"
        )
    assert filled["x"].tolist() == [1.0, 1.0, 4.0]
    assert offset.freqstr == "D"
