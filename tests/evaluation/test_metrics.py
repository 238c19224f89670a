import math

import numpy as np
import pytest

from forecaster.evaluation import metrics
from tests.assertions import raises_exactly


def slow(y_true, y_pred, insample, season):
    """Every metric by an explicit loop over entries."""
    flat_true, flat_pred = np.ravel(y_true), np.ravel(y_pred)
    targets = y_true.shape[-1]
    n = len(flat_true)
    abs_sum = sq_sum = pct_sum = sym_sum = scaled_sum = 0.0
    pct_count = 0
    scales = []
    for k in range(targets):
        diffs = [
            abs(insample[t][k] - insample[t - season][k]) for t in range(season, len(insample))
        ]
        scales.append(sum(diffs) / len(diffs))
    for index in range(n):
        t, p = flat_true[index], flat_pred[index]
        error = abs(t - p)
        abs_sum += error
        sq_sum += error * error
        if t != 0:
            pct_sum += error / abs(t)
            pct_count += 1
        if abs(t) + abs(p) > 0:
            sym_sum += 2 * error / (abs(t) + abs(p))
        scaled_sum += error / scales[index % targets]
    return {
        "mae": abs_sum / n,
        "mse": sq_sum / n,
        "rmse": math.sqrt(sq_sum / n),
        "mape": 100 * pct_sum / pct_count,
        "smape": 100 * sym_sum / n,
        "mase": scaled_sum / n,
    }


@pytest.mark.parametrize("season", [1, 4])
def test_vectorized_metrics_match_a_slow_loop(season):
    rng = np.random.default_rng(0)
    y_true = rng.standard_normal((6, 5, 3))
    y_true[0, 0, 0] = 0.0  # left out of MAPE, counted in sMAPE
    y_pred = y_true + rng.standard_normal(y_true.shape)
    y_pred[1, 1, 1] = y_true[1, 1, 1] = 0.0  # 0/0 in sMAPE counts as 0
    insample = rng.standard_normal((40, 3)) * np.array([1.0, 5.0, 0.1])
    got = metrics.all_metrics(y_true, y_pred, insample, season)
    expected = slow(y_true, y_pred, insample, season)
    assert list(got) == list(metrics.METRICS)
    for name in metrics.METRICS:
        assert got[name] == pytest.approx(expected[name], rel=1e-12), name


def test_mase_of_the_naive_forecast_on_its_own_training_data_is_one():
    series = np.cumsum(np.random.default_rng(1).standard_normal(50))
    assert metrics.mase(series[1:], series[:-1], insample=series) == pytest.approx(1.0)


def test_mape_is_nan_when_every_true_value_is_zero():
    assert math.isnan(metrics.mape(np.zeros(3), np.ones(3)))


def test_shape_mismatch_is_named():
    with raises_exactly(
        ValueError, "y_true has shape (3,) but y_pred has shape (4,); they must be equal"
    ):
        metrics.mae(np.zeros(3), np.zeros(4))


def test_empty_arrays_are_refused():
    with raises_exactly(
        ValueError, "y_true and y_pred are empty; a metric needs at least one value"
    ):
        metrics.mse([], [])


@pytest.mark.parametrize("season", [0, 2.0, True])
def test_bad_season_is_named(season):
    with raises_exactly(ValueError, f"season must be a positive integer, got {season!r}"):
        metrics.mase([1.0], [1.0], insample=np.arange(10.0), season=season)


def test_too_short_insample_is_named():
    with raises_exactly(
        ValueError, "the in-sample series has 4 steps; MASE with season 4 needs more than 4"
    ):
        metrics.mase([1.0], [1.0], insample=np.arange(4.0), season=4)
