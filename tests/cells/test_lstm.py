import keras
import numpy as np
import pytest

from forecaster.cells import LSTMCell
from tests.cells.keras_parity import assert_matches_keras


@pytest.mark.parametrize("return_sequences", [True, False])
def test_matches_keras_lstm(return_sequences):
    assert_matches_keras(
        LSTMCell(4),
        keras.layers.LSTM(4, return_sequences=return_sequences, return_state=True),
        return_sequences,
    )


def test_forget_bias_starts_at_one():
    cell = LSTMCell(3, bias_initializer="random_normal")
    keras.layers.RNN(cell).build((None, 7, 5))
    i, f, c, o = np.split(np.asarray(cell.bias), 4)
    np.testing.assert_array_equal(f, np.ones(3))
    for other in (i, c, o):
        assert not np.allclose(other, 1.0)


def test_forget_bias_follows_initializer_when_turned_off():
    cell = LSTMCell(3, unit_forget_bias=False)
    keras.layers.RNN(cell).build((None, 7, 5))
    np.testing.assert_array_equal(np.asarray(cell.bias), np.zeros(12))


def test_weight_layout():
    cell = LSTMCell(4, peephole=True, layer_norm=True)
    keras.layers.RNN(cell).build((None, 7, 5))
    assert [(w.name, tuple(w.shape)) for w in cell.weights] == [
        ("kernel", (5, 16)),
        ("recurrent_kernel", (4, 16)),
        ("bias", (16,)),
        ("peephole_kernel", (3, 4)),
        ("state_norm_gamma", (4,)),
        ("state_norm_beta", (4,)),
        ("input_norm_gamma", (16,)),
        ("input_norm_beta", (16,)),
        ("recurrent_norm_gamma", (16,)),
        ("recurrent_norm_beta", (16,)),
    ]
    assert cell.state_size == [4, 4]
