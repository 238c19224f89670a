"""Keras functional forecasting networks built from the project's cells.

Four designs, the cell a parameter (`forecaster.config.NetworkConfig.architecture`):

- "direct", "seq2seq" and "recursive" (`stacked`): a stacked recurrent encoder with a dense
  head over the whole horizon, a recurrent decoder over it, or a one-step model rolled over
  it;
- "segment" (`segment`): the segment-recurrent network (SegRNN), each channel on its own
  through shared weights, its lookback cut into segments and its horizon decoded in
  parallel.

All of them run their cells through `layers.recurrent` and take `layers.Shapes`.
"""

from forecaster.networks.layers import Shapes
from forecaster.networks.segment import build_segment
from forecaster.networks.stacked import build_direct, build_recursive, build_seq2seq

__all__ = ["Shapes", "build_network"]


def build_network(config, shapes, target_positions=None):
    """Builds the network `config.architecture` names for `shapes`.

    Args:
        config: a `NetworkConfig`.
        shapes: a `Shapes`; for "recursive", with `horizon=1`; for "segment", with
            lookback and horizon multiples of `config.segment_length`.
        target_positions: each target's position among the past inputs (the other inputs
            are past covariates), for the window normalization and the highway; None: the
            inputs are the targets (or, for "direct", "seq2seq" and "recursive" with other
            inputs, neither normalization nor highway).

    Returns:
        An uncompiled `keras.Model` from the inputs to `(batch, horizon, targets)`.

    Example:
        >>> model = build_network(NetworkConfig(cell="cifg", layers=2), Shapes(96, 24, 7, 1))
    """
    if config.architecture == "segment":
        return build_segment(config, shapes, target_positions)
    builders = {"direct": build_direct, "seq2seq": build_seq2seq, "recursive": build_recursive}
    return builders[config.architecture](config, shapes, target_positions)
