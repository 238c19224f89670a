"""The long short-term memory cell (Hochreiter & Schmidhuber 1997; Gers et al. 2000)."""

import keras
from keras import ops

from forecaster.cells.base import GatedCell, layer_norm


@keras.saving.register_keras_serializable(package="forecaster")
class LSTMCell(GatedCell):
    """LSTM cell with Keras's weight layout, and optional peepholes and layer norm.

    Gate order is Keras's (i, f, c, o): `kernel (features, 4 units)`,
    `recurrent_kernel (units, 4 units)`, `bias (4 units,)`, so weights copied from
    `keras.layers.LSTM` give the same numbers. With `a = x W + h_{t-1} U + b`:

        i = sigma(a_i + p_i * c_{t-1})      f = sigma(a_f + p_f * c_{t-1})
        c~ = act(a_c)                       c_t = f * c_{t-1} + i * c~
        o = sigma(a_o + p_o * c_t)          h_t = o * act(c_t)

    The peephole terms `p * c` (Gers & Schmidhuber 2000) are there only with `peephole`;
    their weights are `peephole_kernel (3, units)`, rows (i, f, o). With `layer_norm`,
    `x W` and `h U` are normalized per gate (see `RecurrentCell`) and `h_t` uses
    `act(LN(c_t))`, while the carried state `c_t` stays unnormalized (Ba et al. 2016).

    Args:
        units: size of the hidden and cell states, a positive integer.
        unit_forget_bias: start the forget-gate bias at 1 (Jozefowicz et al. 2015).
        peephole: add peephole connections from the cell state to the gates.
        peephole_initializer: initializer of `peephole_kernel`.
        **kwargs: the options of `GatedCell` and `RecurrentCell` (activation,
            recurrent_activation, use_bias, initializers, regularizers, constraints,
            dropout, recurrent_dropout, layer_norm, seed).

    Example:
        >>> layer = keras.layers.RNN(LSTMCell(32, peephole=True), return_sequences=True)
        >>> layer(np.zeros((8, 24, 3))).shape
        (8, 24, 32)
    """

    gates = 4
    forget_gate = 1  # index of the forget gate's column block
    peephole_gates = 3  # rows of peephole_kernel: i, f, o

    def __init__(
        self,
        units,
        unit_forget_bias=True,
        peephole=False,
        peephole_initializer="glorot_uniform",
        **kwargs,
    ):
        super().__init__(units, **kwargs)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.peephole = bool(peephole)
        self.peephole_initializer = keras.initializers.get(peephole_initializer)
        self.state_size = [self.units, self.units]

    def build_bias(self):
        """Creates the bias; with `unit_forget_bias` the forget gate's block starts at 1."""
        if not self.unit_forget_bias:
            return super().build_bias()
        units, before = self.units, self.forget_gate * self.units
        after = (self.gates - self.forget_gate - 1) * units

        def initializer(shape, dtype=None):
            blocks = [keras.initializers.get("ones")((units,), dtype=dtype)]
            if before:
                blocks.insert(0, self.bias_initializer((before,), dtype=dtype))
            if after:
                blocks.append(self.bias_initializer((after,), dtype=dtype))
            return ops.concatenate(blocks)

        return self.add_weight(
            shape=(self.gates * units,),
            name="bias",
            initializer=initializer,
            regularizer=self.bias_regularizer,
            constraint=self.bias_constraint,
        )

    def build_extra(self):
        """Creates the peephole weights and the cell-state norm when they are asked for."""
        if self.peephole:
            self.peephole_kernel = self.add_weight(
                shape=(self.peephole_gates, self.units),
                name="peephole_kernel",
                initializer=self.peephole_initializer,
            )
        if self.layer_norm:
            self.state_norm = self._norm_weights("state_norm", self.units)

    def pre_activations(self, inputs, states, training):
        """Returns the gates' pre-activations `(batch, gates * units)` before peepholes."""
        inputs, h_dropped = self.dropped(inputs, states[0], training)
        z = self.input_projection(inputs) + self.recurrent_projection(h_dropped)
        if self.use_bias:
            z = z + self.bias
        return z

    def output(self, o, c):
        """Returns `h_t = o * act(c_t)`, with `c_t` layer-normalized when `layer_norm`."""
        if self.layer_norm:
            c = layer_norm(c, *self.state_norm, 1)
        return o * self.activation(c)

    def call(self, inputs, states, training=False):
        """One step: `(batch, features)` and `[h_tm1, c_tm1]` to `h, [h, c]`."""
        c_tm1 = states[1]
        z_i, z_f, z_c, z_o = ops.split(self.pre_activations(inputs, states, training), 4, axis=-1)
        if self.peephole:
            p_i, p_f, p_o = ops.unstack(self.peephole_kernel, axis=0)
            z_i = z_i + p_i * c_tm1
            z_f = z_f + p_f * c_tm1
        i = self.recurrent_activation(z_i)
        f = self.recurrent_activation(z_f)
        c = f * c_tm1 + i * self.activation(z_c)
        if self.peephole:
            z_o = z_o + p_o * c
        h = self.output(self.recurrent_activation(z_o), c)
        return h, [h, c]

    def get_config(self):
        """Returns the constructor arguments, merged with `GatedCell`'s."""
        config = {
            "unit_forget_bias": self.unit_forget_bias,
            "peephole": self.peephole,
            "peephole_initializer": keras.initializers.serialize(self.peephole_initializer),
        }
        return {**super().get_config(), **config}
