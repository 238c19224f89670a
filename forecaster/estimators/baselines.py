"""Baselines with the forecasters' fit / predict / evaluate / backtest / save / load.

- `NaiveForecaster`: repeats each target's last value over the horizon.
- `SeasonalNaiveForecaster`: repeats each target's last season (the period from the
  frequency, or `season=`).
- `MeanForecaster`: forecasts each target's mean over the rows it was fitted on.
- `LinearForecaster`: a linear map from the whole lookback window (every input column)
  to the horizon, fitted by least squares or ridge on the training windows; or, with
  `channels="independent"`, one map from a series' own window to its horizon shared by
  every target (the channel-independent "Linear" of Zeng et al. 2023).

They work on the scaled values like the neural forecaster, so their scores compare
directly; the naive ones are unchanged by the (affine) scaling. Having nothing to stop
early, they fit on every row they are given, with no validation part held out.
"""

import dataclasses
import os

import numpy as np

from forecaster.config import DataConfig, LinearConfig
from forecaster.estimators.base import BaseForecaster

CHANNELS = ("joint", "independent")


class Baseline(BaseForecaster):
    """A baseline over `DataConfig` options (lookback, horizon, targets, inputs, ...).

    Args:
        lookback: input steps per window.
        horizon: steps forecast at once.
        **options: other fields of `forecaster.config.DataConfig`.
    """

    uses_validation = False  # nothing to stop early: fit on every row given
    fits_streams = False  # they fit from arrays of every window in memory

    def __init__(self, *, lookback, horizon, **options):
        super().__init__(DataConfig(lookback=lookback, horizon=horizon, **options))
        self.state = {}  # name -> array, what the fit learned

    @classmethod
    def from_configs(cls, data):
        """A baseline from its `DataConfig`."""
        return cls(**dataclasses.asdict(data))

    @classmethod
    def config_classes(cls):
        """Configuration dataclasses beyond `DataConfig`, by the name `configs` uses."""
        return {}

    def fit(self, frame):
        """Fits on `frame` (see `BaseForecaster.fit`).

        Returns:
            The baseline itself.
        """
        super().fit(frame)
        return self

    def _fit_windows(self, train, val, frame):
        self.state = self._learn(train, frame)

    def _learn(self, train, frame):
        """What this baseline learns from the training windows and scaled training part."""
        return {}

    def _target_history(self, x):
        """The targets' own past, `(windows, lookback, targets)`, from the window inputs."""
        past = x["past"] if isinstance(x, dict) else x
        inputs, targets = self.schema["inputs"], self.schema["targets"]
        absent = [t for t in targets if t not in inputs]
        if absent:
            raise ValueError(
                f"{type(self).__name__} repeats each target's own history, so every target "
                f"must be an input; target {absent[0]!r} is not among inputs {inputs}"
            )
        return past[..., [inputs.index(t) for t in targets]]

    def _save_state(self, folder):
        np.savez(os.path.join(folder, "state.npz"), **self.state)

    def _load_state(self, folder):
        with np.load(os.path.join(folder, "state.npz")) as saved:
            self.state = {name: saved[name] for name in saved.files}


class NaiveForecaster(Baseline):
    """Repeats each target's last observed value over the horizon."""

    def _forecast(self, x):
        last = self._target_history(x)[:, -1:, :]  # (n, 1, T)
        return np.repeat(last, self.data.horizon, axis=1)  # (n, 1, T) -> (n, H, T)


class SeasonalNaiveForecaster(Baseline):
    """Repeats each target's last season.

    The forecast h steps ahead is the value m steps (or a multiple of m) before it, m the
    seasonal period (`season=`, or from the frequency).
    """

    def _learn(self, train, frame):
        season = self.schema["season"]
        if season > self.data.lookback:
            raise ValueError(
                f"the seasonal naive forecast with season {season} needs lookback >= "
                f"{season}, got lookback={self.data.lookback}"
            )
        return {}

    def _forecast(self, x):
        history = self._target_history(x)
        season = self.schema["season"]
        steps = np.arange(self.data.horizon)
        return history[:, self.data.lookback - season + steps % season, :]  # (n, H, T)


class MeanForecaster(Baseline):
    """Forecasts each target's mean over the rows it was fitted on."""

    def _learn(self, train, frame):
        return {"mean": frame[self.schema["targets"]].to_numpy(dtype=np.float64).mean(axis=0)}

    def _forecast(self, x):
        n = len(x["past"] if isinstance(x, dict) else x)
        return np.broadcast_to(self.state["mean"], (n, self.data.horizon, len(self.state["mean"])))


class LinearForecaster(Baseline):
    """A linear map from the lookback window of every input to the horizon of every target.

    Least squares (`alpha=0`) or ridge, solved from the normal equations accumulated over
    chunks of windows, so the `(windows, lookback x inputs)` design matrix never exists at
    once: scikit-learn's solvers would need it whole, some 640 MB for ETTm1 at lookback 336.
    The intercept is not penalized.

    Args:
        alpha: the ridge penalty; 0 for least squares.
        **options: `lookback`, `horizon` and the other fields of `DataConfig`.
    """

    chunk = 4096  # windows per accumulation step

    def __init__(self, *, alpha=0.0, channels="joint", **options):
        super().__init__(**options)
        self.linear = LinearConfig(alpha=alpha, channels=channels)

    @classmethod
    def from_configs(cls, data, linear):
        """A linear baseline from its `DataConfig` and `LinearConfig`."""
        return cls(**dataclasses.asdict(data), **dataclasses.asdict(linear))

    @classmethod
    def config_classes(cls):
        """The linear baseline's extra configuration."""
        return {"linear": LinearConfig}

    def configs(self):
        """The configuration dataclasses by name."""
        return {"data": self.data, "linear": self.linear}

    @property
    def independent(self):
        """Whether one map, shared by the targets, reads each target's own window."""
        return self.linear.channels == "independent"

    def _learn(self, train, frame):
        inputs, labels = train.inputs, train.labels
        if self.independent:
            # Every (window, target) pair is one example: its own history -> its horizon.
            # (n, L, F) -> (n, L, T) -> (n*T, L); labels (n, H, T) -> (n*T, H)
            inputs = self._target_history(inputs).transpose(0, 2, 1).reshape(-1, inputs.shape[1])
            labels = labels.transpose(0, 2, 1).reshape(len(inputs), -1)
        n = len(inputs)
        features = int(np.prod(inputs.shape[1:])) + 1
        gram = np.zeros((features, features))
        cross = np.zeros((features, int(np.prod(labels.shape[1:]))))
        for begin in range(0, n, self.chunk):
            design = self._design(inputs[begin : begin + self.chunk])
            gram += design.T @ design
            cross += design.T @ labels[begin : begin + self.chunk].reshape(len(design), -1)
        penalty = self.linear.alpha * np.eye(features)
        penalty[-1, -1] = 0.0  # the intercept's column
        weights = np.linalg.lstsq(gram + penalty, cross, rcond=None)[0]
        return {"weights": weights}

    @staticmethod
    def _design(past):
        # (n, L, F) -> (n, L*F + 1): flattened window and a column of ones for the intercept
        flat = np.asarray(past, dtype=np.float64).reshape(len(past), -1)
        return np.hstack([flat, np.ones((len(flat), 1))])

    def _forecast(self, x):
        if self.independent:
            own = self._target_history(x)  # (n, L, T)
            n, lookback, targets = own.shape
            series = own.transpose(0, 2, 1).reshape(n * targets, lookback)  # (n*T, L)
            flat = self._design(series) @ self.state["weights"]  # (n*T, H)
            return flat.reshape(n, targets, -1).transpose(0, 2, 1)  # (n, T, H) -> (n, H, T)
        past = x["past"] if isinstance(x, dict) else x
        flat = self._design(past) @ self.state["weights"]
        return flat.reshape(len(past), self.data.horizon, -1)  # (n, H*T) -> (n, H, T)


BASELINES = {
    "naive": NaiveForecaster,
    "seasonal_naive": SeasonalNaiveForecaster,
    "mean": MeanForecaster,
    "linear": LinearForecaster,
}
