"""The LSTM recurrence through TensorFlow's fused `BlockLSTMV2` kernel.

`tf.raw_ops.BlockLSTMV2` runs the whole sequence in one CPU (or GPU) kernel, and
`BlockLSTMGradV2` its whole backward pass in another, with no per-step graph overhead;
`forecaster.cells.FastRNN` uses them in training.
Per step they compute, with `[x_t, h_{t-1}] w + b` split into gates i, c, f, o in Keras's
order (the V2 ops use i, f, c, o, unlike `BlockLSTM`'s i, c, f, o):

    i = sigma(a_i + wci * c_{t-1})      f = sigma(a_f + wcf * c_{t-1})
    c_t = f * c_{t-1} + i * tanh(a_c)   o = sigma(a_o + wco * c_t)      h_t = o * tanh(c_t)

which are exactly `LSTMCell`'s equations with tanh and sigmoid (the peephole rows are
`wci, wcf, wco`; `cell_clip=0` turns clipping off; the V2 op has no forget bias).
TensorFlow registers the V2 op's gradient with the V1 gradient op, which reads the gates
in the V1 order and so gives wrong gradients; here the gradient calls `BlockLSTMGradV2`.

The ops have no XLA kernel: a layer that takes this path sets `supports_jit = False`, as
`keras.layers.LSTM` does for its cuDNN path. They run in float32 (and float16) only, and
have no place for a recurrent dropout mask on `h_{t-1}`.
"""

import tensorflow as tf


def _zeros_if_none(grad, like):
    return tf.zeros_like(like) if grad is None else grad


def lstm(x, kernel, recurrent_kernel, bias, h0, c0, peephole=None):
    """LSTM over a time-major sequence with Keras's gate order (i, f, c, o).

    Args:
        x: the (dropped-out) inputs, `(T, B, F)`.
        kernel: the input kernel, `(F, 4 H)`.
        recurrent_kernel: the recurrent kernel, `(H, 4 H)`.
        bias: the bias, `(4 H,)`, or None.
        h0: the initial hidden state, `(B, H)`.
        c0: the initial cell state, `(B, H)`.
        peephole: the peephole kernel `(3, H)`, rows (i, f, o), or None.

    Returns:
        The hidden states `(T, B, H)` and the cell states `(T, B, H)`.
    """
    units = recurrent_kernel.shape[0]
    use_peephole = peephole is not None
    if bias is None:
        bias = tf.zeros((4 * units,), x.dtype)
    if peephole is None:
        peephole = tf.zeros((3, units), x.dtype)

    @tf.custom_gradient
    def run(x, kernel, recurrent_kernel, bias, h0, c0, peephole):
        w = tf.concat([kernel, recurrent_kernel], axis=0)  # (F + H, 4 H), rows [x, h]
        wci, wcf, wco = tf.unstack(peephole)
        steps = tf.cast(tf.shape(x)[0], tf.int64)
        common = {
            "seq_len_max": steps,
            "x": x,
            "cs_prev": c0,
            "h_prev": h0,
            "w": w,
            "wci": wci,
            "wcf": wcf,
            "wco": wco,
            "b": bias,
            "use_peephole": use_peephole,
        }
        i, cs, f, o, ci, co, h = tf.raw_ops.BlockLSTMV2(cell_clip=0.0, **common)

        def grad(d_h, d_cs):
            grads = tf.raw_ops.BlockLSTMGradV2(
                i=i,
                cs=cs,
                f=f,
                o=o,
                ci=ci,
                co=co,
                h=h,
                cs_grad=_zeros_if_none(d_cs, cs),
                h_grad=_zeros_if_none(d_h, h),
                **common,
            )
            d_x, d_c0, d_h0, d_w, d_wci, d_wcf, d_wco, d_bias = grads
            d_kernel, d_recurrent = tf.split(d_w, [kernel.shape[0], units], axis=0)
            d_peephole = tf.stack([d_wci, d_wcf, d_wco])
            return d_x, d_kernel, d_recurrent, d_bias, d_h0, d_c0, d_peephole

        return (h, cs), grad

    return run(x, kernel, recurrent_kernel, bias, h0, c0, peephole)
