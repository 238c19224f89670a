"""What every cell shares.

Exactness against the NumPy references with each option on and off, dropout masks,
gradients, serialization, stacking, and argument errors.
"""

import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf

from forecaster.cells import CIFGCell, GRUCell, LSTMCell, SimpleRNNCell
from tests.assertions import raises_exactly
from tests.cells import numpy_reference as ref
from tests.cells.util import CASES, make, randomize, reference, run_sequence, sequence, weights_of

ALL = list(CASES)
LSTM_LIKE = {"lstm", "cifg"}


def option_grid():
    """(case, options) for every cell with layer_norm, peephole and use_bias on and off."""
    for case in ALL:
        peepholes = [False, True] if case in LSTM_LIKE else [False]
        for layer_norm, peephole, use_bias in itertools.product(
            [False, True], peepholes, [True, False]
        ):
            options = {"layer_norm": layer_norm, "use_bias": use_bias}
            if case in LSTM_LIKE:
                options["peephole"] = peephole
            yield pytest.param(
                case, options, id=f"{case}-" + "-".join(f"{k}={int(v)}" for k, v in options.items())
            )


@pytest.mark.parametrize(("case", "options"), list(option_grid()))
def test_matches_numpy_reference(case, options):
    cell = make(case, **options)
    x = sequence()
    hs, states = run_sequence(cell, x)
    expected_hs, expected_states = reference(case)(x, weights_of(cell))
    np.testing.assert_allclose(hs, expected_hs, rtol=0, atol=1e-5)
    for got, expected in zip(states, expected_states, strict=True):
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)


@pytest.mark.parametrize("case", ALL)
def test_other_activations_match_reference(case):
    options = {"activation": "softsign", "layer_norm": True}
    gates = {}
    if case != "rnn":
        options["recurrent_activation"] = "hard_sigmoid"
        gates["gate"] = ref.hard_sigmoid
    cell = make(case, **options)
    x = sequence()
    hs, _ = run_sequence(cell, x)
    expected, _ = reference(case)(x, weights_of(cell), act=ref.softsign, **gates)
    np.testing.assert_allclose(hs, expected, rtol=0, atol=1e-5)


@pytest.mark.parametrize("case", ALL)
def test_initial_state_is_used(case):
    cell = make(case, layer_norm=True)
    x = sequence()
    layer = keras.layers.RNN(cell, return_sequences=True)
    layer(x)
    randomize(layer)
    rng = np.random.default_rng(5)
    initial = [rng.standard_normal((3, 4)).astype("float32") for _ in cell.state_size]
    hs = np.asarray(layer(x, initial_state=initial))
    names = ["h0", "c0"][: len(initial)]
    expected, _ = reference(case)(x, weights_of(cell), **dict(zip(names, initial, strict=True)))
    np.testing.assert_allclose(hs, expected, rtol=0, atol=1e-5)


@pytest.mark.parametrize("case", ALL)
def test_dropout_masks_are_fixed_for_a_whole_sequence(case):
    """In training, one input mask and one recurrent mask must explain every step of a row."""
    options = {"dropout": 0.5, "recurrent_dropout": 0.5, "seed": 7}
    if case in LSTM_LIKE:
        options["peephole"] = True
    cell = make(case, units=2, **options)
    x = sequence(batch=8, time=6, features=2)
    hs, _ = run_sequence(cell, x, training=True)
    w = weights_of(cell)
    inference, _ = reference(case)(x, w)
    assert not np.allclose(hs, inference, atol=1e-3), "dropout had no effect in training"
    # Keras scales kept units by 1 / (1 - rate), so every mask entry is 0 or 2.
    candidates = [np.array(m, dtype=np.float64) for m in itertools.product([0.0, 2.0], repeat=2)]
    for row in range(x.shape[0]):
        matches = [
            (x_mask, h_mask)
            for x_mask, h_mask in itertools.product(candidates, candidates)
            if np.allclose(
                reference(case)(x[row : row + 1], w, x_mask=x_mask[None], h_mask=h_mask[None])[0],
                hs[row : row + 1],
                atol=1e-5,
            )
        ]
        assert matches, f"row {row}: no single pair of masks reproduces all steps"


@pytest.mark.parametrize("case", ALL)
def test_dropout_is_deterministic_at_inference_and_redrawn_per_call(case):
    cell = make(case, dropout=0.3, recurrent_dropout=0.3, seed=3)
    x = sequence()
    layer = keras.layers.RNN(cell, return_sequences=True)
    layer(x)
    randomize(layer)
    first, second = np.asarray(layer(x)), np.asarray(layer(x))
    np.testing.assert_array_equal(first, second)
    expected, _ = reference(case)(x, weights_of(cell))
    np.testing.assert_allclose(first, expected, rtol=0, atol=1e-5)
    train_a = np.asarray(layer(x, training=True))
    train_b = np.asarray(layer(x, training=True))
    assert not np.allclose(train_a, train_b), "the same dropout masks were reused across calls"


def numeric_gradient(loss, variable, eps=1e-6):
    """Central differences of `loss()` with respect to every entry of `variable`."""
    base = variable.numpy().copy()
    grad = np.zeros_like(base)
    for index in np.ndindex(base.shape):
        values = []
        for step in (eps, -eps):
            shifted = base.copy()
            shifted[index] += step
            variable.assign(shifted)
            values.append(float(loss()))
        grad[index] = (values[0] - values[1]) / (2 * eps)
    variable.assign(base)
    return grad


@pytest.mark.parametrize("all_options", [False, True], ids=["plain", "layer_norm+peephole"])
@pytest.mark.parametrize("case", ALL)
def test_gradients_match_finite_differences(case, all_options):
    options = {"dtype": "float64"}
    if all_options:
        options["layer_norm"] = True
        if case in LSTM_LIKE:
            options["peephole"] = True
    cell = make(case, units=3, **options)
    x = tf.Variable(sequence(batch=2, time=3, features=2, dtype="float64"))
    layer = keras.layers.RNN(cell, return_sequences=True, dtype="float64")
    layer(x)
    randomize(layer)
    probe = tf.constant(np.random.default_rng(9).standard_normal((2, 3, 3)))

    @tf.function
    def loss():
        return tf.reduce_sum(layer(x) * probe)

    variables = [*layer.trainable_weights, x]
    with tf.GradientTape() as tape:
        value = loss()
    grads = tape.gradient(value, variables)
    for variable, grad in zip(variables, grads, strict=True):
        expected = numeric_gradient(loss, variable)
        np.testing.assert_allclose(
            np.asarray(grad), expected, rtol=1e-5, atol=1e-7, err_msg=variable.name
        )


def configured(case):
    """A cell with every option moved off its default, to exercise get_config fully."""
    options = {
        "layer_norm": True,
        "dropout": 0.1,
        "recurrent_dropout": 0.2,
        "seed": 11,
        "kernel_regularizer": keras.regularizers.L2(1e-4),
        "recurrent_constraint": keras.constraints.MaxNorm(3.0),
        "bias_initializer": "ones",
        "name": f"my_{case}",
    }
    if case in LSTM_LIKE:
        options.update(peephole=True, unit_forget_bias=False)
    return make(case, **options)


@pytest.mark.parametrize("case", ALL)
def test_config_round_trip(case):
    cell = configured(case)
    config = cell.get_config()
    assert type(cell).from_config(config).get_config() == config
    assert config["layer_norm"] is True
    assert config["dropout"] == 0.1


@pytest.mark.parametrize("wrapper", ["rnn", "bidirectional"])
@pytest.mark.parametrize("case", ALL)
def test_keras_file_round_trip(case, wrapper, tmp_path):
    layer = keras.layers.RNN(configured(case), return_sequences=True)
    if wrapper == "bidirectional":
        layer = keras.layers.Bidirectional(layer)
    model = keras.Sequential([keras.Input((7, 5)), layer])
    randomize(model)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)  # safe_mode: only registered classes
    x = sequence()
    np.testing.assert_array_equal(np.asarray(loaded(x)), np.asarray(model(x)))
    rnn = loaded.layers[0]
    rnns = [rnn.forward_layer, rnn.backward_layer] if wrapper == "bidirectional" else [rnn]
    for loaded_rnn in rnns:
        assert isinstance(loaded_rnn.cell, CASES[case][0])
        assert loaded_rnn.cell.get_config()["peephole" if case in LSTM_LIKE else "layer_norm"]


@pytest.mark.parametrize("case", ALL)
def test_stacked_cells_match_chained_references(case):
    lower, upper = make(case, layer_norm=True), make(case, units=3)
    x = sequence()
    hs, _ = run_sequence(keras.layers.StackedRNNCells([lower, upper]), x)
    middle, _ = reference(case)(x, weights_of(lower))
    expected, _ = reference(case)(middle, weights_of(upper))
    np.testing.assert_allclose(hs, expected, rtol=0, atol=1e-5)


@pytest.mark.parametrize("case", ALL)
def test_regularizers_add_their_penalty(case):
    cell = make(
        case,
        kernel_regularizer=keras.regularizers.L2(0.1),
        recurrent_regularizer=keras.regularizers.L1(0.2),
        bias_regularizer=keras.regularizers.L2(0.3),
    )
    layer = keras.layers.RNN(cell)
    layer(sequence())
    randomize(layer)
    w = weights_of(cell)
    expected = (
        0.1 * np.sum(w["kernel"] ** 2)
        + 0.2 * np.sum(np.abs(w["recurrent_kernel"]))
        + 0.3 * np.sum(w["bias"] ** 2)
    )
    np.testing.assert_allclose(float(sum(layer.losses)), expected, rtol=1e-5)


@pytest.mark.parametrize("case", ALL)
def test_constraints_hold_after_a_training_step(case):
    nonneg = keras.constraints.NonNeg()
    cell = make(case, kernel_constraint=nonneg, recurrent_constraint=nonneg, bias_constraint=nonneg)
    model = keras.Sequential([keras.Input((7, 5)), keras.layers.RNN(cell), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(1.0), "mse")
    randomize(model)
    x = sequence()
    model.train_on_batch(x, np.ones((3, 1)))
    for name in ("kernel", "recurrent_kernel", "bias"):
        assert weights_of(cell)[name].min() >= 0, name


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"units": 0}, "units must be a positive integer, got 0"),
        ({"units": -3}, "units must be a positive integer, got -3"),
        ({"units": 2.5}, "units must be a positive integer, got 2.5"),
        ({"dropout": 1.0}, "dropout must be in [0, 1), got 1.0"),
        ({"dropout": -0.1}, "dropout must be in [0, 1), got -0.1"),
        ({"recurrent_dropout": 1.5}, "recurrent_dropout must be in [0, 1), got 1.5"),
        (
            {"activation": "relux"},
            "activation='relux' is not a known activation; pass a name from keras.activations "
            "(e.g. 'tanh', 'sigmoid') or a callable",
        ),
        (
            {"activation": None},
            "activation=None is not an activation; pass 'linear' for the identity, "
            "a name from keras.activations (e.g. 'tanh', 'sigmoid') or a callable",
        ),
    ],
)
@pytest.mark.parametrize("cls", [SimpleRNNCell, LSTMCell, GRUCell, CIFGCell])
def test_invalid_arguments_are_named(cls, options, message):
    options = {"units": 4, **options}
    with raises_exactly(ValueError, message):
        cls(**options)


@pytest.mark.parametrize("cls", [LSTMCell, GRUCell, CIFGCell])
def test_unknown_recurrent_activation_is_named(cls):
    message = (
        "recurrent_activation='sigmoidal' is not a known activation; pass a name from "
        "keras.activations (e.g. 'tanh', 'sigmoid') or a callable"
    )
    with raises_exactly(ValueError, message):
        cls(4, recurrent_activation="sigmoidal")
