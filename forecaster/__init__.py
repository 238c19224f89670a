"""forecaster: time-series forecasting with exact, fast recurrent cells for Keras 3.

The public API is what this module exports; `forecaster.cells` holds the recurrent cells.
"""

import os

# The project is built on the TensorFlow backend; respect a user's explicit choice.
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

from forecaster import cells
from forecaster.cells import CIFGCell, GRUCell, LSTMCell, SimpleRNNCell

__all__ = ["CIFGCell", "GRUCell", "LSTMCell", "SimpleRNNCell", "cells"]
__version__ = "0.1.0"
