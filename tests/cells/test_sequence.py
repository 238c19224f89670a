"""FastRNN: the fused loop against keras.layers.RNN(cell) and the NumPy references.

Outputs, final states and gradients must match with random weights for every cell with each
option on and off; the layer must save and load alone and inside Bidirectional; and the
fused loop must be taken exactly where it is exact, the step-by-step loop everywhere else.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from forecaster import cells
from forecaster.cells import FastRNN, fused, native
from tests.cells.test_base import LSTM_LIKE, numeric_gradient
from tests.cells.util import (
    CASES,
    make,
    needs_compiler,
    randomize,
    reference,
    sequence,
    weights_of,
)

ALL = list(CASES)


def fast_options():
    """(case, options) with use_bias, peephole and both dropouts on and off."""
    for case in ALL:
        grid = [{}, {"use_bias": False}, {"dropout": 0.3, "recurrent_dropout": 0.4}]
        if case in LSTM_LIKE:
            grid.append({"peephole": True, "use_bias": False, "recurrent_dropout": 0.2})
        for options in grid:
            label = "-".join(f"{k}={v}" for k, v in options.items()) or "defaults"
            yield pytest.param(case, options, id=f"{case}-{label}")


def pair(case, options, seed=7, **layer_options):
    """FastRNN and RNN over twin cells with the same random weights and dropout seed."""
    x = sequence()
    built = []
    for cls in (FastRNN, keras.layers.RNN):
        cell = make(case, seed=seed, **options)
        layer = cls(cell, return_sequences=True, return_state=True, **layer_options)
        layer(x)
        randomize(layer)
        built.append(layer)
    return built, x


def initial_states(case, seed=5):
    rng = np.random.default_rng(seed)
    count = 2 if case in LSTM_LIKE else 1
    return [rng.standard_normal((3, 4)).astype("float32") for _ in range(count)]


def assert_all_close(got, expected, atol=1e-5):
    assert len(got) == len(expected)
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=0, atol=atol)


@pytest.mark.parametrize(("case", "options"), list(fast_options()))
def test_takes_the_fused_loop_and_matches_rnn_and_reference(case, options):
    (fast, slow), x = pair(case, options)
    assert fast.fallback_reason() is None
    initial = initial_states(case)
    got = fast(x, initial_state=initial)
    assert_all_close(got, slow(x, initial_state=initial))
    names = ["h0", "c0"][: len(initial)]
    hs, states = reference(case)(x, weights_of(fast.cell), **dict(zip(names, initial, strict=True)))
    assert_all_close(got, [hs, *states])


@pytest.mark.parametrize(("case", "options"), list(fast_options()))
def test_training_matches_rnn_with_the_same_masks(case, options):
    """Twin cells with one seed draw the same per-sequence masks in both layers."""
    (fast, slow), x = pair(case, options)
    initial = [tf.constant(s) for s in initial_states(case)]
    x = tf.constant(x)
    grads = []
    for layer in (fast, slow):
        probe = np.random.default_rng(3).standard_normal((3, 7, 4)).astype("float32")
        with tf.GradientTape() as tape:
            tape.watch([x, *initial])
            outputs, *states = layer(x, initial_state=initial, training=True)
            loss = tf.reduce_sum(outputs * probe) + sum(tf.reduce_sum(s * s) for s in states)
        grads.append(tape.gradient(loss, [x, *initial, *layer.trainable_weights]))
        grads[-1].insert(0, outputs)
    assert_all_close(grads[0], grads[1])


@pytest.mark.parametrize("case", ALL)
def test_dropout_draws_one_mask_per_sequence(case):
    """Training output matches the NumPy reference run with the cell's own two masks."""
    layer = FastRNN(make(case, dropout=0.5, recurrent_dropout=0.5, seed=2), return_sequences=True)
    x = sequence()
    layer(x)
    randomize(layer)
    cell = layer.cell
    # Draw the masks as RNN.call does, read them, and let the call reuse them.
    x_mask = np.asarray(cell.get_dropout_mask(x[:, 0]), dtype=np.float64)
    h_mask = np.asarray(cell.get_recurrent_dropout_mask(np.zeros((3, 4), "float32")))
    got = np.asarray(layer(x, training=True))
    expected, _ = reference(case)(x, weights_of(cell), x_mask=x_mask, h_mask=h_mask)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)
    assert not np.allclose(got, reference(case)(x, weights_of(cell))[0], atol=1e-3)


@pytest.mark.parametrize(
    ("case", "peephole"),
    [(case, False) for case in ALL] + [(case, True) for case in sorted(LSTM_LIKE)],
)
def test_gradients_match_finite_differences(case, peephole):
    options = {"peephole": True} if peephole else {}
    cell = make(case, units=3, dtype="float64", **options)
    x = tf.Variable(sequence(batch=2, time=3, features=2, dtype="float64"))
    layer = FastRNN(cell, return_sequences=True, dtype="float64")
    layer(x)
    randomize(layer)
    assert layer.fallback_reason() is None
    probe = tf.constant(np.random.default_rng(9).standard_normal((2, 3, 3)))

    def loss():
        return tf.reduce_sum(layer(x) * probe)

    variables = [*layer.trainable_weights, x]
    with tf.GradientTape() as tape:
        value = loss()
    for variable, grad in zip(variables, tape.gradient(value, variables), strict=True):
        expected = numeric_gradient(loss, variable)
        np.testing.assert_allclose(np.asarray(grad), expected, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("case", ALL)
def test_go_backwards_and_bidirectional_match_rnn(case):
    (fast, slow), x = pair(case, {}, go_backwards=True)
    assert_all_close(fast(x), slow(x))
    layers = []
    for cls in (FastRNN, keras.layers.RNN):
        layer = keras.layers.Bidirectional(cls(make(case), return_sequences=True))
        layer(x)
        randomize(layer)
        layers.append(layer)
    assert_all_close([layers[0](x)], [layers[1](x)])


@pytest.mark.parametrize("wrapper", ["plain", "bidirectional"])
@pytest.mark.parametrize("case", ALL)
def test_keras_file_round_trip(case, wrapper, tmp_path):
    layer = FastRNN(make(case, dropout=0.1, seed=4), return_sequences=True, name="fast")
    if wrapper == "bidirectional":
        layer = keras.layers.Bidirectional(layer)
    model = keras.Sequential([keras.Input((7, 5)), layer, keras.layers.Dense(2)])
    randomize(model)
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")  # safe_mode: registered only
    x = sequence()
    np.testing.assert_array_equal(np.asarray(loaded(x)), np.asarray(model(x)))
    rnn = loaded.layers[0]
    for inner in [rnn.forward_layer, rnn.backward_layer] if wrapper == "bidirectional" else [rnn]:
        assert type(inner) is FastRNN
        assert type(inner.cell) is CASES[case][0]
        assert inner.get_config() == FastRNN.from_config(inner.get_config()).get_config()


class TracedLSTMCell(cells.LSTMCell):
    """A subclass may change `call`, so it must not take the fused loop."""


@pytest.mark.parametrize(
    ("make_cell", "message"),
    [
        (lambda: make("lstm", layer_norm=True), "layer_norm=True has no fused loop"),
        (lambda: make("gru", activation="softsign"), "the fused loop needs activation='tanh'"),
        (
            lambda: make("cifg", recurrent_activation="hard_sigmoid"),
            "the fused loop needs recurrent_activation='sigmoid'",
        ),
        (
            lambda: keras.layers.LSTMCell(4),
            "keras.src.layers.rnn.lstm.LSTMCell is not one of forecaster's four cells",
        ),
        (
            lambda: TracedLSTMCell(4),
            "tests.cells.test_sequence.TracedLSTMCell is not one of forecaster's four cells",
        ),
        (
            lambda: make("rnn", dtype="float16"),
            "compute dtype float16 has no fused loop (float32 or float64)",
        ),
    ],
)
def test_falls_back_where_the_fused_loop_is_not_exact(make_cell, message, monkeypatch):
    calls = []
    for module, name in [(fused, "rnn"), (fused, "lstm"), (fused, "gru"), (native, "recurrence")]:
        original = getattr(module, name)
        monkeypatch.setattr(module, name, lambda *a, f=original, **k: calls.append(1) or f(*a, **k))
    cell = make_cell()
    layer = FastRNN(cell, return_sequences=True, return_state=True)
    assert layer.fallback_reason() == message
    x = sequence(dtype=cell.compute_dtype)
    got = layer(x)
    slow = keras.layers.RNN(cell, return_sequences=True, return_state=True)
    assert_all_close(got, slow(x))
    assert not calls


def test_masked_sequences_fall_back_and_match_rnn(monkeypatch):
    calls = []
    monkeypatch.setattr(fused, "gru", lambda *a, **k: calls.append(1))
    monkeypatch.setattr(native, "recurrence", lambda *a, **k: calls.append(1))
    x = sequence()
    x[0, 4:] = 0.0  # padding at the end of the first row
    outputs = []
    for cls in (FastRNN, keras.layers.RNN):
        layer = cls(make("gru"), return_sequences=True)
        model = keras.Sequential([keras.Input((7, 5)), keras.layers.Masking(0.0), layer])
        randomize(model)
        outputs.append(model(x))
    assert FastRNN(make("gru")).fallback_reason(mask=np.ones((3, 7), bool)) == (
        "masked sequences have no fused loop"
    )
    assert_all_close(*[[o] for o in outputs])
    assert not calls


@pytest.mark.parametrize("case", ALL)
def test_fused_loop_is_taken_inside_a_compiled_training_step(case, monkeypatch):
    module, name = (fused, "gru") if case == "gru_reset_before" else (native, "recurrence")
    if module is native and needs_compiler.args[0]:
        pytest.skip(needs_compiler.kwargs["reason"])
    calls = []
    original = getattr(module, name)
    monkeypatch.setattr(module, name, lambda *a, **k: calls.append(1) or original(*a, **k))
    model = keras.Sequential(
        [keras.Input((7, 5)), FastRNN(make(case, dropout=0.2)), keras.layers.Dense(1)]
    )
    model.compile(keras.optimizers.SGD(0.1), "mse")
    x, y = sequence(), np.ones((3, 1), "float32")
    before = model.evaluate(x, y, verbose=0)
    for _ in range(5):
        model.train_on_batch(x, y)
    assert calls
    assert model.evaluate(x, y, verbose=0) < before


@pytest.mark.parametrize(
    ("case", "options", "training", "loop"),
    [
        ("lstm", {}, True, "native"),
        ("lstm", {}, False, "native"),
        ("lstm", {"recurrent_dropout": 0.3, "dropout": 0.3}, True, "native"),
        ("lstm", {"dtype": "float64"}, True, "native"),
        ("lstm", {"peephole": True}, True, "fused"),
        ("lstm", {"peephole": True}, False, "keras"),
        ("lstm", {"layer_norm": True}, True, "keras"),
        ("cifg", {}, True, "native"),
        ("cifg", {"peephole": True}, True, "fused"),
        ("gru", {}, True, "native"),
        ("gru", {}, False, "native"),
        ("gru_reset_before", {}, True, "fused"),
        ("gru_reset_before", {}, False, "keras"),
        ("rnn", {}, False, "native"),
        ("gru", {"units": 257}, True, "keras"),
        ("lstm", {"units": 257, "peephole": True}, True, "keras"),
        ("cifg", {"units": 256}, True, "native"),
    ],
)
def test_each_call_runs_its_fastest_exact_loop(case, options, training, loop):
    if loop == "native" and needs_compiler.args[0]:
        pytest.skip(needs_compiler.kwargs["reason"])
    assert FastRNN(make(case, **options)).loop_for(training=training) == loop


def test_without_the_native_kernels_training_runs_the_xla_loop(monkeypatch):
    """A machine that cannot build the kernels trains through `fused` with the same numbers."""
    reason = "no C++ compiler (set CXX, or install g++) to build the kernels"
    monkeypatch.setattr(native, "available", lambda: reason)
    (fast, slow), x = pair("lstm", {})
    assert fast.native_reason() == reason
    assert fast.loop_for(training=True) == "fused"
    assert fast.loop_for(training=False) == "keras"
    assert fast.supports_jit
    assert_all_close(fast(x, training=True), slow(x, training=True))


@needs_compiler
def test_the_native_loop_keeps_the_model_off_xla():
    """The kernels have no XLA form: Keras turns jit_compile off, as for its cuDNN LSTM."""
    layers = {"native": FastRNN(make("lstm")), "fused": FastRNN(make("lstm", peephole=True))}
    assert not layers["native"].supports_jit
    assert layers["fused"].supports_jit
    model = keras.Sequential([keras.Input((7, 5)), layers["native"], keras.layers.Dense(1)])
    with pytest.warns(UserWarning, match="Proceeding with `jit_compile=False`"):
        model.compile("sgd", "mse", jit_compile=True)
    assert model.jit_compile is False
    model.train_on_batch(sequence(), np.ones((3, 1), "float32"))


KERAS_LAYERS = {"rnn": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}


@pytest.mark.parametrize("case", list(KERAS_LAYERS))
def test_training_matches_keras_layers_with_copied_weights(case):
    """Outputs, states and every gradient in training against Keras's own layer."""
    x = tf.constant(sequence())
    keras_layer = getattr(keras.layers, KERAS_LAYERS[case])(
        4, return_sequences=True, return_state=True
    )
    keras_layer(x)
    randomize(keras_layer)
    ours = FastRNN(make(case), return_sequences=True, return_state=True)
    ours(x)
    ours.set_weights(keras_layer.get_weights())
    assert ours.loop_for(training=True) != "keras"
    probe = np.random.default_rng(3).standard_normal((3, 7, 4)).astype("float32")
    results = []
    for layer in (ours, keras_layer):
        with tf.GradientTape() as tape:
            tape.watch(x)
            outputs, *states = layer(x, training=True)
            loss = tf.reduce_sum(outputs * probe) + sum(tf.reduce_sum(s * s) for s in states)
        results.append([outputs, *states, *tape.gradient(loss, [x, *layer.trainable_weights])])
    assert_all_close(results[0], results[1])
