"""The plain tanh recurrent cell (Elman 1990)."""

import keras

from forecaster.cells.base import RecurrentCell


@keras.saving.register_keras_serializable(package="forecaster")
class SimpleRNNCell(RecurrentCell):
    """Elman recurrent cell: `h_t = act(W x_t + U h_{t-1} + b)`.

    Weights follow `keras.layers.SimpleRNNCell`: `kernel (features, units)`,
    `recurrent_kernel (units, units)`, `bias (units,)`.

    Args:
        units: size of the hidden state, a positive integer.
        **kwargs: the options of `forecaster.cells.base.RecurrentCell` (activation, use_bias,
            initializers, regularizers, constraints, dropout, recurrent_dropout, layer_norm,
            seed).

    Example:
        >>> layer = keras.layers.RNN(SimpleRNNCell(32))
        >>> layer(np.zeros((8, 24, 3))).shape
        (8, 32)
    """

    gates = 1

    def call(self, inputs, states, training=False):
        """One step: `(batch, features)` and `[h_tm1]` to `h, [h]`, each `(batch, units)`."""
        h_tm1 = states[0]
        inputs, h_dropped = self.dropped(inputs, h_tm1, training)
        z = self.input_projection(inputs) + self.recurrent_projection(h_dropped)
        if self.use_bias:
            z = z + self.bias
        h = self.activation(z)
        return h, [h]
