import math

import numpy as np
import pandas as pd
import pytest

from forecaster.evaluation import m4
from tests.assertions import raises_exactly
from tests.data.util import DATA

M4 = DATA / "m4"
H, M = m4.HOURLY_HORIZON, m4.HOURLY_SEASON

# The organisers' Hourly figures, method: (sMAPE, MASE, OWA), rounded to 3 decimals as published
# (`Evaluation and Ranks.xlsx` in Mcompetitions/M4-methods, quoted in ../shared/data/m4/README.md).
PUBLISHED = {
    "naive1": (43.003, 11.608, 3.593),
    "snaive": (13.912, 1.193, 0.627),
    "naive2": (18.383, 2.395, 1.000),
}


def trimmed(values):
    """A padded wide row without its trailing NaNs."""
    return values[: np.flatnonzero(~np.isnan(values))[-1] + 1]


@pytest.fixture(scope="module")
def hourly():
    """The 414 Hourly series: ids, training arrays (700 or 960 values) and test arrays (48)."""
    if not M4.is_dir():
        pytest.skip(f"the M4 Hourly data is not at {M4} (see ../shared/data/m4/README.md)")
    train = pd.read_csv(M4 / "hourly-train.csv", index_col="V1")
    test = pd.read_csv(M4 / "hourly-test.csv", index_col="V1")
    assert list(train.index) == list(test.index)
    series = [trimmed(row) for row in train.to_numpy()]
    assert [len(x) for x in series] == [700] * 169 + [960] * 245  # as the README lists them
    return list(train.index), series, list(test.to_numpy())


@pytest.mark.parametrize("method", sorted(PUBLISHED))
def test_the_benchmarks_reproduce_the_published_hourly_figures(hourly, method):
    ids, train, actual = hourly
    forecasts = [m4.BENCHMARKS[method](x, H, M) for x in train]
    result = m4.score(train, actual, forecasts, M, ids=ids)
    smape, mase, owa = PUBLISHED[method]
    assert result["series"] == 414
    assert (round(result["smape"], 3), round(result["mase"], 3)) == (smape, mase)
    # The published OWA comes from the averages after rounding them to 3 decimals.
    assert round(m4.owa(round(result["smape"], 3), round(result["mase"], 3)), 3) == owa


def test_the_naive2_reference_is_the_published_naive2_average():
    assert PUBLISHED["naive2"][0] == m4.HOURLY_NAIVE2_SMAPE
    assert PUBLISHED["naive2"][1] == m4.HOURLY_NAIVE2_MASE
    assert PUBLISHED["naive2"][:2] == m4.HOURLY_NAIVE2
    assert m4.owa(13.912, 1.193) == pytest.approx(0.627454, abs=5e-7)
    assert m4.owa(1.0, 2.0, naive2_smape=4.0, naive2_mase=8.0) == 0.25


def slow_smape(actual, forecast):
    total = 0.0
    for y, f in zip(actual, forecast, strict=True):
        if abs(y) + abs(f) > 0:
            total += 200 * abs(y - f) / (abs(y) + abs(f))
    return total / len(actual)


def slow_mase(actual, forecast, insample, season):
    errors = [abs(y - f) for y, f in zip(actual, forecast, strict=True)]
    naive = [abs(insample[t] - insample[t - season]) for t in range(season, len(insample))]
    return (sum(errors) / len(errors)) / (sum(naive) / len(naive))


@pytest.mark.parametrize(("horizon", "season", "length"), [(48, 24, 100), (6, 1, 7), (13, 4, 30)])
def test_smape_and_mase_match_a_loop(horizon, season, length):
    rng = np.random.default_rng(horizon)
    actual, forecast = rng.normal(size=horizon), rng.normal(size=horizon)
    actual[0] = forecast[0] = 0.0  # 0/0 counts as 0
    insample = rng.normal(size=length)
    assert m4.smape(actual, forecast) == pytest.approx(slow_smape(actual, forecast), rel=1e-12)
    assert m4.mase(actual, forecast, insample, season) == pytest.approx(
        slow_mase(actual, forecast, insample, season), rel=1e-12
    )


def test_score_averages_the_per_series_metrics():
    rng = np.random.default_rng(1)
    train = [rng.uniform(1, 9, size=n) for n in (30, 41, 55)]
    actual = [rng.uniform(1, 9, size=h) for h in (5, 5, 7)]
    forecasts = [rng.uniform(1, 9, size=h) for h in (5, 5, 7)]
    result = m4.score(train, actual, forecasts, 3, naive2=(20.0, 2.0))
    smapes = [slow_smape(y, f) for y, f in zip(actual, forecasts, strict=True)]
    mases = [slow_mase(*args, 3) for args in zip(actual, forecasts, train, strict=True)]
    np.testing.assert_allclose(result["series_smape"], smapes, rtol=1e-12)
    np.testing.assert_allclose(result["series_mase"], mases, rtol=1e-12)
    assert result["smape"] == pytest.approx(sum(smapes) / 3, rel=1e-12)
    assert result["mase"] == pytest.approx(sum(mases) / 3, rel=1e-12)
    assert result["owa"] == pytest.approx((result["smape"] / 20 + result["mase"] / 2) / 2)
    assert result["series"] == 3


def test_acf_matches_rs_formula_in_a_loop():
    x = np.random.default_rng(2).normal(size=50)
    mean = sum(x) / len(x)
    denominator = sum((v - mean) ** 2 for v in x)
    want = [
        sum((x[t] - mean) * (x[t + k] - mean) for t in range(len(x) - k)) / denominator
        for k in range(25)
    ]
    np.testing.assert_allclose(m4.acf(x, 24), want, rtol=1e-10, atol=1e-15)
    assert np.isnan(m4.acf(np.full(5, 3.0), 2)).all()


@pytest.mark.parametrize("order", [2, 3, 24])
def test_the_centred_moving_average_matches_a_loop(order):
    x = np.random.default_rng(order).uniform(size=70)
    half = order // 2
    want = []
    for t in range(len(x)):
        if t < half or t >= len(x) - half:
            want.append(math.nan)
        elif order % 2:
            want.append(sum(x[t - half : t + half + 1]) / order)
        else:  # 2 x m: the two ends at half weight
            inner = sum(x[t - half + 1 : t + half])
            want.append((inner + (x[t - half] + x[t + half]) / 2) / order)
    np.testing.assert_allclose(m4.centred_moving_average(x, order), want, rtol=1e-12)


def test_the_seasonality_test():
    sine = 10 + np.sin(2 * np.pi * np.arange(24 * 12) / 24)
    assert m4.is_seasonal(sine, 24)
    noise = np.random.default_rng(3).normal(size=960)
    assert not m4.is_seasonal(noise, 24)
    # M4's rules: too short for 3 seasons; R's default ACF (10 log10 240 = 23.8 lags)
    # stops before lag 24; season 1; a constant series.
    assert not m4.is_seasonal(sine[: 3 * 24 - 1], 24)
    assert not m4.is_seasonal(sine[:240], 24)
    assert m4.is_seasonal(sine[:252], 24)
    assert not m4.is_seasonal(sine, 1)
    assert not m4.is_seasonal(np.full(300, 5.0), 24)


@pytest.mark.parametrize("length", [24 * 30, 24 * 30 + 7, 24 * 30 + 23])
def test_naive2_continues_an_exactly_seasonal_series(length):
    rng = np.random.default_rng(length)
    figure = rng.uniform(0.5, 1.5, size=24)
    figure /= figure.mean()
    series = 40 * figure[np.arange(length + H) % 24]
    train, future = series[:length], series[length:]
    np.testing.assert_allclose(m4.seasonal_indices(train, 24), figure, rtol=1e-12)
    np.testing.assert_allclose(m4.naive2(train, H, 24), future, rtol=1e-12)
    np.testing.assert_array_equal(m4.snaive(train, H, 24), future)


def test_naive2_is_naive1_on_a_series_without_seasonality():
    noise = 50 + np.random.default_rng(3).normal(size=960)
    np.testing.assert_array_equal(m4.naive2(noise, 5, 24), np.full(5, noise[-1]))
    np.testing.assert_array_equal(m4.naive1(noise, 3), np.full(3, noise[-1]))


def test_score_names_the_series_that_fails():
    train, actual = [np.arange(1.0, 30.0)] * 3, [np.ones(48)] * 3
    short = [np.ones(48), np.ones(47), np.ones(48)]
    with raises_exactly(
        ValueError,
        "series 'H2' (position 1): forecast has 47 values; expected 48, as many as actual",
    ):
        m4.score(train, actual, short, 24, ids=["H1", "H2", "H3"])
    gap = [np.ones(48), np.ones(48), np.ones(48)]
    gap[2][5] = np.nan
    with raises_exactly(
        ValueError,
        "series at position 2: forecast holds NaN at position 5; every value must be finite",
    ):
        m4.score(train, actual, gap, 24)
    with raises_exactly(
        ValueError,
        "got 3 training series, 3 actual series and 2 forecasts; expected one of each per series",
    ):
        m4.score(train, actual, gap[:2], 24)
    with raises_exactly(
        ValueError,
        "got 3 training series, 3 actual series, 3 forecasts and 2 ids; "
        "expected one of each per series",
    ):
        m4.score(train, actual, gap, 24, ids=["H1", "H2"])
    flat = [np.arange(1.0, 30.0), np.full(30, 7.0)]
    with raises_exactly(
        ValueError,
        "series 'H9' (position 1): insample repeats itself exactly at lag 24, so its MASE "
        "scale is 0 and MASE is undefined",
    ):
        m4.score(flat, actual[:2], actual[:2], 24, ids=["H8", "H9"])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: m4.smape(np.ones((2, 3)), np.ones((2, 3))),
            "actual must be one-dimensional, got shape (2, 3)",
        ),
        (lambda: m4.smape([], []), "actual has 0 values; it needs at least 1"),
        (
            lambda: m4.mase([1.0], [1.0], [1.0, 2.0], 24),
            "insample has 2 values; the MASE scale with season 24 needs at least 25",
        ),
        (
            lambda: m4.owa(10.0, 1.0, naive2_mase=0.0),
            "naive2_mase must be a positive finite number, got 0.0",
        ),
        (
            lambda: m4.naive1([1.0, np.inf], 3),
            "train holds inf at position 1; every value must be finite",
        ),
        (lambda: m4.naive1([1.0], 0), "horizon must be an integer of at least 1, got 0"),
        (lambda: m4.snaive([1.0], 2, True), "season must be an integer of at least 1, got True"),
        (
            lambda: m4.snaive(np.ones(10), 48, 24),
            "train has 10 values; the seasonal naive forecast with season 24 needs at least 24",
        ),
        (
            lambda: m4.seasonal_indices(np.ones(47), 24),
            "x has 47 values; a decomposition with season 24 needs at least 48",
        ),
        (
            lambda: m4.seasonal_indices(np.r_[np.ones(30), -2.0, np.ones(30)], 24),
            "x holds -2.0 at position 30; a multiplicative decomposition needs every value above 0",
        ),
        (
            lambda: m4.acf(np.ones(5), 5),
            "x has 5 values; the ACF up to lag 5 needs at least 6",
        ),
    ],
)
def test_bad_inputs_are_refused_by_name(call, message):
    with raises_exactly(ValueError, message):
        call()
