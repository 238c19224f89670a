import keras
import pytest

from forecaster.cells import SimpleRNNCell
from tests.cells.keras_parity import assert_matches_keras


@pytest.mark.parametrize("return_sequences", [True, False])
def test_matches_keras_simple_rnn(return_sequences):
    assert_matches_keras(
        SimpleRNNCell(4),
        keras.layers.SimpleRNN(4, return_sequences=return_sequences, return_state=True),
        return_sequences,
    )


def test_weight_layout_is_keras():
    cell = SimpleRNNCell(4)
    keras.layers.RNN(cell).build((None, 7, 5))
    assert [(w.name, tuple(w.shape)) for w in cell.weights] == [
        ("kernel", (5, 4)),
        ("recurrent_kernel", (4, 4)),
        ("bias", (4,)),
    ]
    assert cell.state_size == [4]
