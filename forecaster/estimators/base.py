"""What every forecaster shares: the fit contract, scaling, windows, forecasts and scores.

`BaseForecaster` turns a frame (or a stream) into scaled windows through
`forecaster.estimators.preparation`, and scaled forecasts back into a DataFrame in the
original units; the neural `Forecaster` and the baselines add how to fit the prepared
windows (`_fit_prepared`) and how to forecast windows (`_forecast`), both on scaled values,
and what a saved folder holds of them (`save_state`, `load_state`).

The contract follows scikit-learn's: `fit` and `fit_stream` return the forecaster; what
fitting learned ends in an underscore (`scaler_`, `schema_`, `history_`, and the neural
one's `model_`), None before the first fit; and a keyword given to one fit changes that fit
only, never the configuration.
"""

import abc
import dataclasses

from forecaster import checks
from forecaster.data import DataError
from forecaster.estimators import forecasting, intervals, preparation, saving
from forecaster.evaluation.backtesting import backtest


class BaseForecaster(abc.ABC):
    """Fit / predict / evaluate on DataFrames from `forecaster.read_csv`; not used alone.

    Args:
        data: a `DataConfig`.

    Attributes:
        scaler_: the `Scaler` fitted on the training rows.
        schema_: what the fit saw: "inputs", "targets", "columns", "freq",
            "last_timestamp", "season", "mase_scale" and "scaled_mase_scale".
        history_: the per-epoch losses on the scaled values, e.g. {"loss": [...],
            "val_loss": [...]}.
        calibration_: the conformal margins `calibrate` learned, or None.
    """

    # Whether fit, given no validation part, holds out the last val_fraction of the rows
    # (a forecaster that stops early on it does), and whether it scales the targets (a
    # count distribution models them in their own units).
    _holds_out = True
    _scales_targets = True

    def __init__(self, data):
        self.data = data
        self.scaler_ = self.schema_ = self.history_ = self.calibration_ = None

    # -- what subclasses provide --------------------------------------------------------

    @classmethod
    @abc.abstractmethod
    def config_classes(cls):
        """The configuration dataclasses by the names `configs` gives them (for loading)."""

    @classmethod
    @abc.abstractmethod
    def from_configs(cls, **configs):
        """A forecaster from its configuration dataclasses, as `configs` gives them."""

    def configs(self):
        """The configuration dataclasses by name; what `clone` and saving rebuild from."""
        return {"data": self.data}

    def _fit_config(self, overrides):
        """What one fit runs with, given its keyword overrides; by default it takes none."""
        for name in overrides:
            raise ValueError(
                f"unknown option {name!r}; {type(self).__name__}.fit takes no configuration "
                "overrides"
            )

    @abc.abstractmethod
    def _fit_prepared(self, prepared, callbacks, config):
        """Fits a `preparation.Prepared`; returns the history, a dict of per-epoch lists.

        `scaler_` and `schema_` are already the prepared ones; `config` is what
        `_fit_config` made of the fit's overrides.
        """

    @abc.abstractmethod
    def _forecast(self, x):
        """Scaled forecasts `(windows, horizon, targets[, channels])` for inputs `x`."""

    @abc.abstractmethod
    def count_params(self):
        """The number of values the fit learned."""

    @abc.abstractmethod
    def save_state(self, folder):
        """Writes what the fit learned into `folder` (called by `save`)."""

    @abc.abstractmethod
    def load_state(self, folder):
        """Reads what `save_state` wrote (called by `load`)."""

    # -- the public interface -----------------------------------------------------------

    def clone(self):
        """An unfitted forecaster with the same configuration."""
        return type(self).from_configs(**self.configs())

    def fit(self, frame, val=None, callbacks=(), *, static=None, **overrides):
        """Fits the scaler on the training part of `frame`, then the model on its windows.

        With no `val`, a forecaster that stops early (the neural one) holds out the last
        `val_fraction` of the rows, led by `lookback` rows of context, and every statistic
        comes from the rows before them; the baselines train on all of `frame`. With `val`,
        nothing is held out: `frame` is the whole training part and `val` the validation
        part, as where a protocol fixes the borders (`forecaster.evaluation.ltsf`); every
        forecaster reports its validation loss on it in `history_`.

        In long format (series stacked, named by the column `id_col` or
        `attrs["id_col"]`, of any lengths and starts), one model learns from every series,
        each scaled on its own training rows, its validation part its end.

        Args:
            frame: a wide DataFrame, or a long one, on a DatetimeIndex or a step index,
                as from `forecaster.read_csv`.
            val: the validation part, led by `lookback` rows of context (e.g.
                `forecaster.split(...).val`); None: as above.
            callbacks: Keras callbacks (e.g. one that logs each epoch); a baseline runs
                their `on_train_begin`, `on_epoch_begin`, `on_epoch_end` (with its
                losses) and `on_train_end` around its one pass.
            static: the `static` columns as a DataFrame with one row per series (its
                index, or its id column, the series ids); None: they are columns of
                `frame`, constant within each series.
            **overrides: configuration fields for this fit only, e.g. `epochs=3` (the
                neural forecaster takes those of `TrainConfig`; a baseline, whose
                configuration is what it forecasts with, takes none); the configuration
                itself is left as it is.

        Returns:
            The forecaster itself, fitted.

        Raises:
            DataError: the frame lacks a configured column, a series or a part is
                shorter than one window, or a static column varies within a series.
            ValueError: an override is no field this forecaster takes for a fit.

        Example:
            >>> model = NaiveForecaster(lookback=24, horizon=6).fit(frame, val=parts.val)
            >>> sorted(model.history_)
            ['loss', 'val_loss']
        """
        config = self._fit_config(overrides)
        prepared = preparation.prepare(
            self.data,
            frame,
            val,
            hold_out=self._holds_out,
            window_spec=self._training_spec,
            static=static,
            scale_targets=self._scales_targets,
        )
        return self._fit_with(prepared, callbacks, config)

    def fit_stream(self, source, val=None, callbacks=(), *, shuffle_buffer=1_000_000, **overrides):
        """Fits on a series too large for memory, read chunk by chunk from a `Source`.

        As `fit` on the same rows: the same holdout, the scaler and the schema from one
        pass over the training rows (the validation rows are read once too, so a bad row
        is a `DataError` before training). The windows are read from the files at each
        epoch, shuffled within pieces of `shuffle_buffer` rows.

        Args:
            source: a `Source` from `forecaster.open_source` (the whole series, or with
                `val` the training part, e.g. `split_stream(...).train`).
            val: the validation part, a `Source` led by `lookback` rows of context; None:
                as for `fit`.
            callbacks: as for `fit`.
            shuffle_buffer: the rows of each piece whose windows are shuffled (see
                `forecaster.stream_windows`); 0 keeps them in order.
            **overrides: as for `fit`.

        Returns:
            The forecaster itself, fitted.

        Raises:
            TypeError: `source` or `val` is not a `Source`.
            ValueError: `scaler="robust"` (one pass cannot fit it), or a negative binomial.
            DataError: a row of the data is bad, or a part is shorter than one window.

        Example:
            >>> model = Forecaster(cell="gru", lookback=96, horizon=24, epochs=5)
            >>> model.fit_stream(open_source("big/", chunk_rows=100_000)).history_["val_loss"]
        """
        config = self._fit_config(overrides)
        if not self._scales_targets:
            raise ValueError(
                "fit_stream scales every column; a negative binomial models its counts "
                "unscaled: fit(frame) instead"
            )
        prepared = preparation.prepare_stream(
            self.data,
            source,
            val,
            hold_out=self._holds_out,
            shuffle_buffer=shuffle_buffer,
            window_spec=self._training_spec,
        )
        return self._fit_with(prepared, callbacks, config)

    def _fit_with(self, prepared, callbacks, config):
        self.scaler_, self.schema_, self.history_ = prepared.scaler, prepared.schema, None
        self.calibration_ = None  # calibrated on another fit's forecasts
        try:
            self.history_ = self._fit_prepared(prepared, list(callbacks), config)
        except BaseException:
            self.scaler_ = self.schema_ = None  # a failed fit leaves nothing half fitted
            raise
        return self

    def predict(self, frame, future=None, *, static=None, samples=None, seed=0):
        """Forecasts the `horizon` steps after the end of `frame`, in the original units.

        Args:
            frame: at least `lookback` rows with the fitted columns; its last `lookback`
                rows are the input. Long format for a model fitted on many series: each
                series is forecast from its own last rows, all in one batch.
            future: with `known_future` columns, a DataFrame holding their values for the
                `horizon` timestamps after `frame`'s end (in long format, with the id
                column naming each row's series).
            static: as for `fit`, when the static columns are not in `frame`.
            samples: a number of draws from the forecast distribution to return instead
                (a forecaster with `distribution` only).
            seed: seeds the draws.

        Returns:
            A DataFrame on the `horizon` stamps (or steps) after `frame`'s end, a column
            per target (a distribution's mean), then `<target>_q<level>` per level of a
            forecaster with quantiles (`Temp_q0.05`); long: the series stacked, the id
            column first. With `samples`, the draws stacked after a "sample" column.
            Non-negative targets (`schema_["nonnegative"]`) are never below 0.

        Raises:
            ValueError: `samples` for a forecaster without a distribution.
        """
        self._check_fitted()
        if samples is not None:
            checks.positive_int("samples", samples)
        return forecasting.predict(self, frame, future, static, samples, seed)

    def quantile_levels(self):
        """The quantile levels `predict` gives: the forecaster's own and calibrated ones."""
        self._check_fitted()
        return intervals.levels(self)

    def calibrate(self, frame, quantiles=None, *, static=None):
        """Calibrates intervals on held-out windows (split conformal, per horizon step).

        Per horizon step and target, the margin within which a share c of the windows'
        errors fall makes the c interval, which covers a new value with probability at
        least c when windows are exchangeable (`forecaster.estimators.intervals`); a
        forecaster's own quantiles at those levels are widened or narrowed instead (CQR).
        `predict`, `evaluate` and `save` then use them; a new `fit` drops them.

        Args:
            frame: held-out data led by `lookback` rows of context, as for `evaluate`.
            quantiles: the levels, in central pairs (0.05 and 0.95: the 90% interval);
                None: the forecaster's own levels, or (0.05, 0.95).
            static: as for `fit`.

        Returns:
            The forecaster itself; `calibration_` holds the margins.

        Raises:
            ValueError: a level has no partner `1 - level`.
            DataError: too few windows for a level (c needs ``c / (1 - c)``).

        Example:
            >>> model = NaiveForecaster(lookback=24, horizon=12).fit(parts.train)
            >>> model.calibrate(parts.val, [0.05, 0.95]).predict(parts.val).columns
        """
        self._check_fitted()
        if quantiles is None:
            quantiles = intervals.own_levels(self) or (0.05, 0.95)
        levels = intervals.check_levels(quantiles)
        scored = forecasting.scored_windows(self, frame, static)
        self.calibration_ = intervals.calibrate(self, scored, levels)
        return self

    def evaluate(self, frame, *, static=None):
        """Scores every window of `frame` (stride 1), in original units and scaled.

        Args:
            frame: a test frame that starts `lookback` rows before its first forecast
                step, e.g. `forecaster.split(...).test` (long format: each series so).
            static: as for `fit`, when the static columns are not in `frame`.

        Returns:
            A dict with "mae", "mse", "rmse", "mape", "smape" and "mase" in the original
            units, the same names prefixed "scaled_" on the scaled values, and "windows"
            (and "series" in long format), pooled over every window of every series;
            MASE is scaled per series. With quantiles, also "pinball", "crps" and per
            central interval "coverage_<c>", "width_<c>", "msis_<c>" (`c` in percent).
        """
        self._check_fitted()
        return forecasting.evaluate(self, frame, static)

    def evaluate_series(self, frame, *, static=None):
        """Scores per series: a DataFrame indexed by the series ids, a column per metric.

        As `evaluate` (its arguments and its scores in the original units, with
        "windows"), one row per series of `frame` (one, "None", for a wide frame).
        """
        self._check_fitted()
        return forecasting.evaluate_series(self, frame, static)

    def plot(self, frame, actual=None, future=None, path=None, history_steps=None, series=None):
        """Plots the forecast after `frame` beside its recent history (and `actual`).

        Args:
            frame: the history to forecast from, as for `predict`.
            actual: the true values after `frame`, when known.
            future: known-future values, as for `predict`.
            path: a file to save the figure to (PNG, SVG, PDF by its suffix).
            history_steps: how much history to draw; 3 horizons by default.
            series: for a model fitted on many series, the id of the one to draw (its
                rows are taken from `frame`, `actual` and `future`).

        Returns:
            The matplotlib `Figure`; a forecaster with quantiles shades each central
            interval (e.g. 5-95%) around its forecast.

        Raises:
            DataError: `series` is missing for a model of many series, or not in `frame`.
        """
        self._check_fitted()
        return forecasting.plot(self, frame, actual, future, path, history_steps, series)

    def save(self, path):
        """Saves the fitted forecaster to the folder `path`; see `forecaster.estimators.saving`.

        Raises:
            RuntimeError: the forecaster is not fitted.
            FileExistsError: `path` exists and is not a saved forecaster.
        """
        self._check_fitted()
        saving.save(self, path)

    calibration_from = staticmethod(intervals.Calibration.from_dict)  # for `load`

    @staticmethod
    def load(path):
        """Loads a forecaster saved with `save`, whatever its class (`forecaster.load`)."""
        return saving.load(path)

    def backtest(self, frame, folds=5, **options):
        """Rolling-origin backtest; see `forecaster.evaluation.backtest` for the options.

        Raises:
            DataError: `frame` is in long format (not built yet: use `evaluate_series`).
        """
        return backtest(self, frame, folds=folds, **options)

    def check_frame(self, frame):
        """Returns `frame` if it has the fitted columns, index kind and format (wide or long).

        Raises:
            DataError: it does not, naming what is wrong.
        """
        frame = preparation.check_frame(frame)
        if self.schema_ is not None:
            forecasting.check_kind(self, frame)
            needed = [*self.schema_["inputs"], *self.schema_["targets"], *self.data.known_future]
            absent = [c for c in dict.fromkeys(needed) if c not in frame.columns]
            if absent:
                raise DataError(
                    f"column {absent[0]!r} was fitted on but is not in the frame; "
                    f"columns are {list(frame.columns)}"
                )
        return frame

    def window_spec(self, stride=None):
        """The `WindowSpec` that predict and evaluate cut the fitted columns with.

        Args:
            stride: rows between windows; None: the configured `stride`.
        """
        self._check_fitted()
        spec = self.data.window_spec(
            inputs=self.schema_["inputs"],
            targets=self.schema_["targets"],
            static=forecasting.encoding(self).columns,
        )
        return spec if stride is None else dataclasses.replace(spec, stride=stride)

    # -- helpers ------------------------------------------------------------------------

    def _training_spec(self, inputs, targets):
        """The `WindowSpec` of the training windows, given the resolved columns."""
        return self.data.window_spec(inputs=inputs, targets=targets)

    def _check_fitted(self):
        if self.schema_ is None:
            raise RuntimeError(f"this {type(self).__name__} is not fitted; call fit(frame) first")
