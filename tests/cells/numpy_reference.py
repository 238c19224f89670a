"""Plain NumPy references for the cells, written gate by gate from the papers' equations.

Every function runs a whole sequence in float64 and returns `(hs, states)`: the hidden state
at every step, `(batch, time, units)`, and the final states. `w` maps weight names to arrays,
as read from a built cell. Optional dropout masks are applied to `x_t` and to the `h_{t-1}`
that meets the recurrent kernel, one mask for the whole sequence.
"""

import numpy as np

EPS = 1e-3


def sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def hard_sigmoid(v):
    return np.clip(v / 6.0 + 0.5, 0.0, 1.0)


def softsign(v):
    return v / (1.0 + np.abs(v))


def normalize(v, gamma, beta):
    """Layer norm of `(batch, units)` over its units."""
    mean = v.mean(axis=-1, keepdims=True)
    var = ((v - mean) ** 2).mean(axis=-1, keepdims=True)
    return (v - mean) / np.sqrt(var + EPS) * gamma + beta


def block(a, k, units):
    """The k-th gate's columns (or entries) of a weight whose last axis stacks the gates."""
    return a[..., k * units : (k + 1) * units]


def projection(v, kernel, k, units, w, norm):
    """`v` times gate k's block of `kernel`, layer-normalized with that gate's gain and shift."""
    z = v @ block(kernel, k, units)
    if f"{norm}_gamma" in w:
        z = normalize(z, block(w[f"{norm}_gamma"], k, units), block(w[f"{norm}_beta"], k, units))
    return z


def pre_activation(x_t, h_tm1, w, k, units):
    """Gate k's pre-activation `LN(x W_k) + LN(h U_k) + b_k` (LN only when it was built)."""
    z = projection(x_t, w["kernel"], k, units, w, "input_norm")
    z = z + projection(h_tm1, w["recurrent_kernel"], k, units, w, "recurrent_norm")
    if "bias" in w:
        z = z + block(w["bias"], k, units)
    return z


def _inputs(x, w, x_mask, h_mask, h0):
    x = np.asarray(x, dtype=np.float64)
    units = w["recurrent_kernel"].shape[0]
    batch = x.shape[0]
    x_mask = np.ones((batch, x.shape[-1])) if x_mask is None else x_mask
    h_mask = np.ones((batch, units)) if h_mask is None else h_mask
    h = np.zeros((batch, units)) if h0 is None else np.asarray(h0, dtype=np.float64)
    return x * x_mask[:, None, :], units, h_mask, h


def simple_rnn(x, w, act=np.tanh, x_mask=None, h_mask=None, h0=None):
    """Elman RNN: h_t = act(W x_t + U h_{t-1} + b)."""
    x, units, h_mask, h = _inputs(x, w, x_mask, h_mask, h0)
    hs = []
    for t in range(x.shape[1]):
        h = act(pre_activation(x[:, t], h * h_mask, w, 0, units))
        hs.append(h)
    return np.stack(hs, axis=1), [h]


def _cell_output(o, c, w, act):
    if "state_norm_gamma" in w:
        c = normalize(c, w["state_norm_gamma"], w["state_norm_beta"])
    return o * act(c)


def lstm(x, w, act=np.tanh, gate=sigmoid, x_mask=None, h_mask=None, h0=None, c0=None):
    """LSTM, gates (i, f, c, o), optional peepholes (rows i, f, o) from the cell state."""
    x, units, h_mask, h = _inputs(x, w, x_mask, h_mask, h0)
    c = np.zeros_like(h) if c0 is None else np.asarray(c0, dtype=np.float64)
    p = w.get("peephole_kernel", np.zeros((3, units)))
    hs = []
    for t in range(x.shape[1]):
        h_in = h * h_mask
        i = gate(pre_activation(x[:, t], h_in, w, 0, units) + p[0] * c)
        f = gate(pre_activation(x[:, t], h_in, w, 1, units) + p[1] * c)
        candidate = act(pre_activation(x[:, t], h_in, w, 2, units))
        c = f * c + i * candidate
        o = gate(pre_activation(x[:, t], h_in, w, 3, units) + p[2] * c)
        h = _cell_output(o, c, w, act)
        hs.append(h)
    return np.stack(hs, axis=1), [h, c]


def cifg(x, w, act=np.tanh, gate=sigmoid, x_mask=None, h_mask=None, h0=None, c0=None):
    """Coupled input-forget gate LSTM, gates (f, c, o): c_t = f c_{t-1} + (1 - f) c~."""
    x, units, h_mask, h = _inputs(x, w, x_mask, h_mask, h0)
    c = np.zeros_like(h) if c0 is None else np.asarray(c0, dtype=np.float64)
    p = w.get("peephole_kernel", np.zeros((2, units)))
    hs = []
    for t in range(x.shape[1]):
        h_in = h * h_mask
        f = gate(pre_activation(x[:, t], h_in, w, 0, units) + p[0] * c)
        candidate = act(pre_activation(x[:, t], h_in, w, 1, units))
        c = f * c + (1.0 - f) * candidate
        o = gate(pre_activation(x[:, t], h_in, w, 2, units) + p[1] * c)
        h = _cell_output(o, c, w, act)
        hs.append(h)
    return np.stack(hs, axis=1), [h, c]


def gru(x, w, act=np.tanh, gate=sigmoid, reset_after=True, x_mask=None, h_mask=None, h0=None):
    """GRU, gates (z, r, h); reset after (Keras/cuDNN) or before (Cho et al.) the product."""
    x, units, h_mask, h = _inputs(x, w, x_mask, h_mask, h0)
    bias = w.get("bias")
    if reset_after and bias is not None:
        input_bias, recurrent_bias = bias[0], bias[1]
    else:
        input_bias, recurrent_bias = bias, None
    U = w["recurrent_kernel"]
    hs = []
    for t in range(x.shape[1]):
        h_in = h * h_mask

        def x_part(k, x_t=x[:, t]):
            z = projection(x_t, w["kernel"], k, units, w, "input_norm")
            return z if input_bias is None else z + block(input_bias, k, units)

        def h_part(k, v):
            z = projection(v, U, k, units, w, "recurrent_norm")
            return z if recurrent_bias is None else z + block(recurrent_bias, k, units)

        z = gate(x_part(0) + h_part(0, h_in))
        r = gate(x_part(1) + h_part(1, h_in))
        if reset_after:
            candidate = act(x_part(2) + r * h_part(2, h_in))
        else:
            candidate = act(x_part(2) + h_part(2, r * h_in))
        h = z * h + (1.0 - z) * candidate
        hs.append(h)
    return np.stack(hs, axis=1), [h]
