"""forecaster: time-series forecasting with exact, fast recurrent cells for Keras 3.

The public API is what this module exports; `forecaster.cells` holds the recurrent cells.
"""

import importlib
import os

# The project is built on the TensorFlow backend; respect a user's explicit choice.
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
# TensorFlow's caching (BFC) allocator on the CPU, unless the user chose. With the default
# allocator every tensor above glibc's mmap threshold (32 MiB at most) is mapped and unmapped
# at each step, and smaller ones are often trimmed and faulted in again: a training step at
# batch 64 x 336 steps x 128 units spent 160 ms of its 250 ms in the kernel zeroing pages
# (40,000 page faults a step), and 4 ms with this allocator. It takes effect only if set
# before TensorFlow runs its first op, so importing forecaster first gets it.
os.environ.setdefault("TF_CPU_ALLOCATOR_USE_BFC", "true")

from forecaster import cells, data, metrics
from forecaster.backtest import backtest
from forecaster.baselines import (
    LinearForecaster,
    MeanForecaster,
    NaiveForecaster,
    SeasonalNaiveForecaster,
)
from forecaster.cells import CIFGCell, GRUCell, LSTMCell, SimpleRNNCell
from forecaster.config import DataConfig, TrainConfig
from forecaster.data import (
    DataError,
    Scaler,
    Source,
    Split,
    StreamWindows,
    Windows,
    WindowSpec,
    make_windows,
    open_source,
    read_csv,
    split,
    split_stream,
    stream_scaler,
    stream_windows,
)
from forecaster.datasets import (
    BENCHMARKS,
    benchmark_path,
    load_benchmark,
    load_shipped,
    shipped_path,
)
from forecaster.forecaster import Forecaster, TrainingError
from forecaster.networks import NetworkConfig

__all__ = [
    "BENCHMARKS",
    "CIFGCell",
    "DataConfig",
    "DataError",
    "Forecaster",
    "GRUCell",
    "LSTMCell",
    "LinearForecaster",
    "MeanForecaster",
    "NaiveForecaster",
    "NetworkConfig",
    "Scaler",
    "SeasonalNaiveForecaster",
    "SimpleRNNCell",
    "Source",
    "Split",
    "StreamWindows",
    "TrainConfig",
    "TrainingError",
    "WindowSpec",
    "Windows",
    "backtest",
    "benchmark_path",
    "cells",
    "compare_cells",
    "data",
    "load_benchmark",
    "load_shipped",
    "make_windows",
    "metrics",
    "open_source",
    "read_csv",
    "shipped_path",
    "split",
    "split_stream",
    "stream_scaler",
    "stream_windows",
    "track_fit",
    "tracking",
]
__version__ = "0.1.0"


def __getattr__(name):
    """`compare_cells` and `tracking` load mlflow, so they are imported on first use."""
    if name in ("compare_cells", "track_fit", "tracking"):
        # import_module, not `from forecaster import tracking`, which would ask this
        # function for the attribute again before the submodule is in place.
        tracking = importlib.import_module("forecaster.tracking")
        return tracking if name == "tracking" else getattr(tracking, name)
    raise AttributeError(f"module 'forecaster' has no attribute {name!r}")
