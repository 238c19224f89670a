"""The segment network with covariates and stacked layers (issue #21)."""

import keras
import numpy as np
import pytest
from keras import ops

from forecaster.config import NetworkConfig
from forecaster.networks import Shapes
from forecaster.networks.layers import head, make_cell, recurrent
from forecaster.networks.segment import build_segment
from forecaster.networks.segment_layers import SegmentQueries, WindowNormalization
from tests.assertions import raises_exactly

LOOKBACK, HORIZON, WIDTH = 8, 6, 2  # 4 lookback segments, 3 horizon segments


def config_for(**options):
    return NetworkConfig(
        **{"architecture": "segment", "cell": "gru", "units": 6, "segment_length": WIDTH, **options}
    )


def shapes_for(inputs=2, targets=2, known=0, static=0):
    return Shapes(LOOKBACK, HORIZON, inputs, targets, known=known, static=static)


def batch(shapes, seed=0):
    rng = np.random.default_rng(seed)
    x = {"past": rng.standard_normal((3, shapes.lookback, shapes.inputs)).astype("float32")}
    if shapes.known:
        steps = shapes.lookback + shapes.horizon
        x["future"] = rng.standard_normal((3, steps, shapes.known)).astype("float32")
    if shapes.static:
        x["static"] = rng.standard_normal((3, shapes.static)).astype("float32")
    return x if len(x) > 1 else x["past"]


def forecast(model, x):
    return np.asarray(model(x))


def todays_segment(config, shapes):
    """The segment network as it was before covariates and stacking (commit 0df56f1)."""
    width, units, channels = config.segment_length, config.units, shapes.inputs
    segments, horizon_segments = shapes.lookback // width, shapes.horizon // width
    past = keras.Input((shapes.lookback, channels), name="past")
    x, loc, scale = WindowNormalization(config.normalization, name="normalization")(past)
    x = ops.transpose(x, (0, 2, 1))
    x = ops.reshape(x, (-1, segments, width))
    x = keras.layers.Dense(units, activation="relu", name="segment_embedding")(x)
    layer = recurrent(
        make_cell(config, units), return_sequences=False, return_state=True, name="recurrent"
    )
    _, *states = layer(x)
    states = [ops.repeat(state, horizon_segments, axis=0) for state in states]
    queries = SegmentQueries(
        horizon_segments, channels, units, config.channel_embedding, name="queries"
    )(past)
    y, *_ = layer(queries, initial_state=states)
    y = head(config, y, width)
    y = ops.reshape(y, (-1, channels, shapes.horizon))
    y = ops.transpose(y, (0, 2, 1))
    return keras.Model(past, y * scale + loc, name=f"segment_{config.cell}")


def layout(model):
    """Each weight's layer, name and shape, in order."""
    return [(w.path.split("/")[0], w.name, tuple(w.shape)) for w in model.weights]


def test_without_covariates_and_with_one_layer_the_network_is_todays(tmp_path):
    config, shapes = config_for(cell="lstm", head_dropout=0.1), shapes_for(inputs=3, targets=3)
    before, now = todays_segment(config, shapes), build_segment(config, shapes)
    assert layout(now) == layout(before)
    before.save_weights(tmp_path / "today.weights.h5")
    now.load_weights(tmp_path / "today.weights.h5")  # the weights a saved network has
    x = batch(shapes)
    np.testing.assert_array_equal(forecast(now, x), forecast(before, x))


@pytest.mark.parametrize(
    ("shapes", "positions"),
    [
        (shapes_for(known=3), None),
        (shapes_for(static=2), None),
        (shapes_for(known=3, static=2), None),
        (shapes_for(inputs=3, targets=1), [2]),
        (shapes_for(inputs=4, targets=2, known=1, static=1), [3, 1]),
    ],
    ids=["known", "static", "both", "past", "all"],
)
def test_the_forecast_is_horizon_by_targets_with_covariates(shapes, positions):
    model = build_segment(config_for(), shapes, positions)
    assert forecast(model, batch(shapes)).shape == (3, HORIZON, shapes.targets)


def test_each_horizon_segment_sees_its_own_known_future():
    shapes = shapes_for(known=2)
    model = build_segment(config_for(), shapes)
    x = batch(shapes)
    base = forecast(model, x)
    for segment in range(HORIZON // WIDTH):
        future = x["future"].copy()
        steps = slice(LOOKBACK + segment * WIDTH, LOOKBACK + (segment + 1) * WIDTH)
        future[:, steps] += 1.0  # one horizon segment's calendar
        changed = forecast(model, {**x, "future": future})
        inside = slice(segment * WIDTH, (segment + 1) * WIDTH)
        assert np.abs(changed[:, inside] - base[:, inside]).min() > 0
        outside = np.ones(HORIZON, bool)
        outside[inside] = False
        np.testing.assert_array_equal(changed[:, outside], base[:, outside])
    lookback_future = x["future"].copy()
    lookback_future[:, :LOOKBACK] += 1.0  # reaches the forecast through the encoder
    assert not np.allclose(forecast(model, {**x, "future": lookback_future}), base)


def test_the_forecast_depends_on_the_statics():
    shapes = shapes_for(static=2)
    model = build_segment(config_for(), shapes)
    x = batch(shapes)
    other = {**x, "static": x["static"] + np.array([1.0, 0.0], "float32")}
    assert np.abs(forecast(model, other) - forecast(model, x)).min() > 0


def test_each_target_is_forecast_from_its_own_past_and_the_past_covariates():
    shapes = shapes_for(inputs=3, targets=2)
    model = build_segment(config_for(), shapes, target_positions=[2, 0])  # input 1: covariate
    x = batch(shapes)
    base = forecast(model, x)
    own = x.copy()
    own[..., 2] = 3 * own[..., 2] + 1  # the first target's past
    changed = forecast(model, own)
    assert np.abs(changed[..., 0] - base[..., 0]).min() > 0
    np.testing.assert_array_equal(changed[..., 1], base[..., 1])
    covariate = x.copy()
    covariate[..., 1] += 1.0
    assert np.abs(forecast(model, covariate) - base).min() > 0


@pytest.mark.parametrize("options", [{}, {"layers": 2, "bidirectional": True}])
def test_a_shift_of_the_targets_shifts_the_forecast_with_covariates(options):
    shapes = shapes_for(inputs=3, targets=2, known=2, static=1)
    config = config_for(cell="lstm", normalization="last", **options)
    model = build_segment(config, shapes, target_positions=[2, 0])
    x = batch(shapes)
    shift = np.array([5.0, -40.0], "float32")
    shifted = {**x, "past": x["past"].copy()}
    shifted["past"][..., [2, 0]] += shift  # the covariates, input 1 among them, stay
    np.testing.assert_allclose(
        forecast(model, shifted), forecast(model, x) + shift, rtol=1e-5, atol=1e-4
    )


@pytest.mark.parametrize(
    "options",
    [
        {"layers": 2, "residual": True},
        {"layers": 3, "bidirectional": True, "residual": True, "cell": "cifg"},
    ],
    ids=["residual", "bidirectional"],
)
def test_stacked_layers_decode_with_the_encoders_weights_and_train(options):
    shapes = shapes_for(known=1, static=1)
    model = build_segment(config_for(**options), shapes)
    directions = 2 if options.get("bidirectional") else 1
    recurrent_layers = [lyr for lyr in model.layers if isinstance(lyr, keras.layers.RNN)]
    assert len(recurrent_layers) == options["layers"] * directions  # no separate decoder
    assert forecast(model, batch(shapes)).shape == (3, HORIZON, 2)
    model.compile(keras.optimizers.Adam(0.01), "mse")
    before = [np.array(w) for w in model.trainable_weights]
    y = np.random.default_rng(1).standard_normal((3, HORIZON, 2))
    assert np.isfinite(model.train_on_batch(batch(shapes), y))
    after = [np.array(w) for w in model.trainable_weights]
    assert all(not np.array_equal(a, b) for a, b in zip(before, after, strict=True))


def test_keras_file_round_trip_with_covariates_and_stacked_layers(tmp_path):
    shapes = shapes_for(inputs=3, targets=2, known=2, static=1)
    options = {"layers": 2, "bidirectional": True, "residual": True, "normalization": "revin"}
    model = build_segment(config_for(**options), shapes, target_positions=[1, 2])
    model.save(tmp_path / "segment.keras")
    loaded = keras.saving.load_model(tmp_path / "segment.keras", safe_mode=True)
    x = batch(shapes)
    np.testing.assert_array_equal(forecast(loaded, x), forecast(model, x))


@pytest.mark.parametrize(
    ("shapes", "positions", "message"),
    [
        (
            Shapes(lookback=7, horizon=6, inputs=2, targets=2),
            None,
            "lookback=7 is not a multiple of segment_length=2; the segment design cuts it "
            "into whole segments",
        ),
        (
            Shapes(lookback=8, horizon=5, inputs=2, targets=2, known=1),
            None,
            "horizon=5 is not a multiple of segment_length=2; the segment design cuts it into "
            "whole segments",
        ),
        (
            shapes_for(inputs=3, targets=1),
            None,
            "the segment design forecasts each target from its own past, so it needs "
            "target_positions, the targets' positions among the inputs; got 3 inputs, "
            "1 targets and target_positions=None",
        ),
        (
            shapes_for(inputs=3, targets=2),
            [0],
            "target_positions=[0] must give each of the 2 targets its position among the 3 "
            "inputs: 2 distinct integers in range(3)",
        ),
        (
            shapes_for(inputs=3, targets=2),
            [0, 3],
            "target_positions=[0, 3] must give each of the 2 targets its position among the 3 "
            "inputs: 2 distinct integers in range(3)",
        ),
        (
            shapes_for(inputs=3, targets=2),
            [1, 1],
            "target_positions=[1, 1] must give each of the 2 targets its position among the 3 "
            "inputs: 2 distinct integers in range(3)",
        ),
    ],
    ids=["lookback", "horizon", "no-positions", "too-few", "out-of-range", "repeated"],
)
def test_shapes_that_do_not_fit_are_named(shapes, positions, message):
    with raises_exactly(ValueError, message):
        build_segment(config_for(), shapes, positions)
