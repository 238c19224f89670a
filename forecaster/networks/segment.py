"""The segment-recurrent network (SegRNN, Lin et al. 2023), the cell a parameter.

`NetworkConfig(architecture="segment")` builds it through `forecaster.networks.build_network`:

1. each window's target channels are normalized on their own, per channel: "last"
   subtracts the window's last value, "revin" subtracts its mean and divides by its
   standard deviation (RevIN without the learned affine map); the output is mapped back
   the same way, so a shift of every target input by c shifts the forecast by c;
2. channels are independent series through the same weights: the targets
   `(batch, lookback, channels)` become `(batch * channels, segments, segment_length)`,
   and each segment is embedded by one dense map with a ReLU into `units` values, a
   single step of the recurrent encoder; `layers` recurrent layers are stacked, each
   segment step through all of them, in both directions where `bidirectional` is set,
   with the input added to the output from the second layer on where `residual` is set;
3. the horizon is decoded in parallel, SegRNN's "parallel multi-step forecasting" (PMF):
   each layer's final states are repeated once per horizon segment, and each copy starts
   one step of the same layer (the encoder's weights, as in SegRNN's `nn.GRU`, whose
   layers and directions the decoder step goes through as the encoder's did) whose input
   is a learned embedding of the segment's position, concatenated with one of the channel
   (`channel_embedding=True`, half the units each); a dense map turns each step's output
   into the segment's `segment_length` values, behind SegRNN's dropout where
   `head_dropout` is set.

Covariates, which the window normalization leaves as the caller scaled them:

- past-only inputs (the inputs that are not targets) and the lookback part of the
  known-future features are cut into the same segments; each segment's values, flattened,
  are concatenated to every channel's segment before the segment embedding;
- each horizon segment's known-future values, flattened, and the static features go
  through one dense map to the query width that is added to that segment's queries, so
  the forecast of each horizon segment sees that segment's calendar and the series'
  statics.

Without covariates and with one layer the network is SegRNN's, as it was before they came.
The recurrent layers are `forecaster.networks.layers.recurrent`, so every cell works, with
its dropout, layer normalization and peepholes.
"""

import numbers

import keras
from keras import ops

from forecaster.networks import outputs as outputs_
from forecaster.networks.layers import head, make_cell, recurrent, static_features
from forecaster.networks.segment_layers import (
    SegmentQueries,
    TakeChannels,
    WindowNormalization,
    WindowRestore,
)


def check_steps(lookback, horizon, segment_length):
    """Raises a ValueError unless `lookback` and `horizon` are whole segments."""
    for name, steps in (("lookback", lookback), ("horizon", horizon)):
        if steps % segment_length:
            raise ValueError(
                f"{name}={steps} is not a multiple of segment_length={segment_length}; "
                "the segment design cuts it into whole segments"
            )


def target_positions_of(shapes, target_positions=None):
    """The targets' positions among the past inputs, checked.

    Args:
        shapes: the network's `Shapes`.
        target_positions: the position on `past`'s last axis of each target, in the
            targets' order; None: the inputs are the targets, in the same order.

    Returns:
        A list of `shapes.targets` distinct positions in `range(shapes.inputs)`.

    Raises:
        ValueError: None with more inputs than targets, or positions that are not one
            distinct input position per target.

    Example:
        >>> target_positions_of(Shapes(96, 24, inputs=3, targets=1), [2])
        [2]
    """
    inputs, targets = shapes.inputs, shapes.targets
    if target_positions is None:
        if inputs != targets:
            raise ValueError(
                "the segment design forecasts each target from its own past, so it needs "
                f"target_positions, the targets' positions among the inputs; got {inputs} "
                f"inputs, {targets} targets and target_positions=None"
            )
        return list(range(targets))
    positions = list(target_positions)
    fits = all(
        isinstance(p, numbers.Integral) and not isinstance(p, bool) and 0 <= p < inputs
        for p in positions
    )
    if len(positions) != targets or not fits or len(set(positions)) != targets:
        raise ValueError(
            f"target_positions={positions} must give each of the {targets} targets its "
            f"position among the {inputs} inputs: {targets} distinct integers in range({inputs})"
        )
    return [int(p) for p in positions]


def _inputs(shapes):
    """The model's inputs (`past` alone, or a dict) and each of them, by name."""
    named = {"past": keras.Input((shapes.lookback, shapes.inputs), name="past")}
    if shapes.known:
        named["future"] = keras.Input(
            (shapes.lookback + shapes.horizon, shapes.known), name="future"
        )
    if shapes.static:
        named["static"] = keras.Input((shapes.static,), name="static")
    return (named if len(named) > 1 else named["past"]), named


def _split(named, shapes, positions):
    """The targets `(B, L, C)` and the covariates over the lookback, each `(B, L, F_i)`.

    The covariates are `past`'s other channels and the lookback part of `future`, each
    where there is one.
    """
    past, future = named["past"], named.get("future")
    if positions == list(range(shapes.inputs)):
        targets, covariates = past, []
    else:
        targets = TakeChannels(positions, name="targets")(past)
        others = [p for p in range(shapes.inputs) if p not in positions]
        covariates = [TakeChannels(others, name="past_covariates")(past)] if others else []
    if future is not None:
        covariates.append(future[:, : shapes.lookback])  # (B, L+H, K) -> (B, L, K)
    return targets, covariates


def _by_segment(x, width):
    """Each segment's values flattened: `(B, T, F) -> (B, T / width, width * F)`."""
    return ops.reshape(x, (-1, x.shape[1] // width, width * x.shape[2]))


def _per_channel(x, channels):
    """The same rows for every channel: `(B, ...) -> (B * C, ...)`, row `b * C + c`."""
    return ops.repeat(x, channels, axis=0)


def _stack(config):
    """The recurrent layers, one tuple per depth: `(forward,)` or `(forward, backward)`."""
    stack = []
    for depth in range(config.layers):
        name = "recurrent" if depth == 0 else f"recurrent_{depth}"
        directions = []
        for suffix in ("", "_backward")[: 2 if config.bidirectional else 1]:
            directions.append(
                recurrent(
                    make_cell(config, config.units),
                    return_sequences=depth < config.layers - 1,
                    return_state=True,
                    name=name + suffix,
                )
            )
        stack.append(tuple(directions))
    return stack


def _run(stack, x, residual, initial=None):
    """`x (B, T, F)` through the stacked layers; the last output and each one's final states.

    The backward direction reads the sequence reversed, and its outputs are put back in
    time order, as `keras.layers.Bidirectional` does; its own layer (not a `Bidirectional`
    wrapper) lets the decoder step start it from its own states with the encoder's weights.

    Args:
        stack: `_stack`'s layers.
        x: the input sequence, `(B, T, F)`.
        residual: add each layer's input to its output, from the second layer on.
        initial: each depth's initial states per direction, or None (zeros).

    Returns:
        The last layer's output, `(B, D)` (or `(B, 2D)` with both directions), and each
        depth's final states per direction.
    """
    finals = []
    for depth, directions in enumerate(stack):
        outputs, states = [], []
        for k, layer in enumerate(directions):
            sequence = ops.flip(x, axis=1) if k else x
            start = None if initial is None else initial[depth][k]
            y, *final = layer(sequence, initial_state=start)
            outputs.append(ops.flip(y, axis=1) if k and layer.return_sequences else y)
            states.append(final)
        y = outputs[0] if len(outputs) == 1 else ops.concatenate(outputs, axis=-1)
        if residual and depth > 0:
            y = y + (x if directions[0].return_sequences else x[:, -1])
        finals.append(states)
        x = y
    return x, finals


def _encoder_inputs(targets, covariates, width):
    """Each channel's segments, with the covariates' segments: `(B*C, N, W + W*F)`.

    Args:
        targets: the normalized targets, `(B, L, C)`.
        covariates: the covariates over the lookback, a list of `(B, L, F_i)`, maybe empty.
        width: the segment length, W.
    """
    channels = targets.shape[-1]
    x = ops.transpose(targets, (0, 2, 1))  # (B, L, C) -> (B, C, L)
    x = ops.reshape(x, (-1, targets.shape[1] // width, width))  # (B, C, L) -> (B*C, N, W)
    if not covariates:
        return x
    shared = covariates[0] if len(covariates) == 1 else ops.concatenate(covariates, axis=-1)
    shared = _per_channel(_by_segment(shared, width), channels)  # (B, L, F) -> (B*C, N, W*F)
    return ops.concatenate([x, shared], axis=-1)


def _decode(config, shapes, stack, states, named):
    """SegRNN's parallel decoding: one step per (channel, horizon segment), `(B*C*M, D)`.

    Each step starts from the encoder's final states (`states`, each `(B*C, D)`) and reads
    its segment's queries, to which the horizon's known future and the statics are added
    through one dense map to the query width.
    """
    segments = shapes.horizon // config.segment_length
    initial = [
        [[ops.repeat(s, segments, axis=0) for s in final] for final in depth] for depth in states
    ]  # each (B*C, D) -> (B*C*M, D), row (b * C + c) * M + m
    queries = SegmentQueries(
        segments, shapes.targets, config.units, config.channel_embedding, name="queries"
    )(named["past"])  # (B*C*M, 1, D)
    parts = []
    if "future" in named:
        horizon = named["future"][:, shapes.lookback :]  # (B, L+H, K) -> (B, H, K)
        parts.append(_by_segment(horizon, config.segment_length))  # (B, M, W*K)
    if "static" in named:
        static = static_features(named["static"], shapes, config)  # categories embedded
        parts.append(ops.repeat(static[:, None], segments, axis=1))  # (B, M, S)
    if parts:
        x = parts[0] if len(parts) == 1 else ops.concatenate(parts, axis=-1)  # (B, M, W*K+S)
        x = keras.layers.Dense(config.units, name="covariate_queries")(x)  # (B, M, D)
        x = _per_channel(x, shapes.targets)  # (B, M, D) -> (B*C, M, D)
        queries = queries + ops.reshape(x, (-1, 1, config.units))  # (B*C*M, 1, D)
    y, _ = _run(stack, queries, config.residual, initial=initial)
    return y  # (B*C*M, D), (B*C*M, 2D) with both directions


def build_segment(config, shapes, target_positions=None):
    """The segment-recurrent network for `shapes`, from the inputs to `(horizon, targets)`.

    Args:
        config: a `NetworkConfig` with `architecture="segment"`.
        shapes: a `Shapes` whose lookback and horizon are multiples of
            `config.segment_length`; the model takes `past (lookback, inputs)`, or, with
            covariates, a dict of it, `future (lookback + horizon, known)` and
            `static (static,)`.
        target_positions: for each target, in the order of the output's channels, its
            position on `past`'s last axis (`[inputs.index(t) for t in targets]`); the
            other inputs are past covariates. None: the inputs are the targets, in the
            same order.

    Returns:
        An uncompiled `keras.Model` to `(batch, horizon, targets)`.

    Raises:
        ValueError: the lookback or the horizon is not whole segments, or the target
            positions are not one distinct input per target (None with more inputs than
            targets included).

    Example:
        >>> config = NetworkConfig(cell="gru", architecture="segment", segment_length=48)
        >>> model = build_network(config, Shapes(720, 96, 7, 7))
    """
    positions = target_positions_of(shapes, target_positions)
    check_steps(shapes.lookback, shapes.horizon, config.segment_length)
    width, channels = config.segment_length, shapes.targets
    inputs, named = _inputs(shapes)
    targets, covariates = _split(named, shapes, positions)
    x, loc, scale = WindowNormalization(config.normalization, name="normalization")(targets)
    x = _encoder_inputs(x, covariates, width)  # (B*C, N, W + W*F)
    x = keras.layers.Dense(config.units, activation="relu", name="segment_embedding")(x)
    stack = _stack(config)
    _, states = _run(stack, x, config.residual)  # (B*C, N, D) -> states, each (B*C, D)
    y = _decode(config, shapes, stack, states, named)  # (B*C*M, D)
    kind = outputs_.Outputs.of(config)
    if kind.probabilistic:
        k = kind.channels
        y = head(config, y, width * k)  # (B*C*M, D) -> (B*C*M, W*K)
        y = ops.reshape(y, (-1, channels, shapes.horizon, k))  # -> (B, C, M*W, K)
        y = ops.transpose(y, (0, 2, 1, 3))  # (B, C, H, K) -> (B, H, C, K)
        outputs = outputs_.restore(kind, y, loc, scale)
        return keras.Model(inputs, outputs, name=f"segment_{config.cell}")
    y = head(config, y, width)  # (B*C*M, D) -> (B*C*M, W)
    y = ops.reshape(y, (-1, channels, shapes.horizon))  # (B*C*M, W) -> (B, C, M*W)
    y = ops.transpose(y, (0, 2, 1))  # (B, C, H) -> (B, H, C)
    outputs = WindowRestore(name="restore")(y, loc, scale)
    return keras.Model(inputs, outputs, name=f"segment_{config.cell}")
