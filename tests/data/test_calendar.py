import numpy as np
import pandas as pd
import pytest

from forecaster.data import calendar_features


def test_phases_at_known_points():
    index = pd.DatetimeIndex(["2024-01-01 00:00", "2024-01-01 06:00", "2024-07-01 18:00"])
    features = calendar_features(index, ["hour", "month"])
    assert list(features.columns) == ["hour_sin", "hour_cos", "month_sin", "month_cos"]
    np.testing.assert_allclose(features["hour_sin"], [0, 1, -1], atol=1e-6)
    np.testing.assert_allclose(features["hour_cos"], [1, 0, 0], atol=1e-6)
    np.testing.assert_allclose(features["month_cos"], [1, 1, -1], atol=1e-6)  # Jan, Jan, Jul
    assert features.dtypes.eq("float32").all()


def test_minutes_count_towards_the_hour():
    index = pd.DatetimeIndex(["2024-01-01 05:30"])
    np.testing.assert_allclose(
        calendar_features(index, ["hour"])["hour_sin"], [np.sin(2 * np.pi * 5.5 / 24)], rtol=1e-6
    )


def test_day_of_week_and_leap_year_day_of_year():
    index = pd.DatetimeIndex(["2024-01-01", "2024-12-31", "2023-12-31"])  # Monday; leap year
    features = calendar_features(index, ["day_of_week", "day_of_year"])
    np.testing.assert_allclose(features["day_of_week_sin"].iloc[0], 0, atol=1e-6)
    expected = np.sin(2 * np.pi * np.array([0, 365 / 366, 364 / 365]))
    np.testing.assert_allclose(features["day_of_year_sin"], expected, atol=1e-6)


def test_aware_stamps_use_their_local_clock():
    index = pd.DatetimeIndex(["2024-01-01 06:00"]).tz_localize("Asia/Tokyo")
    utc = index.tz_convert("UTC")  # 21:00 the day before
    np.testing.assert_allclose(
        calendar_features(utc, ["hour"])["hour_sin"], [-np.sqrt(0.5)], atol=1e-6
    )
    np.testing.assert_allclose(calendar_features(index, ["hour"])["hour_sin"], [1], atol=1e-6)


def test_unknown_feature_and_index():
    with pytest.raises(ValueError, match=r"^calendar feature 'week' is not known; pass some of "):
        calendar_features(pd.DatetimeIndex(["2024-01-01"]), ["week"])
    with pytest.raises(
        ValueError, match=r"^calendar features need a DatetimeIndex, got RangeIndex$"
    ):
        calendar_features(pd.RangeIndex(3))
