"""What every forecaster shares: checking frames, scaling, windows, forecasts and scores.

`BaseForecaster` turns a frame into scaled windows and scaled forecasts back into a
DataFrame in the original units; the neural `Forecaster` and the baselines add only how to
fit windows (`_fit_windows`) and how to forecast them (`_forecast`), both on scaled values.
"""

import abc
import dataclasses

import numpy as np
import pandas as pd

from forecaster.data import DataError, Scaler, make_windows, split
from forecaster.data.timestamps import season_length, to_offset
from forecaster.evaluation import metrics


class BaseForecaster(abc.ABC):
    """Fit / predict / evaluate on DataFrames from `forecaster.read_csv`; not used alone.

    Args:
        data: a `DataConfig`.
    """

    uses_validation = True  # whether fit holds out the last val_fraction of the rows
    fits_streams = False  # whether fit_stream works: training batch by batch from a dataset

    def __init__(self, data):
        self.data = data
        self.scaler = None
        self.schema = None

    # -- what subclasses provide --------------------------------------------------------

    def configs(self):
        """The configuration dataclasses by name; what `clone` and saving rebuild from."""
        return {"data": self.data}

    @abc.abstractmethod
    def _fit_windows(self, train, val, frame):
        """Fits the scaled training and validation `Windows`; returns what `fit` returns.

        `val` is None when `uses_validation` is off; `frame` is the scaled training part,
        for statistics that overlapping windows would weight unevenly.
        """

    @abc.abstractmethod
    def _forecast(self, x):
        """Scaled forecasts `(windows, horizon, targets)` for window inputs `x`."""

    @abc.abstractmethod
    def _save_state(self, folder):
        """Writes what the fit learned into `folder`."""

    @abc.abstractmethod
    def _load_state(self, folder):
        """Reads what `_save_state` wrote."""

    # -- the public interface -----------------------------------------------------------

    def clone(self):
        """An unfitted forecaster with the same configuration."""
        return type(self).from_configs(**self.configs())

    def fit(self, frame, val=None):
        """Fits the scaler on the training part of `frame`, then the model on its windows.

        A forecaster that validates (`uses_validation`, the neural one) holds out the last
        `val_fraction` of the rows, led by `lookback` rows of context, and every statistic
        comes from the rows before them; the baselines train on all of `frame`. With `val`,
        nothing is held out: `frame` is the whole training part and `val` the validation
        part, as where a protocol fixes the borders (`forecaster.evaluation.ltsf`).

        Args:
            frame: a wide DataFrame on a DatetimeIndex, as from `forecaster.read_csv`.
            val: the validation part, led by `lookback` rows of context (e.g.
                `forecaster.split(...).val`); None: hold out the last `val_fraction` of
                `frame`. Only for a forecaster that validates.

        Returns:
            What the subclass's fitting returns (the Keras `History` for `Forecaster`).
        """
        frame = self._check_frame(frame)
        inputs, targets = self._columns(frame)
        lookback, horizon = self.data.lookback, self.data.horizon
        rows_needed = lookback + horizon
        if len(frame) < rows_needed:
            raise DataError(
                f"the frame has {len(frame)} rows, fewer than lookback + horizon = "
                f"{rows_needed} needed for one window"
            )
        train_part, val_part = self._holdout(frame, val)
        scaled_columns = list(dict.fromkeys([*inputs, *targets, *self.data.known_future]))
        self.scaler = Scaler(self.data.scaler).fit(train_part, columns=scaled_columns)
        scaled_train = self.scaler.transform(train_part)
        season = self.data.season or season_length(frame.attrs.get("freq") or frame.index.freq)
        train_targets = train_part[list(targets)].to_numpy(dtype=np.float64)
        self.schema = {
            "inputs": list(inputs),
            "targets": list(targets),
            "columns": list(frame.columns),
            "freq": to_offset(frame.attrs.get("freq") or frame.index.freq).freqstr,
            "last_timestamp": frame.index[-1].isoformat(),
            "season": season,
            "mase_scale": _mase_scale(train_targets, season).tolist(),
            "scaled_mase_scale": _mase_scale(
                scaled_train[list(targets)].to_numpy(dtype=np.float64), season
            ).tolist(),
        }
        spec = self._training_spec(inputs, targets)
        train = make_windows(scaled_train, spec)
        val = None if val_part is None else make_windows(self.scaler.transform(val_part), spec)
        return self._fit_windows(train, val, scaled_train)

    def fit_stream(self, source, val=None, *, shuffle_buffer=1_000_000):
        """Fits on a series too large for memory, read chunk by chunk from a `Source`.

        As `fit` on the same rows: the last `val_fraction` of the rows (led by `lookback`
        rows of context) is held out unless `val` is given, and the scaler and the schema
        come from the training rows alone, in one pass over them; predict, evaluate and
        save work afterwards on frames as usual. That pass also reads the validation rows
        once, to check them, so a bad row is a `DataError` before the first epoch. Each
        epoch then reads the files again, shuffling the training windows within pieces of
        `shuffle_buffer` rows (all of them when the part is shorter).

        Args:
            source: a `Source` from `forecaster.open_source` (the whole series, or with
                `val` the training part, e.g. `split_stream(...).train`).
            val: the validation part, a `Source` led by `lookback` rows of context; None:
                hold out the last `val_fraction` of `source`.
            shuffle_buffer: the rows of each piece whose windows are shuffled (see
                `forecaster.stream_windows`); 0 keeps them in order.

        Returns:
            What the subclass's fitting returns (the Keras `History` for `Forecaster`).

        Raises:
            TypeError: this forecaster cannot fit on a stream (the baselines).
            ValueError: `scaler="robust"`, which one pass cannot fit.
            DataError: a row of the data is bad, or a part is shorter than one window.

        Example:
            >>> model = Forecaster(cell="gru", lookback=96, horizon=24, epochs=5)
            >>> model.fit_stream(open_source("big/", chunk_rows=100_000))
        """
        from forecaster.estimators import streamfit  # the streaming pass, kept beside this module

        return streamfit.fit_stream(self, source, val, shuffle_buffer)

    def _holdout(self, frame, val=None):
        """The training part and the validation part (None when `uses_validation` is off)."""
        rows_needed = self.data.lookback + self.data.horizon
        if val is not None:  # the baselines' fit takes no val
            val = self._check_frame(val)
            if len(val) < rows_needed:
                raise DataError(
                    f"the validation part has {len(val)} rows, fewer than lookback + horizon "
                    f"= {rows_needed} needed for one window"
                )
            return frame, val
        if not self.uses_validation:
            return frame, None
        fraction = self.data.val_fraction
        parts = split(frame, 1 - fraction, fraction, 0.0, lookback=self.data.lookback)
        for name, part in (("training", parts.train), ("validation", parts.val)):
            if len(part) < rows_needed:
                raise DataError(
                    f"the {name} part has {len(part)} rows (val_fraction={fraction} of "
                    f"{len(frame)}), fewer than lookback + horizon = {rows_needed}; "
                    "pass a longer frame or change val_fraction"
                )
        return parts.train, parts.val

    def predict(self, frame, future=None):
        """Forecasts the `horizon` steps after the end of `frame`, in the original units.

        Args:
            frame: at least `lookback` rows with the fitted columns; its last `lookback`
                rows are the input.
            future: with `known_future` columns, a DataFrame holding their values for the
                `horizon` timestamps after `frame`'s end.

        Returns:
            A DataFrame indexed by the `horizon` timestamps after `frame`'s end, one column
            per target.
        """
        self._check_fitted()
        frame = self._check_frame(frame)
        lookback, horizon = self.data.lookback, self.data.horizon
        if len(frame) < lookback:
            raise DataError(f"predict needs at least lookback = {lookback} rows, got {len(frame)}")
        offset = to_offset(self.schema["freq"])
        index = pd.date_range(frame.index[-1], periods=horizon + 1, freq=offset)[1:]
        recent = frame.iloc[-lookback:]
        needed = list(dict.fromkeys([*self.schema["inputs"], *self.data.known_future]))
        gaps = recent[needed].isna().any(axis=1)
        if gaps.any():
            raise DataError(
                f"predict's input rows must be complete; row {recent.index[gaps.argmax()]} "
                "has a missing value"
            )
        if self.data.known_future:
            recent = pd.concat([recent, self._future_rows(future, index)])
        else:
            recent = pd.concat([recent, pd.DataFrame(index=index, columns=recent.columns)])
        recent = recent.astype("float64").fillna(0.0)  # unknown future targets are never read
        windows = make_windows(self.scaler.transform(recent), self._spec())
        x, _ = windows.numpy()
        scaled = self._forecast(x)[0]  # (1, H, T) -> (H, T)
        values = self.scaler.inverse_transform(scaled, columns=self.schema["targets"])
        return pd.DataFrame(values, index=index, columns=self.schema["targets"])

    def evaluate(self, frame):
        """Scores every window of `frame` (stride 1), in original units and scaled.

        Args:
            frame: a test frame that starts `lookback` rows before its first forecast
                step, e.g. `forecaster.split(...).test`.

        Returns:
            A dict with "mae", "mse", "rmse", "mape", "smape" and "mase" in the original
            units, the same names prefixed "scaled_" on the scaled values, and "windows".
            MASE divides by the training part's in-sample seasonal-naive error.
        """
        self._check_fitted()
        frame = self._check_frame(frame)
        windows = make_windows(self.scaler.transform(frame), self._spec(stride=1))
        x, y = windows.numpy()
        forecast = self._forecast(x)
        targets = self.schema["targets"]
        scores = metrics.scores(
            self.scaler.inverse_transform(y, columns=targets),
            self.scaler.inverse_transform(forecast, columns=targets),
            np.asarray(self.schema["mase_scale"]),
        )
        scaled = metrics.scores(y, forecast, np.asarray(self.schema["scaled_mase_scale"]))
        return {**scores, **{f"scaled_{k}": v for k, v in scaled.items()}, "windows": len(y)}

    def plot(self, frame, actual=None, future=None, path=None, history_steps=None):
        """Plots the forecast after `frame` beside its recent history (and `actual`).

        Args:
            frame: the history to forecast from, as for `predict`.
            actual: the true values after `frame`, when known.
            future: known-future values, as for `predict`.
            path: a file to save the figure to (PNG, SVG, PDF by its suffix).
            history_steps: how much history to draw; 3 horizons by default.

        Returns:
            The matplotlib `Figure`.
        """
        from forecaster.evaluation.plotting import plot_forecast  # matplotlib only when plotting

        forecast = self.predict(frame, future=future)
        steps = history_steps or 3 * self.data.horizon
        history = frame[self.schema["targets"]].iloc[-steps:]
        return plot_forecast(history, forecast, actual, path=path, title=type(self).__name__)

    def save(self, path):
        """Saves the fitted forecaster to the folder `path`; see `forecaster.estimators.saving`."""
        from forecaster.estimators import saving

        saving.save(self, path)

    @staticmethod
    def load(path):
        """Loads a forecaster saved with `save`, whatever its class."""
        from forecaster.estimators import saving

        return saving.load(path)

    def backtest(self, frame, folds=5, **options):
        """Rolling-origin backtest; see `forecaster.evaluation.backtest` for the options."""
        from forecaster.evaluation.backtesting import (
            backtest,  # the backtest module builds on this one
        )

        return backtest(self, frame, folds=folds, **options)

    # -- helpers ------------------------------------------------------------------------

    def _spec(self, stride=None):
        spec = self.data.window_spec(inputs=self.schema["inputs"], targets=self.schema["targets"])
        return spec if stride is None else dataclasses.replace(spec, stride=stride)

    def _training_spec(self, inputs, targets):
        return self.data.window_spec(inputs=inputs, targets=targets)

    def _check_fitted(self):
        if self.schema is None:
            raise RuntimeError(f"this {type(self).__name__} is not fitted; call fit(frame) first")

    def _check_frame(self, frame):
        if not isinstance(frame, pd.DataFrame) or not isinstance(frame.index, pd.DatetimeIndex):
            raise DataError(
                f"expected a DataFrame on a DatetimeIndex (as from forecaster.read_csv), "
                f"got {type(frame).__name__}"
                + ("" if not isinstance(frame, pd.DataFrame) else " without one")
            )
        if frame.attrs.get("id_col") is not None:
            raise DataError(
                f"the frame is in long format (id_col={frame.attrs['id_col']!r}); forecasters "
                "fit one wide series: select one series, e.g. frame[frame[id_col] == key]"
            )
        if self.schema is not None:
            needed = [*self.schema["inputs"], *self.schema["targets"], *self.data.known_future]
            absent = [c for c in dict.fromkeys(needed) if c not in frame.columns]
            if absent:
                raise DataError(
                    f"column {absent[0]!r} was fitted on but is not in the frame; "
                    f"columns are {list(frame.columns)}"
                )
        return frame

    def _columns(self, frame):
        """The input and target columns after defaults, checked against the frame."""
        known = set(self.data.known_future)
        inputs = self.data.inputs or tuple(c for c in frame.columns if c not in known)
        targets = self.data.targets or inputs
        for role, names in (
            ("target", targets),
            ("input", inputs),
            ("known-future", self.data.known_future),
        ):
            absent = [n for n in names if n not in frame.columns]
            if absent:
                raise DataError(
                    f"{role} column {absent[0]!r} is not in the frame; "
                    f"columns are {list(frame.columns)}"
                )
        return tuple(inputs), tuple(targets)

    def _future_rows(self, future, index):
        names = list(self.data.known_future)
        if future is None:
            raise DataError(
                f"known-future columns {names} need their values over the horizon: pass "
                f"future=, a DataFrame with them for the {len(index)} timestamps from {index[0]}"
            )
        missing = index.difference(future.index)
        if len(missing):
            raise DataError(f"future has no row for {missing[0]}; it must cover {len(index)} steps")
        absent = [c for c in names if c not in future.columns]
        if absent:
            raise DataError(f"future has no known-future column {absent[0]!r}")
        return future.loc[index, names]


def _mase_scale(train_targets, season):
    """Per-target in-sample seasonal-naive MAE, falling back to the naive one when short."""
    season = season if len(train_targets) > season else 1
    return metrics.seasonal_naive_scale(train_targets, season)
