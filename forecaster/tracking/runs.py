"""Tracked runs: a fit logged to MLflow with its parameters, epochs, scores and model.

Every forecaster is fitted and logged the same way: its epochs through a callback, its
scores, scaler, plot and saved folder (configs, scaler, schema) under `forecaster/`, which
`forecaster.load` reads, and the whole forecaster as the pyfunc model `model`, which
forecasts from raw data in any process (`forecaster.tracking.serving`).
"""

import contextlib
import dataclasses
import os
import signal
import tempfile
import threading
import time
from pathlib import Path

import keras
import mlflow
import numpy as np
from mlflow.entities import RunStatus

from forecaster.estimators import forecasting
from forecaster.tracking import processes, serving, store


def params(configs):
    """Flat `section.field` parameters from the configuration dataclasses, every field."""
    return {
        f"{section}.{name}": value
        for section, config in configs.items()
        for name, value in dataclasses.asdict(config).items()
    }


class EpochLogger(keras.callbacks.Callback):
    """Logs the losses and learning rate of every epoch to an MLflow run, and its time."""

    def __init__(self, run_id):
        super().__init__()
        self.run_id = run_id
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        """Starts the epoch's clock."""
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        """Logs the epoch's finite losses and learning rate, and keeps its time."""
        self.seconds.append(time.perf_counter() - self._start)
        values = {k: float(v) for k, v in (logs or {}).items() if np.isfinite(v)}
        mlflow.log_metrics(values, step=epoch, run_id=self.run_id)


# Code that must not be interrupted halfway: an interrupt inside a store write can leave
# its transaction open, so the runs could no longer be ended KILLED.
_WRITERS = ("mlflow", "sqlalchemy", "sqlite3")


@contextlib.contextmanager
def sigterm_as_interrupt():
    """Turns SIGTERM into KeyboardInterrupt while the block runs (in the main thread).

    A SIGTERM that arrives while MLflow writes to its store is delivered again 50 ms
    later, until the write is done, so the interrupt never lands inside a transaction.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum, frame):
        if _writing(frame):
            again = threading.Timer(0.05, os.kill, (os.getpid(), signum))
            again.daemon = True
            again.start()
            return
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _writing(frame):
    """Whether the interrupted Python frame is inside the store's code (`_WRITERS`)."""
    while frame is not None:
        if frame.f_globals.get("__name__", "").partition(".")[0] in _WRITERS:
            return True
        frame = frame.f_back
    return False


@contextlib.contextmanager
def tracked_run(**options):
    """An MLflow run that ends FINISHED, FAILED on an error, or KILLED on an interrupt.

    MLflow's own `with mlflow.start_run()` marks every exception FAILED, an interrupt too,
    and a run that is never ended stays RUNNING in the store forever. So that the next
    process to open the store can end it KILLED when this one dies without a word
    (SIGKILL), the run is tagged with this process's host, pid and start
    (`forecaster.tracking.processes`).

    Args:
        **options: `mlflow.start_run` keywords; "tags" join the process's.
    """
    tags = {**processes.process_tags(), **(options.pop("tags", None) or {})}
    run = mlflow.start_run(tags=tags, **options)
    try:
        yield run
    except KeyboardInterrupt:
        mlflow.end_run(RunStatus.to_string(RunStatus.KILLED))
        raise
    except BaseException:
        mlflow.end_run(RunStatus.to_string(RunStatus.FAILED))
        raise
    mlflow.end_run(RunStatus.to_string(RunStatus.FINISHED))


def _log_forecast(model, test, future_rows):
    """The forecast plot from the start of the test part, beside the actual values."""
    lookback, horizon = model.data.lookback, model.data.horizon
    id_col = model.schema_.get("id_col")
    series = None
    if id_col is not None:  # a global model: its first test series
        series = test[id_col].iloc[0]
        test = test[(test[id_col] == series).to_numpy()]
    history = test.iloc[:lookback]
    actual = test.iloc[lookback : lookback + horizon]
    future = test.iloc[lookback : lookback + horizon] if future_rows else None
    figure = model.plot(
        history, actual=actual, future=future, history_steps=lookback, series=series
    )
    network = getattr(model, "network", None)
    name = type(model).__name__
    if network is not None:
        name = f"{network.cell} seed {model.train.seed} ({network.architecture} network)"
    figure.suptitle(f"{name}: the first test window" + (f" of {series}" if series else ""))
    mlflow.log_figure(figure, "forecast.png")


def _log_fitted(model, test, run_id, seconds, register=None):
    """Logs a fitted model's test scores, cost, scaler, plot and state.

    Args:
        model: the fitted forecaster.
        test: the test frame.
        run_id: the active run's id.
        seconds: the wall time of each epoch of its fit (one pass, for a baseline).
        register: a Model Registry name for the pyfunc model (`serving.log_model`).

    Returns:
        The test scores with "run_id", "params" (the values the fit learned) and
        "seconds_per_epoch".
    """
    scores = model.evaluate(test)
    mlflow.log_metrics({f"test_{k}": float(v) for k, v in scores.items()})
    cost = {"params": model.count_params(), "seconds_per_epoch": float(np.mean(seconds))}
    mlflow.log_metrics(cost)
    mlflow.log_text(model.scaler_.to_json(), "scaler.json")
    _log_forecast(model, test, bool(model.data.known_future))
    with tempfile.TemporaryDirectory() as folder:
        model.save(Path(folder) / "forecaster")
        mlflow.log_artifacts(str(Path(folder) / "forecaster"), "forecaster")
    serving.log_model(model, test, register=register)
    return {**scores, **cost, "run_id": run_id}


def run_tags(frame, dataset, **extra):
    """The tags every run gets: the data set's name and SHA-256, the git commit, `extra`."""
    tags = {"dataset": dataset or "data", "dataset_sha256": store.checksum(frame), **extra}
    commit = store.git_commit()
    if commit:
        tags["git_commit"] = commit
    return tags


def fit_in_run(model, train, test, dataset, *, val=None, calibrate=(), register=None, **tags):
    """Fits `model` inside the active run and logs it; returns the scores.

    Args:
        model: an unfitted forecaster.
        train: the frame to fit on.
        test: the test frame, starting `lookback` rows before its first forecast step.
        dataset: the data set's name for the run's tags.
        val: a fixed validation part; None: the forecaster's own holdout.
        calibrate: quantile levels to calibrate the fitted model at (`calibrate`) on
            `val`, or on the last `val_fraction` of `train` (its own holdout); () none.
        register: a Model Registry name to register the run's pyfunc model under.
        **tags: extra tags for the run.
    """
    run_id = mlflow.active_run().info.run_id
    mlflow.set_tags(run_tags(train, dataset, model=type(model).__name__, **tags))
    mlflow.log_params(params(model.configs()))
    logger = EpochLogger(run_id)
    model.fit(train, val=val, callbacks=[logger])
    if calibrate:
        held = forecasting.held_out(model, train) if val is None else val
        model.calibrate(held, calibrate)
        mlflow.log_param("calibration", f"{model.calibration_.method} at {list(calibrate)}")
    return _log_fitted(model, test, run_id, logger.seconds, register)


def track_fit(model, train, test, *, val=None, experiment="fit", dataset=None, **tags):
    """Fits a forecaster on `train` in a new MLflow run and scores it on `test`.

    The run also logs its wall time (fit, scoring and logging) as "wall_seconds".

    Args:
        model: an unfitted forecaster (neural or baseline).
        train: the frame to fit on.
        test: the test frame, starting `lookback` rows before its first forecast step.
        val: a fixed validation part; None: the forecaster's own holdout from `train`.
        experiment: the MLflow experiment's name.
        dataset: the data set's name for the run's tags.
        **tags: extra tags for the run.

    Returns:
        The test scores (as `evaluate` gives them) and "run_id".
    """
    experiment_id = store.experiment_id(experiment)
    with sigterm_as_interrupt(), tracked_run(experiment_id=experiment_id):
        start = time.perf_counter()
        scores = fit_in_run(model, train, test, dataset, val=val, **tags)
        mlflow.log_metric("wall_seconds", time.perf_counter() - start)
        return scores


def track_split(model, parts, *, experiment="ltsf", dataset=None, **tags):
    """`track_fit` on fixed parts: fits on `parts.train`, validates on `parts.val`.

    For a protocol that fixes the validation part (`forecaster.evaluation.ltsf`): the
    neural forecaster early-stops on `parts.val` instead of holding out its own, a
    baseline fits on `parts.train` alone; both log their validation loss on it.

    Args:
        model: an unfitted forecaster.
        parts: a `forecaster.Split`; every statistic comes from `parts.train`.
        experiment: the MLflow experiment's name.
        dataset: the data set's name for the run's tags.
        **tags: extra tags for the run.

    Returns:
        The test scores (as `evaluate` gives them) and "run_id".
    """
    return track_fit(
        model,
        parts.train,
        parts.test,
        val=parts.val,
        experiment=experiment,
        dataset=dataset,
        **tags,
    )
