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
early, they fit on every row they are given, with no validation part held out; given one,
they score it. They take the neural forecaster's fit arguments (see `Baseline`), so a
caller fits, tracks or backtests any forecaster the same way, frames and streams alike.
"""

import dataclasses
import os

import numpy as np

from forecaster.config import DataConfig, LinearConfig
from forecaster.estimators.base import BaseForecaster
from forecaster.estimators.saving import loadable

CHANNELS = ("joint", "independent")


class Baseline(BaseForecaster):
    """A baseline over `DataConfig` options (lookback, horizon, targets, inputs, ...).

    It takes the fit arguments every forecaster takes. Its fit is one pass, which
    `history_` reports as one epoch: "loss", the mean squared error of its forecasts of
    the scaled training windows, and, given `val`, "val_loss" on the validation windows.
    Callbacks see that pass as Keras's `fit` shows an epoch: `on_train_begin`,
    `on_epoch_begin(0)`, `on_epoch_end(0, logs)` with those losses, and `on_train_end`; a
    baseline has no Keras model, so a callback that reads its `model` cannot run here.
    It takes no keyword overrides: its configuration is what it forecasts with.

    Args:
        lookback: input steps per window.
        horizon: steps forecast at once.
        **options: other fields of `forecaster.config.DataConfig`.

    Attributes:
        state_: what the fit learned, name -> array (written to `state.npz`).
    """

    _holds_out = False  # nothing to stop early: fit on every row given
    chunk = 4096  # windows per step of a pass over the windows

    def __init__(self, *, lookback, horizon, **options):
        super().__init__(DataConfig(lookback=lookback, horizon=horizon, **options))
        self.state_ = None

    @classmethod
    def config_classes(cls):
        """The configuration dataclasses by name."""
        return {"data": DataConfig}

    @classmethod
    def from_configs(cls, data):
        """A baseline from its `DataConfig`."""
        return cls(**dataclasses.asdict(data))

    def count_params(self):
        """The number of values the fit learned."""
        self._check_fitted()
        return int(sum(np.size(value) for value in self.state_.values()))

    def _fit_prepared(self, prepared, callbacks, config):
        for callback in callbacks:
            callback.on_train_begin()
        for callback in callbacks:
            callback.on_epoch_begin(0)
        self.state_ = self._learn(prepared)
        history = {"loss": [self._loss(prepared.train)]}
        if prepared.val is not None:
            history["val_loss"] = [self._loss(prepared.val)]
        logs = {name: values[0] for name, values in history.items()}
        for callback in callbacks:
            callback.on_epoch_end(0, logs)
        for callback in callbacks:
            callback.on_train_end(logs)
        return history

    def _learn(self, prepared):
        """What this baseline learns from a `preparation.Prepared`; `schema_` is set."""
        return {}

    def _loss(self, windows):
        """The mean squared error of the forecasts of `windows`, on the scaled values."""
        total, count = 0.0, 0
        for x, y in windows.batches(self.chunk):
            # float64: squares of float32 values beyond 1.8e19 overflow to inf
            error = np.asarray(self._forecast(x), np.float64) - np.asarray(y, np.float64)
            total += float(np.square(error).sum())
            count += y.size
        return total / count

    def _target_history(self, x):
        """The targets' own past, `(windows, lookback, targets)`, from the window inputs."""
        past = x["past"] if isinstance(x, dict) else x
        inputs, targets = self.schema_["inputs"], self.schema_["targets"]
        absent = [t for t in targets if t not in inputs]
        if absent:
            raise ValueError(
                f"{type(self).__name__} repeats each target's own history, so every target "
                f"must be an input; target {absent[0]!r} is not among inputs {inputs}"
            )
        return past[..., [inputs.index(t) for t in targets]]

    def save_state(self, folder):
        """Writes `state_` to `folder/state.npz`."""
        np.savez(os.path.join(folder, "state.npz"), **self.state_)

    def load_state(self, folder):
        """Reads `state.npz` into `state_`."""
        with np.load(os.path.join(folder, "state.npz")) as saved:
            self.state_ = {name: saved[name] for name in saved.files}


@loadable
class NaiveForecaster(Baseline):
    """Repeats each target's last observed value over the horizon."""

    def _forecast(self, x):
        last = self._target_history(x)[:, -1:, :]  # (n, 1, T)
        return np.repeat(last, self.data.horizon, axis=1)  # (n, 1, T) -> (n, H, T)


@loadable
class SeasonalNaiveForecaster(Baseline):
    """Repeats each target's last season.

    The forecast h steps ahead is the value m steps (or a multiple of m) before it, m the
    seasonal period (`season=`, or from the frequency).
    """

    def _learn(self, prepared):
        season = self.schema_["season"]
        if season > self.data.lookback:
            raise ValueError(
                f"the seasonal naive forecast with season {season} needs lookback >= "
                f"{season}, got lookback={self.data.lookback}"
            )
        return {}

    def _forecast(self, x):
        history = self._target_history(x)
        season = self.schema_["season"]
        steps = np.arange(self.data.horizon)
        return history[:, self.data.lookback - season + steps % season, :]  # (n, H, T)


@loadable
class MeanForecaster(Baseline):
    """Forecasts each target's mean over the rows it was fitted on."""

    def _learn(self, prepared):
        return {"mean": prepared.target_mean}

    def _forecast(self, x):
        n = len(x["past"] if isinstance(x, dict) else x)
        mean = self.state_["mean"]
        return np.broadcast_to(mean, (n, self.data.horizon, len(mean)))


@loadable
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

    def __init__(self, *, alpha=0.0, channels="joint", **options):
        super().__init__(**options)
        self.linear = LinearConfig(alpha=alpha, channels=channels)

    @classmethod
    def from_configs(cls, data, linear):
        """A linear baseline from its `DataConfig` and `LinearConfig`."""
        return cls(**dataclasses.asdict(data), **dataclasses.asdict(linear))

    @classmethod
    def config_classes(cls):
        """The configuration dataclasses by name."""
        return {"data": DataConfig, "linear": LinearConfig}

    def configs(self):
        """The configuration dataclasses by name."""
        return {"data": self.data, "linear": self.linear}

    @property
    def independent(self):
        """Whether one map, shared by the targets, reads each target's own window."""
        return self.linear.channels == "independent"

    def _learn(self, prepared):
        gram = cross = 0.0
        for x, y in prepared.train.batches(self.chunk):
            design, labels = self._examples(x, y)
            gram = gram + design.T @ design
            cross = cross + design.T @ labels
        penalty = self.linear.alpha * np.eye(len(gram))
        penalty[-1, -1] = 0.0  # the intercept's column
        weights = np.linalg.lstsq(gram + penalty, cross, rcond=None)[0]
        return {"weights": weights}

    def _examples(self, x, y):
        """The design matrix and the labels of a batch of windows, one example a row."""
        if self.independent:
            # Every (window, target) pair is one example: its own history -> its horizon.
            own = self._target_history(x)  # (n, L, F) -> (n, L, T)
            n, lookback, targets = own.shape
            series = own.transpose(0, 2, 1).reshape(n * targets, lookback)  # (n*T, L)
            return self._design(series), y.transpose(0, 2, 1).reshape(n * targets, -1)
        past = x["past"] if isinstance(x, dict) else x
        return self._design(past), y.reshape(len(y), -1)  # (n, H, T) -> (n, H*T)

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
            flat = self._design(series) @ self.state_["weights"]  # (n*T, H)
            return flat.reshape(n, targets, -1).transpose(0, 2, 1)  # (n, T, H) -> (n, H, T)
        past = x["past"] if isinstance(x, dict) else x
        flat = self._design(past) @ self.state_["weights"]
        return flat.reshape(len(past), self.data.horizon, -1)  # (n, H*T) -> (n, H, T)


BASELINES = {
    "naive": NaiveForecaster,
    "seasonal_naive": SeasonalNaiveForecaster,
    "mean": MeanForecaster,
    "linear": LinearForecaster,
}
