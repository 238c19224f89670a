"""The native recurrences as differentiable TensorFlow functions.

`recurrence` runs one cell over a whole batch-major sequence, input projection included, in
`ForecasterRecurrence` and differentiates it with `ForecasterRecurrenceGrad` (see
`recurrence.cc`), which gives the gradients of the input, both kernels, the biases and the
initial states.
"""

import tensorflow as tf

from forecaster.cells.native.build import load

CELLS = ("rnn", "lstm", "cifg", "gru")


def recurrence(
    cell, x, W, U, h0, c0=None, bias=None, recurrent_bias=None, mask=None, sequence=True
):
    """One cell's recurrence over a whole sequence, in the native kernel.

    Args:
        cell: "rnn", "lstm", "cifg" or "gru" (with the reset gate after the product).
        x: the input sequence, `(B, T, F)`.
        W: the input kernel, `(F, G H)`, gates in the cell's order (G = 1, 4, 3, 3).
        U: the recurrent kernel, `(H, G H)`.
        h0: the initial hidden state, `(B, H)`.
        c0: the initial cell state, `(B, H)`, for "lstm" and "cifg" only.
        bias: the bias on `x W`, `(G H,)`, or None.
        recurrent_bias: the GRU's bias on `h U`, `(G H,)`, or None.
        mask: the recurrent dropout mask on `h_{t-1}`, `(B, H)`, or None; not differentiated.
        sequence: whether `hs` is differentiated. A layer without `return_sequences` passes
            False: its `hs` is then returned through `tf.stop_gradient`, and the backward
            kernel is given no gradient for it. (In a graph TensorFlow would otherwise send
            a `(B, T, H)` tensor of zeros, filled and read back at every training step.)

    Returns:
        `(hs, states)`: the hidden states `(B, T, H)` and the final states, `[h]` or, for
        "lstm" and "cifg", `[h, c]`, each `(B, H)`.

    Raises:
        ValueError: `cell` is not one of `CELLS`.
        NativeUnavailableError: the kernels do not build or load here.
    """
    if cell not in CELLS:
        raise ValueError(f"cell={cell!r} has no native kernel; pass one of {CELLS}")
    module = load()
    dtype = x.dtype
    stateful = cell in ("lstm", "cifg")
    empty = tf.zeros((0,), dtype)
    mask_in = tf.stop_gradient(empty if mask is None else mask)
    # The optional differentiable inputs, by name, in the order `run` receives them.
    optional = {"c0": c0 if stateful else None, "bias": bias, "recurrent_bias": recurrent_bias}
    names = [name for name, value in optional.items() if value is not None]
    sequences = []  # hs, when it is not an output of `run`

    @tf.custom_gradient
    def run(x, W, U, h0, *extra):
        given = dict(zip(names, extra, strict=True))
        c0_in = given.get("c0", empty)
        hs, cs, acts = module.forecaster_recurrence(
            x,
            W,
            given.get("bias", empty),
            U,
            h0,
            c0_in,
            given.get("recurrent_bias", empty),
            mask_in,
            cell=cell,
        )

        def grad(*upstream):
            if not sequence:
                upstream = (None, *upstream)
            d_hs, d_last, d_c = (*upstream, None)[:3]
            if not stateful:
                d_c = empty
            elif d_c is None:  # the final cell state is not used
                d_c = tf.zeros_like(h0)
            dx, dW, d_bias, dU, d_rbias, dh0, dc0 = module.forecaster_recurrence_grad(
                empty if d_hs is None else d_hs,
                empty if d_last is None else d_last,
                d_c,
                x,
                W,
                hs,
                cs,
                acts,
                U,
                h0,
                c0_in,
                mask_in,
                cell=cell,
            )
            found = {"c0": dc0, "bias": d_bias, "recurrent_bias": d_rbias}
            return [dx, dW, dU, dh0] + [found[name] for name in names]

        # The last output is returned on its own so that its gradient arrives as (B, H),
        # not as a (B, T, H) tensor of zeros with one step filled.
        outputs = [tf.identity(hs[:, -1])] + ([cs[-1]] if stateful else [])
        if not sequence:
            sequences.append(hs)
            return tuple(outputs), grad
        return (hs, *outputs), grad

    results = run(x, W, U, h0, *[optional[name] for name in names])
    if not sequence:
        return tf.stop_gradient(sequences[0]), list(results)
    hs, *states = results
    return hs, states
