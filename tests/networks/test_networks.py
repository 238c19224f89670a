import dataclasses
import unittest.mock

import keras
import numpy as np
import pytest

from forecaster import cells
from forecaster.config import NetworkConfig
from forecaster.networks import Shapes, build_network
from tests.assertions import raises_exactly
from tests.cells.util import needs_compiler

LOOKBACK, HORIZON = 12, 5


def batch(shapes, seed=0):
    rng = np.random.default_rng(seed)
    past = rng.standard_normal((4, shapes.lookback, shapes.inputs)).astype("float32")
    if not (shapes.known or shapes.static):
        return past
    x = {"past": past}
    if shapes.known:
        x["future"] = rng.standard_normal(
            (4, shapes.lookback + shapes.horizon, shapes.known)
        ).astype("float32")
    if shapes.static:
        x["static"] = rng.standard_normal((4, shapes.static)).astype("float32")
    return x


def shapes_for(architecture, **covariates):
    horizon = 1 if architecture == "recursive" else HORIZON
    return Shapes(LOOKBACK, horizon, inputs=3, targets=2, **covariates)


@pytest.mark.parametrize("covariates", [{}, {"known": 4, "static": 2}], ids=["plain", "cov"])
@pytest.mark.parametrize(
    "options",
    [{}, {"layers": 2, "bidirectional": True, "residual": True, "cell": "cifg", "peephole": True}],
    ids=["one-layer", "stacked"],
)
@pytest.mark.parametrize("architecture", ["direct", "seq2seq", "recursive"])
def test_output_is_horizon_by_targets(architecture, options, covariates):
    shapes = shapes_for(architecture, **covariates)
    model = build_network(NetworkConfig(architecture=architecture, units=8, **options), shapes)
    assert model(batch(shapes)).shape == (4, shapes.horizon, 2)


@pytest.mark.parametrize("architecture", ["direct", "seq2seq"])
def test_forecast_depends_on_past_and_known_future(architecture):
    """In seq2seq the past reaches the forecast only through the encoder's final states."""
    shapes = shapes_for(architecture, known=3)
    model = build_network(NetworkConfig(architecture=architecture, units=8), shapes)
    x = batch(shapes)
    base = np.asarray(model(x))
    other_past = {**x, "past": x["past"] + 1.0}
    future = x["future"].copy()
    future[:, LOOKBACK:] += 1.0  # only the horizon part of the known future changes
    other_future = {**x, "future": future}
    assert not np.allclose(np.asarray(model(other_past)), base)
    assert not np.allclose(np.asarray(model(other_future)), base)


def test_stacked_layers_are_bidirectional_with_residual_adds():
    config = NetworkConfig(
        architecture="direct", units=8, layers=3, bidirectional=True, residual=True
    )
    model = build_network(config, shapes_for("direct"))
    bidirectional = [lyr for lyr in model.layers if isinstance(lyr, keras.layers.Bidirectional)]
    adds = [lyr for lyr in model.layers if isinstance(lyr, keras.layers.Add)]
    assert len(bidirectional) == 3
    assert len(adds) == 2  # the second and third layers
    assert all(b.forward_layer.cell.units == 8 for b in bidirectional)


@pytest.mark.parametrize("architecture", ["direct", "seq2seq", "recursive"])
def test_keras_file_round_trip(architecture, tmp_path):
    shapes = shapes_for(architecture, known=2, static=1)
    config = NetworkConfig(architecture=architecture, units=6, layers=2, cell="gru", residual=True)
    model = build_network(config, shapes)
    model.save(tmp_path / "net.keras")
    loaded = keras.saving.load_model(tmp_path / "net.keras")
    x = batch(shapes)
    np.testing.assert_array_equal(np.asarray(loaded(x)), np.asarray(model(x)))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"cell": "transformer"},
            "unknown cell 'transformer'; known cells: 'cifg', 'gru', 'lstm', 'rnn'",
        ),
        (
            {"architecture": "tcn"},
            (
                "architecture='tcn' is not known; pass one of ('direct', 'seq2seq', "
                "'recursive', 'segment')"
            ),
        ),
        ({"units": 0}, "units must be a positive integer, got 0"),
        ({"layers": 1.5}, "layers must be a positive integer, got 1.5"),
        ({"dropout": 1.2}, "dropout must be in [0, 1), got 1.2"),
        ({"head_dropout": -0.1}, "head_dropout must be in [0, 1), got -0.1"),
        (
            {"cell": "gru", "peephole": True},
            "peephole=True needs an LSTM-type cell ('lstm' or 'cifg'), got cell='gru'",
        ),
        (
            {"cell": "lstm", "reset_after": False},
            "reset_after=False is a form of the GRU; got cell='lstm'",
        ),
        (
            {"cell": "rnn", "unit_forget_bias": False},
            "unit_forget_bias=False needs a cell with a forget gate ('lstm' or 'cifg'), got "
            "cell='rnn'",
        ),
    ],
)
def test_bad_configuration_is_named(options, message):
    with raises_exactly(ValueError, message):
        NetworkConfig(**options)


@pytest.mark.parametrize("architecture", ["direct", "segment"])
def test_the_gru_form_and_the_forget_bias_reach_the_cells(architecture):
    def cell_of(**options):
        config = NetworkConfig(units=4, architecture=architecture, segment_length=4, **options)
        model = build_network(config, Shapes(lookback=8, horizon=4, inputs=2, targets=2))
        found = [w for w in model.weights if w.path.endswith("/bias") and "cell" in w.path]
        assert len(found) == 1
        return keras.ops.convert_to_numpy(found[0])

    assert cell_of(cell="gru").shape == (2, 12)  # reset_after: input and recurrent biases
    assert cell_of(cell="gru", reset_after=False).shape == (12,)
    for cell in ("lstm", "cifg"):
        gates = 4 if cell == "lstm" else 3
        forget = slice(4, 8) if cell == "lstm" else slice(0, 4)  # i f c o; CIFG: f c o
        assert cell_of(cell=cell).shape == (gates * 4,)
        assert (cell_of(cell=cell)[forget] == 1).all()
        assert (cell_of(cell=cell, unit_forget_bias=False) == 0).all()


def test_recursive_model_is_one_step():
    with raises_exactly(
        ValueError, "the recursive design's model forecasts one step; got horizon=5"
    ):
        build_network(NetworkConfig(architecture="recursive"), shapes_for("direct"))


@needs_compiler
@pytest.mark.parametrize("bidirectional", [False, True])
def test_networks_run_the_native_loop(bidirectional):
    """Every recurrent layer of a network is a FastRNN that takes the native kernels."""
    config = NetworkConfig(
        cell="cifg", architecture="seq2seq", layers=2, units=4, bidirectional=bidirectional
    )
    model = build_network(config, Shapes(6, 3, 2, 1, known=2))
    recurrent = []
    for lyr in model.layers:
        if isinstance(lyr, keras.layers.Bidirectional):
            recurrent += [lyr.forward_layer, lyr.backward_layer]
        elif isinstance(lyr, keras.layers.RNN):
            recurrent.append(lyr)
    assert len(recurrent) == (6 if bidirectional else 4)  # encoder (x2 if bi) and decoder
    assert all(type(lyr) is cells.FastRNN for lyr in recurrent)
    assert {lyr.loop_for(training=True) for lyr in recurrent} == {"native"}


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru", "cifg"])
def test_networks_train_like_keras_rnn_loop(cell):
    """Swapping keras.layers.RNN into the networks gives, after a step, the same weights."""
    shapes = Shapes(LOOKBACK, HORIZON, inputs=3, targets=2, known=2)
    config = NetworkConfig(cell=cell, architecture="seq2seq", units=6)
    x, y = batch(shapes), np.random.default_rng(1).standard_normal((4, HORIZON, 2))
    trained, layer_types = [], []
    for layer_class in (cells.FastRNN, keras.layers.RNN):
        keras.utils.set_random_seed(0)
        with unittest.mock.patch.object(cells, "FastRNN", layer_class):
            model = build_network(config, shapes)
        layer_types.append(type(model.get_layer("encoder_0")))
        model.compile(keras.optimizers.Adam(0.01), "mse")
        model.train_on_batch(x, y)
        trained.append(model.get_weights())
    assert layer_types == [cells.FastRNN, keras.layers.RNN]
    for fast, slow in zip(*trained, strict=True):
        np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-5)


SEGMENT = Shapes(lookback=12, horizon=8, inputs=3, targets=3)


def segment_network(**options):
    options = {"cell": "gru", "units": 8, "segment_length": 4, **options}
    return build_network(NetworkConfig(architecture="segment", **options), SEGMENT)


@pytest.mark.parametrize("architecture", ["direct", "seq2seq", "segment"])
def test_head_dropout_drops_the_heads_inputs_in_training_only(architecture):
    shapes = SEGMENT if architecture == "segment" else shapes_for(architecture)
    config = NetworkConfig(cell="gru", units=64, architecture=architecture, segment_length=4)
    plain = build_network(config, shapes)
    dropped = build_network(dataclasses.replace(config, head_dropout=0.25), shapes)
    dropped.set_weights(plain.get_weights())
    x = batch(shapes)
    np.testing.assert_array_equal(dropped(x, training=False), plain(x, training=False))
    dropout = dropped.get_layer("head_dropout")
    assert dropped.get_layer("head").input is dropout.output  # right before the head
    probe = keras.Model(dropped.input, [dropout.input, dropout.output])
    dropped_share = []
    for _ in range(20):  # 20 masks: the share's spread is then about 0.006, not 0.03
        before, after = (np.asarray(t) for t in probe(x, training=True))
        kept = after != 0
        np.testing.assert_allclose(after[kept], before[kept] / 0.75, rtol=1e-6)
        dropped_share.append(1 - kept.mean())
    assert np.mean(dropped_share) == pytest.approx(0.25, abs=0.03)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru", "cifg"])
def test_segment_network_forecasts_every_channel_with_any_cell(cell):
    model = segment_network(cell=cell)
    assert model.predict(batch(SEGMENT), verbose=0).shape == (4, 8, 3)
    recurrent = [lyr for lyr in model.layers if isinstance(lyr, keras.layers.RNN)]
    assert len(recurrent) == 1  # the encoder's layer also decodes, as in SegRNN


def test_segment_channels_share_the_weights():
    model = segment_network(channel_embedding=False)
    x = batch(SEGMENT)
    order = [2, 0, 1]
    np.testing.assert_allclose(
        model.predict(x[..., order], verbose=0),
        model.predict(x, verbose=0)[..., order],
        rtol=1e-5,
        atol=1e-6,
    )


def test_segment_channels_are_forecast_independently():
    model = segment_network()  # with channel embeddings, the channels differ only by them
    x = batch(SEGMENT)
    changed = x.copy()
    changed[..., 1] = 10 * changed[..., 1] + 3
    before, after = model.predict(x, verbose=0), model.predict(changed, verbose=0)
    np.testing.assert_array_equal(before[..., [0, 2]], after[..., [0, 2]])
    assert np.abs(before[..., 1] - after[..., 1]).min() > 0


@pytest.mark.parametrize("normalization", ["last", "revin"])
def test_segment_forecast_shifts_with_its_window(normalization):
    model = segment_network(cell="lstm", normalization=normalization)
    x = batch(SEGMENT)
    shift = np.array([5.0, -2.0, 40.0], dtype="float32")
    np.testing.assert_allclose(
        model.predict(x + shift, verbose=0),
        model.predict(x, verbose=0) + shift,
        rtol=1e-5,
        atol=2e-4,
    )


def test_segment_revin_forecast_scales_with_its_window():
    model = segment_network(normalization="revin")
    x = batch(SEGMENT)
    np.testing.assert_allclose(
        model.predict(3 * x, verbose=0), 3 * model.predict(x, verbose=0), rtol=1e-4, atol=1e-4
    )


def test_segment_keras_file_round_trip(tmp_path):
    model = segment_network(cell="cifg", peephole=True, layer_norm=True, head_dropout=0.5)
    x = batch(SEGMENT)
    model.save(tmp_path / "segment.keras")
    loaded = keras.saving.load_model(tmp_path / "segment.keras", safe_mode=True)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.parametrize(
    ("shapes", "message"),
    [
        (
            Shapes(lookback=10, horizon=8, inputs=3, targets=3),
            "lookback=10 is not a multiple of segment_length=4; the segment design cuts it "
            "into whole segments",
        ),
        (
            Shapes(lookback=12, horizon=6, inputs=3, targets=3),
            "horizon=6 is not a multiple of segment_length=4; the segment design cuts it into "
            "whole segments",
        ),
    ],
    ids=["lookback", "horizon"],
)
def test_segment_shapes_that_do_not_fit_are_named(shapes, message):
    """The target positions' messages are in test_segment.py."""
    config = NetworkConfig(architecture="segment", segment_length=4)
    with raises_exactly(ValueError, message):
        build_network(config, shapes)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"segment_length": 0}, "segment_length must be a positive integer, got 0"),
        (
            {"normalization": "mean"},
            "normalization='mean' is not known; pass one of ('last', 'revin', 'none')",
        ),
    ],
)
def test_bad_segment_configuration_is_named(options, message):
    with raises_exactly(ValueError, message):
        NetworkConfig(**options)


@pytest.mark.parametrize("architecture", ["direct", "seq2seq", "recursive"])
def test_the_targets_window_is_normalized_and_the_highway_starts_at_zero(architecture):
    shapes = shapes_for(architecture, known=2)
    config = NetworkConfig(cell="gru", architecture=architecture, units=6)
    model = build_network(config, shapes, target_positions=[2, 0])  # targets among 3 inputs
    highway = model.get_layer("highway")
    assert not np.any(highway.get_weights()[0])  # a zero map at the start
    highway.set_weights([np.random.default_rng(1).normal(size=w.shape) for w in highway.weights])
    rng = np.random.default_rng(0)
    x = {
        "past": rng.normal(size=(4, LOOKBACK, 3)).astype("float32"),
        "future": rng.normal(size=(4, LOOKBACK + shapes.horizon, 2)).astype("float32"),
    }
    base = np.asarray(model(x))
    shifted = x["past"].copy()
    shifted[..., [2, 0]] += np.array([5.0, -3.0], dtype="float32")  # only the targets move
    moved = np.asarray(model({**x, "past": shifted}))
    np.testing.assert_allclose(moved, base + np.array([5.0, -3.0]), atol=1e-4)


def test_without_the_targets_among_the_inputs_there_is_no_highway():
    model = build_network(NetworkConfig(architecture="direct", units=4), shapes_for("direct"))
    names = [layer.name for layer in model.layers]
    assert "highway" not in names
    assert "normalization" not in names
    plain = NetworkConfig(architecture="seq2seq", units=4, highway=False, normalization="none")
    shapes = Shapes(LOOKBACK, HORIZON, inputs=2, targets=2)
    assert "highway" not in [layer.name for layer in build_network(plain, shapes).layers]


@pytest.mark.parametrize("architecture", ["direct", "seq2seq", "segment"])
def test_a_batch_of_exactly_horizon_windows_keeps_each_windows_level(architecture):
    # Written as symbolic arithmetic (or Add/Multiply layers), restoring the level broadcast
    # it over the horizon when the batch held `horizon` windows; WindowRestore does not.
    horizon = 4
    config = NetworkConfig(cell="gru", architecture=architecture, units=4, segment_length=4)
    model = build_network(config, Shapes(8, horizon, inputs=1, targets=1))
    x = (np.random.default_rng(0).normal(size=(horizon, 8, 1)) * 10).astype("float32")
    together = np.asarray(model(x))
    alone = np.concatenate([np.asarray(model(x[i : i + 1])) for i in range(horizon)])
    np.testing.assert_allclose(together, alone, rtol=1e-5, atol=1e-5)
