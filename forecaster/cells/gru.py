"""The gated recurrent unit (Cho et al. 2014), in both of Keras's forms."""

import keras
from keras import ops

from forecaster.cells.base import GatedCell


@keras.saving.register_keras_serializable(package="forecaster")
class GRUCell(GatedCell):
    """GRU cell with Keras's weight layout and gate order (z, r, h).

    `kernel (features, 3 units)`, `recurrent_kernel (units, 3 units)`. With
    `reset_after=True` (Keras's default, the cuDNN form) the bias is `(2, 3 units)`, an
    input row and a recurrent row, and the reset gate multiplies the recurrent product:

        z = sigma(x W_z + b_z + h_{t-1} U_z + b'_z)
        r = sigma(x W_r + b_r + h_{t-1} U_r + b'_r)
        h~ = act(x W_h + b_h + r * (h_{t-1} U_h + b'_h))

    With `reset_after=False` (Cho et al.'s original form) the bias is `(3 units,)` and
    the reset gate is applied before the product: `h~ = act(x W_h + b_h + (r * h_{t-1}) U_h)`.
    Both end with `h_t = z * h_{t-1} + (1 - z) * h~`. Recurrent dropout drops `h_{t-1}`
    only where it meets `U`, never in the final interpolation.

    Args:
        units: size of the hidden state, a positive integer.
        reset_after: apply the reset gate after the recurrent product (True) or before.
        **kwargs: the options of `GatedCell` and `RecurrentCell` (activation,
            recurrent_activation, use_bias, initializers, regularizers, constraints,
            dropout, recurrent_dropout, layer_norm, seed).

    Example:
        >>> layer = keras.layers.RNN(GRUCell(32, reset_after=False))
        >>> layer(np.zeros((8, 24, 3))).shape
        (8, 32)
    """

    gates = 3

    def __init__(self, units, reset_after=True, **kwargs):
        super().__init__(units, **kwargs)
        self.reset_after = bool(reset_after)

    def build_bias(self):
        """Creates the bias: `(2, 3 units)` with `reset_after`, else `(3 units,)`."""
        if not self.reset_after:
            return super().build_bias()
        return self.add_weight(
            shape=(2, self.gates * self.units),
            name="bias",
            initializer=self.bias_initializer,
            regularizer=self.bias_regularizer,
            constraint=self.bias_constraint,
        )

    def call(self, inputs, states, training=False):
        """One step: `(batch, features)` and `[h_tm1]` to `h, [h]`, each `(batch, units)`."""
        h_tm1 = states[0]
        inputs, h_dropped = self.dropped(inputs, h_tm1, training)
        x = self.input_projection(inputs)
        if self.use_bias:
            x = x + (self.bias[0] if self.reset_after else self.bias)
        x_z, x_r, x_h = ops.split(x, 3, axis=-1)
        if self.reset_after:
            rec = self.recurrent_projection(h_dropped)
            if self.use_bias:
                rec = rec + self.bias[1]
            rec_z, rec_r, rec_h = ops.split(rec, 3, axis=-1)
        else:
            rec_z, rec_r = ops.split(self.recurrent_projection(h_dropped, 0, 2), 2, axis=-1)
        z = self.recurrent_activation(x_z + rec_z)
        r = self.recurrent_activation(x_r + rec_r)
        # reset_after: r scales the recurrent product; else it scales h before the product.
        rec_h = r * rec_h if self.reset_after else self.recurrent_projection(r * h_dropped, 2, 1)
        h = z * h_tm1 + (1.0 - z) * self.activation(x_h + rec_h)
        return h, [h]

    def get_config(self):
        """Returns the constructor arguments, merged with `GatedCell`'s."""
        return {**super().get_config(), "reset_after": self.reset_after}
