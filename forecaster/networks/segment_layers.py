"""Layers of the windowed networks: window normalization, decoder queries, channel picking.

`forecaster.networks.segment` builds the segment network from them, and
`forecaster.networks.stacked` normalizes its targets' windows with the first and the last;
each is registered, so a saved network loads with `keras.saving.load_model(...,
safe_mode=True)`.
"""

import keras
from keras import ops

from forecaster.config import NORMALIZATIONS


@keras.saving.register_keras_serializable(package="forecaster")
class WindowNormalization(keras.layers.Layer):
    """Normalizes each window per channel; returns what maps the forecast back.

    Args:
        mode: "last" (subtract the window's last value), "revin" (subtract the window's
            mean, divide by its standard deviation) or "none" (leave it as it is).
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
        if self.mode == "none":
            loc = ops.zeros_like(x[:, -1:, :])
            scale = ops.ones_like(loc)
        elif self.mode == "last":
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
class WindowRestore(keras.layers.Layer):
    """Maps a forecast back from a normalized window: ``forecast * scale + loc``.

    A layer of its own because the same arithmetic written on a functional model's symbolic
    tensors (or through `keras.layers.Add` and `Multiply`) broadcast `(batch, 1, channels)`
    over the horizon axis whenever a batch held exactly `horizon` windows (Keras 3.15,
    TensorFlow 2.21): each forecast then took another window's level.

    Call takes `(forecast, loc, scale)`: `(batch, horizon, channels)` and two
    `(batch, 1, channels)` as `WindowNormalization` returns them.
    """

    def call(self, forecast, loc, scale):
        """The forecast in the window's own units."""
        return forecast * scale + loc


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


@keras.saving.register_keras_serializable(package="forecaster")
class TakeChannels(keras.layers.Layer):
    """Takes some channels of a sequence, in the order given.

    Args:
        positions: the channels' positions on the last axis.
        **kwargs: `keras.layers.Layer` arguments.

    Call takes `(batch, time, channels)` and returns `(batch, time, len(positions))`.
    """

    def __init__(self, positions, **kwargs):
        super().__init__(**kwargs)
        self.positions = [int(p) for p in positions]

    def call(self, x):
        """The channels `positions` of `x`."""
        return ops.take(x, self.positions, axis=-1)

    def get_config(self):
        """The constructor's arguments."""
        return {**super().get_config(), "positions": self.positions}
