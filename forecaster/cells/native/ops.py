"""The native recurrences as differentiable TensorFlow functions.

`recurrence` runs one cell over a whole time-major sequence in `ForecasterRecurrence` and
differentiates it with `ForecasterRecurrenceGrad` (see `recurrence.cc`). The kernels give
the gradient of every step's gate pre-activations; the recurrent kernel's gradient is
then one matmul over all steps here, and the input kernel's and the bias's come from
TensorFlow differentiating the input projection `x W + b` that the caller computed.
"""

import tensorflow as tf

from forecaster.cells.native.build import load

CELLS = ("rnn", "lstm", "cifg", "gru")
GATES = {"rnn": 1, "lstm": 4, "cifg": 3, "gru": 3}


def _or_empty(tensor, dtype):
    return tf.zeros((0,), dtype) if tensor is None else tensor


def _zeros_if_none(grad, like):
    return tf.zeros_like(like) if grad is None else grad


def recurrence(cell, xz, U, h0, c0=None, recurrent_bias=None, mask=None):
    """One cell's recurrence over a whole sequence, in the native kernel.

    Args:
        cell: "rnn", "lstm", "cifg" or "gru" (with the reset gate after the product).
        xz: the input projection with the input bias, `(T, B, G H)`, gates in the cell's
            order (G = 1, 4, 3, 3).
        U: the recurrent kernel, `(H, G H)`.
        h0: the initial hidden state, `(B, H)`.
        c0: the initial cell state, `(B, H)`, for "lstm" and "cifg" only.
        recurrent_bias: the GRU's bias on `h U`, `(G H,)`, or None.
        mask: the recurrent dropout mask on `h_{t-1}`, `(B, H)`, or None; not differentiated.

    Returns:
        The hidden states `(T, B, H)`, and for "lstm" and "cifg" also the final cell state
        `(B, H)`.
    """
    module = load()
    dtype = xz.dtype
    stateful = cell in ("lstm", "cifg")
    mask_in = tf.stop_gradient(_or_empty(mask, dtype))
    extra = [c0] if stateful else []
    extra += [] if recurrent_bias is None else [recurrent_bias]

    @tf.custom_gradient
    def run(xz, U, h0, *extra):
        c0 = extra[0] if stateful else None
        bias = extra[-1] if recurrent_bias is not None else None
        c0_in = _or_empty(c0, dtype)
        hs, cs, acts = module.forecaster_recurrence(
            xz, U, h0, c0_in, _or_empty(bias, dtype), mask_in, cell=cell
        )

        def grad(d_hs, d_c=None):
            d_c = _zeros_if_none(d_c, h0) if stateful else tf.zeros((0,), dtype)
            dxz, drec, dh0, dc0 = module.forecaster_recurrence_grad(
                _zeros_if_none(d_hs, hs), d_c, hs, cs, acts, U, h0, c0_in, mask_in, cell=cell
            )
            d_rec = drec if cell == "gru" else dxz  # the gradient of h_{t-1} U (+ its bias)
            h_prev = tf.concat([h0[None], hs[:-1]], axis=0)
            if mask is not None:
                h_prev = h_prev * mask_in
            units, width = U.shape[0], U.shape[1]
            dU = tf.matmul(
                tf.reshape(h_prev, (-1, units)), tf.reshape(d_rec, (-1, width)), transpose_a=True
            )
            grads = [dxz, dU, dh0] + ([dc0] if stateful else [])
            if bias is not None:
                grads.append(tf.reduce_sum(d_rec, axis=[0, 1]))
            return grads

        if stateful:
            return (hs, cs[-1]), grad
        return hs, grad

    return run(xz, U, h0, *extra)
