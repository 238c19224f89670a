"""Cell comparisons: every (cell, seed) and baseline a trial, nested under one MLflow run.

Trials run one after another in this process, or concurrently as Ray tasks
(`parallel="ray"`, see `forecaster.tracking.parallel`). Either way a trial is `run_trial`: it opens
its own run nested under the parent (by the parent's id, so it works from another process
or machine), fits, scores and logs. A trial that fails ends its run FAILED and the others
go on; the comparison fails only when every trial did.
"""

import sys
import time

import mlflow
import pandas as pd

from forecaster import cells, checks
from forecaster.data import split
from forecaster.estimators.baselines import BASELINES
from forecaster.evaluation import comparison
from forecaster.tracking import location, store, tuning
from forecaster.tracking import parallel as parallel_
from forecaster.tracking.runs import run_tags, sigterm_as_interrupt, tracked_run
from forecaster.tracking.trials import Context, configurations, run_trial, trials


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
    tune=0,
    space=None,
    fixed=(),
    progress=True,
    parallel=None,
    address=None,
    cpus_per_trial=1,
    data=None,
    network=None,
    train=None,
    linear=None,
    **options,
):
    """Trains every cell over several seeds (and the baselines), all tracked in MLflow.

    The frame is split in time order; the last `test_fraction` of its rows (led by
    `lookback` rows of context) is the test part every model is scored on. One parent run
    holds a nested run per (cell, seed) and per baseline, and logs the comparison table
    (CSV and markdown), a plot of the scaled test metric per cell over the seeds, and
    Welch's t-test p-values between every pair of cells (as Greff et al. 2015 compared
    their LSTM variants).

    A trial that fails (a diverging loss, say) ends its run FAILED and the others go on;
    the table leaves it out and its `attrs["failed"]` maps the trial to its error. When
    every trial fails, the first error is raised and the parent run is FAILED.

    Args:
        frame: the series, as from `forecaster.read_csv`.
        cells: the cells to compare.
        seeds: runs per cell, with seeds 0 .. seeds - 1.
        baselines: names from `forecaster.estimators.baselines.BASELINES`, fitted once each.
        test_fraction: the share of rows scored.
        experiment: the MLflow experiment's name.
        dataset: the data set's name for the runs' tags.
        metric: the test metric the plot and the t-tests use: one of `METRICS` on the
            scaled values, or a score of quantiles ("crps", "pinball", "msis_90", ...).
            With the latter every model gives quantiles, calibrated (`calibrate`, split
            conformal, or CQR around a cell's own `quantiles`) on the last `val_fraction`
            of the training part, the part the cells hold out; at the cells' quantile
            levels, else at 0.05, 0.25, 0.75 and 0.95 (the 50% and 90% intervals).
        tune: tuning trials per cell (0: none), the same search for every cell
            (`forecaster.tracking.tuning`), scored on the validation part; each cell's
            best configuration is then trained over the seeds. Keywords given here and
            non-default fields of the dataclasses given are fixed, not searched.
        space: `{"section.field": [choices] or {"low", "high"[, "log"]}}`; None:
            `tuning.SPACE` (units, layers, dropout, learning rate, lookback).
        fixed: more `section.field` keys to hold fixed (those a config file set).
        progress: print which trial runs (or finished) and how many remain.
        parallel: None runs the trials one after another here; "ray" runs them
            concurrently as Ray tasks (needs the `distributed` extra).
        address: with parallel="ray", the Ray cluster to use (e.g. "ray://head:10001" or
            "auto"); None starts a local Ray instance for this comparison. A Ray instance
            this process already started (`ray.init`) is used as it is.
        cpus_per_trial: with parallel="ray", the CPUs each trial reserves, and the
            TensorFlow threads it uses.
        data: the `DataConfig` every model shares.
        network: the `NetworkConfig` of the cells (its `cell` is each trial's).
        train: the `TrainConfig` of the cells (its `seed` is each trial's).
        linear: the `LinearConfig` of the linear baseline.
        **options: fields of those four dataclasses (lookback, horizon, units, epochs,
            ...), over the dataclasses given (see `configurations`).

    Returns:
        The comparison table, one row per model: the mean and standard deviation over the
        seeds of each test metric, the parameter count and seconds per epoch. Its `attrs`
        hold "p_values" (a DataFrame), "run_id" (the parent run), "experiment" and
        "failed" ({trial label: error message}).

    Example:
        >>> table = compare_cells(frame, seeds=3, lookback=48, horizon=24, targets=["bikers"])
        >>> table = compare_cells(frame, ["lstm", "gru"], 3, data=DataConfig(48, 24), train=fast)
    """
    _check(seeds, baselines, metric, parallel, cpus_per_trial)
    configs = configurations(data, network, train, linear, **options)
    cells = [c.lower() for c in cells]
    made = trials(cells, seeds, baselines, configs)
    search = {}
    if tune:
        checks.positive_int("tune", tune)
        given = {"data": data, "network": network, "train": train}
        search = tuning.searched(space, tuning.fixed_fields(given, options, fixed))
    lookback = configs["data"].lookback
    parts = split(frame, 1 - test_fraction, 0.0, test_fraction, lookback=lookback)
    levels = ()
    if comparison.is_probabilistic(metric):
        levels = tuple(q for q in configs["network"].quantiles if q != 0.5) or comparison.LEVELS
    say = _printer(progress)
    experiment_id = store.experiment_id(experiment)
    title = f"{dataset or 'data'}: {' vs '.join(cells)}"
    with (
        sigterm_as_interrupt(),
        tracked_run(experiment_id=experiment_id, run_name=title) as parent,
    ):
        mlflow.set_tags(run_tags(frame, dataset, kind="comparison", cells=",".join(cells)))
        mlflow.log_params(
            {
                "cells": ",".join(cells),
                "seeds": seeds,
                "test_fraction": test_fraction,
                "parallel": parallel or "none",
                "tune": tune,
            }
        )
        test_start = len(parts.train)
        context = Context(
            location.tracking_uri(), experiment_id, parent.info.run_id, frame, test_start,
            dataset, levels,
        )  # fmt: skip
        start = time.perf_counter()
        if search:
            chosen = tuning.tune_cells(
                cells, configs, search, tune, context, say, parallel, address
            )
            made = trials(cells, seeds, baselines, configs, chosen)
        if parallel == "ray":
            outcomes = _on_ray(made, context, address, cpus_per_trial, say)
        else:
            outcomes = _one_by_one(made, context, say)
        mlflow.log_metric("wall_seconds", time.perf_counter() - start)
        table = _summary(outcomes, cells, metric, say, title)
    table.attrs.update(run_id=parent.info.run_id, experiment=experiment)
    table.attrs["experiment_id"] = experiment_id
    return table


def _check(seeds, baselines, metric, parallel, cpus_per_trial):
    """Checks compare_cells's own arguments (the models' are their dataclasses')."""
    checks.positive_int("seeds", seeds)
    comparison.check_metric(metric)
    if parallel is not None and parallel not in parallel_.ENGINES:
        raise ValueError(
            f"parallel={parallel!r} is not known; pass None or one of {parallel_.ENGINES}"
        )
    if parallel == "ray":
        parallel_.check(cpus_per_trial)
    unknown = [b for b in baselines if b not in BASELINES]
    if unknown:
        raise ValueError(f"unknown baseline {unknown[0]!r}; known: {sorted(BASELINES)}")


def _summary(outcomes, cells, metric, say, title):
    """The comparison table of the trials' outcomes, logged in the active (parent) run.

    The parent's description (`mlflow.note.content`) is `comparison.note`: the ranking,
    the Holm-corrected p-values and the verdict.

    Returns:
        The table, ranked by `metric`; its `attrs` hold "p_values", "holm" (the
        corrected p-values), "verdict" and "failed" ({trial label: error}).

    Raises:
        Exception: the first trial's error, when every trial failed.
    """
    failed = {o.label: f"{type(o.error).__name__}: {o.error}" for o in outcomes if o.error}
    if len(failed) == len(outcomes):
        raise outcomes[0].error
    if failed:
        mlflow.set_tag("failed_trials", ", ".join(failed))
        for label, error in failed.items():
            say(f"FAILED {label}: {error}")
    runs = pd.DataFrame([o.row for o in outcomes if o.error is None])
    runs["seed"] = runs["seed"].astype("Int64")  # 0, not 0.0, beside the baselines' none
    table = comparison.table(runs)
    order = [model for model, *_ in comparison.ranking(table, cells, metric)]
    table = table.loc[order]
    p_values = comparison.welch(runs, cells, metric)
    adjusted = comparison.holm(p_values)
    verdict = comparison.verdict(table, adjusted, cells, metric)
    mlflow.set_tag("mlflow.note.content", comparison.note(table, adjusted, cells, metric, title))
    mlflow.set_tag("verdict", verdict)
    _log_comparison(table, p_values, runs, cells, metric)
    table.attrs.update(p_values=p_values, holm=adjusted, verdict=verdict, failed=failed)
    return table


def _one_by_one(trials, context, say):
    outcomes = []
    for number, trial in enumerate(trials, start=1):
        say(f"[{number}/{len(trials)}] {trial.label} ({len(trials) - number} after this)")
        outcomes.append(run_trial(trial, context))
    return outcomes


def _on_ray(trials, context, address, cpus_per_trial, say):
    say(f"{len(trials)} trials on Ray, {cpus_per_trial} CPU(s) each")

    def finished(number, outcome):
        state = "failed" if outcome.error else "done"
        say(f"[{number}/{len(trials)}] {outcome.label} {state} ({len(trials) - number} to go)")

    return parallel_.run_on_ray(
        run_trial,
        trials,
        context,
        address=address,
        cpus_per_task=cpus_per_trial,
        on_done=finished,
    )


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
    column = comparison.column(metric)
    for model, row in table.iterrows():
        mlflow.log_metric(f"{model}_{column}_mean", float(row[f"{column}_mean"]))
    mlflow.log_figure(comparison.spread_plot(runs, cells, metric), f"{column}_by_cell.png")
