"""Global models: one forecaster fitted on a long frame of many series.

Each series is scaled on its own training rows, windows never cross two series, predict
forecasts each series from its own end, and evaluate scores each series against its own
seasonal-naive scale. The expected values are computed here by hand, series by series.
"""

import numpy as np
import pandas as pd
import pytest
from sklearn.preprocessing import StandardScaler

import forecaster as fc
from forecaster.config import DataConfig
from forecaster.estimators import preparation
from tests.assertions import raises_exactly

TINY = {"units": 4, "epochs": 1, "verbose": 0, "batch_size": 16}


def part(key, values, start="2024-01-01"):
    """One series of a long frame, hourly from `start`."""
    index = pd.date_range(start, periods=len(values), freq="h")
    return pd.DataFrame({"id": key, "y": np.asarray(values, dtype=np.float64)}, index=index)


def stepped(key, values, first=0):
    """One series of a long frame indexed by step from `first` (no timestamps)."""
    index = pd.RangeIndex(first, first + len(values), name="step")
    return pd.DataFrame({"id": key, "y": np.asarray(values, dtype=np.float64)}, index=index)


def stack(*parts, freq="h"):
    frame = pd.concat(parts)
    if freq is not None:
        frame.attrs["freq"] = freq
    return frame


def walks(lengths, seed=0):
    """Random walks of very different levels and spreads, one per `lengths` item."""
    rng = np.random.default_rng(seed)
    shapes = {"a": (10.0, 1.0), "b": (500.0, 25.0), "c": (-3.0, 0.1)}
    return {
        key: shapes[key][0] + shapes[key][1] * rng.normal(size=n).cumsum()
        for key, n in lengths.items()
    }


# -- scaling and windows -----------------------------------------------------------------


def test_each_series_is_scaled_on_its_own_training_rows():
    values = walks({"a": 40, "b": 48, "c": 32})
    starts = {"a": "2024-01-01", "b": "2024-03-01", "c": "2024-01-02"}
    data = DataConfig(lookback=6, horizon=2, id_col="id", val_fraction=0.25)

    def statistics(series):
        frame = stack(*(part(k, v, starts[k]) for k, v in series.items()))
        scaler = preparation.prepare(data, frame).scaler
        return {key: scaler.statistics(key) for key in series}

    fitted = statistics(values)
    for key, series in values.items():
        train_rows = int(len(series) * 0.75)
        expected = StandardScaler().fit(series[:train_rows, None])
        np.testing.assert_allclose(fitted[key][0], expected.mean_, rtol=1e-12)
        np.testing.assert_allclose(fitted[key][1], expected.scale_, rtol=1e-12)
    # Series b's held-out rows (its last quarter) change: no statistic moves.
    held_out = {**values, "b": values["b"].copy()}
    held_out["b"][36:] += 1000.0
    for key, (center, scale) in statistics(held_out).items():
        np.testing.assert_array_equal(center, fitted[key][0])
        np.testing.assert_array_equal(scale, fitted[key][1])
    # Its last training row changes: b's statistics move, and only b's.
    trained = {**values, "b": values["b"].copy()}
    trained["b"][35] += 1000.0
    moved = statistics(trained)
    assert moved["b"][0] != pytest.approx(fitted["b"][0])
    for key in ("a", "c"):
        np.testing.assert_array_equal(moved[key][0], fitted[key][0])


def test_windows_never_cross_two_series():
    lookback, horizon = 5, 3
    lengths = {"a": 30, "b": 41, "c": 25}
    rng = np.random.default_rng(1)
    # Disjoint value bands, unscaled: a window mixing two series would show it.
    bands = {key: 100.0 * i + rng.uniform(size=n) for i, (key, n) in enumerate(lengths.items())}
    frame = stack(*(part(k, v) for k, v in bands.items()))
    data = DataConfig(lookback=lookback, horizon=horizon, id_col="id", scaler="none")
    prepared = preparation.prepare(data, frame)
    train_rows = {key: int(n * 0.8) for key, n in lengths.items()}
    assert len(prepared.train) == sum(r - lookback - horizon + 1 for r in train_rows.values())
    val_rows = {key: n - train_rows[key] + lookback for key, n in lengths.items()}
    assert len(prepared.val) == sum(r - lookback - horizon + 1 for r in val_rows.values())
    for windows in (prepared.train, prepared.val):
        assert windows.keys == ["a", "b", "c"]
        x, y = windows.numpy()
        band = 100.0 * windows.series  # each window's own series' band
        for values in (x[..., 0], y[..., 0]):
            assert np.all((values >= band[:, None]) & (values < band[:, None] + 1))
    # b's first training window is b's first rows, and its last ends at b's training end.
    x, y = prepared.train.numpy()
    first_b = np.flatnonzero(prepared.train.series == 1)
    np.testing.assert_allclose(x[first_b[0], :, 0], bands["b"][:lookback], rtol=1e-6)
    np.testing.assert_allclose(y[first_b[-1], :, 0], bands["b"][29:32], rtol=1e-6)


# -- predict -------------------------------------------------------------------------------


@pytest.mark.parametrize("declared", [True, False], ids=["id_col", "attrs"])
def test_naive_predict_repeats_each_series_last_value_after_its_own_end(declared):
    values = walks({"a": 30, "b": 44, "c": 21})
    starts = {"a": "2024-01-01 05:00", "b": "2023-12-30", "c": "2024-02-10 13:00"}
    frame = stack(*(part(k, v, starts[k]) for k, v in values.items()))
    options = {"id_col": "id"} if declared else {}
    if not declared:
        frame.attrs["id_col"] = "id"
    model = fc.NaiveForecaster(lookback=8, horizon=4, **options).fit(frame)
    forecast = model.predict(frame)
    assert list(forecast.columns) == ["id", "y"]
    assert forecast["id"].tolist() == ["a"] * 4 + ["b"] * 4 + ["c"] * 4
    for key, series in values.items():
        block = forecast[forecast["id"] == key]
        end = pd.Timestamp(starts[key]) + pd.Timedelta(hours=len(series) - 1)
        expected_index = pd.date_range(end + pd.Timedelta(hours=1), periods=4, freq="h")
        pd.testing.assert_index_equal(block.index, expected_index, check_freq=False)
        # Original units: a wrong series' statistics would give another value.
        np.testing.assert_allclose(block["y"], np.repeat(series[-1], 4), rtol=1e-6)


def test_seasonal_naive_predict_repeats_each_series_last_season():
    values = walks({"a": 30, "b": 27})
    frame = stack(part("a", values["a"]), part("b", values["b"], "2024-01-05"))
    model = fc.SeasonalNaiveForecaster(lookback=6, horizon=5, season=3, id_col="id")
    forecast = model.fit(frame).predict(frame)
    for key, series in values.items():
        expected = series[len(series) - 3 + np.arange(5) % 3]
        np.testing.assert_allclose(forecast.loc[forecast["id"] == key, "y"], expected, rtol=1e-6)


@pytest.fixture(scope="module")
def network():
    """A small global GRU fitted on three step-indexed series (the last quarter held out)."""
    values = walks({"a": 40, "b": 32, "c": 48}, seed=3)
    frame = stack(
        stepped("a", values["a"]),
        stepped("b", values["b"], first=100),
        stepped("c", values["c"]),
        freq=None,
    )
    model = fc.Forecaster("gru", lookback=6, horizon=4, id_col="id", val_fraction=0.25, **TINY)
    return model.fit(frame), frame, values


def test_a_global_network_forecasts_each_series_from_its_own_window(network):
    model, frame, values = network
    forecast = model.predict(frame)
    for key, series in values.items():
        # The series' own training statistics, computed here, and its last lookback rows.
        scaler = StandardScaler().fit(series[: int(len(series) * 0.75), None])
        mean, scale = scaler.mean_[0], scaler.scale_[0]
        x = ((series[-6:] - mean) / scale).astype(np.float32)[None, :, None]
        expected = model._forecast(x)[0, :, 0] * scale + mean
        block = forecast.loc[forecast["id"] == key, "y"]
        np.testing.assert_allclose(block, expected, rtol=1e-5)
        alone = model.predict(frame[frame["id"] == key])
        np.testing.assert_allclose(alone["y"], block, rtol=1e-5)


def test_a_first_batch_of_exactly_horizon_windows_scores_each_series_as_alone(network, tmp_path):
    model, frame, _ = network
    model.save(tmp_path / "global")
    fresh = fc.load(tmp_path / "global")  # its first forecast is the batch below
    # 2 + 1 + 1 windows: one batch as long as the horizon (4).
    extra = {"a": 1, "b": 0, "c": 0}
    tails = {k: frame[frame["id"] == k].iloc[-(10 + extra[k]) :] for k in extra}
    together = fresh.evaluate_series(pd.concat(tails.values()))
    assert together["windows"].sum() == 4
    for key, tail in tails.items():
        alone = model.evaluate_series(tail)
        assert together.loc[key, "mae"] == pytest.approx(alone.loc[key, "mae"], rel=1e-5)


def test_step_indexed_series_fit_predict_and_evaluate(network):
    model, frame, values = network
    assert model.schema_["freq"] is None
    assert model.schema_["season"] == 1
    forecast = model.predict(frame)
    assert forecast.index.name == "step"
    assert forecast.index.tolist() == [40, 41, 42, 43, 132, 133, 134, 135, 48, 49, 50, 51]
    assert model.evaluate(frame)["windows"] == sum(len(v) - 9 for v in values.values())
    # A declared season on steps: the seasonal naive forecast is exact.
    seasonal = fc.SeasonalNaiveForecaster(lookback=8, horizon=6, season=4, id_col="id")
    seasonal.fit(frame)
    assert seasonal.schema_["season"] == 4
    repeated = seasonal.predict(frame)
    series = values["b"]
    expected = series[len(series) - 4 + np.arange(6) % 4]
    np.testing.assert_allclose(repeated.loc[repeated["id"] == "b", "y"], expected, rtol=1e-6)
    assert repeated.index[repeated["id"] == "b"].tolist() == list(range(132, 138))


def test_calendar_features_on_steps_are_refused():
    frame = stack(stepped("a", np.arange(30.0)), stepped("b", np.arange(30.0)), freq=None)
    model = fc.NaiveForecaster(lookback=8, horizon=4, id_col="id", calendar=["hour"])
    with raises_exactly(
        fc.DataError,
        "calendar features ['hour'] need timestamps; this frame is indexed by step: drop "
        "calendar= or read the file with its time column",
    ):
        model.fit(frame)


def test_a_step_fitted_model_refuses_timestamps_and_back():
    steps = stack(stepped("a", np.arange(30.0)), freq=None)
    stamps = stack(part("a", np.arange(30.0)))
    on_steps = fc.NaiveForecaster(lookback=8, horizon=4, id_col="id").fit(steps)
    with raises_exactly(
        fc.DataError,
        "the model was fitted on a series with a step index; the frame has a DatetimeIndex",
    ):
        on_steps.predict(stamps)
    on_stamps = fc.NaiveForecaster(lookback=8, horizon=4, id_col="id").fit(stamps)
    with raises_exactly(
        fc.DataError,
        "the model was fitted on a series with a DatetimeIndex; the frame has a step index",
    ):
        on_stamps.evaluate(steps)


# -- evaluate ------------------------------------------------------------------------------


def naive_errors(values, lookback, horizon):
    """Absolute errors of the naive forecast of every window (stride 1), `(windows, H)`."""
    starts = np.arange(len(values) - lookback - horizon + 1)
    last = values[starts + lookback - 1]
    labels = values[starts[:, None] + lookback + np.arange(horizon)]
    return np.abs(labels - last[:, None])


def test_evaluate_scores_each_series_against_its_own_seasonal_naive_scale():
    lookback, horizon, season = 6, 3, 5
    values = walks({"a": 60, "b": 50, "c": 70}, seed=7)
    fit_rows = {"a": 40, "b": 30, "c": 45}
    train = stack(*(part(k, v[: fit_rows[k]]) for k, v in values.items()))
    # Each test part starts lookback rows before its first forecast; c comes first here.
    test = stack(*(part(k, values[k][fit_rows[k] - lookback :]) for k in ("c", "a", "b")))
    model = fc.NaiveForecaster(lookback=lookback, horizon=horizon, season=season, id_col="id")
    model.fit(train)
    table = model.evaluate_series(test)
    assert table.index.name == "id"
    assert sorted(table.index) == ["a", "b", "c"]
    expected = {}
    for key, series in values.items():
        errors = naive_errors(series[fit_rows[key] - lookback :], lookback, horizon)
        fitted = series[: fit_rows[key]]
        scale = np.mean(np.abs(fitted[season:] - fitted[:-season]))
        expected[key] = (errors.mean(), errors.mean() / scale, len(errors))
        assert table.loc[key, "mae"] == pytest.approx(expected[key][0], rel=1e-6)
        assert table.loc[key, "mase"] == pytest.approx(expected[key][1], rel=1e-6)
        assert table.loc[key, "windows"] == expected[key][2]
    pooled = model.evaluate(test)
    counts = np.array([count for _, _, count in expected.values()])
    assert pooled["windows"] == table["windows"].sum() == counts.sum()
    assert pooled["series"] == 3
    maes = np.array([mae for mae, _, _ in expected.values()])
    mases = np.array([mase for _, mase, _ in expected.values()])
    assert pooled["mae"] == pytest.approx(np.average(maes, weights=counts), rel=1e-6)
    assert pooled["mase"] == pytest.approx(np.average(mases, weights=counts), rel=1e-6)


# -- nonnegative ---------------------------------------------------------------------------


@pytest.fixture
def falling():
    """Two straight lines falling toward 0, whose linear extrapolation goes below it."""
    return stack(part("a", 12.0 - np.arange(11)), part("b", 6.0 - 0.5 * np.arange(10)))


def test_nonnegative_targets_are_never_forecast_below_zero(falling):
    options = {"lookback": 3, "horizon": 4, "id_col": "id"}
    free = fc.LinearForecaster(nonnegative=False, **options).fit(falling)
    detected = fc.LinearForecaster(**options).fit(falling)
    assert detected.schema_["nonnegative"] is True
    assert detected.schema_["nonnegative_detected"] is True
    # Exact lines: the raw forecasts continue them, below 0.
    raw = {"a": [1.0, 0.0, -1.0, -2.0], "b": [1.0, 0.5, 0.0, -0.5]}
    unclipped, clipped = free.predict(falling), detected.predict(falling)
    for key, line in raw.items():
        np.testing.assert_allclose(unclipped.loc[unclipped["id"] == key, "y"], line, atol=1e-6)
        block = clipped.loc[clipped["id"] == key, "y"]
        np.testing.assert_allclose(block, np.maximum(line, 0.0), atol=1e-6)
        assert (block >= 0).all()
    # One window per series: its last 3 rows, then the truth, which stays at 0.
    test = stack(
        part("a", [4.0, 3.0, 2.0, 1.0, 0.0, 0.0, 0.0], "2024-01-01 08:00"),
        part("b", [2.5, 2.0, 1.5, 1.0, 0.5, 0.0, 0.0], "2024-01-01 07:00"),
    )
    assert detected.evaluate(test)["mae"] == pytest.approx(0.0, abs=1e-6)
    assert detected.evaluate(test)["scaled_mae"] == pytest.approx(0.0, abs=1e-6)
    assert free.evaluate(test)["mae"] == pytest.approx((3 / 4 + 0.5 / 4) / 2, abs=1e-6)
    table = detected.evaluate_series(test)
    np.testing.assert_allclose(table["mae"], 0.0, atol=1e-6)


def test_nonnegative_is_detected_on_the_training_targets(falling):
    options = {"lookback": 3, "horizon": 4, "id_col": "id"}
    with_zero = falling.copy()
    with_zero.iloc[0, 1] = 0.0
    model = fc.NaiveForecaster(**options).fit(with_zero)
    assert (model.schema_["nonnegative"], model.schema_["nonnegative_detected"]) == (True, True)
    negative = falling.copy()
    negative.iloc[-1, 1] = -0.01
    model = fc.NaiveForecaster(**options).fit(negative)
    assert (model.schema_["nonnegative"], model.schema_["nonnegative_detected"]) == (False, True)
    model = fc.NaiveForecaster(nonnegative=False, **options).fit(falling)
    assert (model.schema_["nonnegative"], model.schema_["nonnegative_detected"]) == (False, False)
    model = fc.NaiveForecaster(nonnegative=True, **options).fit(negative)
    assert (model.schema_["nonnegative"], model.schema_["nonnegative_detected"]) == (True, False)


# -- wrong input ---------------------------------------------------------------------------


def test_a_long_frame_for_a_wide_fit_and_a_wide_frame_for_a_long_fit_are_refused():
    values = walks({"a": 30, "b": 30})
    long = stack(part("a", values["a"]), part("b", values["b"]))
    wide = stack(part("a", values["a"]).drop(columns="id"))
    wide_model = fc.NaiveForecaster(lookback=8, horizon=4).fit(wide)
    long.attrs["id_col"] = "id"
    with raises_exactly(
        fc.DataError,
        "the model was fitted on one wide series, but the frame is in long format "
        "(id_col='id'); select one series, e.g. frame[frame[id_col] == key], or fit on the "
        "long frame",
    ):
        wide_model.predict(long)
    long_model = fc.NaiveForecaster(lookback=8, horizon=4).fit(long)
    refusal = "the model was fitted on series in 'id', which is not in the frame; columns are ['y']"
    with raises_exactly(fc.DataError, refusal):
        long_model.predict(wide)
    with raises_exactly(fc.DataError, refusal):
        long_model.evaluate(wide)


def test_a_series_whose_rows_are_apart_is_refused_everywhere():
    values = walks({"a": 40, "b": 40})
    a, b = part("a", values["a"]), part("b", values["b"])
    apart = stack(a.iloc[:20], b, a.iloc[20:])
    refusal = "the rows of series 'a' are not contiguous; sort the frame by 'id'"
    # The neural fit holds out each series' end, which must not stitch a's pieces together.
    with raises_exactly(fc.DataError, refusal):
        fc.Forecaster("gru", lookback=6, horizon=2, id_col="id", **TINY).fit(apart)
    with raises_exactly(fc.DataError, refusal):
        fc.NaiveForecaster(lookback=6, horizon=2, id_col="id").fit(apart)
    model = fc.NaiveForecaster(lookback=6, horizon=2, id_col="id").fit(stack(a, b))
    with raises_exactly(fc.DataError, refusal):
        model.predict(apart)
    with raises_exactly(fc.DataError, refusal):
        model.evaluate(apart)


def test_a_series_shorter_than_lookback_at_predict_is_named():
    values = walks({"a": 30, "b": 30})
    frame = stack(part("a", values["a"]), part("b", values["b"]))
    model = fc.NaiveForecaster(lookback=8, horizon=4, id_col="id").fit(frame)
    short = stack(part("a", values["a"]), part("b", values["b"][:5]))
    with raises_exactly(
        fc.DataError, "predict needs at least lookback = 8 rows of series 'b', got 5"
    ):
        model.predict(short)
    numbered = frame.assign(id=frame["id"].map({"a": 1, "b": 2}))
    model = fc.NaiveForecaster(lookback=8, horizon=4, id_col="id").fit(numbered)
    with raises_exactly(
        fc.DataError, "predict needs at least lookback = 8 rows of series 2, got 5"
    ):
        model.predict(short.assign(id=short["id"].map({"a": 1, "b": 2})))


def test_a_series_unseen_at_fit_is_refused_by_name():
    values = walks({"a": 30, "b": 30})
    model = fc.NaiveForecaster(lookback=8, horizon=4, id_col="id")
    model.fit(stack(part("a", values["a"]), part("b", values["b"])))
    unseen = stack(part("a", values["a"]), part("z", values["b"]))
    refusal = "series 'z' was not in the data the scaler was fitted on"
    with raises_exactly(fc.DataError, refusal):
        model.predict(unseen)
    with raises_exactly(fc.DataError, refusal):
        model.evaluate_series(unseen)


# -- every architecture --------------------------------------------------------------------


@pytest.fixture(scope="module")
def covariates():
    """Three hourly series with a numeric static, of different lengths and starts."""
    values = walks({"a": 40, "b": 36, "c": 44}, seed=5)
    starts = {"a": "2024-01-01", "b": "2024-01-03 07:00", "c": "2023-12-31 20:00"}
    frame = stack(*(part(k, v, starts[k]) for k, v in values.items()))
    frame["size"] = frame["id"].map({"a": 1.0, "b": 4.0, "c": 2.0})
    return frame


@pytest.mark.parametrize(
    ("architecture", "options"),
    [
        ("direct", {}),
        ("seq2seq", {}),
        ("recursive", {}),  # its inputs are its targets
        ("segment", {"segment_length": 4}),  # dividing lookback and horizon
    ],
)
def test_every_architecture_fits_and_forecasts_a_long_frame(covariates, architecture, options):
    model = fc.Forecaster(
        "gru",
        architecture=architecture,
        lookback=8,
        horizon=4,
        id_col="id",
        static=("size",),
        calendar=("hour",),
        **options,
        **TINY,
    )
    forecast = model.fit(covariates).predict(covariates)
    assert sorted(tensor.name for tensor in model.model_.inputs) == ["future", "past", "static"]
    assert list(forecast.columns) == ["id", "y"]
    assert forecast.shape == (12, 2)
    assert np.isfinite(forecast["y"]).all()
    last_c = covariates.index[-1]
    horizon_c = pd.date_range(last_c + pd.Timedelta(hours=1), periods=4, freq="h")
    pd.testing.assert_index_equal(forecast.index[-4:], horizon_c, check_freq=False)
    # The static reaches the forecast (through every rolled step, for recursive).
    resized = covariates.assign(size=covariates["size"].where(covariates["id"] != "b", 9.0))
    moved = model.predict(resized)
    mine = moved["id"] == "b"
    assert np.abs(moved.loc[mine, "y"] - forecast.loc[mine, "y"]).min() > 1e-6
    np.testing.assert_array_equal(moved.loc[~mine, "y"], forecast.loc[~mine, "y"])


def test_a_backtest_of_a_long_frame_is_refused_however_it_is_called():
    values = walks({"a": 60, "b": 70})
    frame = stack(part("a", values["a"]), part("b", values["b"]))
    frame.attrs["id_col"] = "id"
    message = (
        "backtests of a long frame (many series) are not built yet; backtest one series "
        "(frame[frame[id_col] == key]) or score the test parts with evaluate_series"
    )
    model = fc.NaiveForecaster(lookback=6, horizon=3)
    with raises_exactly(fc.DataError, message):
        model.backtest(frame, folds=2)
    with raises_exactly(fc.DataError, message):
        fc.backtest(model, frame, folds=2)


def test_the_split_repr_shows_an_empty_test_part_as_empty():
    values = walks({"a": 60, "b": 70})
    frame = stack(stepped("a", values["a"]), stepped("b", values["b"]), freq=None)
    parts = fc.split_last(frame, 8, lookback=12, id_col="id")
    assert len(parts.test) == 0
    assert repr(parts) == (
        "Split(series 'a' of 2: train rows [0, 52), val rows [40, 60), test rows [60, 60); "
        "lookback=12)"
    )


def test_known_future_values_are_taken_per_series():
    values = walks({"a": 60, "b": 70})
    frame = stack(part("a", values["a"]), part("b", values["b"], start="2024-01-02"))
    frame["promo"] = np.arange(len(frame)) % 3 == 0
    frame["promo"] = frame["promo"].astype(float)
    frame.attrs["id_col"] = "id"
    model = fc.Forecaster(
        "gru", lookback=6, horizon=3, targets=["y"], known_future=["promo"], units=4,
        epochs=1, verbose=0,
    )  # fmt: skip
    model.fit(frame)
    stamps = {key: frame[frame["id"] == key].index[-1] for key in ("a", "b")}
    future = pd.concat(
        pd.DataFrame(
            {"id": key, "promo": [0.0, 1.0, 0.0]},
            index=pd.date_range(last, periods=4, freq="h")[1:],
        )
        for key, last in stamps.items()
    )
    base = model.predict(frame, future=future)
    moved = future.copy()
    moved.loc[(moved["id"] == "b").to_numpy(), "promo"] += 5.0
    shifted = model.predict(frame, future=moved)
    a, b = (base["id"] == "a").to_numpy(), (base["id"] == "b").to_numpy()
    np.testing.assert_allclose(shifted.loc[a, "y"], base.loc[a, "y"])  # only b's values moved
    assert not np.allclose(shifted.loc[b, "y"], base.loc[b, "y"])
    with raises_exactly(
        fc.DataError,
        f"future has no row for {stamps['b'] + pd.Timedelta(hours=1)} of series 'b'; it must "
        "cover 3 steps",
    ):
        model.predict(frame, future=future[(future["id"] == "a").to_numpy()])
