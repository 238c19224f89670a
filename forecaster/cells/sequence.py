"""The shared fast sequence layer: `keras.layers.RNN` with a fused loop for the project's cells."""

import keras
import tensorflow as tf
from keras import ops

from forecaster.cells import block, fused
from forecaster.cells.cifg import CIFGCell
from forecaster.cells.gru import GRUCell
from forecaster.cells.lstm import LSTMCell
from forecaster.cells.simple_rnn import SimpleRNNCell

FAST_CELLS = (SimpleRNNCell, LSTMCell, GRUCell, CIFGCell)
FAST_DTYPES = ("float32", "float64")
BLOCK_DTYPES = ("float32",)


@keras.saving.register_keras_serializable(package="forecaster")
class FastRNN(keras.layers.RNN):
    """`keras.layers.RNN` that runs the project's cells through fused loops where they are exact.

    Takes the same arguments, gives the same outputs and gradients (to float rounding),
    and saves the same weights as `keras.layers.RNN(cell)`: the cell keeps its weights,
    regularizers, constraints and dropout masks, and only the loop over time changes.

    Two fused loops, both computing exactly the cell's equations:

    - in training, an `LSTMCell` in float32 runs TensorFlow's `BlockLSTMV2` kernel forward
      and `BlockLSTMGradV2` backward (`forecaster.cells.block`), except with recurrent
      dropout (the kernel has no place for its mask); the layer then sets
      `supports_jit = False`, as `keras.layers.LSTM` does for cuDNN;
    - every other case in training runs `forecaster.cells.fused`: the input projection
      `x W` as one matmul over all steps, an XLA-compiled recurrence and a hand-written
      backward pass.

    In inference every cell runs Keras's own loop, which predicted as fast or faster (the
    fused loop saves gate activations; BlockLSTMV2 predicted 2x slower at 128 units).

    The fused loops are taken only for a `SimpleRNNCell`, `LSTMCell`, `GRUCell` or
    `CIFGCell` (not a subclass) with tanh activation, sigmoid gates, no layer norm,
    float32 or float64, and no mask; anywhere else the layer runs `keras.layers.RNN`'s own
    loop over the cell, and `fallback_reason` says why. Works inside
    `keras.layers.Bidirectional`, with `return_sequences`, `return_state`,
    `initial_state`, `go_backwards` and `stateful`.

    Args:
        cell: a recurrent cell (any cell `keras.layers.RNN` accepts).
        **kwargs: the options of `keras.layers.RNN` (`return_sequences`,
            `return_state`, `go_backwards`, `stateful`, `unroll`, ...).

    Example:
        >>> layer = FastRNN(LSTMCell(32), return_sequences=True)
        >>> layer(np.zeros((8, 24, 3))).shape
        (8, 24, 32)
    """

    def __init__(self, cell, **kwargs):
        super().__init__(cell, **kwargs)
        if self.fallback_reason() is None and self._block_cell():
            self.supports_jit = False  # BlockLSTMV2 has no XLA kernel

    def _block_cell(self):
        """Whether the cell can run `BlockLSTMV2` (with no recurrent dropout in training)."""
        cell = self.cell
        return type(cell) is LSTMCell and cell.compute_dtype in BLOCK_DTYPES

    def loop_for(self, mask=None, training=False):
        """Names the loop a call runs: "block", "fused" or "keras".

        Args:
            mask: the mask the layer is called with, `(batch, time)`, or None.
            training: whether the call is in training.

        Returns:
            "block" (`forecaster.cells.block`), "fused" (`forecaster.cells.fused`) or
            "keras" (`keras.layers.RNN`'s loop over the cell).
        """
        if self.fallback_reason(mask) is not None:
            return "keras"
        if not training:
            return "keras"
        if self._block_cell() and self.cell.recurrent_dropout == 0:
            return "block"
        return "fused"

    def fallback_reason(self, mask=None):
        """Says why this layer runs Keras's step-by-step loop, or returns None if it does not.

        Args:
            mask: the mask the layer is called with, `(batch, time)`, or None.

        Returns:
            None when the fused loop computes the cell's equations exactly, else a sentence
            naming the option that keeps it off.
        """
        cell = self.cell
        if type(cell) not in FAST_CELLS:
            kind = f"{type(cell).__module__}.{type(cell).__qualname__}"
            return f"{kind} is not one of forecaster's four cells"
        if cell.layer_norm:
            return "layer_norm=True has no fused loop"
        if cell.activation is not keras.activations.tanh:
            return "the fused loop needs activation='tanh'"
        if not isinstance(cell, SimpleRNNCell) and (
            cell.recurrent_activation is not keras.activations.sigmoid
        ):
            return "the fused loop needs recurrent_activation='sigmoid'"
        if cell.compute_dtype not in FAST_DTYPES:
            return f"compute dtype {cell.compute_dtype} has no fused loop (float32 or float64)"
        if mask is not None:
            return "masked sequences have no fused loop"
        return None

    def inner_loop(self, sequences, initial_state, mask, training=False):
        """Runs the fused loop where it is exact, else `keras.layers.RNN`'s own.

        Returns:
            `(last_output, outputs, states)` as `keras.layers.RNN.inner_loop` does:
            `(batch, units)`, `(batch, time, units)` and the list of final states.
        """
        loop = self.loop_for(mask, training)
        if loop == "keras":
            return super().inner_loop(sequences, initial_state, mask, training)
        cell = self.cell
        dtype = cell.compute_dtype
        x = ops.cast(sequences, dtype)
        if self.go_backwards:  # outputs stay in processing order, as keras.layers.RNN's
            x = ops.flip(x, axis=1)
        # The masks were drawn once for this sequence by RNN.call; the cell's getters
        # return those same masks.
        if training and cell.dropout > 0:
            x = x * cell.get_dropout_mask(x[:, 0])[:, None, :]
        mask_h = None
        if training and cell.recurrent_dropout > 0:
            mask_h = cell.get_recurrent_dropout_mask(initial_state[0])
        states = [ops.cast(s, dtype) for s in initial_state]
        if loop == "block":
            hs, states = self._block(x, states)
        else:
            hs, states = self._fused(x, states, mask_h)
        hs = tf.transpose(hs, (1, 0, 2))  # (T, B, H) -> (B, T, H)
        return hs[:, -1], hs, states

    def _block(self, x, states):
        """The LSTM over `x (B, T, F)` in `BlockLSTMV2`; returns `(T, B, H)` and final states."""
        cell = self.cell
        weights = [cell.kernel, cell.recurrent_kernel, cell.bias if cell.use_bias else None]
        peephole = cell.peephole_kernel if cell.peephole else None
        kernel, recurrent_kernel, bias, peephole = [
            None if w is None else ops.cast(w, cell.compute_dtype) for w in [*weights, peephole]
        ]
        x_time = tf.transpose(x, (1, 0, 2))  # (B, T, F) -> (T, B, F)
        hs, cs = block.lstm(x_time, kernel, recurrent_kernel, bias, *states, peephole)
        return hs, [hs[-1], cs[-1]]

    def _fused(self, x, states, mask_h):
        """The recurrence over `x (B, T, F)`; returns `(T, B, H)` outputs and final states."""
        cell = self.cell
        dtype = cell.compute_dtype
        kernel = ops.cast(cell.kernel, dtype)
        recurrent_kernel = ops.cast(cell.recurrent_kernel, dtype)
        bias = ops.cast(cell.bias, dtype) if cell.use_bias else None
        x_time = tf.transpose(x, (1, 0, 2))  # (B, T, F) -> (T, B, F)
        xz = tf.tensordot(x_time, kernel, 1)  # (T, B, F) -> (T, B, G*H)
        if isinstance(cell, GRUCell):
            recurrent_bias = None
            if bias is not None and cell.reset_after:
                xz, recurrent_bias = xz + bias[0], bias[1]
            elif bias is not None:
                xz = xz + bias
            hs = fused.gru(
                xz, recurrent_kernel, states[0], recurrent_bias, mask_h, cell.reset_after
            )
            return hs, [hs[-1]]
        if bias is not None:
            xz = xz + bias
        if isinstance(cell, LSTMCell):  # CIFGCell included
            peephole = ops.cast(cell.peephole_kernel, dtype) if cell.peephole else None
            coupled = isinstance(cell, CIFGCell)
            hs, c = fused.lstm(xz, recurrent_kernel, *states, peephole, mask_h, coupled)
            return hs, [hs[-1], c]
        hs = fused.rnn(xz, recurrent_kernel, states[0], mask_h)
        return hs, [hs[-1]]
