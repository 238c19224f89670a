import keras
import numpy as np
import pytest

from forecaster.cells import CIFGCell, LSTMCell
from tests.cells import numpy_reference as ref
from tests.cells.util import randomize, sequence, weights_of


@pytest.mark.parametrize("peephole", [False, True])
def test_effective_input_gate_is_one_minus_forget_gate(peephole):
    """From the cell's own c_t: (c_t - f_t c_{t-1}) / c~_t must equal 1 - f_t at every step."""
    cell = CIFGCell(4, peephole=peephole)
    x = sequence()
    keras.layers.RNN(cell)(x)
    randomize(cell)
    w = weights_of(cell)
    p_f = w["peephole_kernel"][0] if peephole else 0.0
    h = c = np.zeros((3, 4), dtype="float32")
    for t in range(x.shape[1]):
        _, (h_next, c_next) = cell(x[:, t], [h, c])
        f = ref.sigmoid(ref.pre_activation(x[:, t], h, w, 0, 4) + p_f * c)
        candidate = np.tanh(ref.pre_activation(x[:, t], h, w, 1, 4))
        effective_input = (np.asarray(c_next) - f * c) / candidate
        np.testing.assert_allclose(effective_input, 1.0 - f, rtol=1e-4, atol=1e-5)
        h, c = np.asarray(h_next), np.asarray(c_next)


@pytest.mark.parametrize(("features", "units"), [(7, 64), (1, 3), (32, 16)])
def test_has_three_quarters_of_lstm_parameters(features, units):
    counts = []
    for cls in (CIFGCell, LSTMCell):
        cell = cls(units)
        keras.layers.RNN(cell).build((None, 10, features))
        counts.append(cell.count_params())
    assert counts[0] * 4 == counts[1] * 3


def test_forget_bias_starts_at_one():
    cell = CIFGCell(3, bias_initializer="random_normal")
    keras.layers.RNN(cell).build((None, 7, 5))
    f, c, o = np.split(np.asarray(cell.bias), 3)
    np.testing.assert_array_equal(f, np.ones(3))
    assert not np.allclose(c, 1.0)
    assert not np.allclose(o, 1.0)


def test_weight_layout():
    cell = CIFGCell(4, peephole=True)
    keras.layers.RNN(cell).build((None, 7, 5))
    assert [(w.name, tuple(w.shape)) for w in cell.weights] == [
        ("kernel", (5, 12)),
        ("recurrent_kernel", (4, 12)),
        ("bias", (12,)),
        ("peephole_kernel", (2, 4)),
    ]
