"""Keras functional forecasting networks built from the project's cells.

Three designs, the cell a parameter:

- "direct": a stacked recurrent encoder over the lookback and a dense head that emits all
  `horizon x targets` values at once;
- "seq2seq": the same encoder, whose final states start a recurrent decoder that runs over
  the horizon fed the known-future covariates (or, without any, the encoder's summary
  repeated), with a dense layer per step;
- "recursive": a one-step model (horizon 1) that the caller rolls forward over the horizon,
  feeding each forecast back as the next input;
- "segment": the segment-recurrent network (SegRNN), each channel on its own through shared
  weights, its lookback cut into segments and its horizon decoded in parallel (see
  `forecaster.segment`).

Inputs follow `forecaster.data.Windows`: `past (lookback, inputs)`, and when there are
covariates a dict that adds `future (lookback + horizon, known)` and `static (static,)`.
The output is `(horizon, targets)`.
"""

import dataclasses
import numbers

import keras

from forecaster import cells, segment
from forecaster.cells.base import check_rate

ARCHITECTURES = ("direct", "seq2seq", "recursive", "segment")


@dataclasses.dataclass(frozen=True)
class NetworkConfig:
    """The network's hyperparameters.

    Attributes:
        cell: "rnn", "lstm", "gru" or "cifg".
        architecture: "direct", "seq2seq", "recursive" or "segment".
        units: hidden units per recurrent layer.
        layers: stacked recurrent layers in the encoder (and the seq2seq decoder).
        bidirectional: run each encoder layer in both directions.
        residual: add each stacked layer's input to its output (from the second layer on).
        dropout: the cells' input dropout (one mask per sequence).
        recurrent_dropout: the cells' recurrent dropout.
        head_dropout: fraction of the features dropped in training just before the dense
            head (SegRNN's regularization, 0.5 in its scripts), in [0, 1).
        layer_norm: layer-normalize the cells' gate pre-activations.
        peephole: peephole connections (LSTM and CIFG only).
        segment_length: steps per segment ("segment" only); the lookback and the horizon
            must be multiples of it.
        normalization: how "segment" normalizes each window: "last" (subtract its last
            value) or "revin" (its mean and standard deviation), inverted on the output.
        channel_embedding: whether "segment" decodes from a learned channel embedding
            beside the position embedding.
    """

    cell: str = "lstm"
    architecture: str = "direct"
    units: int = 64
    layers: int = 1
    bidirectional: bool = False
    residual: bool = False
    dropout: float = 0.0
    recurrent_dropout: float = 0.0
    head_dropout: float = 0.0
    layer_norm: bool = False
    peephole: bool = False
    segment_length: int = 48
    normalization: str = "last"
    channel_embedding: bool = True

    def __post_init__(self):
        """Checks every field at construction, naming the bad value."""
        cells.get(self.cell)
        if self.architecture not in ARCHITECTURES:
            raise ValueError(
                f"architecture={self.architecture!r} is not known; pass one of {ARCHITECTURES}"
            )
        for field in ("units", "layers", "segment_length"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"{field} must be a positive integer, got {value!r}")
        if self.peephole and self.cell.lower() not in ("lstm", "cifg"):
            raise ValueError(
                f"peephole=True needs an LSTM-type cell ('lstm' or 'cifg'), got cell={self.cell!r}"
            )
        if self.normalization not in segment.NORMALIZATIONS:
            raise ValueError(
                f"normalization={self.normalization!r} is not known; pass one of "
                f"{segment.NORMALIZATIONS}"
            )
        if self.architecture == "segment" and (self.layers != 1 or self.bidirectional):
            raise ValueError(
                "architecture='segment' runs one unidirectional recurrent layer; got "
                f"layers={self.layers}, bidirectional={self.bidirectional}"
            )
        self.make_cell(1)  # checks dropout and recurrent_dropout the way the cells do
        check_rate("head_dropout", self.head_dropout)

    def make_cell(self, units):
        """A new cell of this configuration with `units` units."""
        options = {
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "layer_norm": self.layer_norm,
        }
        if self.peephole:
            options["peephole"] = True
        return cells.get(self.cell)(units, **options)

    def head(self, x, outputs):
        """`x` through the dense head, `outputs` units wide, behind `head_dropout` if set."""
        if self.head_dropout:
            x = keras.layers.Dropout(self.head_dropout, name="head_dropout")(x)
        return keras.layers.Dense(outputs, name="head")(x)


@dataclasses.dataclass(frozen=True)
class Shapes:
    """The sizes a network is built for.

    Attributes:
        lookback: input steps.
        horizon: output steps (1 for the recursive design's one-step model).
        inputs: past input features.
        targets: forecast features.
        known: known-future features (over lookback + horizon), 0 for none.
        static: static features, 0 for none.
    """

    lookback: int
    horizon: int
    inputs: int
    targets: int
    known: int = 0
    static: int = 0


def recurrent(cell, return_sequences, return_state=False, bidirectional=False, name=None):
    """The one place a cell becomes a sequence layer, so every network shares the same path.

    The layer is `forecaster.cells.FastRNN`: the cell's native whole-sequence kernel where
    it is exact, `keras.layers.RNN`'s own loop over the cell everywhere else (issue 6;
    benchmarks/cell_speed.py).
    """
    layer = cells.FastRNN(
        cell, return_sequences=return_sequences, return_state=return_state, name=name
    )
    if bidirectional:
        layer = keras.layers.Bidirectional(layer, name=None if name is None else f"bi_{name}")
    return layer


def _inputs(shapes):
    """The model's Keras inputs and the encoder's input sequence `(batch, lookback, .)`."""
    past = keras.Input((shapes.lookback, shapes.inputs), name="past")
    if not (shapes.known or shapes.static):
        return past, past, None, None
    named = {"past": past}
    parts = [past]
    future = static = None
    if shapes.known:
        future = named["future"] = keras.Input(
            (shapes.lookback + shapes.horizon, shapes.known), name="future"
        )
        parts.append(future[:, : shapes.lookback])
    if shapes.static:
        static = named["static"] = keras.Input((shapes.static,), name="static")
        parts.append(_tiled(static, shapes.lookback))
    return named, keras.layers.Concatenate()(parts), future, static


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
            config.make_cell(config.units),
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


def build_direct(config, shapes, name=None):
    """Encoder and a dense head emitting `(horizon, targets)` at once."""
    inputs, sequence, future, static = _inputs(shapes)
    summary = encode(sequence, config)
    parts = [summary]
    if future is not None:
        parts.append(keras.layers.Flatten()(future[:, shapes.lookback :]))
    if static is not None:
        parts.append(static)
    if len(parts) > 1:
        summary = keras.layers.Concatenate()(parts)
    flat = config.head(summary, shapes.horizon * shapes.targets)
    outputs = keras.layers.Reshape((shapes.horizon, shapes.targets))(flat)  # (B, H*T) -> (B, H, T)
    return keras.Model(inputs, outputs, name=name or f"direct_{config.cell}")


def build_seq2seq(config, shapes):
    """Encoder-decoder: the decoder starts from the encoder's states and reads the future."""
    inputs, sequence, future, static = _inputs(shapes)
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
            config.make_cell(width), return_sequences=True, name=f"decoder_{depth}"
        )(x, initial_state=initial)
        if config.residual and depth > 0:
            outputs = keras.layers.Add()([outputs, x])
        x = outputs
    outputs = config.head(x, shapes.targets)  # (B, H, D) -> (B, H, T)
    return keras.Model(inputs, outputs, name=f"seq2seq_{config.cell}")


def build_recursive(config, shapes):
    """The one-step model of the recursive design: `(1, targets)` from the lookback."""
    if shapes.horizon != 1:
        raise ValueError(
            f"the recursive design's model forecasts one step; got horizon={shapes.horizon}"
        )
    return build_direct(config, shapes, name=f"recursive_{config.cell}")


def build_network(config, shapes):
    """Builds the network `config.architecture` names for `shapes`.

    Args:
        config: a `NetworkConfig`.
        shapes: a `Shapes`; for "recursive", with `horizon=1`; for "segment", with
            `inputs == targets`, no covariates, and lookback and horizon multiples of
            `config.segment_length`.

    Returns:
        An uncompiled `keras.Model` from the inputs to `(batch, horizon, targets)`.

    Example:
        >>> model = build_network(NetworkConfig(cell="cifg", layers=2), Shapes(96, 24, 7, 1))
    """
    if config.architecture == "segment":
        return segment.build_segment(config, shapes, recurrent)
    builders = {"direct": build_direct, "seq2seq": build_seq2seq, "recursive": build_recursive}
    return builders[config.architecture](config, shapes)
