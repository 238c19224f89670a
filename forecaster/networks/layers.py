"""What every network shares: the sizes it is built for, its cells, sequence layers and head."""

import dataclasses

import keras

from forecaster import cells


@dataclasses.dataclass(frozen=True)
class Shapes:
    """The sizes a network is built for.

    Attributes:
        lookback: input steps.
        horizon: output steps (1 for the recursive design's one-step model).
        inputs: past input features.
        targets: forecast features.
        known: known-future features (over lookback + horizon), 0 for none.
        static: static features, 0 for none: numeric values, then one code per
            categorical static (`categories`).
        categories: the number of codes of each categorical static, the last
            `len(categories)` static features (code 0 stands for a value never seen).
    """

    lookback: int
    horizon: int
    inputs: int
    targets: int
    known: int = 0
    static: int = 0
    categories: tuple = ()

    @property
    def static_width(self):
        """The static features' width once each category is embedded (`static_features`)."""
        return self.static - len(self.categories)


def static_features(static, shapes, config):
    """The static input `(batch, static)` with each categorical code embedded.

    The numeric values pass as they are; each code becomes a learned vector of
    `config.embedding_size` values (`keras.layers.Embedding`), all concatenated.
    """
    if not shapes.categories:
        return static
    numeric = shapes.static - len(shapes.categories)
    parts = [static[:, :numeric]] if numeric else []
    for i, size in enumerate(shapes.categories):
        codes = keras.ops.cast(static[:, numeric + i], "int32")
        parts.append(
            keras.layers.Embedding(size, config.embedding_size, name=f"static_embedding_{i}")(codes)
        )
    return parts[0] if len(parts) == 1 else keras.layers.Concatenate()(parts)


def make_cell(config, units):
    """A new cell of the `NetworkConfig` `config` with `units` units."""
    options = {
        "dropout": config.dropout,
        "recurrent_dropout": config.recurrent_dropout,
        "layer_norm": config.layer_norm,
    }
    if config.peephole:
        options["peephole"] = True
    if config.cell.lower() == "gru":
        options["reset_after"] = config.reset_after
    if config.cell.lower() in ("lstm", "cifg"):
        options["unit_forget_bias"] = config.unit_forget_bias
    return cells.get(config.cell)(units, **options)


def head(config, x, outputs):
    """`x` through the dense head, `outputs` units wide, behind `head_dropout` if set."""
    if config.head_dropout:
        x = keras.layers.Dropout(config.head_dropout, name="head_dropout")(x)
    return keras.layers.Dense(outputs, name="head")(x)


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
