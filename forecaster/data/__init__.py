"""From CSV to windows: reading, splitting, scaling and windowing time series.

The steps, in the order a pipeline takes them:

>>> frame = read_csv("../shared/data/ETTh1.csv")
>>> parts = split(frame, 8640, 2880, 2880, lookback=336)
>>> scaler = Scaler("standard").fit(parts.train)
>>> scaled = parts.map(scaler.transform)
>>> train = make_windows(scaled.train, WindowSpec(336, 96)).dataset(32, training=True)
"""

from forecaster.data.calendar import CALENDAR_FEATURES, calendar_features
from forecaster.data.errors import DataError
from forecaster.data.reading import read_csv
from forecaster.data.scaling import Scaler
from forecaster.data.splitting import Split, split
from forecaster.data.timestamps import MISSING_POLICIES
from forecaster.data.windowing import Windows, WindowSpec, make_windows

__all__ = [
    "CALENDAR_FEATURES",
    "MISSING_POLICIES",
    "DataError",
    "Scaler",
    "Split",
    "WindowSpec",
    "Windows",
    "calendar_features",
    "make_windows",
    "read_csv",
    "split",
]
