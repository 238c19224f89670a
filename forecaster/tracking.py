"""MLflow tracking: single fits and cell comparisons. The only module that imports mlflow.

The store is `MLFLOW_TRACKING_URI` when it is set (MLflow's own convention, e.g. a server's
http://127.0.0.1:5000), otherwise SQLite at `<project root>/mlruns/mlflow.db` with the
artifacts under `<project root>/mlruns/artifacts`. MLflow 3's file store is not used.

`compare_cells` returns the whole comparison table; `summary` narrows it for printing.

A model logged here is in MLflow's Keras flavour; a fresh process reloads it with
`import forecaster` (which registers the cells with Keras) and then
`mlflow.pyfunc.load_model(uri)`. Each run also holds the whole saved forecaster (configs,
scaler, schema) under `forecaster/`, which `forecaster.Forecaster.load` reads.
"""

import contextlib
import dataclasses
import hashlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import filelock
import keras
import mlflow
import numpy as np
import pandas as pd
import tensorflow as tf
from mlflow.entities import RunStatus

import forecaster
from forecaster import cells, comparison
from forecaster.baselines import BASELINES
from forecaster.config import DataConfig, field_names
from forecaster.data import split
from forecaster.forecaster import Forecaster
from forecaster.metrics import METRICS


def project_root():
    """The checkout that holds the package (where `pyproject.toml` is), else the cwd."""
    root = Path(forecaster.__file__).resolve().parents[1]
    return root if (root / "pyproject.toml").is_file() else Path.cwd()


def tracking_uri():
    """`MLFLOW_TRACKING_URI` if set, else the project's SQLite store under `mlruns/`."""
    if os.environ.get("MLFLOW_TRACKING_URI"):
        return os.environ["MLFLOW_TRACKING_URI"]
    store = project_root() / "mlruns"
    store.mkdir(exist_ok=True)
    return f"sqlite:///{store / 'mlflow.db'}"


def ui_command(port=5000):
    """The argv that starts `mlflow ui` on 127.0.0.1 against the tracking store."""
    command = [sys.executable, "-m", "mlflow", "ui", "--host", "127.0.0.1", "--port", str(port)]
    uri = tracking_uri()
    command += ["--backend-store-uri", uri]
    if uri.startswith("sqlite:///") and "MLFLOW_TRACKING_URI" not in os.environ:
        command += ["--default-artifact-root", (project_root() / "mlruns" / "artifacts").as_uri()]
    return command


def _experiment(name):
    """Points MLflow at the store and returns the id of experiment `name`, made if new.

    For a SQLite store, a lock file beside the database serializes this first contact:
    two processes that find the store new would otherwise both run MLflow's schema
    migrations on it, and one of them fails.
    """
    uri = tracking_uri()
    mlflow.set_tracking_uri(uri)
    if not uri.startswith("sqlite:///"):
        return _get_or_create(name, None)
    database = Path(uri.removeprefix("sqlite:///"))
    # Beside the database, not under whatever directory the process happens to run in.
    location = (database.parent / "artifacts" / name).as_uri()
    with filelock.FileLock(f"{database}.lock", timeout=300):
        return _get_or_create(name, location)


def _get_or_create(name, location):
    found = mlflow.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    try:
        return mlflow.create_experiment(name, artifact_location=location)
    except mlflow.exceptions.MlflowException:
        return mlflow.get_experiment_by_name(name).experiment_id  # made meanwhile by another


def _checksum(frame):
    """SHA-256 of the frame's index and values, so a run names the exact data it saw."""
    hashed = pd.util.hash_pandas_object(frame, index=True).to_numpy()
    digest = hashlib.sha256(hashed.tobytes())
    digest.update(",".join(map(str, frame.columns)).encode())
    return digest.hexdigest()


def _git_commit():
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=project_root(),
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() if result.returncode == 0 else None


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
def _sigterm_as_interrupt():
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
def _run(**options):
    """An MLflow run that ends FINISHED, FAILED on an error, or KILLED on an interrupt.

    MLflow's own `with mlflow.start_run()` marks every exception FAILED, an interrupt too,
    and a run that is never ended stays RUNNING in the store forever.
    """
    run = mlflow.start_run(**options)
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


def _tags(frame, dataset, **extra):
    tags = {"dataset": dataset or "data", "dataset_sha256": _checksum(frame), **extra}
    commit = _git_commit()
    if commit:
        tags["git_commit"] = commit
    return tags


def _fit_in_run(model, train, test, dataset, **tags):
    """Fits `model` inside the active run and logs it; returns the scores."""
    run_id = mlflow.active_run().info.run_id
    mlflow.set_tags(_tags(train, dataset, model=type(model).__name__, **tags))
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
    experiment_id = _experiment(experiment)
    with _sigterm_as_interrupt(), _run(experiment_id=experiment_id):
        return _fit_in_run(model, train, test, dataset)


def track_split(model, parts, *, experiment="ltsf", dataset=None, **tags):
    """Like `track_fit`, on fixed parts: fits on `parts.train`, validates on `parts.val`.

    For a protocol that fixes the validation part (`forecaster.ltsf`): a forecaster that
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
    experiment_id = _experiment(experiment)
    with _sigterm_as_interrupt(), _run(experiment_id=experiment_id) as run:
        start = time.perf_counter()
        mlflow.set_tags(_tags(parts.train, dataset, model=type(model).__name__, **tags))
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


def compare_cells(
    frame,
    cells=cells.NAMES,
    seeds=3,
    *,
    baselines=("naive", "seasonal_naive", "linear"),
    test_fraction=0.2,
    experiment="cell-comparison",
    dataset=None,
    metric="mse",
    progress=True,
    **options,
):
    """Trains every cell over several seeds (and the baselines), all tracked in MLflow.

    The frame is split in time order; the last `test_fraction` of its rows (led by
    `lookback` rows of context) is the test part every model is scored on. One parent run
    holds a nested run per (cell, seed) and per baseline, and logs the comparison table
    (CSV and markdown), a plot of the scaled test metric per cell over the seeds, and
    Welch's t-test p-values between every pair of cells (as Greff et al. 2015 compared
    their LSTM variants).

    Args:
        frame: the series, as from `forecaster.read_csv`.
        cells: the cells to compare.
        seeds: runs per cell, with seeds 0 .. seeds - 1.
        baselines: names from `forecaster.baselines.BASELINES`, fitted once each.
        test_fraction: the share of rows scored.
        experiment: the MLflow experiment's name.
        dataset: the data set's name for the runs' tags.
        metric: the test metric the plot and the t-tests use, on the scaled values.
        progress: print which (cell, seed) runs and how many remain.
        **options: `Forecaster` keywords shared by every cell (lookback and horizon needed).

    Returns:
        The comparison table, one row per model: the mean and standard deviation over the
        seeds of each test metric, the parameter count and seconds per epoch. Its `attrs`
        hold "p_values" (a DataFrame), "run_id" (the parent run) and "experiment".

    Example:
        >>> table = compare_cells(frame, seeds=3, lookback=48, horizon=24, targets=["bikers"])
    """
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise ValueError(f"seeds must be a positive integer, got {seeds!r}")
    if metric not in METRICS:
        raise ValueError(f"metric={metric!r} is not known; pass one of {METRICS}")
    unknown = [b for b in baselines if b not in BASELINES]
    if unknown:
        raise ValueError(f"unknown baseline {unknown[0]!r}; known: {sorted(BASELINES)}")
    cells = [c.lower() for c in cells]
    # Build every model first, so a bad option fails before any run is made.
    plans = [(c, s, Forecaster(cell=c, seed=s, **options)) for c in cells for s in range(seeds)]
    data_options = {k: v for k, v in options.items() if k in field_names(DataConfig)}
    plans += [(name, None, BASELINES[name](**data_options)) for name in baselines]
    lookback = options.get("lookback")
    parts = split(frame, 1 - test_fraction, 0.0, test_fraction, lookback=lookback)
    train, test = parts.train, parts.test
    say = _printer(progress)
    experiment_id = _experiment(experiment)
    rows = []
    with _sigterm_as_interrupt(), _run(experiment_id=experiment_id) as parent:
        mlflow.set_tags(_tags(frame, dataset, kind="comparison", cells=",".join(cells)))
        mlflow.log_params(
            {"cells": ",".join(cells), "seeds": seeds, "test_fraction": test_fraction}
        )
        for number, (name, seed, model) in enumerate(plans, start=1):
            label = name if seed is None else f"{name} seed {seed}"
            say(f"[{number}/{len(plans)}] {label} ({len(plans) - number} after this)")
            run_name = label.replace(" ", "-")
            with _run(experiment_id=experiment_id, run_name=run_name, nested=True):
                start = time.perf_counter()
                scores = _fit_in_run(
                    model,
                    train,
                    test,
                    dataset,
                    cell=name,
                    seed=str(seed),
                    parent=parent.info.run_id,
                )
                rows.append(comparison.row(name, seed, scores, time.perf_counter() - start))
        runs = pd.DataFrame(rows)
        table = comparison.table(runs)
        p_values = comparison.welch(runs, cells, metric)
        _log_comparison(table, p_values, runs, cells, metric)
    table.attrs.update(p_values=p_values, run_id=parent.info.run_id, experiment=experiment)
    say(f"MLflow run {parent.info.run_id} in experiment {experiment!r} at {tracking_uri()}")
    return table


def _printer(progress):
    if not progress:
        return lambda message: None
    return lambda message: print(message, file=sys.stderr, flush=True)


def _log_comparison(table, p_values, runs, cells, metric):
    """Logs the table (whole as CSV, `summary` as markdown), p-values and spread plot."""
    mlflow.log_text(table.to_csv(), "comparison.csv")
    mlflow.log_text(comparison.summary(table, metric).to_markdown(), "comparison.md")
    mlflow.log_text(p_values.to_csv(), "welch_p_values.csv")
    mlflow.log_text(p_values.to_markdown(floatfmt=".3g"), "welch_p_values.md")
    mlflow.log_text(runs.to_csv(index=False), "runs.csv")
    for model, row in table.iterrows():
        mlflow.log_metric(f"{model}_scaled_{metric}_mean", float(row[f"scaled_{metric}_mean"]))
    mlflow.log_figure(comparison.spread_plot(runs, cells, metric), f"scaled_{metric}_by_cell.png")
