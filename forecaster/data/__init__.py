"""From CSV to windows: reading, splitting, scaling and windowing time series.

The steps, in the order a pipeline takes them:

>>> frame = read_csv("../shared/data/ETTh1.csv")
>>> parts = split(frame, 8640, 2880, 2880, lookback=336)
>>> scaler = Scaler("standard").fit(parts.train)
>>> scaled = parts.map(scaler.transform)
>>> train = make_windows(scaled.train, WindowSpec(336, 96)).dataset(32, training=True)

Series too large for memory take the same steps chunk by chunk (`forecaster.data.streaming`):

>>> source = open_source("big/", chunk_rows=100_000)  # a CSV, or a folder of CSV/Parquet
>>> parts = split_stream(source, 0.7, 0.1, 0.2, lookback=336)
>>> scaler = stream_scaler(parts.train, "standard")
>>> train = stream_windows(parts.train, WindowSpec(336, 96), scaler).dataset(32, training=True)
"""

from forecaster.data.calendar import CALENDAR_FEATURES, calendar_features
from forecaster.data.datasets import (
    BENCHMARKS,
    benchmark_path,
    load_benchmark,
    load_shipped,
    shipped_path,
)
from forecaster.data.errors import DataError, DataNote
from forecaster.data.inspection import inspect_csv
from forecaster.data.reading import read_csv
from forecaster.data.scaling import Scaler
from forecaster.data.sources import Source, open_source
from forecaster.data.splitting import Split, split, split_last, split_stream
from forecaster.data.streaming import StreamWindows, stream_scaler, stream_windows
from forecaster.data.timestamps import MISSING_POLICIES
from forecaster.data.windowing import (
    Windows,
    WindowSpec,
    make_windows,
    resolve_columns,
    series_bounds,
)

__all__ = [
    "BENCHMARKS",
    "CALENDAR_FEATURES",
    "MISSING_POLICIES",
    "DataError",
    "DataNote",
    "Scaler",
    "Source",
    "Split",
    "StreamWindows",
    "WindowSpec",
    "Windows",
    "benchmark_path",
    "calendar_features",
    "inspect_csv",
    "load_benchmark",
    "load_shipped",
    "make_windows",
    "open_source",
    "read_csv",
    "resolve_columns",
    "series_bounds",
    "shipped_path",
    "split",
    "split_last",
    "split_stream",
    "stream_scaler",
    "stream_windows",
]
