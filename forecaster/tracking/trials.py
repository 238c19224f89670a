"""The trials of a comparison: the models, the data they share, and one trial's run.

`trials` builds every model of a comparison up front (so a bad configuration fails before
any run); `run_trial` fits, scores and logs one of them in its own run, nested under the
comparison's parent by the parent's id, so it runs alike in the comparing process and in a
Ray worker (`forecaster.tracking.comparing`).
"""

import dataclasses
import time

import mlflow

from forecaster.config import DataConfig, LinearConfig, NetworkConfig, TrainConfig, route
from forecaster.estimators.base import BaseForecaster
from forecaster.estimators.baselines import BASELINES
from forecaster.estimators.neural import Forecaster
from forecaster.evaluation import comparison
from forecaster.tracking.runs import fit_in_run, tracked_run


@dataclasses.dataclass(frozen=True)
class Trial:
    """One model of a comparison: a cell with its seed, or a baseline (seed None)."""

    name: str
    seed: int | None
    model: BaseForecaster

    @property
    def label(self):
        """The trial's name in runs and messages: "lstm seed 2", or the baseline's name."""
        return self.name if self.seed is None else f"{self.name} seed {self.seed}"


@dataclasses.dataclass(frozen=True)
class Context:
    """What every trial of one comparison shares: where to log, and the data."""

    tracking_uri: str
    experiment_id: str
    parent_run_id: str
    frame: object  # pandas.DataFrame: the training part, then the test part
    test_start: int  # the test part's first forecast row
    dataset: str | None
    levels: tuple = ()  # the quantile levels every model is calibrated at, if any

    @property
    def train(self):
        """The training part: every row before the test part."""
        return self.frame.iloc[: self.test_start]

    def test(self, lookback):
        """The test part led by `lookback` rows of context (each model's own lookback)."""
        return self.frame.iloc[self.test_start - lookback :]


@dataclasses.dataclass(frozen=True)
class Outcome:
    """A finished trial: its comparison row, or the error that ended it."""

    label: str
    row: dict | None = None
    error: BaseException | None = None


def run_trial(trial, context):
    """Fits and logs one trial in its own run under the parent; never raises an Exception.

    Runs wherever it is called: in the comparing process or in a Ray worker, which
    points MLflow at the same store first.

    Returns:
        An `Outcome`: the row for `forecaster.evaluation.comparison.table`, or the error (its run is
        then FAILED).
    """
    mlflow.set_tracking_uri(context.tracking_uri)
    start = time.perf_counter()
    try:
        with tracked_run(
            experiment_id=context.experiment_id,
            run_name=trial.label,
            nested=True,
            parent_run_id=context.parent_run_id,
        ):
            scores = fit_in_run(
                trial.model,
                context.train,
                context.test(trial.model.data.lookback),
                context.dataset,
                calibrate=context.levels,
                cell=trial.name,
                seed="" if trial.seed is None else str(trial.seed),
                kind="baseline" if trial.seed is None else "trial",
                parent=context.parent_run_id,
            )
    except Exception as error:  # the run is FAILED already; the comparison goes on
        return Outcome(trial.label, error=error)
    seconds = time.perf_counter() - start
    return Outcome(trial.label, row=comparison.row(trial.name, trial.seed, scores, seconds))


def configurations(data=None, network=None, train=None, linear=None, **options):
    """The configuration dataclasses a comparison's models share, by section name.

    Args:
        data: a `DataConfig`; None: one made of the `options` it has fields for (lookback
            and horizon are then needed).
        network: a `NetworkConfig` (its cell is each trial's); None: the defaults.
        train: a `TrainConfig` (its seed is each trial's); None: the defaults.
        linear: a `LinearConfig`, for the linear baseline; None: the defaults.
        **options: fields of any of the four, each replacing the field of that name.

    Returns:
        {"data": ..., "network": ..., "train": ..., "linear": ...}.

    Raises:
        ValueError: an option is no field of the four, or sets the cell or the seed (the
            comparison's own), or neither `data` nor lookback and horizon are given.
    """
    for key in ("cell", "seed"):
        if key in options:
            raise ValueError(
                f"compare_cells sets each trial's {key} itself (cells=, seeds=); drop {key}="
            )
    given = {"data": data, "network": network, "train": train, "linear": linear}
    classes = {"data": DataConfig, "network": NetworkConfig, "train": TrainConfig}
    classes["linear"] = LinearConfig
    routed = route(options, *classes.values())
    configs = {}
    for (name, cls), values in zip(classes.items(), routed, strict=True):
        if given[name] is not None:
            configs[name] = dataclasses.replace(given[name], **values)
        elif name == "data" and not {"lookback", "horizon"} <= set(values):
            raise ValueError("compare_cells needs data= (a DataConfig) or lookback= and horizon=")
        else:
            configs[name] = cls(**values)
    return configs


def configured(configs, values):
    """`configs` with the `section.field` values set."""
    changed = dict(configs)
    for section in ("data", "network", "train"):
        fields = {k.partition(".")[2]: v for k, v in values.items() if k.startswith(f"{section}.")}
        if fields:
            changed[section] = dataclasses.replace(changed[section], **fields)
    return changed


def trials(cells, seeds, baselines, configs, chosen=None):
    """A `Trial` per (cell, seed) and per baseline, each model built from `configs`.

    Every model is built here, so a bad configuration fails before any run is made.
    `chosen` maps a cell to the `section.field` values its tuning chose.
    """
    made = []
    for cell in cells:
        own = configured(configs, (chosen or {}).get(cell, {}))
        network = dataclasses.replace(own["network"], cell=cell)
        for seed in range(seeds):
            train = dataclasses.replace(own["train"], seed=seed)
            model = Forecaster.from_configs(data=own["data"], network=network, train=train)
            made.append(Trial(cell, seed, model))
    for name in baselines:
        cls = BASELINES[name]
        model = cls.from_configs(**{key: configs[key] for key in cls.config_classes()})
        made.append(Trial(name, None, model))
    return made
