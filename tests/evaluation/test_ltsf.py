import time

import numpy as np
import pandas as pd
import pytest

import forecaster as fc
from forecaster.evaluation import ltsf
from tests.assertions import raises_exactly
from tests.data.util import DATA, weather_notes


@pytest.fixture(scope="module")
def etth1():
    return fc.load_benchmark("ETTh1", path=DATA, download=False)


def window_counts(parts, lookback, horizon):
    spec = fc.WindowSpec(lookback, horizon)
    return tuple(len(fc.make_windows(part, spec)) for part in (parts.train, parts.val, parts.test))


def test_etth1_borders_and_window_counts(etth1):
    parts = ltsf.protocol_split(etth1, "ETTh1", 336)
    assert repr(parts) == (
        "Split(train rows [0, 8640), val rows [8304, 11520), test rows [11184, 14400); "
        "lookback=336)"
    )
    assert parts.test.index[0] == etth1.index[11520 - 336]
    assert parts.test.index[-1] == etth1.index[14399]  # rows from 14,400 on are unused
    assert window_counts(parts, 336, 96) == (8640 - 431, 2785, 2785)


def test_ettm1_borders_are_four_times_the_hourly_ones():
    frame = fc.load_benchmark("ETTm1", path=DATA, download=False)
    parts = ltsf.protocol_split(frame, "ettm1", 96)
    assert parts.borders == {None: (34560, 46080, 57600)}
    assert len(parts.val) == 46080 - 34560 + 96
    assert window_counts(parts, 96, 720) == (34560 - 815, 11520 - 719, 11520 - 719)


def test_weather_splits_70_10_20_of_the_files_rows():
    with weather_notes():
        frame = fc.load_benchmark("weather", path=DATA, download=False)
    assert len(frame) == 52704  # interpolated: 8 stamps more than the raw 52,696 rows
    stamps = ltsf.file_stamps(DATA / "weather.csv", "date")
    assert len(stamps) == 52696
    parts = ltsf.protocol_split(frame, "weather", 96, stamps)
    # The file's int(0.7 n) = 36,887 train rows and int(0.2 n) = 10,539 test rows, its
    # validation what is left between; its duplicate and gap lie in the training part, so
    # in the regular frame each border sits 8 rows later.
    assert parts.borders == {None: (36887 + 8, 42157 + 8, 52704)}
    assert parts.val.index[0] == stamps[36887 - 96]
    assert parts.test.index[0] == stamps[42157 - 96]
    assert window_counts(parts, 96, 96) == (36895 - 191, 5270 - 95, 10539 - 95)
    # Validation and test are the file's own rows, value for value.
    raw = pd.read_csv(DATA / "weather.csv", encoding_errors="replace").iloc[42157 - 96 :, 1:]
    np.testing.assert_array_equal(parts.test.to_numpy(), raw.to_numpy())


def test_the_files_stamps_must_be_the_frames(etth1):
    stamps = etth1.index + pd.Timedelta("7min")  # another file's
    with raises_exactly(
        fc.DataError,
        "the file's row 8640 is stamped 2017-06-26 00:07:00, which the frame does not hold; "
        "pass the stamps of the file the frame was read from",
    ):
        ltsf.protocol_split(etth1, "ETTh1", 96, stamps)


def test_a_regular_files_stamps_change_nothing(etth1):
    stamps = ltsf.file_stamps(DATA / "ETTh1.csv", "date")
    assert stamps.equals(etth1.index)
    with_stamps = ltsf.protocol_split(etth1, "ETTh1", 336, stamps)
    assert with_stamps.borders == ltsf.protocol_split(etth1, "ETTh1", 336).borders


def test_a_short_data_set_is_refused():
    with raises_exactly(
        fc.DataError, "ETTh2 has 14000 rows; the protocol's test part ends at row 14400"
    ):
        ltsf.borders("ETTh2", 14000)


def test_naive_reproduces_the_published_etth1_scores(etth1):
    scores = ltsf.run(fc.NaiveForecaster(lookback=336, horizon=96), etth1, dataset="ETTh1")
    assert scores["windows"] == 2785
    assert round(scores["mse"], 3) == 1.294
    assert round(scores["mae"], 3) == 0.713
    assert scores["test_scaled_mse"] == scores["mse"]


FIT_SECONDS = 0.5


class SlowNaive(fc.NaiveForecaster):
    """The naive forecast, with a fit that takes at least `FIT_SECONDS`."""

    def fit(self, frame, val=None, callbacks=(), **overrides):
        time.sleep(FIT_SECONDS)
        return super().fit(frame, val=val, callbacks=callbacks, **overrides)


def test_the_wall_time_covers_the_fit_and_the_scoring(etth1):
    start = time.perf_counter()
    scores = ltsf.run(SlowNaive(lookback=96, horizon=24), etth1, dataset="ETTh1")
    around = time.perf_counter() - start
    assert FIT_SECONDS <= scores["wall_seconds"] <= around


@pytest.mark.parametrize(
    "model",
    [
        fc.LinearForecaster(lookback=48, horizon=24, alpha=1.0),
        fc.Forecaster(cell="gru", lookback=48, horizon=24, units=4, epochs=1, stride=64, verbose=0),
    ],
    ids=["linear", "neural"],
)
def test_no_statistic_sees_a_row_after_the_training_border(etth1, model):
    changed = etth1.copy()
    changed.iloc[8640:] = changed.iloc[8640:] * 10 + 3
    statistics = []
    for frame in (etth1, changed):
        parts = ltsf.protocol_split(frame, "ETTh1", 48)
        fitted = model.clone().fit(parts.train, val=parts.val)
        statistics.append(fitted.scaler_.statistics())
    for before, after in zip(*statistics, strict=True):
        np.testing.assert_array_equal(before, after)
    mean = etth1.iloc[:8640].mean().to_numpy()
    np.testing.assert_allclose(statistics[0][0], mean, rtol=1e-12)


def test_the_forecaster_validates_on_the_protocol_part(etth1):
    parts = ltsf.protocol_split(etth1, "ETTh1", 24)
    model = fc.Forecaster(cell="rnn", lookback=24, horizon=8, units=4, epochs=1, verbose=0)
    assert model.fit(parts.train, val=parts.val) is model
    # The validation loss is the MSE over every window of the protocol's validation part,
    # not over a val_fraction held out of the training rows.
    on_val = model.evaluate(parts.val)
    assert on_val["windows"] == 11520 - 8640 - 8 + 1
    assert model.history_["val_loss"][-1] == pytest.approx(on_val["scaled_mse"], rel=1e-4)


def test_a_validation_part_shorter_than_one_window_is_refused(etth1):
    model = fc.Forecaster(cell="rnn", lookback=24, horizon=8, units=4, epochs=1, verbose=0)
    with raises_exactly(
        fc.DataError,
        "the validation part has 31 rows, fewer than lookback + horizon = 32 needed for one window",
    ):
        model.fit(etth1.iloc[:500], val=etth1.iloc[500:531])
