"""Forecasters with fit / predict / evaluate / backtest / save / load, on DataFrames.

From the bottom up: `preparation` (a frame or a stream into the scaler, the schema and
windows: what every fit shares), `base` (`BaseForecaster`: the contract and the path from
frames to forecasts), `neural` (`Forecaster`: a network of the project's cells) and
`baselines` (naive, seasonal naive, mean, linear), and `saving` (the folder format and the
table of the classes it loads).
"""

from forecaster.estimators.base import BaseForecaster
from forecaster.estimators.baselines import (
    BASELINES,
    LinearForecaster,
    MeanForecaster,
    NaiveForecaster,
    SeasonalNaiveForecaster,
)
from forecaster.estimators.neural import Forecaster, TrainingError
from forecaster.estimators.saving import load

__all__ = [
    "BASELINES",
    "BaseForecaster",
    "Forecaster",
    "LinearForecaster",
    "MeanForecaster",
    "NaiveForecaster",
    "SeasonalNaiveForecaster",
    "TrainingError",
    "load",
]
