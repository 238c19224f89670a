"""The coupled input-forget gate LSTM (CIFG; Greff et al. 2015, "LSTM: A Search Space Odyssey")."""

import keras
from keras import ops

from forecaster.cells.lstm import LSTMCell


@keras.saving.register_keras_serializable(package="forecaster")
class CIFGCell(LSTMCell):
    """LSTM whose input gate is tied to its forget gate: `i = 1 - f`.

    Gate order is (f, c, o): `kernel (features, 3 units)`, `recurrent_kernel
    (units, 3 units)`, `bias (3 units,)`, three quarters of `LSTMCell`'s parameters.
    With `a = x W + h_{t-1} U + b`:

        f = sigma(a_f + p_f * c_{t-1})      c~ = act(a_c)
        c_t = f * c_{t-1} + (1 - f) * c~
        o = sigma(a_o + p_o * c_t)          h_t = o * act(c_t)

    Peepholes (`peephole_kernel (2, units)`, rows (f, o)), layer norm, dropout and
    `unit_forget_bias` behave as in `LSTMCell`.

    Args:
        units: size of the hidden and cell states, a positive integer.
        **kwargs: the options of `LSTMCell`.

    Example:
        >>> layer = keras.layers.RNN(CIFGCell(32))
        >>> layer(np.zeros((8, 24, 3))).shape
        (8, 32)
    """

    gates = 3
    forget_gate = 0
    peephole_gates = 2  # rows of peephole_kernel: f, o

    def call(self, inputs, states, training=False):
        """One step: `(batch, features)` and `[h_tm1, c_tm1]` to `h, [h, c]`."""
        c_tm1 = states[1]
        z_f, z_c, z_o = ops.split(self.pre_activations(inputs, states, training), 3, axis=-1)
        if self.peephole:
            p_f, p_o = ops.unstack(self.peephole_kernel, axis=0)
            z_f = z_f + p_f * c_tm1
        f = self.recurrent_activation(z_f)
        c = f * c_tm1 + (1.0 - f) * self.activation(z_c)
        if self.peephole:
            z_o = z_o + p_o * c
        h = self.output(self.recurrent_activation(z_o), c)
        return h, [h, c]
