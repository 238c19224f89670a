import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, Ridge

import forecaster as fc
from forecaster.data.timestamps import season_length
from tests.assertions import raises_exactly
from tests.data.util import DATA


@pytest.fixture(scope="module")
def airline():
    return fc.read_csv(DATA / "airline-passengers.csv")


@pytest.fixture(scope="module")
def etth1():
    return fc.read_csv(DATA / "ETTh1.csv")


def test_naive_repeats_the_last_value(airline):
    model = fc.NaiveForecaster(lookback=12, horizon=6).fit(airline)
    forecast = model.predict(airline.iloc[:100])
    np.testing.assert_allclose(forecast["Passengers"], airline["Passengers"].iloc[99], rtol=1e-6)
    # month starts continue after the frame's end, 1957-04-01
    pd.testing.assert_index_equal(forecast.index, airline.index[100:106], check_names=False)


def test_seasonal_naive_repeats_the_last_season(airline):
    model = fc.SeasonalNaiveForecaster(lookback=24, horizon=18).fit(airline)
    assert model.schema_["season"] == 12  # monthly data
    history = airline["Passengers"].iloc[:100].to_numpy()
    expected = [history[100 - 12 + h % 12] for h in range(18)]
    np.testing.assert_allclose(model.predict(airline.iloc[:100])["Passengers"], expected, rtol=1e-6)


def test_mean_forecasts_the_training_mean(airline):
    model = fc.MeanForecaster(lookback=12, horizon=3, scaler="minmax").fit(airline)
    mean = airline["Passengers"].mean()  # baselines fit on every row, no validation part
    np.testing.assert_allclose(model.predict(airline)["Passengers"], mean, rtol=1e-6)


@pytest.mark.parametrize("alpha", [0.0, 2.5])
def test_linear_matches_scikit_learn(etth1, alpha):
    frame = etth1.iloc[:3000]
    model = fc.LinearForecaster(lookback=16, horizon=4, targets=["OT", "HUFL"], alpha=alpha)
    model.chunk = 300  # several accumulation chunks
    model.fit(frame.iloc[:2400])
    scaled = model.scaler_.transform(frame.iloc[:2400])  # the fitted rows
    windows = fc.make_windows(scaled, model.window_spec())
    x = windows.inputs.reshape(len(windows), -1).astype(np.float64)
    y = windows.labels.reshape(len(windows), -1).astype(np.float64)
    reference = (LinearRegression() if alpha == 0 else Ridge(alpha=alpha)).fit(x, y)
    test = model.scaler_.transform(frame.iloc[2400:])
    test_x = fc.make_windows(test, model.window_spec()).inputs
    got = model._forecast(test_x).reshape(len(test_x), -1)
    expected = reference.predict(test_x.reshape(len(test_x), -1).astype(np.float64))
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize("alpha", [0.0, 2.5])
def test_channel_independent_linear_matches_scikit_learn(etth1, alpha):
    frame = etth1.iloc[:3000]
    model = fc.LinearForecaster(lookback=16, horizon=4, alpha=alpha, channels="independent")
    model.chunk = 500
    model.fit(frame.iloc[:2400])
    windows = fc.make_windows(model.scaler_.transform(frame.iloc[:2400]), model.window_spec())
    # A slow, plain stacking: every (window, column) pair is one example of the shared map.
    columns = range(frame.shape[1])
    x = np.concatenate([windows.inputs[:, :, c] for c in columns]).astype(np.float64)
    y = np.concatenate([windows.labels[:, :, c] for c in columns]).astype(np.float64)
    reference = (LinearRegression() if alpha == 0 else Ridge(alpha=alpha)).fit(x, y)
    assert model.state_["weights"].shape == (16 + 1, 4)  # however many columns
    test_x = fc.make_windows(model.scaler_.transform(frame.iloc[2400:]), model.window_spec()).inputs
    got = model._forecast(test_x)  # (n, H, T)
    for c in columns:
        expected = reference.predict(test_x[:, :, c].astype(np.float64))
        np.testing.assert_allclose(got[:, :, c], expected, rtol=0, atol=1e-6)


def test_channel_independent_linear_needs_every_target_as_an_input(etth1):
    model = fc.LinearForecaster(
        lookback=8, horizon=2, targets=["OT"], inputs=["HUFL"], channels="independent"
    )
    message = (
        "LinearForecaster repeats each target's own history, so every target must be an input; "
        "target 'OT' is not among inputs ['HUFL']"
    )
    with raises_exactly(ValueError, message):
        model.fit(etth1.iloc[:500])
    with raises_exactly(
        ValueError, "channels='mixed' is not known; pass one of ('joint', 'independent')"
    ):
        fc.LinearForecaster(lookback=8, horizon=2, channels="mixed")


def test_naive_reproduces_the_published_etth1_reference(etth1):
    """The long-horizon protocol: scaler on rows [0, 8640), test windows over [11184, 14400)."""
    model = fc.NaiveForecaster(lookback=336, horizon=96).fit(etth1.iloc[:8640])
    assert model.scaler_.statistics()[0] == pytest.approx(etth1.iloc[:8640].mean().to_numpy())
    scores = model.evaluate(etth1.iloc[11520 - 336 : 14400])
    assert scores["windows"] == 2785
    assert round(scores["scaled_mse"], 3) == 1.294
    assert round(scores["scaled_mae"], 3) == 0.713


@pytest.mark.parametrize(
    ("model", "extra"),
    [
        (fc.LinearForecaster(lookback=12, horizon=3, alpha=1.0), "linear"),
        (fc.MeanForecaster(lookback=12, horizon=3), None),
        (fc.SeasonalNaiveForecaster(lookback=12, horizon=3), None),
    ],
    ids=["linear", "mean", "seasonal"],
)
def test_save_and_load_round_trip(model, extra, airline, tmp_path):
    model.fit(airline)
    model.save(tmp_path / "baseline")
    loaded = fc.Forecaster.load(tmp_path / "baseline")
    assert type(loaded) is type(model)
    assert loaded.configs() == model.configs()
    pd.testing.assert_frame_equal(loaded.predict(airline), model.predict(airline))
    assert (extra in loaded.configs()) is (extra is not None)


@pytest.mark.parametrize(
    ("freq", "season"),
    [
        ("h", 24),
        ("2h", 12),
        ("15min", 96),
        ("10min", 144),
        ("D", 7),
        ("W-SUN", 52),
        ("MS", 12),
        ("ME", 12),
        ("QS", 4),
        ("YS", 1),
        ("7h", 1),
    ],
)
def test_season_length_follows_the_frequency(freq, season):
    assert season_length(freq) == season


def test_seasonal_naive_needs_a_season_of_lookback(airline):
    model = fc.SeasonalNaiveForecaster(lookback=6, horizon=3)
    message = "the seasonal naive forecast with season 12 needs lookback >= 12, got lookback=6"
    with raises_exactly(ValueError, message):
        model.fit(airline)


def test_naive_needs_the_targets_among_the_inputs(etth1):
    model = fc.NaiveForecaster(lookback=12, horizon=3, inputs=["HUFL"], targets=["OT"])
    message = (
        "NaiveForecaster repeats each target's own history, so every target must be an input; "
        "target 'OT' is not among inputs ['HUFL']"
    )
    with raises_exactly(ValueError, message):  # at fit, which scores its training windows
        model.fit(etth1.iloc[:500])
    assert model.schema_ is None  # a failed fit leaves nothing half fitted


def test_negative_ridge_penalty_is_named():
    with raises_exactly(ValueError, "alpha must be a non-negative number, got -1"):
        fc.LinearForecaster(lookback=12, horizon=3, alpha=-1)


def test_history_holds_the_scaled_training_and_validation_mse(airline):
    parts = fc.split(airline, 0.75, 0.25, 0.0, lookback=12)
    model = fc.NaiveForecaster(lookback=12, horizon=3).fit(parts.train, val=parts.val)
    for name, part in (("loss", parts.train), ("val_loss", parts.val)):
        # A slow loop over the windows: each repeats its last scaled value.
        values = model.scaler_.transform(part)["Passengers"].to_numpy()
        errors = [
            (values[end + h] - values[end - 1]) ** 2
            for end in range(12, len(values) - 2)
            for h in range(3)
        ]
        assert model.history_[name] == pytest.approx([np.mean(errors)], rel=1e-6)
    assert list(model.history_) == ["loss", "val_loss"]
    alone = fc.NaiveForecaster(lookback=12, horizon=3).fit(parts.train)
    assert list(alone.history_) == ["loss"]
    assert alone.history_["loss"] == model.history_["loss"]
    for got, want in zip(alone.scaler_.statistics(), model.scaler_.statistics(), strict=True):
        np.testing.assert_allclose(got, want)
