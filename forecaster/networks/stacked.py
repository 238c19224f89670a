"""The stacked recurrent designs: "direct", "seq2seq" and "recursive".

- "direct": a stacked recurrent encoder over the lookback and a dense head that emits all
  `horizon x targets` values at once;
- "seq2seq": the same encoder, whose final states start a recurrent decoder that runs over
  the horizon fed the known-future covariates (or, without any, the encoder's summary
  repeated), with a dense layer per step;
- "recursive": a one-step model (horizon 1) that the caller rolls forward over the horizon,
  feeding each forecast back as the next input.

Inputs follow `forecaster.data.Windows`: `past (lookback, inputs)`, and when there are
covariates a dict that adds `future (lookback + horizon, known)` and `static (static,)`.
The output is `(horizon, targets)`.

Where every target is among the inputs, each design also (`NetworkConfig`):

- normalizes each window of the targets (`normalization`, "last" by default: the window's
  last value is subtracted) before the encoder, and restores the output the same way, so a
  series' level does not have to be learned;
- adds a highway (`highway`): a linear map, shared by the targets and starting at zero, from
  each target's normalized window to its horizon (LSTNet's autoregressive component), so
  the network starts from a linear forecast and learns what the cell adds to it.
"""

import keras
from keras import ops

from forecaster.networks import outputs as outputs_
from forecaster.networks.layers import head, make_cell, recurrent, static_features
from forecaster.networks.segment_layers import TakeChannels, WindowNormalization, WindowRestore


class _Window:
    """The targets' normalized window, and how the output is finished from it."""

    def __init__(self, config, shapes, past, positions):
        if positions is None and shapes.inputs == shapes.targets:
            positions = list(range(shapes.targets))
        self.config, self.shapes = config, shapes
        self.own = self.loc = self.scale = None
        self.sequence = past
        if positions is None or (config.normalization == "none" and not config.highway):
            return
        own = TakeChannels(positions, name="targets")(past)
        own, self.loc, self.scale = WindowNormalization(config.normalization, name="normalization")(
            own
        )
        others = [i for i in range(shapes.inputs) if i not in set(positions)]
        parts = [own]
        if others:
            parts.append(TakeChannels(others, name="past_covariates")(past))
        self.own = own
        self.sequence = keras.layers.Concatenate()(parts) if others else own

    def finish(self, outputs):
        """The network's output, with highway and restored.

        `outputs` is `(batch, horizon, targets)`, or `(..., channels)` for a probabilistic
        output (`forecaster.networks.outputs`), whose parameters are restored each as its
        family needs.
        """
        kind = outputs_.Outputs.of(self.config)
        linear = None
        if self.own is not None and self.config.highway:
            window = ops.transpose(self.own, (0, 2, 1))  # (B, L, T) -> (B, T, L)
            linear = keras.layers.Dense(
                self.shapes.horizon, kernel_initializer="zeros", name="highway"
            )(window)
            linear = ops.transpose(linear, (0, 2, 1))  # (B, T, H) -> (B, H, T)
        if kind.probabilistic:
            return outputs_.restore(kind, outputs, self.loc, self.scale, linear)
        if self.own is None:
            return outputs
        if linear is not None:
            outputs = keras.layers.Add()([outputs, linear])
        return WindowRestore(name="restore")(outputs, self.loc, self.scale)


def _inputs(shapes, config, positions=None):
    """The model's Keras inputs, the encoder's input sequence and the targets' window."""
    past = keras.Input((shapes.lookback, shapes.inputs), name="past")
    window = _Window(config, shapes, past, positions)
    if not (shapes.known or shapes.static):
        return past, window.sequence, None, None, window
    named = {"past": past}
    parts = [window.sequence]
    future = static = None
    if shapes.known:
        future = named["future"] = keras.Input(
            (shapes.lookback + shapes.horizon, shapes.known), name="future"
        )
        parts.append(future[:, : shapes.lookback])
    if shapes.static:
        named["static"] = keras.Input((shapes.static,), name="static")
        static = static_features(named["static"], shapes, config)
        parts.append(_tiled(static, shapes.lookback))
    return named, keras.layers.Concatenate()(parts), future, static, window


def _tiled(static, steps):
    return keras.layers.RepeatVector(steps)(static)  # (B, S) -> (B, steps, S)


def _merge(states):
    """Bidirectional's (forward..., backward...) states as one concatenated state per slot."""
    half = len(states) // 2
    return [keras.layers.Concatenate()([states[i], states[half + i]]) for i in range(half)]


def encode(sequence, config, return_states=False):
    """Stacked encoder; returns the final output and, if asked, each layer's final states."""
    states = []
    x = sequence
    for depth in range(config.layers):
        last = depth == config.layers - 1
        outputs = recurrent(
            make_cell(config, config.units),
            return_sequences=not last,
            return_state=return_states,
            bidirectional=config.bidirectional,
            name=f"encoder_{depth}",
        )(x)
        if return_states:
            outputs, *layer_states = outputs
            states.append(_merge(layer_states) if config.bidirectional else layer_states)
        if config.residual and depth > 0:
            skip = x[:, -1] if last else x  # (B, T, D) -> (B, D) at the last layer
            outputs = keras.layers.Add()([outputs, skip])
        x = outputs
    return (x, states) if return_states else x


def build_direct(config, shapes, target_positions=None, name=None):
    """Encoder and a dense head emitting `(horizon, targets)` at once.

    `target_positions`: each target's position among the past inputs; None: the inputs are
    the targets (or, with other inputs, no normalization and no highway).
    """
    inputs, sequence, future, static, window = _inputs(shapes, config, target_positions)
    summary = encode(sequence, config)
    parts = [summary]
    if future is not None:
        parts.append(keras.layers.Flatten()(future[:, shapes.lookback :]))
    if static is not None:
        parts.append(static)
    if len(parts) > 1:
        summary = keras.layers.Concatenate()(parts)
    channels = outputs_.Outputs.of(config).channels
    flat = head(config, summary, shapes.horizon * shapes.targets * channels)
    shape = (shapes.horizon, shapes.targets) + ((channels,) if channels > 1 else ())
    outputs = keras.layers.Reshape(shape)(flat)  # (B, H*T*K) -> (B, H, T[, K])
    outputs = window.finish(outputs)
    return keras.Model(inputs, outputs, name=name or f"direct_{config.cell}")


def build_seq2seq(config, shapes, target_positions=None):
    """Encoder-decoder: the decoder starts from the encoder's states and reads the future."""
    inputs, sequence, future, static, window = _inputs(shapes, config, target_positions)
    summary, states = encode(sequence, config, return_states=True)
    if future is not None:
        steps = [future[:, shapes.lookback :]]
        if static is not None:
            steps.append(_tiled(static, shapes.horizon))
        x = keras.layers.Concatenate()(steps) if len(steps) > 1 else steps[0]
    else:
        x = keras.layers.RepeatVector(shapes.horizon)(summary)  # (B, D) -> (B, H, D)
    width = config.units * (2 if config.bidirectional else 1)
    for depth, initial in enumerate(states):
        outputs = recurrent(
            make_cell(config, width), return_sequences=True, name=f"decoder_{depth}"
        )(x, initial_state=initial)
        if config.residual and depth > 0:
            outputs = keras.layers.Add()([outputs, x])
        x = outputs
    channels = outputs_.Outputs.of(config).channels
    outputs = head(config, x, shapes.targets * channels)  # (B, H, D) -> (B, H, T*K)
    if channels > 1:
        outputs = keras.layers.Reshape((shapes.horizon, shapes.targets, channels))(outputs)
    outputs = window.finish(outputs)
    return keras.Model(inputs, outputs, name=f"seq2seq_{config.cell}")


def build_recursive(config, shapes, target_positions=None):
    """The one-step model of the recursive design: `(1, targets)` from the lookback."""
    if shapes.horizon != 1:
        raise ValueError(
            f"the recursive design's model forecasts one step; got horizon={shapes.horizon}"
        )
    return build_direct(config, shapes, target_positions, name=f"recursive_{config.cell}")
