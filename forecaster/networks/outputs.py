"""What a network outputs per target and step: a point, quantiles, or a distribution.

`NetworkConfig.quantiles` and `NetworkConfig.distribution` choose it (`Outputs.of`):

- a point forecast: `(batch, horizon, targets)`, as every network gave before;
- quantiles: `(batch, horizon, targets, 1 + levels)`, the point forecast and then one
  value per level, in increasing order. The first level is free; each next one adds a
  softplus of its own output to the one below, so they never cross. The loss is the
  point loss (`TrainConfig.loss`) plus the pinball loss averaged over the levels;
- a distribution: `(batch, horizon, targets, parameters)`, trained on its negative
  log-likelihood: "normal" (mean, standard deviation), "studentt" (location, scale,
  degrees of freedom, above 2 so the variance is finite) and "negbinomial" (mean, and
  the dispersion alpha of ``variance = mean + alpha mean^2``, Salinas et al. 2020).

The network's window normalization (`segment_layers.WindowNormalization`) is undone by
`OutputRestore` for each parameter as its family needs: a location moves and scales with
the window, a scale parameter only scales, a shape parameter (degrees of freedom, the
negative binomial's alpha) stays. The negative binomial's mean is made positive after the
window is restored, since counts are modelled in their own units (the forecaster leaves
their targets unscaled).
"""

import dataclasses
import math

import keras
import tensorflow as tf
from keras import ops

# Parameters per family, the location first.
PARAMETERS = {"normal": 2, "studentt": 3, "negbinomial": 2}
_EPSILON = 1e-4


@dataclasses.dataclass(frozen=True)
class Outputs:
    """The output of a network: `quantiles` it is trained for, or a `distribution`.

    Attributes:
        quantiles: the levels the network outputs beside its point forecast (none for a
            distribution, whose quantiles are computed from its parameters).
        distribution: None, "normal", "studentt" or "negbinomial".
    """

    quantiles: tuple = ()
    distribution: str | None = None

    @classmethod
    def of(cls, config):
        """The outputs a `NetworkConfig` asks for."""
        if config.distribution is not None:
            return cls((), config.distribution)
        return cls(tuple(config.quantiles), None)

    @property
    def mode(self):
        """The output's kind: "point", "quantiles" or the distribution's name."""
        if self.distribution is not None:
            return self.distribution
        return "quantiles" if self.quantiles else "point"

    @property
    def channels(self):
        """Values per target and step: 1, 1 + levels, or the family's parameters."""
        if self.distribution is not None:
            return PARAMETERS[self.distribution]
        return 1 + len(self.quantiles)

    @property
    def probabilistic(self):
        """Whether the network gives more than a point forecast."""
        return self.mode != "point"


@keras.saving.register_keras_serializable(package="forecaster")
class OutputRestore(keras.layers.Layer):
    """Turns raw outputs into a family's parameters and undoes the window normalization.

    Call takes `raw (batch, horizon, targets, channels)`, the window's `loc` and `scale`
    `(batch, 1, targets)` (`WindowNormalization`'s), and `shift (batch, horizon, targets)`
    (the highway's linear forecast, added to the location), and returns the parameters
    `(batch, horizon, targets, channels)` in the units of the network's input.

    Args:
        mode: "quantiles", "normal", "studentt" or "negbinomial" (`Outputs.mode`).
    """

    def __init__(self, mode, **kwargs):
        super().__init__(**kwargs)
        if mode not in ("quantiles", *PARAMETERS):
            raise ValueError(f"mode={mode!r} is not a probabilistic output")
        self.mode = mode

    def call(self, raw, loc, scale, shift):
        """The parameters `(B, H, T, K)` in the input's units (see the class)."""
        loc, scale = loc[..., None], scale[..., None]  # (B, 1, T) -> (B, 1, T, 1)
        located = raw[..., :1] + shift[..., None]
        if self.mode == "quantiles":
            first = raw[..., 1:2] + shift[..., None]
            steps = ops.softplus(raw[..., 2:])  # each level above the one below
            levels = ops.concatenate([first, first + ops.cumsum(steps, axis=-1)], axis=-1)
            return ops.concatenate([located, levels], axis=-1) * scale + loc
        location = located * scale + loc
        spread = ops.softplus(raw[..., 1:2]) + _EPSILON
        if self.mode == "negbinomial":
            return ops.concatenate([ops.softplus(location) + _EPSILON, spread], axis=-1)
        parts = [location, spread * scale]
        if self.mode == "studentt":
            parts.append(2.0 + _EPSILON + ops.softplus(raw[..., 2:3]))
        return ops.concatenate(parts, axis=-1)

    def compute_output_shape(self, raw_shape, *args):
        """The raw output's shape: one parameter per channel."""
        return raw_shape

    def get_config(self):
        """The layer's configuration, with its mode."""
        return {**super().get_config(), "mode": self.mode}


def restore(outputs, raw, loc=None, scale=None, shift=None):
    """`OutputRestore` of `raw (B, H, T, K)`, with no normalization or highway where None."""
    zeros = ops.zeros_like(raw[:, :1, :, 0])  # (B, 1, T)
    loc = zeros if loc is None else loc
    scale = ops.ones_like(zeros) if scale is None else scale
    shift = ops.zeros_like(raw[..., 0]) if shift is None else shift
    return OutputRestore(outputs.mode, name="restore")(raw, loc, scale, shift)


@keras.saving.register_keras_serializable(package="forecaster")
class OutputLoss(keras.losses.Loss):
    """The training loss of a probabilistic output, on `y_true (B, H, T)`.

    Args:
        mode: "quantiles", "normal", "studentt" or "negbinomial".
        quantiles: the levels, for "quantiles".
        point_loss: "mse" or "mae", the loss of the point forecast beside the quantiles.
    """

    def __init__(self, mode, quantiles=(), point_loss="mse", **kwargs):
        kwargs.setdefault("name", f"{mode}_loss")
        super().__init__(**kwargs)
        self.mode, self.quantiles, self.point_loss = mode, tuple(quantiles), point_loss

    def call(self, y_true, y_pred):
        """The loss of each value `(B, H, T)`; Keras averages it."""
        y_true = ops.cast(y_true, y_pred.dtype)
        if self.mode == "quantiles":
            error = y_true - y_pred[..., 0]
            point = ops.square(error) if self.point_loss == "mse" else ops.abs(error)
            levels = ops.convert_to_tensor(self.quantiles, dtype=y_pred.dtype)
            residual = y_true[..., None] - y_pred[..., 1:]  # (B, H, T, L)
            pinball = ops.maximum(levels * residual, (levels - 1.0) * residual)
            return point + ops.mean(pinball, axis=-1)
        return -log_likelihood(self.mode, y_true, y_pred)

    def get_config(self):
        """The loss's configuration (`__init__`'s arguments)."""
        return {
            **super().get_config(),
            "mode": self.mode,
            "quantiles": list(self.quantiles),
            "point_loss": self.point_loss,
        }


def log_likelihood(mode, y, parameters):
    """The log-density (log-probability for counts) of `y (B, H, T)` under the parameters."""
    if mode == "normal":
        mean, std = parameters[..., 0], parameters[..., 1]
        z = (y - mean) / std
        return -0.5 * ops.square(z) - ops.log(std) - 0.5 * math.log(2 * math.pi)
    if mode == "studentt":
        loc, scale, df = parameters[..., 0], parameters[..., 1], parameters[..., 2]
        z = (y - loc) / scale
        return (
            _lgamma((df + 1) / 2)
            - _lgamma(df / 2)
            - 0.5 * ops.log(df * math.pi)
            - ops.log(scale)
            - (df + 1) / 2 * ops.log1p(ops.square(z) / df)
        )
    mean, alpha = parameters[..., 0], parameters[..., 1]
    r = 1.0 / alpha  # the number of failures; p = mean / (mean + r)
    y = ops.maximum(y, 0.0)
    return (
        _lgamma(y + r)
        - _lgamma(r)
        - _lgamma(y + 1.0)
        + r * ops.log(r / (r + mean))
        + y * ops.log(mean / (r + mean))
    )


def _lgamma(x):
    # keras.ops has no log-gamma; the project runs on the TensorFlow backend.
    return tf.math.lgamma(x)
