"""Helpers shared by the cell tests: random weights, running a cell, the cases to sweep."""

import functools

import keras
import numpy as np
import pytest

from forecaster.cells import CIFGCell, GRUCell, LSTMCell, SimpleRNNCell
from forecaster.cells.native import build
from tests.cells import numpy_reference as ref

# name -> (cell class, constructor options, NumPy reference)
CASES = {
    "rnn": (SimpleRNNCell, {}, ref.simple_rnn),
    "lstm": (LSTMCell, {}, ref.lstm),
    "gru": (GRUCell, {}, ref.gru),
    "gru_reset_before": (
        GRUCell,
        {"reset_after": False},
        functools.partial(ref.gru, reset_after=False),
    ),
    "cifg": (CIFGCell, {}, ref.cifg),
}


def make(case, units=4, **options):
    """Builds the cell of a case with its own options plus `options`."""
    cls, defaults, _ = CASES[case]
    return cls(units, **{**defaults, **options})


def reference(case):
    return CASES[case][2]


def randomize(layer, seed=0, scale=0.5):
    """Sets every weight of a built layer to random values; norm gains scatter around 1."""
    rng = np.random.default_rng(seed)
    for variable in layer.weights:
        values = scale * rng.standard_normal(variable.shape)
        if variable.name.endswith("_gamma"):
            values += 1.0
        variable.assign(values.astype(variable.dtype))


def weights_of(cell):
    """The cell's weights by name, as float64 arrays."""
    return {v.name: np.asarray(v, dtype=np.float64) for v in cell.weights}


def sequence(batch=3, time=7, features=5, seed=1, dtype="float32"):
    return np.random.default_rng(seed).standard_normal((batch, time, features)).astype(dtype)


def run_sequence(cell, x, seed=0, training=False, randomize_weights=True):
    """Runs `cell` over `x` in `keras.layers.RNN`; returns (hs, states) as float64 arrays."""
    layer = keras.layers.RNN(cell, return_sequences=True, return_state=True, dtype=cell.dtype)
    layer(x)  # builds the cell
    if randomize_weights:
        randomize(layer, seed)
    hs, *states = layer(x, training=training)
    return np.asarray(hs, dtype=np.float64), [np.asarray(s, dtype=np.float64) for s in states]


# Where there is a compiler the native kernels must build, and a failure fails the tests
# that need them with the compiler's first error line; only without one are they skipped.
needs_compiler = pytest.mark.skipif(
    build.compiler() is None,
    reason="no C++ compiler (g++, c++ or $CXX) on this machine, so the native kernels "
    "cannot be built; the layers run Keras's loop",
)
