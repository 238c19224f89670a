"""Fair tuning: every cell gets the same budget of trials of one declared search space.

Greff et al. (2015) compared LSTM variants by giving each the same budget of random
hyperparameter search before testing the differences; `compare_cells(..., tune=N)` does the
same with Optuna (its TPE sampler, seeded, and its median pruner). For each cell, N trials
each fit the cell with a configuration drawn from the space, on the training part, and are
scored by their best validation loss (the part `fit` holds out; the test part is never
seen). A trial whose validation loss is worse than the median of the earlier trials at the
same epoch is pruned. Every trial is an MLflow run nested under the comparison's parent,
tagged `kind=tuning`, `cell` and `trial` (and `pruned` when it was). Each cell's best
configuration is then trained over the seeds and compared on the test part.

A space maps `section.field` (a field of `DataConfig`, `NetworkConfig` or `TrainConfig`)
to a list of choices, or to `{"low": a, "high": b}` (integers if both are, and
`"log": true` for a log scale). A field the caller fixed (a keyword given to
`compare_cells`, a value set in its configuration) stays as given and is left out.
"""

import dataclasses
import numbers
import sys

import keras
import mlflow
import optuna

from forecaster.config import DataConfig, NetworkConfig, TrainConfig
from forecaster.data import split
from forecaster.estimators.neural import Forecaster
from forecaster.tracking import location, store
from forecaster.tracking.parallel import run_on_ray
from forecaster.tracking.runs import (
    EpochLogger,
    params,
    run_tags,
    sigterm_as_interrupt,
    tracked_run,
)
from forecaster.tracking.trials import Context, configurations, configured

SECTIONS = {"data": DataConfig, "network": NetworkConfig, "train": TrainConfig}
# The search when none is given: the sizes, the step size and the regularization that
# matter most for recurrent forecasters, and how much history each window holds.
SPACE = {
    "network.units": [16, 32, 64, 128],
    "network.layers": [1, 2],
    "network.dropout": {"low": 0.0, "high": 0.3},
    "train.learning_rate": {"low": 1e-4, "high": 1e-2, "log": True},
    "data.lookback": [24, 48, 96],
}


def check_space(space):
    """Returns `space` if every key is a tunable field and every range is well formed.

    Raises:
        ValueError: naming the key and what would be accepted.
    """
    if not isinstance(space, dict) or not space:
        raise ValueError(f"the search space must map section.field to values, got {space!r}")
    for key, spec in space.items():
        section, _, name = str(key).partition(".")
        cls = SECTIONS.get(section)
        fields = [f.name for f in dataclasses.fields(cls)] if cls else []
        if name not in fields or name in ("cell", "seed", "horizon", "targets"):
            raise ValueError(
                f"search space key {key!r} is not a tunable field; use section.field with a "
                f"section of {sorted(SECTIONS)}, e.g. 'network.units'"
            )
        if isinstance(spec, list | tuple):
            if not spec:
                raise ValueError(f"search space key {key!r} lists no choices")
            continue
        if not (isinstance(spec, dict) and {"low", "high"} <= set(spec) <= {"low", "high", "log"}):
            raise ValueError(
                f"search space key {key!r} must be a list of choices or {{low, high[, log]}}, "
                f"got {spec!r}"
            )
        bounds = spec["low"], spec["high"]
        if not all(isinstance(b, numbers.Real) for b in bounds) or bounds[0] >= bounds[1]:
            raise ValueError(f"search space key {key!r} needs numbers low < high, got {spec!r}")
    return space


def fixed_fields(configs, options, given=()):
    """The `section.field` keys a comparison fixes.

    The keywords given, and the fields of the given dataclasses that differ from their
    defaults, and the `section.field` keys `given` (a config file's); not the lookback,
    which every comparison must give (a space that names it searches it).
    """
    found = {key for key in given if key != "data.lookback"}
    for key in options:
        for section, cls in SECTIONS.items():
            fields = {f.name: f for f in dataclasses.fields(cls)}
            # A field with no default (lookback) must be given: the space decides on it.
            if key in fields and fields[key].default is not dataclasses.MISSING:
                found.add(f"{section}.{key}")
    for section, cls in SECTIONS.items():
        config = configs.get(section)
        if config is None:
            continue
        for field in dataclasses.fields(cls):
            default = field.default
            if default is not dataclasses.MISSING and getattr(config, field.name) != default:
                found.add(f"{section}.{field.name}")
    return found


def searched(space, fixed):
    """The part of `space` (None: `SPACE`) a tuning draws from: the keys not `fixed`.

    Raises:
        ValueError: the space is malformed (`check_space`), or every key of it is fixed.
    """
    space = check_space(SPACE if space is None else space)
    search = {key: spec for key, spec in space.items() if key not in fixed}
    if not search:
        raise ValueError(
            "every key of the search space is fixed by the keywords or configuration "
            "given; leave some out, or pass a space= of fields to tune"
        )
    return search


def _suggest(trial, key, spec):
    if isinstance(spec, list | tuple):
        return trial.suggest_categorical(key, list(spec))
    if isinstance(spec["low"], int) and isinstance(spec["high"], int):
        return trial.suggest_int(key, spec["low"], spec["high"], log=spec.get("log", False))
    return trial.suggest_float(key, spec["low"], spec["high"], log=spec.get("log", False))


class _Pruning(keras.callbacks.Callback):
    """Reports each epoch's validation loss to the trial; stops a hopeless one."""

    def __init__(self, trial):
        super().__init__()
        self.trial = trial

    def on_epoch_end(self, epoch, logs=None):
        """Reports the epoch; raises `optuna.TrialPruned` when the pruner says so."""
        self.trial.report(float((logs or {})["val_loss"]), epoch)
        if self.trial.should_prune():
            raise optuna.TrialPruned(f"pruned after epoch {epoch + 1}")


def tune_cell(cell, configs, space, budget, train, context_tags, seed=0):
    """Runs `budget` trials for `cell`; returns `(best values, study)`.

    Args:
        cell: the cell's name.
        configs: the comparison's configuration dataclasses ("data", "network", "train").
        space: what to draw from (`searched`).
        budget: the number of trials.
        train: the training part (its validation part is `fit`'s holdout).
        context_tags: tags and the parent: {"parent_run_id", "experiment_id", ...}.
        seed: seeds the sampler, so that every cell's search starts alike.
    """
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # each trial is a run instead
    sampler = optuna.samplers.TPESampler(seed=seed)
    pruner = optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=2)
    study = optuna.create_study(direction="minimize", sampler=sampler, pruner=pruner)

    def objective(trial):
        values = {key: _suggest(trial, key, spec) for key, spec in space.items()}
        trial_configs = configured(configs, values)
        network = dataclasses.replace(trial_configs["network"], cell=cell)
        train_config = dataclasses.replace(trial_configs["train"], seed=seed, verbose=0)
        model = Forecaster.from_configs(trial_configs["data"], network, train_config)
        pruned = False
        with tracked_run(
            experiment_id=context_tags["experiment_id"],
            run_name=f"{cell} tuning {trial.number}",
            nested=True,
            parent_run_id=context_tags["parent_run_id"],
        ) as run:
            mlflow.set_tags({"cell": cell, "kind": "tuning", "trial": str(trial.number)})
            mlflow.log_params(params(model.configs()))
            callbacks = [EpochLogger(run.info.run_id), _Pruning(trial)]
            try:
                model.fit(train, callbacks=callbacks)
            except optuna.TrialPruned:
                pruned = True
                mlflow.set_tag("pruned", "true")
            else:
                best = min(model.history_["val_loss"])
                mlflow.log_metric("best_val_loss", best)
        if pruned:
            raise optuna.TrialPruned()
        return best

    study.optimize(objective, n_trials=budget, catch=())
    return study.best_params, study


def tune_cells(cells, configs, search, budget, context, say, parallel, address):
    """Tunes every cell with the same budget and logs each one's choice in the parent run.

    One study per cell, as Ray tasks with `parallel="ray"`. `context` is the comparison's
    `Context` (the parent run, the training part). Returns {cell: chosen values}.
    """
    say(f"tuning {', '.join(cells)}: {budget} trials each over {sorted(search)}")
    tasks = [(cell, configs, search, budget) for cell in cells]
    if parallel == "ray":
        found = run_on_ray(_tune_task, tasks, context, address=address)
    else:
        found = [_tune_task(task, context) for task in tasks]
    chosen = {}
    for cell, (values, value, pruned) in zip(cells, found, strict=True):
        chosen[cell] = values
        say(f"{cell}: best validation loss {value:.4g} ({pruned} of {budget} pruned) with {values}")
        mlflow.log_params({f"tuned.{cell}.{key}": v for key, v in values.items()})
        mlflow.log_metric(f"{cell}_best_val_loss", value)
    return chosen


def _tune_task(task, context):
    """One cell's tuning, here or in a Ray worker: `(best values, best loss, pruned)`."""
    cell, configs, search, budget = task
    mlflow.set_tracking_uri(context.tracking_uri)
    where = {"experiment_id": context.experiment_id, "parent_run_id": context.parent_run_id}
    values, study = tune_cell(cell, configs, search, budget, context.train, where)
    pruned = sum(t.state == optuna.trial.TrialState.PRUNED for t in study.trials)
    return values, study.best_value, pruned


def tune(frame, cells, budget, *, space=None, fixed=(), test_fraction=0.2, experiment="tuning",
         dataset=None, parallel=None, address=None, progress=True, data=None, network=None,
         train=None, **options):  # fmt: skip
    """Tunes each cell with the same budget, as `compare_cells(..., tune=budget)` does, alone.

    The trials are nested under one parent run (`<dataset>: tuning rnn vs lstm`) that logs
    each cell's choice; the test part (the last `test_fraction`) is left out, as in a
    comparison, and never seen.

    Args:
        frame: the series.
        cells: the cells to tune.
        budget: trials per cell.
        space: the search (`searched`); None: `SPACE`.
        fixed: more `section.field` keys to hold fixed (a config file's).
        test_fraction: the share of rows left out.
        experiment: the MLflow experiment.
        dataset: the data set's name for the runs.
        parallel: "ray" runs the cells' searches as Ray tasks; None: one after another.
        address: with "ray", a Ray cluster's address.
        progress: print each cell's result on stderr.
        data: the `DataConfig`, as for `compare_cells`.
        network: the `NetworkConfig`.
        train: the `TrainConfig`.
        **options: fields of the three, as for `compare_cells`.

    Returns:
        `(chosen, run_id)`: {cell: {section.field: value}}, and the parent run's id.
    """
    configs = configurations(data, network, train, None, **options)
    given = {"data": data, "network": network, "train": train}
    search = searched(space, fixed_fields(given, options, fixed))
    cells = [cell.lower() for cell in cells]
    lookback = configs["data"].lookback
    parts = split(frame, 1 - test_fraction, 0.0, test_fraction, lookback=lookback)
    experiment_id = store.experiment_id(experiment)
    say = (lambda line: print(line, file=sys.stderr, flush=True)) if progress else print
    title = f"{dataset or 'data'}: tuning {' vs '.join(cells)}"
    with sigterm_as_interrupt(), tracked_run(experiment_id=experiment_id, run_name=title) as run:
        mlflow.set_tags(run_tags(frame, dataset, kind="tuning", cells=",".join(cells)))
        mlflow.log_params({"cells": ",".join(cells), "tune": budget})
        context = Context(
            location.tracking_uri(), experiment_id, run.info.run_id, frame, len(parts.train),
            dataset,
        )  # fmt: skip
        chosen = tune_cells(cells, configs, search, budget, context, say, parallel, address)
    return chosen, run.info.run_id
