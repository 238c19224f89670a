"""The shared fast sequence layer: `keras.layers.RNN` with a fused loop for the project's cells."""

import keras
import tensorflow as tf
from keras import ops

from forecaster.cells import fused, native
from forecaster.cells.cifg import CIFGCell
from forecaster.cells.gru import GRUCell
from forecaster.cells.lstm import LSTMCell
from forecaster.cells.simple_rnn import SimpleRNNCell

FAST_CELLS = (SimpleRNNCell, LSTMCell, GRUCell, CIFGCell)
FAST_DTYPES = ("float32", "float64")
# Above this many units the per-step products are large enough that TensorFlow's own matmul
# in Keras's loop is as fast as the native kernels or faster (GRU at batch 1792 x 15 steps
# x 512 units: 1.2x Keras's time; at 256 units about even), so those layers keep Keras's loop.
NATIVE_MAX_UNITS = 256


@keras.saving.register_keras_serializable(package="forecaster")
class FastRNN(keras.layers.RNN):
    """`keras.layers.RNN` that runs the project's cells through fused loops where they are exact.

    Takes the same arguments, gives the same outputs and gradients (to float rounding),
    and saves the same weights as `keras.layers.RNN(cell)`: the cell keeps its weights,
    regularizers, constraints and dropout masks, and only the loop over time changes.

    Two fused loops, both computing exactly the cell's equations:

    - "native": the C++ kernels of `forecaster.cells.native`, in training and inference,
      for every cell without peepholes (the GRU with the reset gate after the product,
      Keras's default), on a machine with no GPU where the kernels build; the input
      projection `x W` is summed into each step's product inside the kernels, and the layer
      sets `supports_jit = False` (the kernels have no XLA form), as `keras.layers.LSTM`
      does for cuDNN;
    - "fused": in training, the other cases (peepholes, the GRU's reset-before form, or no
      C++ compiler) run `forecaster.cells.fused`, an XLA-compiled loop with a hand-written
      backward pass and the input projection as one matmul over all steps; in inference
      they run Keras's loop.

    Cells of more than `NATIVE_MAX_UNITS` units run Keras's loop: there the matmuls dominate
    and TensorFlow's are as fast as the kernels'.

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
        if self.native_reason() is None:
            self.supports_jit = False  # the native kernels have no XLA form

    def native_reason(self):
        """Says why this layer's cell cannot run the native kernels, or returns None if it can."""
        reason = self.fallback_reason()
        if reason is not None:
            return reason
        cell = self.cell
        if isinstance(cell, LSTMCell) and cell.peephole:
            return "the native kernels have no peepholes"
        if isinstance(cell, GRUCell) and not cell.reset_after:
            return "the native kernels need reset_after=True"
        if cell.units > NATIVE_MAX_UNITS:
            return f"units={cell.units} is above {NATIVE_MAX_UNITS}, where Keras's loop is as fast"
        if tf.config.list_logical_devices("GPU"):
            return "the native kernels run on CPU only (a GPU is visible)"
        return native.available()

    def loop_for(self, mask=None, training=False):
        """Names the loop a call runs: "native", "fused" or "keras".

        Args:
            mask: the mask the layer is called with, `(batch, time)`, or None.
            training: whether the call is in training.

        Returns:
            "native" (`forecaster.cells.native`), "fused" (`forecaster.cells.fused`) or
            "keras" (`keras.layers.RNN`'s loop over the cell).
        """
        if self.fallback_reason(mask) is not None:
            return "keras"
        if self.native_reason() is None:
            return "native"
        if training and self.cell.units <= NATIVE_MAX_UNITS:
            return "fused"
        return "keras"

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
        if loop == "native":
            hs, states = self._native(x, states, mask_h)
        else:
            hs, states = self._fused(x, states, mask_h)
            hs = tf.transpose(hs, (1, 0, 2))  # (T, B, H) -> (B, T, H)
        # The last output is the final hidden state; without return_sequences Keras uses
        # only it, and the sequence is pruned from the graph.
        return states[0], hs, states

    def _projected(self, x):
        """`x W + b` for all steps at once, time-major, for the fused loop; with its kernels.

        Returns:
            `xz (T, B, G*H)` (with the input bias), the recurrent kernel `(H, G*H)` and the
            GRU's recurrent bias `(G*H,)` (None for the other cells, or without a bias or
            with reset_after=False, where the one bias is in `xz`).
        """
        cell = self.cell
        dtype = cell.compute_dtype
        kernel = ops.cast(cell.kernel, dtype)
        bias = ops.cast(cell.bias, dtype) if cell.use_bias else None
        x_time = tf.transpose(x, (1, 0, 2))  # (B, T, F) -> (T, B, F)
        xz = tf.tensordot(x_time, kernel, 1)  # (T, B, F) -> (T, B, G*H)
        recurrent_bias = None
        if bias is not None and isinstance(cell, GRUCell) and cell.reset_after:
            xz, recurrent_bias = xz + bias[0], bias[1]
        elif bias is not None:
            xz = xz + bias
        return xz, ops.cast(cell.recurrent_kernel, dtype), recurrent_bias

    def _native(self, x, states, mask_h):
        """The recurrence over `x (B, T, F)` in the native kernels, input projection included.

        Returns:
            The hidden states `(B, T, H)` and the final states. Without return_sequences
            Keras's RNN uses only the last output, so the sequence is not differentiated.
        """
        cell = self.cell
        dtype = cell.compute_dtype
        kernel = ops.cast(cell.kernel, dtype)
        recurrent_kernel = ops.cast(cell.recurrent_kernel, dtype)
        bias = ops.cast(cell.bias, dtype) if cell.use_bias else None
        options = {"mask": mask_h, "sequence": self.return_sequences}
        if isinstance(cell, LSTMCell):  # CIFGCell included
            name = "cifg" if isinstance(cell, CIFGCell) else "lstm"
            return native.recurrence(
                name, x, kernel, recurrent_kernel, *states, bias=bias, **options
            )
        if bias is not None and isinstance(cell, GRUCell):  # reset_after: (2, 3 H)
            options["recurrent_bias"] = bias[1]
            bias = bias[0]
        name = "gru" if isinstance(cell, GRUCell) else "rnn"
        return native.recurrence(name, x, kernel, recurrent_kernel, states[0], bias=bias, **options)

    def _fused(self, x, states, mask_h):
        """The recurrence over `x (B, T, F)` in XLA; returns `(T, B, H)` and final states."""
        xz, recurrent_kernel, recurrent_bias = self._projected(x)
        cell = self.cell
        if isinstance(cell, GRUCell):
            hs = fused.gru(
                xz, recurrent_kernel, states[0], recurrent_bias, mask_h, cell.reset_after
            )
            return hs, [hs[-1]]
        if isinstance(cell, LSTMCell):  # CIFGCell included
            peephole = ops.cast(cell.peephole_kernel, cell.compute_dtype) if cell.peephole else None
            coupled = isinstance(cell, CIFGCell)
            hs, c = fused.lstm(xz, recurrent_kernel, *states, peephole, mask_h, coupled)
            return hs, [hs[-1], c]
        hs = fused.rnn(xz, recurrent_kernel, states[0], mask_h)
        return hs, [hs[-1]]
