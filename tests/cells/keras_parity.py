"""Runs one of our cells and Keras's built-in layer on the same random weights."""

import keras
import numpy as np

from tests.cells.util import randomize, sequence


def assert_matches_keras(cell, keras_layer, return_sequences):
    """Copies random weights from `keras_layer` into `RNN(cell)` and demands the same outputs.

    Both run with `return_state=True`, so the final states are compared as well.
    """
    x = sequence()
    keras_layer(x)
    randomize(keras_layer)
    ours = keras.layers.RNN(cell, return_sequences=return_sequences, return_state=True)
    ours(x)
    ours.set_weights(keras_layer.get_weights())
    expected, got = keras_layer(x), ours(x)
    assert len(got) == len(expected)
    for ours_out, keras_out in zip(got, expected, strict=True):
        np.testing.assert_allclose(np.asarray(ours_out), np.asarray(keras_out), rtol=0, atol=1e-6)
