"""Tracked runs: a fit logged to MLflow with its parameters, epochs, scores and model.

A model logged here is in MLflow's Keras flavour; a fresh process reloads it with
`import forecaster` (which registers the cells with Keras) and then
`mlflow.pyfunc.load_model(uri)`. Each run also holds the whole saved forecaster (configs,
scaler, schema) under `forecaster/`, which `forecaster.Forecaster.load` reads.
"""

import contextlib
import dataclasses
import signal
import tempfile
import threading
import time
from pathlib import Path

import keras
import mlflow
import numpy as np
import tensorflow as tf
from mlflow.entities import RunStatus

import forecaster
from forecaster.estimators.neural import Forecaster
from forecaster.tracking import processes, store


def _params(configs):
    """Flat `section.field` parameters from the configuration dataclasses."""
    return {
        f"{section}.{name}": value
        for section, config in configs.items()
        for name, value in dataclasses.asdict(config).items()
    }


class _EpochLogger(keras.callbacks.Callback):
    """Logs the losses and learning rate of every epoch to an MLflow run, and its time."""

    def __init__(self, run_id):
        super().__init__()
        self.run_id = run_id
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)
        values = {k: float(v) for k, v in (logs or {}).items() if np.isfinite(v)}
        mlflow.log_metrics(values, step=epoch, run_id=self.run_id)


@contextlib.contextmanager
def sigterm_as_interrupt():
    """Turns SIGTERM into KeyboardInterrupt while the block runs (in the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


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
    history = test.iloc[:lookback]
    actual = test.iloc[lookback : lookback + horizon][model.schema["targets"]]
    future = test.iloc[lookback : lookback + horizon] if future_rows else None
    figure = model.plot(history, actual=actual, future=future, history_steps=lookback)
    mlflow.log_figure(figure, "forecast.png")


def _log_fitted(model, test, run_id, epochs=None):
    """Logs a fitted model's test scores, scaler, plot and state.

    Returns:
        The test scores with "run_id", and "params" and "seconds_per_epoch" (0 for a
        baseline).
    """
    scores = model.evaluate(test)
    mlflow.log_metrics({f"test_{k}": float(v) for k, v in scores.items() if k != "windows"})
    cost = {"params": 0, "seconds_per_epoch": 0.0}
    mlflow.log_text(model.scaler.to_json(), "scaler.json")
    _log_forecast(model, test, bool(model.data.known_future))
    with tempfile.TemporaryDirectory() as folder:
        model.save(Path(folder) / "forecaster")
        mlflow.log_artifacts(str(Path(folder) / "forecaster"), "forecaster")
    if isinstance(model, Forecaster):
        requirements = [f"tensorflow=={tf.__version__}", f"keras=={keras.__version__}"]
        example = _example_windows(model, test)
        signature = mlflow.models.infer_signature(example, model.model.predict(example, verbose=0))
        mlflow.keras.log_model(
            model.model, name="model", signature=signature, pip_requirements=requirements
        )
        cost = {"params": model.model.count_params(), "seconds_per_epoch": float(np.mean(epochs))}
        mlflow.log_metrics(cost)
    return {**scores, **cost, "run_id": run_id}


def _example_windows(model, test, count=2):
    """A few scaled test windows in the form the Keras model takes, for its signature."""
    windows = forecaster.make_windows(model.scaler.transform(test), model._spec())
    x, _ = windows.numpy()
    if isinstance(x, dict):
        return {k: np.ascontiguousarray(v[:count]) for k, v in x.items()}
    return np.ascontiguousarray(x[:count])


def run_tags(frame, dataset, **extra):
    """The tags every run gets: the data set's name and SHA-256, the git commit, `extra`."""
    tags = {"dataset": dataset or "data", "dataset_sha256": store.checksum(frame), **extra}
    commit = store.git_commit()
    if commit:
        tags["git_commit"] = commit
    return tags


def fit_in_run(model, train, test, dataset, **tags):
    """Fits `model` inside the active run and logs it; returns the scores."""
    run_id = mlflow.active_run().info.run_id
    mlflow.set_tags(run_tags(train, dataset, model=type(model).__name__, **tags))
    mlflow.log_params(_params(model.configs()))
    logger = None
    if isinstance(model, Forecaster):
        logger = _EpochLogger(run_id)
        model.fit(train, callbacks=[logger])
    else:
        model.fit(train)
    return _log_fitted(model, test, run_id, logger.seconds if logger else None)


def track_fit(model, train, test, *, experiment="fit", dataset=None):
    """Fits a forecaster (or baseline) on `train` in a new MLflow run and scores it on `test`.

    Args:
        model: an unfitted `Forecaster` or baseline.
        train: the frame to fit on (the Forecaster holds out its own validation part).
        test: the test frame, starting `lookback` rows before its first forecast step.
        experiment: the MLflow experiment's name.
        dataset: the data set's name for the run's tags.

    Returns:
        The test scores (as `evaluate` gives them) and "run_id".
    """
    experiment_id = store.experiment_id(experiment)
    with sigterm_as_interrupt(), tracked_run(experiment_id=experiment_id):
        return fit_in_run(model, train, test, dataset)


def track_split(model, parts, *, experiment="ltsf", dataset=None, **tags):
    """Like `track_fit`, on fixed parts: fits on `parts.train`, validates on `parts.val`.

    For a protocol that fixes the validation part (`forecaster.evaluation.ltsf`): a forecaster that
    validates early-stops on `parts.val` instead of holding out its own; a baseline fits on
    `parts.train` alone. The run also logs its wall time (fit, scoring and logging).

    Args:
        model: an unfitted `Forecaster` or baseline.
        parts: a `forecaster.Split`; every statistic comes from `parts.train`.
        experiment: the MLflow experiment's name.
        dataset: the data set's name for the run's tags.
        **tags: extra tags for the run.

    Returns:
        The test scores (as `evaluate` gives them) and "run_id".
    """
    experiment_id = store.experiment_id(experiment)
    with sigterm_as_interrupt(), tracked_run(experiment_id=experiment_id) as run:
        start = time.perf_counter()
        mlflow.set_tags(run_tags(parts.train, dataset, model=type(model).__name__, **tags))
        mlflow.log_params(_params(model.configs()))
        logger = None
        if isinstance(model, Forecaster):
            logger = _EpochLogger(run.info.run_id)
            model.fit(parts.train, val=parts.val, callbacks=[logger])
        else:
            model.fit(parts.train)
        scores = _log_fitted(model, parts.test, run.info.run_id, logger and logger.seconds)
        mlflow.log_metric("wall_seconds", time.perf_counter() - start)
        return scores
