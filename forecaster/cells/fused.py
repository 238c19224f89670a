"""Whole-sequence recurrences with a hand-written backward pass, compiled with XLA.

Each function here runs one cell's equations over a time-major sequence whose input
projection `x W (+ b)` was computed beforehand for all steps at once, `(time, batch, gates
* units)`. The forward loop saves the gate activations; the backward loop walks the
sequence once in reverse, reusing them, and only the recurrent product `dz U^T` stays
inside it: the recurrent kernel's gradient is one large matmul over all steps afterwards.
Autodiff through a loop would instead save every intermediate of every step and run
several small matmuls per step. Both loops are compiled with XLA, which fuses each
step's element-wise work into a few kernels (an LSTM training step at batch 64, 96 steps,
64 units: 18.5 ms compiled, 24.5 ms with the same loops run op by op on a 2-core CPU).
The backward loops take the recurrent kernel already transposed, `U_t (G H, H)`: XLA on
CPU runs `dz U^T` with a transposed operand about 1.5x slower than a plain `dz U_t`.

The equations are exactly those of the cells' `call` (tanh candidate and output,
sigmoid gates); `forecaster.cells.sequence` only sends a cell here when they are.
Shapes: `T` steps, `B` batch, `H` units. `mask` is the recurrent dropout mask `(B, H)`
applied to `h_{t-1}` where it meets `U`, or None.
"""

import tensorflow as tf


def _prev(first, seq):
    """The value before each step: `first (B, H)`, `seq (T, B, H)` -> `(T, B, H)`."""
    return tf.concat([first[None], seq[:-1]], axis=0)


def _masked(h, mask):
    return h if mask is None else h * mask


def _loop(body, steps, carry, outputs, dtype, reverse=False):
    """Runs `body(t, *carry) -> (carry, written)` for each step; stacks `written` to `(T, ...)`.

    Args:
        body: one step, returning the new carry and a list of `outputs` tensors to keep.
        steps: the number of steps `T`.
        carry: the initial loop state, a list of tensors.
        outputs: how many tensors `body` writes per step.
        dtype: their dtype.
        reverse: walk from the last step to the first.

    Returns:
        The final carry and the stacked outputs, each `(T, ...)`, in time order.
    """
    arrays = [tf.TensorArray(dtype, size=steps) for _ in range(outputs)]

    def step(t, carry, arrays):
        index = steps - 1 - t if reverse else t
        carry, written = body(index, *carry)
        return t + 1, carry, [a.write(index, w) for a, w in zip(arrays, written, strict=True)]

    _, carry, arrays = tf.while_loop(
        lambda t, *_: t < steps, step, (0, list(carry), arrays), maximum_iterations=steps
    )
    return carry, [a.stack() for a in arrays]


def _steps(xz):
    return xz.shape[0] if xz.shape[0] is not None else tf.shape(xz)[0]


def _reduce(x):
    """Sums `(T, B, ...)` over time and batch."""
    return tf.reduce_sum(x, axis=[0, 1])


def _recurrent_kernel_grad(h_in, dz, units):
    """`sum_t h_in_t^T dz_t` as one matmul: `(T, B, H)`, `(T, B, G)` -> `(H, G)`."""
    return tf.matmul(tf.reshape(h_in, (-1, units)), tf.reshape(dz, (-1, dz.shape[-1])), True)


def _gate_dots(h, blocks):
    """`h` times each gate's block of a kernel, one small matmul per gate.

    XLA on CPU spreads one `(64, 64) x (64, 256)` matmul over threads at a cost far above
    its work; four `(64, 64) x (64, 64)` matmuls run 2.6x faster (3.7x at 128 units).
    """
    return [tf.matmul(h, block) for block in blocks]


def _zeros_if_none(grad, like):
    return tf.zeros_like(like) if grad is None else grad


def _constant(tensors):
    """Stops an enclosing tape from differentiating the compiled forward loop itself.

    Its gradient is the custom one; taping the loop would also make TensorFlow keep every
    step's intermediates, which is what the custom gradient avoids.
    """
    return [None if t is None else tf.stop_gradient(t) for t in tensors]


# ---------------------------------------------------------------- tanh RNN


@tf.function(jit_compile=True)
def _rnn_forward(xz, U, h0, mask):
    def body(t, h):
        h = tf.tanh(xz[t] + tf.matmul(_masked(h, mask), U))
        return [h], [h]

    _, (hs,) = _loop(body, _steps(xz), [h0], 1, xz.dtype)
    return hs


@tf.function(jit_compile=True)
def _rnn_backward(d_hs, hs, U, U_t, h0, mask):
    def body(t, dh_next):
        dz = (d_hs[t] + dh_next) * (1.0 - tf.square(hs[t]))
        return [_masked(tf.matmul(dz, U_t), mask)], [dz]

    (dh0,), (dz,) = _loop(body, _steps(hs), [tf.zeros_like(h0)], 1, hs.dtype, reverse=True)
    dU = _recurrent_kernel_grad(_masked(_prev(h0, hs), mask), dz, U.shape[0])
    return dz, dU, dh0


def rnn(xz, U, h0, mask=None):
    """Elman recurrence `h_t = tanh(xz_t + (h_{t-1} m) U)`.

    Args:
        xz: the input projection with bias, `(T, B, H)`.
        U: the recurrent kernel, `(H, H)`.
        h0: the initial state, `(B, H)`.
        mask: the recurrent dropout mask, `(B, H)`, or None.

    Returns:
        The hidden states `(T, B, H)`.
    """

    @tf.custom_gradient
    def run(xz, U, h0):
        hs = _rnn_forward(*_constant([xz, U, h0, mask]))

        def grad(d_hs):
            return _rnn_backward(_zeros_if_none(d_hs, hs), hs, U, tf.transpose(U), h0, mask)

        return hs, grad

    return run(xz, U, h0)


# ---------------------------------------------------------------- LSTM and CIFG


@tf.function(jit_compile=True)
def _lstm_forward(xz, U, h0, c0, peephole, mask, coupled):
    count = 3 if coupled else 4
    blocks = tf.split(U, count, axis=1)

    def body(t, h, c):
        x_parts = tf.split(xz[t], count, axis=-1)
        z = [a + b for a, b in zip(x_parts, _gate_dots(_masked(h, mask), blocks), strict=True)]
        if coupled:  # CIFG: gates f, c, o; the input gate is 1 - f
            z_f, z_c, z_o = z
            if peephole is not None:
                z_f = z_f + peephole[0] * c
            f, g = tf.sigmoid(z_f), tf.tanh(z_c)
            i = 1.0 - f
            gates = [f, g]
        else:
            z_i, z_f, z_c, z_o = z
            if peephole is not None:
                z_i = z_i + peephole[0] * c
                z_f = z_f + peephole[1] * c
            i, f, g = tf.sigmoid(z_i), tf.sigmoid(z_f), tf.tanh(z_c)
            gates = [i, f, g]
        c = f * c + i * g
        if peephole is not None:
            z_o = z_o + peephole[-1] * c
        o = tf.sigmoid(z_o)
        h = o * tf.tanh(c)
        # One write per step: each write is a separate kernel launch inside the loop.
        return [h, c], [tf.concat([h, c, *gates, o], axis=-1)]

    _, (saved,) = _loop(body, _steps(xz), [h0, c0], 1, xz.dtype)
    units = U.shape[0]
    return saved[..., :units], saved[..., units : 2 * units], saved[..., 2 * units :]


@tf.function(jit_compile=True)
def _lstm_backward(d_hs, d_c, hs, cs, acts, U, U_t, h0, c0, peephole, mask, coupled):
    c_prev = _prev(c0, cs)
    blocks = tf.split(U_t, 3 if coupled else 4, axis=0)

    def body(t, dh_next, dc_next):
        dh = d_hs[t] + dh_next
        c, cp = cs[t], c_prev[t]
        tc = tf.tanh(c)
        if coupled:
            f, g, o = tf.split(acts[t], 3, axis=-1)
        else:
            i, f, g, o = tf.split(acts[t], 4, axis=-1)
        dz_o = dh * tc * o * (1.0 - o)
        dc = dc_next + dh * o * (1.0 - tf.square(tc))
        if peephole is not None:
            dc = dc + peephole[-1] * dz_o
        dz_f = dc * f * (1.0 - f)
        if coupled:
            dz_f = dz_f * (cp - g)
            dz = [dz_f, dc * (1.0 - f) * (1.0 - tf.square(g)), dz_o]
        else:
            dz_f = dz_f * cp
            dz_i = dc * g * i * (1.0 - i)
            dz = [dz_i, dz_f, dc * i * (1.0 - tf.square(g)), dz_o]
        dh_prev = _masked(
            tf.add_n([tf.matmul(d, b) for d, b in zip(dz, blocks, strict=True)]), mask
        )
        dc_prev = dc * f
        if peephole is not None:  # rows (i, f, o), or (f, o) when coupled
            dc_prev = dc_prev + dz_f * peephole[-2]
            if not coupled:
                dc_prev = dc_prev + dz_i * peephole[0]
        return [dh_prev, dc_prev], [tf.concat(dz, axis=-1)]

    zeros = tf.zeros_like(h0)
    (dh0, dc0), (dz,) = _loop(body, _steps(hs), [zeros, d_c], 1, hs.dtype, reverse=True)
    units = U.shape[0]
    dU = _recurrent_kernel_grad(_masked(_prev(h0, hs), mask), dz, units)
    grads = [dz, dU, dh0, dc0]
    if peephole is not None:
        blocks = tf.split(dz, dz.shape[-1] // units, axis=-1)
        into_gates = blocks[:1] if coupled else blocks[:2]  # gates that see c_{t-1}
        rows = [_reduce(d * c_prev) for d in into_gates] + [_reduce(blocks[-1] * cs)]
        grads.append(tf.stack(rows))
    return grads


def lstm(xz, U, h0, c0, peephole=None, mask=None, coupled=False):
    """LSTM recurrence (gates i, f, c, o), or CIFG (f, c, o; i = 1 - f) when `coupled`.

    Args:
        xz: the input projection with bias, `(T, B, G H)`, G = 4 (LSTM) or 3 (CIFG).
        U: the recurrent kernel, `(H, G H)`.
        h0: the initial hidden state, `(B, H)`.
        c0: the initial cell state, `(B, H)`.
        peephole: the peephole kernel, `(3, H)` rows (i, f, o) or `(2, H)` rows (f, o)
            when `coupled`, or None.
        mask: the recurrent dropout mask, `(B, H)`, or None.
        coupled: tie the input gate to the forget gate (CIFG).

    Returns:
        The hidden states `(T, B, H)` and the final cell state `(B, H)`.
    """
    args = [xz, U, h0, c0] + ([] if peephole is None else [peephole])

    @tf.custom_gradient
    def run(*args):
        xz, U, h0, c0, *rest = args
        p = rest[0] if rest else None
        hs, cs, acts = _lstm_forward(*_constant([xz, U, h0, c0, p, mask]), coupled)

        def grad(d_hs, d_c):
            d_hs, d_c = _zeros_if_none(d_hs, hs), _zeros_if_none(d_c, c0)
            return _lstm_backward(
                d_hs, d_c, hs, cs, acts, U, tf.transpose(U), h0, c0, p, mask, coupled
            )

        return (hs, cs[-1]), grad

    return run(*args)


# ---------------------------------------------------------------- GRU


@tf.function(jit_compile=True)
def _gru_forward(xz, U, h0, recurrent_bias, mask, reset_after):
    blocks = tf.split(U, 3, axis=1)
    biases = None if recurrent_bias is None else tf.split(recurrent_bias, 3)

    def body(t, h):
        x_z, x_r, x_h = tf.split(xz[t], 3, axis=-1)
        h_in = _masked(h, mask)
        if reset_after:
            rec = _gate_dots(h_in, blocks)
            if biases is not None:
                rec = [r + b for r, b in zip(rec, biases, strict=True)]
            rec_z, rec_r, rec_h = rec
        else:
            rec_z, rec_r = _gate_dots(h_in, blocks[:2])
        z, r = tf.sigmoid(x_z + rec_z), tf.sigmoid(x_r + rec_r)
        if reset_after:
            candidate = tf.tanh(x_h + r * rec_h)
            saved = [z, r, candidate, rec_h]
        else:
            candidate = tf.tanh(x_h + tf.matmul(r * h_in, blocks[2]))
            saved = [z, r, candidate]
        h = z * h + (1.0 - z) * candidate
        return [h], [h, tf.concat(saved, axis=-1)]

    _, (hs, acts) = _loop(body, _steps(xz), [h0], 2, xz.dtype)
    return hs, acts


@tf.function(jit_compile=True)
def _gru_backward(d_hs, hs, acts, U, U_t, h0, mask, reset_after, has_recurrent_bias):
    units = U.shape[0]
    h_prev = _prev(h0, hs)
    U_z_t, U_r_t, U_h_t = tf.split(U_t, 3, axis=0)

    def body(t, dh_next):
        dh = d_hs[t] + dh_next
        blocks = tf.split(acts[t], acts.shape[-1] // units, axis=-1)
        z, r, candidate = blocks[:3]
        dz_z = dh * (h_prev[t] - candidate) * z * (1.0 - z)
        dz_h = dh * (1.0 - z) * (1.0 - tf.square(candidate))
        if reset_after:
            dz_r = dz_h * blocks[3] * r * (1.0 - r)
            d_in = tf.matmul(dz_z, U_z_t) + tf.matmul(dz_r, U_r_t) + tf.matmul(dz_h * r, U_h_t)
        else:
            h_in = _masked(h_prev[t], mask)
            d_reset_h = tf.matmul(dz_h, U_h_t)  # d(r h_in)
            dz_r = d_reset_h * h_in * r * (1.0 - r)
            d_in = d_reset_h * r + tf.matmul(dz_z, U_z_t) + tf.matmul(dz_r, U_r_t)
        return [dh * z + _masked(d_in, mask)], [tf.concat([dz_z, dz_r, dz_h], axis=-1)]

    (dh0,), (dxz,) = _loop(body, _steps(hs), [tf.zeros_like(h0)], 1, hs.dtype, reverse=True)
    h_in = _masked(h_prev, mask)
    r = acts[..., units : 2 * units]
    dz_zr, dz_h = dxz[..., : 2 * units], dxz[..., 2 * units :]
    if reset_after:
        d_rec = tf.concat([dz_zr, dz_h * r], axis=-1)
        dU = _recurrent_kernel_grad(h_in, d_rec, units)
    else:
        d_rec = None
        dU_zr = _recurrent_kernel_grad(h_in, dz_zr, units)
        dU = tf.concat([dU_zr, _recurrent_kernel_grad(r * h_in, dz_h, units)], axis=-1)
    grads = [dxz, dU, dh0]
    if has_recurrent_bias:
        grads.append(_reduce(d_rec))
    return grads


def gru(xz, U, h0, recurrent_bias=None, mask=None, reset_after=True):
    """GRU recurrence, gates (z, r, h), with the reset gate after or before `U`.

    Args:
        xz: the input projection with the input bias, `(T, B, 3 H)`.
        U: the recurrent kernel, `(H, 3 H)`.
        h0: the initial state, `(B, H)`.
        recurrent_bias: the bias added to `h U` with `reset_after`, `(3 H,)`, or None.
        mask: the recurrent dropout mask, `(B, H)`, or None.
        reset_after: apply the reset gate to `h U` (True) or to `h` before `U_h`.

    Returns:
        The hidden states `(T, B, H)`.
    """
    args = [xz, U, h0] + ([] if recurrent_bias is None else [recurrent_bias])

    @tf.custom_gradient
    def run(*args):
        xz, U, h0, *rest = args
        bias = rest[0] if rest else None
        hs, acts = _gru_forward(*_constant([xz, U, h0, bias, mask]), reset_after)

        def grad(d_hs):
            d_hs = _zeros_if_none(d_hs, hs)
            U_t = tf.transpose(U)
            return _gru_backward(d_hs, hs, acts, U, U_t, h0, mask, reset_after, bias is not None)

        return hs, grad

    return run(*args)
