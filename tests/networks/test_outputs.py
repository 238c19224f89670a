"""Probabilistic network outputs.

Shapes, quantiles that never cross, parameters restored per family, and the losses
against slow loops and SciPy's densities.
"""

import keras
import numpy as np
import pytest
from scipy import stats

from forecaster.config import NetworkConfig
from forecaster.networks import Shapes, build_network
from forecaster.networks.outputs import OutputLoss, OutputRestore, Outputs, log_likelihood

LEVELS = (0.05, 0.25, 0.5, 0.75, 0.95)
DESIGNS = [
    ("seq2seq", {}),
    ("direct", {}),
    ("segment", {"segment_length": 4}),
]


def _network(architecture, options, **outputs):
    config = NetworkConfig(cell="gru", architecture=architecture, units=8, **options, **outputs)
    shapes = Shapes(lookback=8, horizon=4, inputs=2, targets=2)
    return build_network(config, shapes), shapes


def _random_weights(model, seed, spread=3.0):
    """Large random weights, so the raw outputs, the quantiles' steps included, vary widely."""
    rng = np.random.default_rng(seed)
    weights = [rng.normal(0, spread, w.shape).astype("float32") for w in model.get_weights()]
    model.set_weights(weights)


@pytest.mark.parametrize(("architecture", "options"), DESIGNS, ids=[d for d, _ in DESIGNS])
def test_quantiles_never_cross_and_come_after_the_point(architecture, options):
    model, _shapes = _network(architecture, options, quantiles=LEVELS)
    _random_weights(model, seed=1)
    x = np.random.default_rng(2).normal(0, 5, (64, 8, 2)).astype("float32")
    out = model.predict(x, verbose=0)
    assert out.shape == (64, 4, 2, 1 + len(LEVELS))
    steps = np.diff(out[..., 1:], axis=-1)
    assert steps.min() >= 0
    assert np.mean(steps > 1e-6) > 0.9  # they are distinct levels, not one value repeated


@pytest.mark.parametrize(("architecture", "options"), DESIGNS, ids=[d for d, _ in DESIGNS])
@pytest.mark.parametrize("distribution", ["normal", "studentt", "negbinomial"])
def test_a_distribution_has_its_parameters_in_their_domains(architecture, options, distribution):
    model, _ = _network(architecture, options, distribution=distribution)
    _random_weights(model, seed=3)
    x = np.random.default_rng(4).normal(0, 5, (32, 8, 2)).astype("float32")
    out = model.predict(np.abs(x) if distribution == "negbinomial" else x, verbose=0)
    assert out.shape == (32, 4, 2, Outputs(distribution=distribution).channels)
    assert out[..., 1].min() > 0  # a scale, or the dispersion
    if distribution == "negbinomial":
        assert out[..., 0].min() > 0  # a mean count
    if distribution == "studentt":
        assert out[..., 2].min() > 2  # a finite variance


def test_a_normal_output_moves_with_the_window_and_its_spread_scales():
    """With "revin", a window a x + b gives a mean a m + b and a deviation a s."""
    model, _ = _network("seq2seq", {"normalization": "revin"}, distribution="normal")
    _random_weights(model, seed=5, spread=0.5)
    x = np.random.default_rng(6).normal(0, 1, (8, 8, 2)).astype("float32")
    base = model.predict(x, verbose=0)
    moved = model.predict(3.0 * x + 7.0, verbose=0)
    np.testing.assert_allclose(moved[..., 0], 3.0 * base[..., 0] + 7.0, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(moved[..., 1], 3.0 * base[..., 1], rtol=1e-4, atol=1e-4)


def test_the_quantile_loss_is_the_point_loss_plus_the_mean_pinball_loss():
    rng = np.random.default_rng(7)
    y = rng.normal(size=(3, 4, 2)).astype("float32")
    pred = rng.normal(size=(3, 4, 2, 4)).astype("float32")
    levels = (0.1, 0.5, 0.9)
    got = float(OutputLoss("quantiles", levels, point_loss="mae")(y, pred))
    total = 0.0
    for index in np.ndindex(y.shape):
        value = abs(y[index] - pred[index][0])
        for k, tau in enumerate(levels):
            error = y[index] - pred[index][1 + k]
            value += (tau * error if error >= 0 else (tau - 1) * error) / len(levels)
        total += value
    assert got == pytest.approx(total / y.size, rel=1e-5)


@pytest.mark.parametrize("distribution", ["normal", "studentt", "negbinomial"])
def test_the_log_likelihood_is_scipys(distribution):
    rng = np.random.default_rng(8)
    shape = (5, 3)
    if distribution == "negbinomial":
        mean, alpha = rng.uniform(0.5, 30, shape), rng.uniform(0.05, 2, shape)
        y = rng.integers(0, 60, shape).astype(float)
        params = np.stack([mean, alpha], axis=-1)
        expected = stats.nbinom.logpmf(y, 1 / alpha, 1 / (1 + alpha * mean))
    else:
        loc, scale = rng.normal(size=shape), rng.uniform(0.2, 3, shape)
        y = rng.normal(0, 3, shape)
        params = np.stack([loc, scale], axis=-1)
        expected = stats.norm.logpdf(y, loc, scale)
        if distribution == "studentt":
            df = rng.uniform(2.1, 30, shape)
            params = np.concatenate([params, df[..., None]], axis=-1)
            expected = stats.t.logpdf(y, df, loc, scale)
    got = keras.ops.convert_to_numpy(log_likelihood(distribution, y, params))
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-8)


def test_the_restoring_layer_round_trips_its_config():
    layer = OutputRestore("studentt", name="restore")
    again = OutputRestore.from_config(layer.get_config())
    assert again.get_config() == layer.get_config()
    loss = OutputLoss("quantiles", (0.1, 0.9), point_loss="mae")
    assert OutputLoss.from_config(loss.get_config()).get_config() == loss.get_config()
