"""`fit_stream`: a forecaster fitted on a chunked source is the one fitted in memory."""

import keras
import numpy as np
import pandas as pd
import pytest

import forecaster as fc
from tests.assertions import assert_same_schema, raises_exactly

ROWS = 300


@pytest.fixture(scope="module")
def path(tmp_path_factory):
    rng = np.random.default_rng(4)
    frame = pd.DataFrame(rng.normal(size=(ROWS, 3)).cumsum(axis=0), columns=["a", "b", "c"])
    frame.insert(0, "date", pd.date_range("2022-01-01", periods=ROWS, freq="h"))
    path = tmp_path_factory.mktemp("stream") / "series.csv"
    frame.to_csv(path, index=False)
    return path


def _model(**options):
    return fc.Forecaster(
        "gru",
        lookback=16,
        horizon=4,
        targets=["a"],
        calendar=["hour"],
        units=8,
        epochs=1,
        batch_size=16,
        seed=5,
        verbose=0,
        **options,
    )


def _assert_same_fit(streamed, fitted, frame):
    if isinstance(fitted, fc.Forecaster):
        weights = zip(streamed.model_.get_weights(), fitted.model_.get_weights(), strict=True)
    else:
        weights = ((streamed.state_[k], v) for k, v in fitted.state_.items())
    for got, want in weights:
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert_same_schema(streamed.schema_, fitted.schema_)
    assert streamed.history_.keys() == fitted.history_.keys()
    for key, value in fitted.history_.items():
        np.testing.assert_allclose(streamed.history_[key], value, rtol=1e-5)
    history, future = frame.iloc[:-4], frame.iloc[-4:]  # known-future values, where read
    pd.testing.assert_frame_equal(
        streamed.predict(history, future=future), fitted.predict(history, future=future), rtol=1e-5
    )


def test_fit_stream_trains_the_model_fit_trains(path, tmp_path):
    frame = fc.read_csv(path)
    # The two shuffles differ (every window at once in memory, pieces of rows in a
    # stream), so the same batches in the same order, unshuffled, is what can be compared.
    fitted = _model(shuffle=False)
    fitted.fit(frame)
    streamed = _model(shuffle=False)
    assert streamed.fit_stream(fc.open_source(path, chunk_rows=37)) is streamed
    _assert_same_fit(streamed, fitted, frame)
    streamed.save(tmp_path / "model")
    loaded = fc.Forecaster.load(tmp_path / "model")
    pd.testing.assert_frame_equal(loaded.predict(frame), streamed.predict(frame))
    assert loaded.evaluate(frame) == streamed.evaluate(frame)


def test_fit_stream_with_a_given_validation_part(path):
    frame = fc.read_csv(path)
    parts = fc.split(frame, 0.6, 0.2, 0.2, lookback=16)
    fitted = _model(scaler="minmax", shuffle=False)
    fitted.fit(parts.train, val=parts.val)
    streams = fc.split_stream(fc.open_source(path, chunk_rows=23), 0.6, 0.2, 0.2, lookback=16)
    streamed = _model(scaler="minmax", shuffle=False)
    streamed.fit_stream(streams.train, val=streams.val)
    _assert_same_fit(streamed, fitted, parts.train)


@pytest.mark.parametrize(
    "baseline",
    [
        fc.NaiveForecaster(lookback=16, horizon=4, targets=["a"]),
        fc.SeasonalNaiveForecaster(lookback=24, horizon=4, season=12),
        fc.MeanForecaster(lookback=16, horizon=4, scaler="minmax"),
        fc.LinearForecaster(lookback=16, horizon=4, alpha=0.5, known_future=["c"]),
        fc.LinearForecaster(lookback=16, horizon=4, channels="independent", calendar=["hour"]),
    ],
    ids=["naive", "seasonal", "mean", "linear", "independent"],
)
def test_a_baseline_fits_a_stream_as_it_fits_the_frame(path, baseline):
    frame = fc.read_csv(path)
    fitted = baseline.clone().fit(frame)
    streamed = baseline.clone()
    streamed.chunk = 50  # several passes' batches within and across the pieces
    assert streamed.fit_stream(fc.open_source(path, chunk_rows=37)) is streamed
    _assert_same_fit(streamed, fitted, frame)
    parts = fc.split(frame, 0.7, 0.3, 0.0, lookback=24)
    streams = fc.split_stream(fc.open_source(path, chunk_rows=41), 0.7, 0.3, 0.0, lookback=24)
    fitted = baseline.clone().fit(parts.train, val=parts.val)
    streamed = baseline.clone().fit_stream(streams.train, val=streams.val)
    assert list(fitted.history_) == ["loss", "val_loss"]
    _assert_same_fit(streamed, fitted, parts.train)


def test_shuffled_training_and_what_cannot_fit_on_a_stream(path):
    source = fc.open_source(path)
    with raises_exactly(
        ValueError,
        "scaler='robust' needs the median and quartiles of the training part, which one pass "
        "over a stream cannot give; use 'standard', 'minmax' or 'none', or fit "
        "Scaler('robust') on a frame from read_csv",
    ):
        _model(scaler="robust").fit_stream(source)
    epochs = []
    logger = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: epochs.append(epoch))
    model = _model()
    model.fit_stream(source, callbacks=[logger], shuffle_buffer=50, epochs=2)  # shuffled pieces
    assert np.isfinite(model.history_["loss"]).all()
    assert epochs == [0, 1]  # the callback ran, and the override of epochs held
    assert model.train.epochs == 1  # for that fit only
    with raises_exactly(
        TypeError, "source must be a Source from forecaster.open_source, got DataFrame"
    ):
        _model().fit_stream(fc.read_csv(path))
    with raises_exactly(
        fc.DataError,
        "the validation part has 19 rows, fewer than lookback + horizon = 20 needed for one window",
    ):
        _model(val_fraction=0.01).fit_stream(source)
