"""A benchmark run in MLflow: its parameters and tags, each epoch, then its scores.

For runners whose scoring is their own (the M4 protocol scores whole series, not windows):
the run is opened as every tracked run is (`runs.tracked_run`: KILLED on an interrupt or a
SIGTERM, FAILED on an error), the model is fitted with the run's epoch logger, and the
runner logs what it scored.

>>> with benchmark_run("m4-hourly", "gru seed 0", model, frame, dataset="M4 Hourly") as run:
...     model.fit(train, val=val, callbacks=run.callbacks)
...     run.log_metrics({"smape": 12.3, "owa": 0.5})
"""

import contextlib
import dataclasses

import mlflow

from forecaster.tracking import store
from forecaster.tracking.runs import (
    EpochLogger,
    params,
    run_tags,
    sigterm_as_interrupt,
    tracked_run,
)


@dataclasses.dataclass
class BenchmarkRun:
    """The open run: its id, the callbacks a fit logs its epochs with, and its logger."""

    run_id: str
    logger: EpochLogger

    @property
    def callbacks(self):
        """The callbacks to pass to `fit` (each epoch's losses and learning rate)."""
        return [self.logger]

    def log_metrics(self, values):
        """Logs finite numbers among `values` as metrics of the run."""
        mlflow.log_metrics(
            {k: float(v) for k, v in values.items() if isinstance(v, int | float)},
            run_id=self.run_id,
        )


@contextlib.contextmanager
def benchmark_run(experiment, name, model, frame, *, dataset, **tags):
    """An MLflow run for one benchmark fit of `model` (parameters and tags logged).

    Args:
        experiment: the MLflow experiment's name.
        name: the run's name, e.g. "gru seed 0".
        model: the unfitted forecaster (its configuration becomes the parameters).
        frame: the training data (its SHA-256 becomes a tag).
        dataset: the data set's name for the tags.
        **tags: extra tags.

    Yields:
        A `BenchmarkRun`.
    """
    experiment_id = store.experiment_id(experiment)
    with sigterm_as_interrupt(), tracked_run(experiment_id=experiment_id, run_name=name) as run:
        run_id = run.info.run_id
        mlflow.set_tags(run_tags(frame, dataset, model=type(model).__name__, **tags))
        mlflow.log_params(params(model.configs()) if hasattr(model, "configs") else {})
        yield BenchmarkRun(run_id, EpochLogger(run_id))
