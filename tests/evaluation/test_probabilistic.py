"""Probabilistic scores against slow, obviously correct loops."""

import itertools

import numpy as np
import pytest
from scipy import stats

from forecaster.evaluation import probabilistic
from tests.assertions import raises_exactly

LEVELS = [0.05, 0.25, 0.5, 0.75, 0.95]


def test_pinball_matches_a_loop():
    rng = np.random.default_rng(0)
    y = rng.normal(size=(4, 3))
    q = np.sort(rng.normal(size=(4, 3, len(LEVELS))), axis=-1)
    total = np.zeros(len(LEVELS))
    for i, j, k in itertools.product(range(4), range(3), range(len(LEVELS))):
        error = y[i, j] - q[i, j, k]
        total[k] += LEVELS[k] * error if error >= 0 else (LEVELS[k] - 1) * error
    expected = total / 12
    np.testing.assert_allclose(probabilistic.pinball(y, q, LEVELS, per_level=True), expected)
    assert probabilistic.pinball(y, q, LEVELS) == pytest.approx(expected.mean())
    assert probabilistic.crps_quantiles(y, q, LEVELS) == pytest.approx(2 * expected.mean())


def test_crps_of_samples_matches_the_pairwise_loop():
    rng = np.random.default_rng(1)
    y = rng.normal(size=5)
    samples = rng.normal(size=(5, 7))
    expected = []
    for i in range(5):
        x = samples[i]
        first = np.mean([abs(v - y[i]) for v in x])
        second = np.mean([abs(a - b) for a in x for b in x]) / 2
        expected.append(first - second)
    assert probabilistic.crps_samples(y, samples) == pytest.approx(np.mean(expected))


def test_crps_of_many_samples_and_quantiles_approach_the_normal_closed_form():
    # CRPS of N(0, 1) at y: y (2 Phi(y) - 1) + 2 phi(y) - 1 / sqrt(pi).
    y = np.array([-1.0, 0.3, 2.0])
    exact = np.mean(y * (2 * stats.norm.cdf(y) - 1) + 2 * stats.norm.pdf(y) - 1 / np.sqrt(np.pi))
    draws = np.random.default_rng(2).normal(size=(3, 20_000))
    assert probabilistic.crps_samples(y, draws) == pytest.approx(exact, abs=0.01)
    levels = np.arange(1, 200) / 200
    quantiles = np.broadcast_to(stats.norm.ppf(levels), (3, len(levels)))
    assert probabilistic.crps_quantiles(y, quantiles, levels) == pytest.approx(exact, abs=0.01)


def test_coverage_width_and_msis_match_a_loop():
    rng = np.random.default_rng(3)
    insample = rng.normal(size=60).cumsum()
    y = rng.normal(size=12)
    lower = y - rng.uniform(-1, 2, size=12)
    upper = lower + rng.uniform(0, 3, size=12)
    inside = sum(lo <= v <= up for v, lo, up in zip(y, lower, upper, strict=True))
    assert probabilistic.coverage(y, lower, upper) == inside / 12
    assert probabilistic.width(lower, upper) == pytest.approx(np.mean(upper - lower))
    scale = np.mean([abs(insample[t] - insample[t - 4]) for t in range(4, 60)])
    score = 0.0
    for v, lo, up in zip(y, lower, upper, strict=True):
        score += (up - lo) + (40 * (lo - v) if v < lo else 0) + (40 * (v - up) if v > up else 0)
    expected = score / 12 / scale
    assert probabilistic.msis(y, lower, upper, insample, season=4) == pytest.approx(expected)


def test_bad_inputs_are_named():
    with raises_exactly(ValueError, "levels must be quantile levels in (0, 1), got [0.5, 1.0]"):
        probabilistic.pinball(np.zeros(2), np.zeros((2, 2)), [0.5, 1.0])
    with raises_exactly(
        ValueError,
        "quantiles have shape (2, 3); expected (2, 2), the shape of y_true and one value per level",
    ):
        probabilistic.pinball(np.zeros(2), np.zeros((2, 3)), [0.1, 0.9])
    with raises_exactly(
        ValueError, "the interval's lower bound is above its upper bound at position 1"
    ):
        probabilistic.coverage(np.zeros(2), np.array([0.0, 1.0]), np.array([1.0, 0.0]))
    with raises_exactly(
        ValueError, "the in-sample series needs more than season = 24 values, got 10"
    ):
        probabilistic.msis(np.zeros(2), np.zeros(2), np.ones(2), np.arange(10.0), season=24)


def test_the_naive1_interval_gives_m4s_published_msis():
    # ../shared/data/m4/README.md: the Naive1 95% interval y_n +- z sigma sqrt(k), sigma^2
    # the mean squared one-step difference, gives MSIS 71.245 and coverage 0.9385 on Hourly.
    import pandas as pd

    from tests.data.util import DATA

    folder = DATA / "m4"
    if not (folder / "hourly-train.csv").is_file():
        pytest.skip(f"the M4 Hourly files are not in {folder}")
    train = pd.read_csv(folder / "hourly-train.csv", index_col=0).to_numpy()
    test = pd.read_csv(folder / "hourly-test.csv", index_col=0).to_numpy()
    steps = np.arange(1, 49)
    scores, inside = [], []
    for row, actual in zip(train, test, strict=True):
        series = row[~np.isnan(row)]
        sigma = np.sqrt(np.mean(np.diff(series) ** 2))
        half = stats.norm.ppf(0.975) * sigma * np.sqrt(steps)  # 1.95996, as R's qnorm
        lower, upper = series[-1] - half, series[-1] + half
        scores.append(probabilistic.msis(actual, lower, upper, series, season=24))
        inside.append(probabilistic.coverage(actual, lower, upper))
    assert round(float(np.mean(scores)), 3) == 71.245
    assert round(float(np.mean(inside)), 4) == 0.9385
