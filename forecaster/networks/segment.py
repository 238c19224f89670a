"""The segment-recurrent network (SegRNN, Lin et al. 2023), the cell a parameter.

`NetworkConfig(architecture="segment")` builds it through `forecaster.networks.build_network`:

1. each window is normalized on its own, per channel: "last" subtracts the window's last
   value, "revin" subtracts its mean and divides by its standard deviation (RevIN without
   the learned affine map); the output is mapped back the same way, so a shift of every
   input by c shifts the forecast by c;
2. channels are independent series through the same weights: `(batch, lookback, channels)`
   becomes `(batch * channels, segments, segment_length)`, and each segment is embedded by
   one dense map with a ReLU into `units` values, a single step of the recurrent encoder;
3. the horizon is decoded in parallel, SegRNN's "parallel multi-step forecasting" (PMF):
   the encoder's final states are repeated once per horizon segment, and each copy starts
   one step of the same recurrent layer (the encoder's weights, as in SegRNN) whose input is
   a learned embedding of the segment's position, concatenated with one of the channel
   (`channel_embedding=True`, half the units each); a dense map turns each step's output
   into the segment's `segment_length` values, behind SegRNN's dropout where
   `head_dropout` is set.

The recurrent layer is `forecaster.networks.layers.recurrent`, so every cell works, with its
dropout, layer normalization and peepholes.
"""

import keras
from keras import ops

from forecaster.config import NORMALIZATIONS
from forecaster.networks.layers import head, make_cell, recurrent


@keras.saving.register_keras_serializable(package="forecaster")
class WindowNormalization(keras.layers.Layer):
    """Normalizes each window per channel; returns what maps the forecast back.

    Args:
        mode: "last" (subtract the window's last value) or "revin" (subtract the window's
            mean, divide by its standard deviation).
        epsilon: added to the variance before the square root.
        **kwargs: `keras.layers.Layer` arguments.

    Call returns `(normalized, loc, scale)`: `(batch, lookback, channels)` and two
    `(batch, 1, channels)`, so that ``window = normalized * scale + loc``.
    """

    def __init__(self, mode="last", epsilon=1e-5, **kwargs):
        super().__init__(**kwargs)
        if mode not in NORMALIZATIONS:
            raise ValueError(f"normalization={mode!r} is not known; pass one of {NORMALIZATIONS}")
        self.mode = mode
        self.epsilon = epsilon

    def call(self, x):
        """Normalizes `x` `(batch, lookback, channels)`."""
        if self.mode == "last":
            loc = x[:, -1:, :]
            scale = ops.ones_like(loc)
        else:
            loc = ops.mean(x, axis=1, keepdims=True)
            scale = ops.sqrt(ops.var(x, axis=1, keepdims=True) + self.epsilon)
        return (x - loc) / scale, loc, scale

    def get_config(self):
        """The constructor's arguments."""
        return {**super().get_config(), "mode": self.mode, "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="forecaster")
class SegmentQueries(keras.layers.Layer):
    """The decoder's inputs: a learned embedding per (channel, horizon segment).

    Args:
        segments: horizon segments, M.
        channels: channels, C.
        units: the embedding's width, D.
        channel_embedding: concatenate a learned channel embedding (D // 2 wide) to the
            position embedding (the rest); False: the position embedding alone, D wide.
        **kwargs: `keras.layers.Layer` arguments.

    Call takes any tensor whose first axis is the batch, B, and returns
    `(B * C * M, 1, D)`, row `(b * C + c) * M + m` for channel c and segment m.
    """

    def __init__(self, segments, channels, units, channel_embedding=True, **kwargs):
        super().__init__(**kwargs)
        self.segments = segments
        self.channels = channels
        self.units = units
        self.channel_embedding = channel_embedding

    def build(self, input_shape):
        """Makes the position and channel embeddings."""
        channel_units = self.units // 2 if self.channel_embedding else 0
        initializer = keras.initializers.RandomNormal(stddev=1.0)  # SegRNN's torch.randn
        self.position = self.add_weight(
            shape=(self.segments, self.units - channel_units),
            initializer=initializer,
            name="position",
        )
        self.channel = None
        if channel_units:
            self.channel = self.add_weight(
                shape=(self.channels, channel_units), initializer=initializer, name="channel"
            )

    def call(self, x):
        """The queries for a batch as large as `x`'s."""
        c, m = self.channels, self.segments
        parts = [ops.broadcast_to(self.position[None], (c, m, self.position.shape[-1]))]
        if self.channel is not None:
            parts.append(ops.broadcast_to(self.channel[:, None], (c, m, self.channel.shape[-1])))
        queries = ops.concatenate(parts, axis=-1)  # (C, M, D)
        queries = ops.broadcast_to(queries[None], (ops.shape(x)[0], c, m, self.units))
        return ops.reshape(queries, (-1, 1, self.units))  # (B, C, M, D) -> (B*C*M, 1, D)

    def get_config(self):
        """The constructor's arguments."""
        return {
            **super().get_config(),
            "segments": self.segments,
            "channels": self.channels,
            "units": self.units,
            "channel_embedding": self.channel_embedding,
        }


def _check(config, shapes):
    if shapes.known or shapes.static:
        raise ValueError(
            "the segment design forecasts each channel from its own past and takes no "
            f"covariates; got known={shapes.known}, static={shapes.static}"
        )
    if shapes.inputs != shapes.targets:
        raise ValueError(
            "the segment design forecasts every input channel from its own past, so targets "
            f"must be the inputs; got {shapes.inputs} inputs and {shapes.targets} targets"
        )
    check_steps(shapes.lookback, shapes.horizon, config.segment_length)


def check_steps(lookback, horizon, segment_length):
    """Raises a ValueError unless `lookback` and `horizon` are whole segments."""
    for name, steps in (("lookback", lookback), ("horizon", horizon)):
        if steps % segment_length:
            raise ValueError(
                f"{name}={steps} is not a multiple of segment_length={segment_length}; "
                "the segment design cuts it into whole segments"
            )


def build_segment(config, shapes):
    """The segment-recurrent network for `shapes`, from `(lookback, C)` to `(horizon, C)`.

    Args:
        config: a `NetworkConfig` with `architecture="segment"`.
        shapes: a `Shapes` with `inputs == targets` and no covariates; its lookback and
            horizon multiples of `config.segment_length`.

    Returns:
        An uncompiled `keras.Model`.

    Raises:
        ValueError: the shapes do not fit the design.

    Example:
        >>> config = NetworkConfig(cell="gru", architecture="segment", segment_length=48)
        >>> model = build_network(config, Shapes(720, 96, 7, 7))
    """
    _check(config, shapes)
    width, units, channels = config.segment_length, config.units, shapes.inputs
    segments, horizon_segments = shapes.lookback // width, shapes.horizon // width
    past = keras.Input((shapes.lookback, channels), name="past")
    x, loc, scale = WindowNormalization(config.normalization, name="normalization")(past)
    x = ops.transpose(x, (0, 2, 1))  # (B, L, C) -> (B, C, L)
    x = ops.reshape(x, (-1, segments, width))  # (B, C, L) -> (B*C, N, W)
    x = keras.layers.Dense(units, activation="relu", name="segment_embedding")(x)  # (B*C, N, D)
    layer = recurrent(
        make_cell(config, units), return_sequences=False, return_state=True, name="recurrent"
    )
    _, *states = layer(x)  # each (B*C, D)
    states = [ops.repeat(state, horizon_segments, axis=0) for state in states]  # (B*C*M, D)
    queries = SegmentQueries(
        horizon_segments, channels, units, config.channel_embedding, name="queries"
    )(past)  # (B*C*M, 1, D)
    y, *_ = layer(queries, initial_state=states)  # (B*C*M, D)
    y = head(config, y, width)  # (B*C*M, D) -> (B*C*M, W)
    y = ops.reshape(y, (-1, channels, shapes.horizon))  # (B*C*M, W) -> (B, C, M*W)
    y = ops.transpose(y, (0, 2, 1))  # (B, C, H) -> (B, H, C)
    outputs = y * scale + loc
    return keras.Model(past, outputs, name=f"segment_{config.cell}")
