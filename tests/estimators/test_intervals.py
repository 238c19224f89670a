"""Probabilistic forecasts through the estimators: quantile columns, samples, calibration."""

import math

import numpy as np
import pandas as pd
import pytest

import forecaster as fc
from tests.assertions import raises_exactly
from tests.data.util import DATA

SMALL = {"units": 8, "epochs": 2, "verbose": 0}


def _daily(n=400, seed=0, noise=1.0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    values = 20 + 4 * np.sin(2 * np.pi * t / 7) + rng.normal(0, noise, n)
    return pd.DataFrame({"Temp": values}, index=pd.date_range("2020-01-01", periods=n, freq="D"))


def _long_noise(series, rows, seed):
    """`series` white-noise series of `rows` steps, each on its own scale (long format)."""
    rng = np.random.default_rng(seed)
    scales = np.exp(rng.normal(0, 1.5, series))
    values = rng.normal(0, 1, (series, rows)) * scales[:, None] + 100 * scales[:, None]
    frame = pd.DataFrame(
        {"id": np.repeat([f"s{i}" for i in range(series)], rows), "y": values.ravel()},
        index=pd.Index(np.tile(np.arange(rows), series), name="step"),
    )
    frame.attrs["id_col"] = "id"
    return frame, scales


def test_predict_names_a_column_per_target_and_level_as_python_prints_it():
    frame = _daily()
    model = fc.Forecaster("gru", lookback=14, horizon=7, quantiles=[0.05, 0.5, 0.95], **SMALL).fit(
        frame
    )
    forecast = model.predict(frame)
    assert list(forecast.columns) == ["Temp", "Temp_q0.05", "Temp_q0.5", "Temp_q0.95"]
    quantiles = forecast[["Temp_q0.05", "Temp_q0.5", "Temp_q0.95"]].to_numpy()
    assert np.all(np.diff(quantiles, axis=1) >= 0)
    assert abs(forecast["Temp"].mean() - 20) < 10  # in the original units, not scaled
    assert model.quantile_levels() == (0.05, 0.5, 0.95)


def test_split_conformal_covers_at_its_finite_sample_level_on_every_scale():
    """Split conformal covers a new window at its finite-sample level.

    One window per series, independent across series: the scores are exchangeable, so the
    coverage of a new window is ceil((n + 1) c) / (n + 1) in expectation.
    """
    horizon, n = 4, 999
    frame, scales = _long_noise(n + 1000, 3 * horizon + 1, seed=1)
    ids = frame["id"].unique()
    calibration, test = frame[frame["id"].isin(ids[:n])], frame[frame["id"].isin(ids[n:])]
    model = fc.NaiveForecaster(lookback=1, horizon=horizon, id_col="id").fit(frame)
    parts = fc.split_last(calibration, horizon, lookback=1, id_col="id")
    model.calibrate(parts.val, [0.1, 0.9])
    assert model.calibration_.method == "split"
    assert model.calibration_.windows == n
    last = fc.split_last(test, horizon, lookback=1, id_col="id").val
    forecast = model.predict(last.groupby("id").head(1))
    actual = last.groupby("id").tail(horizon)["y"].to_numpy()
    inside = (actual >= forecast["y_q0.1"].to_numpy()) & (actual <= forecast["y_q0.9"].to_numpy())
    expected = math.ceil((n + 1) * 0.8) / (n + 1)
    # 4,000 test values; the margins' own randomness adds a spread of about 0.013 / 2
    assert abs(inside.mean() - expected) < 0.03
    # Scores are on each series' scale, so small and large series are covered alike.
    order = np.argsort(scales[n:])
    per_series = inside.reshape(-1, horizon).mean(axis=1)
    small, large = per_series[order[:250]].mean(), per_series[order[-250:]].mean()
    assert abs(small - large) < 0.08


def test_calibration_repairs_quantiles_that_are_too_narrow():
    frame = _daily(n=700, seed=2, noise=3.0)
    parts = fc.split(frame, train=0.5, val=0.25, test=0.25, lookback=14)
    model = fc.Forecaster(
        "gru", lookback=14, horizon=7, quantiles=[0.3, 0.5, 0.7], units=8, epochs=1, verbose=0
    ).fit(parts.train, val=parts.val)
    before = model.evaluate(parts.test)["coverage_40"]
    model.calibrate(parts.val, [0.3, 0.7])
    assert model.calibration_.method == "cqr"
    after = model.evaluate(parts.test)["coverage_40"]
    assert abs(after - 0.4) < 0.08
    assert abs(after - 0.4) < abs(before - 0.4) or abs(before - 0.4) < 0.08


def test_a_calibrated_baseline_saves_and_loads_its_intervals(tmp_path):
    frame = _daily()
    parts = fc.split(frame, train=0.5, val=0.3, test=0.2, lookback=14)
    model = fc.SeasonalNaiveForecaster(lookback=14, horizon=7).fit(parts.train)
    model.calibrate(parts.val, [0.025, 0.975, 0.1, 0.9])
    model.save(tmp_path / "naive")
    loaded = fc.load(tmp_path / "naive")
    pd.testing.assert_frame_equal(loaded.predict(parts.test), model.predict(parts.test))
    scores = loaded.evaluate(parts.test)
    assert {"coverage_95", "width_95", "msis_95", "coverage_80", "pinball", "crps"} <= set(scores)
    assert scores["width_95"] > scores["width_80"] > 0
    model.fit(parts.train)
    assert model.calibration_ is None  # a new fit drops the old fit's calibration


def test_calibration_refuses_an_unpaired_level_and_too_few_windows():
    frame = _daily(n=60)
    model = fc.NaiveForecaster(lookback=7, horizon=7).fit(frame)
    with raises_exactly(
        ValueError,
        "quantile 0.1 has no partner 0.9; conformal intervals are central: pass levels in "
        "pairs, e.g. [0.05, 0.95]",
    ):
        model.calibrate(frame, [0.1, 0.95])
    with raises_exactly(
        fc.DataError,
        "a 99% interval needs at least 99 held-out windows; the frame gives 47: calibrate on "
        "a longer part or a lower level",
    ):
        model.calibrate(frame, [0.005, 0.995])


def test_samples_need_a_distribution():
    frame = _daily(n=60)
    model = fc.NaiveForecaster(lookback=7, horizon=7).fit(frame)
    with raises_exactly(
        ValueError,
        "samples= needs a forecaster with a distribution (distribution='normal', 'studentt' "
        "or 'negbinomial'); this one gives a point forecast",
    ):
        model.predict(frame, samples=10)


def test_a_negative_binomial_forecast_of_counts_is_never_negative(tmp_path):
    rng = np.random.default_rng(3)
    t = np.arange(500)
    mean = 2 + 2 * np.sin(2 * np.pi * t / 7)  # often near 0
    counts = rng.negative_binomial(2, 2 / (2 + mean)).astype(float)
    frame = pd.DataFrame(
        {"sales": counts}, index=pd.date_range("2021-01-01", periods=500, freq="D")
    )
    model = fc.Forecaster(
        "lstm", lookback=14, horizon=7, distribution="negbinomial", quantiles=[0.05, 0.5, 0.95],
        **SMALL,
    ).fit(frame)  # fmt: skip
    assert model.schema_["nonnegative"] is True
    forecast = model.predict(frame)
    assert forecast.to_numpy().min() >= 0
    assert np.all(forecast.filter(like="_q").to_numpy() % 1 == 0)  # quantiles of counts
    draws = model.predict(frame, samples=200, seed=1)
    assert list(draws.columns) == ["sample", "sales"]
    assert len(draws) == 200 * 7
    assert draws["sales"].min() >= 0
    assert np.all(draws["sales"] % 1 == 0)
    # The draws follow the forecast distribution: their median is its median.
    medians = draws.groupby(level=0)["sales"].median().to_numpy()
    assert np.abs(medians - forecast["sales_q0.5"].to_numpy()).max() <= 1.0
    model.save(tmp_path / "counts")  # the network with its loss, reloaded in safe mode
    pd.testing.assert_frame_equal(fc.load(tmp_path / "counts").predict(frame), forecast)


def test_normal_samples_are_in_original_units_and_match_the_quantiles():
    frame = _daily(n=300) * 100
    model = fc.Forecaster("gru", lookback=14, horizon=7, distribution="normal", **SMALL)
    model.fit(frame)
    forecast = model.predict(frame)
    draws = model.predict(frame, samples=4000, seed=0)
    low = draws.groupby(level=0)["Temp"].quantile(0.05).to_numpy()
    spread = (forecast["Temp_q0.95"] - forecast["Temp_q0.05"]).to_numpy()
    np.testing.assert_allclose(low, forecast["Temp_q0.05"].to_numpy(), atol=0.1 * spread.max())


def test_a_backtest_adapts_its_miss_rate_from_fold_to_fold():
    frame = _daily(n=300, seed=4)
    model = fc.SeasonalNaiveForecaster(lookback=14, horizon=7)
    table = model.backtest(frame, folds=12, interval=0.8, gamma=0.1)
    folds = table[table["fold"] != "mean"]
    alphas, coverage = folds["alpha"].to_numpy(float), folds["coverage_80"].to_numpy(float)
    assert alphas[0] == pytest.approx(0.2)
    expected = alphas[:-1] + 0.1 * (0.2 - (1 - coverage[:-1]))
    np.testing.assert_allclose(alphas[1:], expected)
    assert {"width_80", "msis_80"} <= set(table.columns)


@pytest.mark.skipif(not (DATA / "ETTh1.csv").is_file(), reason="ETTh1.csv is not shared")
def test_quantiles_alone_cover_a_year_of_weekly_forecasts_of_a_daily_series():
    """The issue's check: a small network with quantiles and no other option covers.

    Trained for 15 epochs, it puts 80-97% of a year of weekly forecasts' values inside
    its 5-95% band.
    """
    daily = fc.read_csv(DATA / "ETTh1.csv")[["OT"]].resample("D").mean()
    model = fc.Forecaster(
        "gru", lookback=28, horizon=7, units=16, epochs=15, verbose=0,
        quantiles=[0.05, 0.5, 0.95],
    )  # fmt: skip
    table = model.backtest(daily, folds=52, refit=False)  # fitted once, on the year before
    assert 0.80 <= table["coverage_90"].iloc[-1] <= 0.97


def test_a_plot_shades_each_interval_widest_first(tmp_path):
    frame = _daily()
    parts = fc.split(frame, 0.5, 0.3, 0.2, lookback=14)
    model = fc.SeasonalNaiveForecaster(lookback=14, horizon=7).fit(parts.train)
    model.calibrate(parts.val, [0.05, 0.95, 0.25, 0.75])
    figure = model.plot(parts.val, path=tmp_path / "bands.png")
    (ax,) = figure.axes
    assert [band.get_label() for band in ax.collections] == ["90% interval", "50% interval"]
    wide, narrow = (band.get_paths()[0].vertices[:, 1] for band in ax.collections)
    assert np.ptp(wide) > np.ptp(narrow)


def test_a_recursive_network_has_no_quantiles_of_its_own():
    with raises_exactly(
        ValueError,
        "architecture='recursive' rolls a one-step point forecast over the horizon, so it has "
        "no quantiles or distribution of its own; pick 'seq2seq', 'direct' or 'segment', or "
        "calibrate a recursive forecaster's intervals with calibrate()",
    ):
        fc.Forecaster("gru", lookback=14, horizon=7, architecture="recursive", quantiles=[0.1, 0.9])


def test_a_resampled_frame_is_forecast_on_its_own_step():
    """`attrs["freq"]` ("h" from the reader) outlives a resample; the index says "D"."""
    daily = fc.read_csv(DATA / "ETTh1.csv")[["OT"]].resample("D").mean()
    assert daily.attrs["freq"] == "h"
    model = fc.NaiveForecaster(lookback=7, horizon=3).fit(daily)
    assert model.schema_["freq"] == "D"
    assert list(model.predict(daily).index) == list(
        pd.date_range(daily.index[-1], periods=4, freq="D")[1:]
    )
