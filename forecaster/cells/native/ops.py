"""The native recurrences as differentiable TensorFlow functions.

`recurrence` runs one cell over a whole time-major sequence in `ForecasterRecurrence` and
differentiates it with `ForecasterRecurrenceGrad` (see `recurrence.cc`). The kernels give
the gradients of every step's gate pre-activations, of the recurrent kernel and of the
GRU's recurrent bias; the input kernel's and the input bias's come from TensorFlow
differentiating the input projection `x W + b` that the caller computed.
"""

import tensorflow as tf

from forecaster.cells.native.build import load

CELLS = ("rnn", "lstm", "cifg", "gru")


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
        `(hs, states)`: the hidden states `(T, B, H)` and the final states, `[h]` or, for
        "lstm" and "cifg", `[h, c]`, each `(B, H)`. A model that uses only the final states
        (a layer without `return_sequences`) sends the kernel no gradient for `hs`.

    Raises:
        ValueError: `cell` is not one of `CELLS`.
        NativeUnavailableError: the kernels do not build or load here.
    """
    if cell not in CELLS:
        raise ValueError(f"cell={cell!r} has no native kernel; pass one of {CELLS}")
    module = load()
    dtype = xz.dtype
    stateful = cell in ("lstm", "cifg")
    empty = tf.zeros((0,), dtype)
    mask_in = tf.stop_gradient(empty if mask is None else mask)
    extra = [c0] if stateful else []
    extra += [] if recurrent_bias is None else [recurrent_bias]

    @tf.custom_gradient
    def run(xz, U, h0, *extra):
        c0 = extra[0] if stateful else None
        bias = extra[-1] if recurrent_bias is not None else None
        c0_in = empty if c0 is None else c0
        hs, cs, acts = module.forecaster_recurrence(
            xz, U, h0, c0_in, empty if bias is None else bias, mask_in, cell=cell
        )

        def grad(d_hs, d_last, d_c=None):
            if not stateful:
                d_c = empty
            elif d_c is None:  # the final cell state is not used
                d_c = tf.zeros_like(h0)
            dxz, dU, d_bias, dh0, dc0 = module.forecaster_recurrence_grad(
                empty if d_hs is None else d_hs,
                empty if d_last is None else d_last,
                d_c,
                hs,
                cs,
                acts,
                U,
                h0,
                c0_in,
                mask_in,
                cell=cell,
            )
            grads = [dxz, dU, dh0] + ([dc0] if stateful else [])
            if bias is not None:
                grads.append(d_bias)
            return grads

        # The last output is returned on its own so that its gradient arrives as (B, H),
        # not as a (T, B, H) tensor of zeros with one step filled.
        if stateful:
            return (hs, tf.identity(hs[-1]), cs[-1]), grad
        return (hs, tf.identity(hs[-1])), grad

    hs, *states = run(xz, U, h0, *extra)
    return hs, states
