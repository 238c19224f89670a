"""Recurrent cells as Keras layers: tanh RNN, LSTM, GRU and the coupled-gate LSTM (CIFG).

Each cell works inside `keras.layers.RNN`, `keras.layers.Bidirectional` and
`keras.layers.StackedRNNCells`, and is registered for Keras serialization under the
package name "forecaster". `FastRNN` is `keras.layers.RNN` with fused loops for these cells
(the native C++ kernels of `forecaster.cells.native`, or an XLA-compiled loop in training
where the kernels do not apply), taken wherever they are exact; every network runs its cells
through it.
"""

from forecaster.cells.base import RecurrentCell
from forecaster.cells.cifg import CIFGCell
from forecaster.cells.gru import GRUCell
from forecaster.cells.lstm import LSTMCell
from forecaster.cells.sequence import FastRNN
from forecaster.cells.simple_rnn import SimpleRNNCell
from forecaster.config import CELLS

__all__ = [
    "NAMES",
    "CIFGCell",
    "FastRNN",
    "GRUCell",
    "LSTMCell",
    "RecurrentCell",
    "SimpleRNNCell",
    "get",
]

NAMES = CELLS  # the short names `get` takes, in comparison order


def _by_name():
    return dict(zip(NAMES, (SimpleRNNCell, LSTMCell, GRUCell, CIFGCell), strict=True))


def get(name):
    """Returns the cell class for a short name, in any case.

    Args:
        name: one of "rnn", "lstm", "gru", "cifg".

    Returns:
        The cell class, e.g. `LSTMCell` for "LSTM".

    Raises:
        ValueError: if the name is not one of the known cells.

    Example:
        >>> layer = keras.layers.RNN(forecaster.cells.get("cifg")(64))
    """
    cells = _by_name()
    key = name.lower() if isinstance(name, str) else name
    if key not in cells:
        known = ", ".join(repr(k) for k in sorted(cells))
        raise ValueError(f"unknown cell {name!r}; known cells: {known}")
    return cells[key]
