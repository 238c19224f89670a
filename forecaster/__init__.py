"""forecaster: time-series forecasting with exact, fast recurrent cells for Keras 3.

The public API is what this module exports; `forecaster.cells` holds the recurrent cells.
"""

import os

# The project is built on the TensorFlow backend; respect a user's explicit choice.
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

from forecaster import cells, data
from forecaster.cells import CIFGCell, GRUCell, LSTMCell, SimpleRNNCell
from forecaster.data import (
    DataError,
    Scaler,
    Split,
    Windows,
    WindowSpec,
    make_windows,
    read_csv,
    split,
)

__all__ = [
    "CIFGCell",
    "DataError",
    "GRUCell",
    "LSTMCell",
    "Scaler",
    "SimpleRNNCell",
    "Split",
    "WindowSpec",
    "Windows",
    "cells",
    "data",
    "make_windows",
    "read_csv",
    "split",
]
__version__ = "0.1.0"
