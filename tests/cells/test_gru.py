import keras
import pytest

from forecaster.cells import GRUCell
from tests.cells.keras_parity import assert_matches_keras


@pytest.mark.parametrize("reset_after", [True, False])
@pytest.mark.parametrize("return_sequences", [True, False])
def test_matches_keras_gru(reset_after, return_sequences):
    assert_matches_keras(
        GRUCell(4, reset_after=reset_after),
        keras.layers.GRU(
            4, reset_after=reset_after, return_sequences=return_sequences, return_state=True
        ),
        return_sequences,
    )


@pytest.mark.parametrize(("reset_after", "bias_shape"), [(True, (2, 12)), (False, (12,))])
def test_bias_shape_follows_the_form(reset_after, bias_shape):
    cell = GRUCell(4, reset_after=reset_after)
    keras.layers.RNN(cell).build((None, 7, 5))
    assert [(w.name, tuple(w.shape)) for w in cell.weights] == [
        ("kernel", (5, 12)),
        ("recurrent_kernel", (4, 12)),
        ("bias", bias_shape),
    ]
