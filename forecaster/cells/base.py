"""What every recurrent cell shares: argument checks, weights, dropout masks and layer norm.

A cell here is a `keras.layers.Layer` that meets the `keras.layers.RNN` contract
(`state_size`, `output_size`, `build`, `call(inputs, states, training)`, `get_config`).
The concrete cells (`SimpleRNNCell`, `LSTMCell`, `GRUCell`, `CIFGCell`) add only their gate
equations on top of `RecurrentCell`.
"""

import keras
from keras import ops

from forecaster import checks

LAYER_NORM_EPSILON = 1e-3  # the default of keras.layers.LayerNormalization


def _dropout_rnn_cell_mixin():
    """Returns the mixin class that `keras.layers.RNN` recognizes as a dropout-capable cell.

    `keras.layers.RNN.call` creates each cell's dropout masks once per sequence, before its
    time loop, only for cells that are instances of Keras's `DropoutRNNCell`; a cell that
    made its own masks inside the loop would draw a new mask at every step. Keras does not
    export the class, so it is taken from the public `keras.layers.LSTMCell` rather than
    imported from `keras.src`.
    """
    for klass in keras.layers.LSTMCell.__mro__:
        if klass.__name__ == "DropoutRNNCell":
            return klass
    raise ImportError(
        f"keras {keras.__version__} has no DropoutRNNCell mixin behind keras.layers.LSTMCell; "
        "forecaster's cells need it for per-sequence dropout masks"
    )


DropoutRNNCell = _dropout_rnn_cell_mixin()


def get_activation(name, identifier):
    """Resolves an activation like `keras.activations.get`, with an error that names it."""
    if identifier is None:
        raise ValueError(
            f"{name}=None is not an activation; pass 'linear' for the identity, "
            "a name from keras.activations (e.g. 'tanh', 'sigmoid') or a callable"
        )
    try:
        return keras.activations.get(identifier)
    except (ValueError, TypeError):
        raise ValueError(
            f"{name}={identifier!r} is not a known activation; pass a name from "
            "keras.activations (e.g. 'tanh', 'sigmoid') or a callable"
        ) from None


def layer_norm(x, gamma, beta, groups):
    """Normalizes each of `groups` equal slices of the last axis on its own.

    Args:
        x: pre-activations, `(batch, groups * units)`.
        gamma: gains, `(groups * units,)`.
        beta: shifts, `(groups * units,)`.
        groups: the number of gates stacked along the last axis.

    Returns:
        The normalized pre-activations, `(batch, groups * units)`.
    """
    batch_shape = ops.shape(x)[:-1]
    width = x.shape[-1]
    x = ops.reshape(x, (-1, groups, width // groups))  # (B, G*H) -> (B, G, H)
    mean = ops.mean(x, axis=-1, keepdims=True)
    variance = ops.mean(ops.square(x - mean), axis=-1, keepdims=True)
    x = (x - mean) * ops.rsqrt(variance + LAYER_NORM_EPSILON)
    x = ops.reshape(x, (*batch_shape, width))  # (B, G, H) -> (B, G*H)
    return x * gamma + beta


class RecurrentCell(keras.layers.Layer, DropoutRNNCell):
    """Base of the project's recurrent cells; not a cell by itself.

    Handles the options every cell shares, creates the input and recurrent kernels with
    one column block per gate (in the subclass's gate order), the optional layer-norm
    gains and shifts, and the dropout masks, which `keras.layers.RNN` draws once per
    sequence and the cell reuses at every step (Gal & Ghahramani 2016).

    Layer normalization (Ba et al. 2016) is applied to the input projection `x W` and to
    the recurrent projection `h U` separately, and within each to every gate's slice on
    its own, so that one gate's statistics do not shift another's; the bias is added
    after. LSTM-type cells also normalize the cell state before the output activation.

    Subclasses set `gates` (the number of column blocks in the kernels) and implement
    `build_bias` and `call`.

    Args:
        units: size of the hidden state, a positive integer.
        activation: the candidate (and LSTM output) activation.
        use_bias: whether the cell has a bias vector.
        kernel_initializer: initializer of the input kernel, `(features, gates * units)`.
        recurrent_initializer: initializer of the recurrent kernel, `(units, gates * units)`.
        bias_initializer: initializer of the bias.
        kernel_regularizer: regularizer of the input kernel.
        recurrent_regularizer: regularizer of the recurrent kernel.
        bias_regularizer: regularizer of the bias.
        kernel_constraint: constraint on the input kernel.
        recurrent_constraint: constraint on the recurrent kernel.
        bias_constraint: constraint on the bias.
        dropout: fraction of the inputs dropped in training, in [0, 1).
        recurrent_dropout: fraction of the previous hidden state dropped in training before
            it meets the recurrent kernel, in [0, 1).
        layer_norm: whether to layer-normalize the gate pre-activations (and cell state).
        seed: seed of the dropout masks.
        **kwargs: passed to `keras.layers.Layer` (`name`, `dtype`, ...).
    """

    gates = 1

    def __init__(
        self,
        units,
        activation="tanh",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        layer_norm=False,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = int(checks.positive_int("units", units))
        self.activation = get_activation("activation", activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.recurrent_initializer = keras.initializers.get(recurrent_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = keras.regularizers.get(recurrent_regularizer)
        self.bias_regularizer = keras.regularizers.get(bias_regularizer)
        self.kernel_constraint = keras.constraints.get(kernel_constraint)
        self.recurrent_constraint = keras.constraints.get(recurrent_constraint)
        self.bias_constraint = keras.constraints.get(bias_constraint)
        self.dropout = checks.rate("dropout", dropout)
        self.recurrent_dropout = checks.rate("recurrent_dropout", recurrent_dropout)
        self.layer_norm = bool(layer_norm)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed=seed)
        self.state_size = [self.units]
        self.output_size = self.units

    def build(self, input_shape):
        """Creates the kernels, the bias and, with `layer_norm`, the norm gains and shifts."""
        width = self.gates * self.units
        self.kernel = self.add_weight(
            shape=(input_shape[-1], width),
            name="kernel",
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, width),
            name="recurrent_kernel",
            initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint,
        )
        self.bias = self.build_bias() if self.use_bias else None
        self.build_extra()
        if self.layer_norm:
            self.input_norm = self._norm_weights("input_norm", width)
            self.recurrent_norm = self._norm_weights("recurrent_norm", width)

    def build_bias(self):
        """Creates the bias vector, `(gates * units,)`."""
        return self.add_weight(
            shape=(self.gates * self.units,),
            name="bias",
            initializer=self.bias_initializer,
            regularizer=self.bias_regularizer,
            constraint=self.bias_constraint,
        )

    def build_extra(self):
        """Creates a subclass's own weights (peepholes, state norm); none by default."""

    def _norm_weights(self, name, width):
        gamma = self.add_weight(shape=(width,), name=f"{name}_gamma", initializer="ones")
        beta = self.add_weight(shape=(width,), name=f"{name}_beta", initializer="zeros")
        return gamma, beta

    def dropped(self, inputs, h_tm1, training):
        """Applies this sequence's dropout masks to the step's inputs and previous state.

        Returns:
            `(inputs, h_tm1)` with the masks applied in training, unchanged otherwise.
        """
        if training and self.dropout > 0:
            inputs = inputs * self.get_dropout_mask(inputs)
        if training and self.recurrent_dropout > 0:
            h_tm1 = h_tm1 * self.get_recurrent_dropout_mask(h_tm1)
        return inputs, h_tm1

    def input_projection(self, inputs):
        """Returns `x W`, layer-normalized per gate when `layer_norm`, `(batch, gates*units)`."""
        z = ops.matmul(inputs, self.kernel)
        if self.layer_norm:
            z = layer_norm(z, *self.input_norm, self.gates)
        return z

    def recurrent_projection(self, h, first=0, count=None):
        """Returns `h U` over gates `first .. first + count - 1`, layer-normalized per gate.

        Args:
            h: the (dropped-out) previous hidden state, `(batch, units)`.
            first: the first gate's block index.
            count: the number of gates; all from `first` on by default.

        Returns:
            The recurrent pre-activations, `(batch, count * units)`.
        """
        count = self.gates - first if count is None else count
        columns = slice(first * self.units, (first + count) * self.units)
        kernel = self.recurrent_kernel if count == self.gates else self.recurrent_kernel[:, columns]
        z = ops.matmul(h, kernel)
        if self.layer_norm:
            gamma, beta = self.recurrent_norm
            z = layer_norm(z, gamma[columns], beta[columns], count)
        return z

    def get_initial_state(self, batch_size=None):
        """Returns zero states, one `(batch, units)` tensor per entry of `state_size`."""
        return [ops.zeros((batch_size, size), dtype=self.compute_dtype) for size in self.state_size]

    def get_config(self):
        """Returns the constructor arguments, merged with `keras.layers.Layer`'s."""
        config = {
            "units": self.units,
            "activation": keras.activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": keras.initializers.serialize(self.recurrent_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
            "recurrent_regularizer": keras.regularizers.serialize(self.recurrent_regularizer),
            "bias_regularizer": keras.regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": keras.constraints.serialize(self.kernel_constraint),
            "recurrent_constraint": keras.constraints.serialize(self.recurrent_constraint),
            "bias_constraint": keras.constraints.serialize(self.bias_constraint),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "layer_norm": self.layer_norm,
            "seed": self.seed,
        }
        return {**super().get_config(), **config}


class GatedCell(RecurrentCell):
    """A `RecurrentCell` with sigmoid-like gates (LSTM, GRU, CIFG).

    Args:
        units: size of the hidden state, a positive integer.
        recurrent_activation: the gate activation.
        **kwargs: the options of `RecurrentCell`.
    """

    def __init__(self, units, recurrent_activation="sigmoid", **kwargs):
        super().__init__(units, **kwargs)
        self.recurrent_activation = get_activation("recurrent_activation", recurrent_activation)

    def get_config(self):
        """Returns the constructor arguments, merged with `RecurrentCell`'s."""
        config = {"recurrent_activation": keras.activations.serialize(self.recurrent_activation)}
        return {**super().get_config(), **config}
