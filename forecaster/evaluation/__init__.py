"""Scoring forecasts: metrics, backtests, the long-horizon protocol, comparison statistics.

Nothing here imports MLflow.
"""

from forecaster.evaluation.backtesting import backtest

__all__ = ["backtest"]
