"""The configs of the `forecaster` command and the pipelines: YAML sections as dataclasses.

A YAML config (read with `yaml.safe_load`) has one section per concern, each read into a
frozen dataclass: `data` (`DataSource`: where the series comes from), `model` (`ModelConfig`:
the `Forecaster` keywords), `compare`, `backtest`, `fit` and `ui`:

    data: {shipped: bikeshare}            # or {path: my.csv, missing: ffill}, {benchmark: ETTh1}
    model: {lookback: 48, horizon: 24, targets: [bikers], calendar: [hour], units: 32}
    compare: {cells: [lstm, cifg], seeds: 3, experiment: bikeshare-cells}

`forecaster.cli.loading.load_config(path, overrides)` reads a file into them. An unknown
section or key, a wrong type or a bad value is a one-line `ConfigError` naming the key and
what is accepted.
"""

import dataclasses
import re
from pathlib import Path

from forecaster.cells import NAMES
from forecaster.cells import get as get_cell
from forecaster.config import DataConfig, NetworkConfig, TrainConfig, field_names
from forecaster.data import read_csv
from forecaster.data.datasets import BENCHMARKS, SHIPPED, load_benchmark, load_shipped
from forecaster.data.reading import CATEGORICAL_POLICIES
from forecaster.data.timestamps import MISSING_POLICIES
from forecaster.estimators.baselines import BASELINES
from forecaster.estimators.neural import Forecaster
from forecaster.evaluation.backtesting import WINDOWS
from forecaster.evaluation.metrics import METRICS
from forecaster.tracking.parallel import ENGINES


class ConfigError(ValueError):
    """A config file or flag is not usable; the message names the key and what is accepted."""


def fail(key, accepted, value):
    """Raises the `ConfigError` for a value that is not what `key` accepts."""
    raise ConfigError(f"config key {key!r} must be {accepted}, got {value!r}")


def _choice(key, value, known):
    if value not in known:
        raise ConfigError(f"config key {key!r} is {value!r}; known values are {list(known)}")


def _positive(key, value):
    if value is not None and value < 1:
        fail(key, "a positive integer", value)


def _fraction(key, value):
    if not 0 < value < 1:
        fail(key, "a number in (0, 1)", value)


@dataclasses.dataclass(frozen=True)
class DataSource:
    """Where the series comes from: the `data` section.

    Give exactly one of `shipped` or `path`, or `benchmark` (with `path` optionally naming
    a local copy). The other keys are `forecaster.read_csv` arguments (None: the reader's
    default, or the data set's own for shipped and benchmark data).

    Attributes:
        shipped: a data set in the project's data/ folder ("bikeshare").
        benchmark: "ETTh1", "ETTh2", "ETTm1", "ETTm2" or "weather".
        path: a CSV file, relative to the working directory.
        rows: keep only the last `rows` rows; None: all.
        time_col, columns, date_format, freq, missing, categorical, encoding, sep: as in
            `forecaster.read_csv`.
    """

    shipped: str | None = None
    benchmark: str | None = None
    path: str | None = None
    rows: int | None = None
    time_col: str | tuple | None = None
    columns: tuple | None = None
    date_format: str | None = None
    freq: str | None = None
    missing: str | None = None
    categorical: str | None = None
    encoding: str | None = None
    sep: str | None = None

    def __post_init__(self):
        """Checks that one source is named and every value is accepted."""
        if self.shipped is None and self.benchmark is None and self.path is None:
            raise ConfigError("config section 'data' needs one of 'shipped', 'path', 'benchmark'")
        if self.shipped is not None:
            _choice("data.shipped", self.shipped, SHIPPED)
            for other in ("benchmark", "path"):
                if getattr(self, other) is not None:
                    message = f"config keys 'data.shipped' and 'data.{other}' exclude each other"
                    raise ConfigError(message)
        if self.benchmark is not None:
            _choice("data.benchmark", self.benchmark, BENCHMARKS)
        _positive("data.rows", self.rows)
        if self.missing is not None:
            _choice("data.missing", self.missing, MISSING_POLICIES)
        if self.categorical is not None:
            _choice("data.categorical", self.categorical, CATEGORICAL_POLICIES)

    @property
    def name(self):
        """The data set's name, for MLflow's tags."""
        return self.shipped or self.benchmark or Path(self.path).stem

    def load(self):
        """Reads the series; a missing file is a `ConfigError` naming it."""
        read = {
            name: getattr(self, name)
            for name in field_names(DataSource)[4:]
            if getattr(self, name) is not None
        }
        if self.shipped is not None:
            frame = load_shipped(self.shipped, **read)
        elif self.benchmark is not None:
            try:
                frame = load_benchmark(self.benchmark, path=self.path, **read)
            except FileNotFoundError as error:
                raise ConfigError(str(error)) from None
        else:
            if not Path(self.path).is_file():
                raise ConfigError(
                    f"data file {self.path!r} (config key 'data.path') does not exist"
                )
            frame = read_csv(self.path, **read)
        return frame if self.rows is None else frame.iloc[-self.rows :]


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """The `model` section: `Forecaster` keywords, checked by the three dataclasses.

    Attributes:
        data: the `DataConfig` (lookback and horizon are required).
        network: the `NetworkConfig`.
        train: the `TrainConfig`.
    """

    data: DataConfig
    network: NetworkConfig
    train: TrainConfig

    @staticmethod
    def annotations():
        """Each model key's type, from the three dataclasses' fields."""
        classes = (DataConfig, NetworkConfig, TrainConfig)
        return {f.name: f.type for c in classes for f in dataclasses.fields(c)}

    @classmethod
    def from_section(cls, values):
        """Builds the configs from the section's (type-checked) values."""
        for key in ("lookback", "horizon"):
            if key not in values:
                raise ConfigError(f"config key 'model.{key}' is required")
        try:
            model = Forecaster(**values)
        except ValueError as error:
            message = str(error)
            found = [
                (m.start(), k) for k in cls.annotations() if (m := re.search(rf"\b{k}\b", message))
            ]
            where = f"key 'model.{min(found)[1]}'" if found else "section 'model'"
            raise ConfigError(f"config {where}: {message}") from None
        return cls(model.data, model.network, model.train)

    def options(self, *leave_out):
        """The `Forecaster` keywords, without those named in `leave_out`."""
        merged = {}
        for config in (self.data, self.network, self.train):
            merged.update(dataclasses.asdict(config))
        return {k: v for k, v in merged.items() if k not in leave_out}

    def forecaster(self):
        """A new, unfitted `Forecaster` of this configuration."""
        return Forecaster.from_configs(self.data, self.network, self.train)

    def baseline(self, name):
        """A new, unfitted baseline (a `BASELINES` name) on the same data configuration."""
        return BASELINES[name](**dataclasses.asdict(self.data))


@dataclasses.dataclass(frozen=True)
class CompareConfig:
    """The `compare` section (see `forecaster.tracking.compare_cells`).

    Attributes:
        cells: the cells compared.
        seeds: runs per cell, seeds 0 .. seeds - 1 (`model.seed` is not used).
        baselines: names from `forecaster.estimators.baselines.BASELINES`.
        test_fraction: the last share of the rows every model is scored on.
        experiment: the MLflow experiment.
        metric: the metric of the t-tests and the plot.
        parallel: null (one trial after another) or "ray" (concurrent trials on Ray).
        address: with parallel "ray", a Ray cluster's address; null: a local instance.
        cpus_per_trial: with parallel "ray", the CPUs (and threads) each trial gets.
    """

    cells: tuple = NAMES
    seeds: int = 3
    baselines: tuple = ("naive", "seasonal_naive", "linear")
    test_fraction: float = 0.2
    experiment: str = "cell-comparison"
    metric: str = "mse"
    parallel: str | None = None
    address: str | None = None
    cpus_per_trial: int = 1

    def __post_init__(self):
        """Checks every value."""
        for cell in self.cells:
            try:
                get_cell(cell)
            except ValueError as error:
                raise ConfigError(f"config key 'compare.cells': {error}") from None
        _positive("compare.seeds", self.seeds)
        for name in self.baselines:
            _choice("compare.baselines", name, BASELINES)
        _fraction("compare.test_fraction", self.test_fraction)
        _choice("compare.metric", self.metric, METRICS)
        _choice("compare.parallel", self.parallel, (None, *ENGINES))
        _positive("compare.cpus_per_trial", self.cpus_per_trial)


@dataclasses.dataclass(frozen=True)
class BacktestConfig:
    """The `backtest` section (see `forecaster.evaluation.backtesting.backtest`).

    Attributes:
        folds: forecast origins; their forecasts tile the last `folds * horizon` rows.
        window: "expanding" or "sliding".
        refit: fit anew at every fold, or once at the first.
        train_size: the sliding window's rows; None: the first fold's.
        baselines: baselines backtested the same way, for the summary.
    """

    folds: int = 5
    window: str = "expanding"
    refit: bool = True
    train_size: int | None = None
    baselines: tuple = ("naive", "seasonal_naive", "linear")

    def __post_init__(self):
        """Checks every value."""
        _positive("backtest.folds", self.folds)
        _choice("backtest.window", self.window, WINDOWS)
        _positive("backtest.train_size", self.train_size)
        for name in self.baselines:
            _choice("backtest.baselines", name, BASELINES)


@dataclasses.dataclass(frozen=True)
class FitConfig:
    """The `fit` section.

    Attributes:
        test_fraction: the last share of the rows held out and scored.
        output: a folder to save the fitted forecaster to; None: only the MLflow run
            holds it (under `forecaster/`).
        experiment: the MLflow experiment.
    """

    test_fraction: float = 0.2
    output: str | None = None
    experiment: str = "fit"

    def __post_init__(self):
        """Checks every value."""
        _fraction("fit.test_fraction", self.test_fraction)


@dataclasses.dataclass(frozen=True)
class UiConfig:
    """The `ui` section.

    Attributes:
        port: the port `mlflow ui` listens on at 127.0.0.1.
    """

    port: int = 5000

    def __post_init__(self):
        """Checks the port."""
        if not 1 <= self.port <= 65535:
            fail("ui.port", "a port number in [1, 65535]", self.port)


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """A whole config: each section, or None where a command needs none and none was given.

    Each field holds its section's dataclass (see `SECTIONS`).
    """

    data: DataSource | None = None
    model: ModelConfig | None = None
    compare: CompareConfig | None = None
    backtest: BacktestConfig | None = None
    fit: FitConfig | None = None
    ui: UiConfig | None = None


SECTIONS = {
    "data": DataSource,
    "model": ModelConfig,
    "compare": CompareConfig,
    "backtest": BacktestConfig,
    "fit": FitConfig,
    "ui": UiConfig,
}
# What each command reads; sections it does not read are still checked when given.
NEEDS = {
    "fit": ("data", "model", "fit"),
    "compare": ("data", "model", "compare"),
    "backtest": ("data", "model", "backtest"),
    "ui": ("ui",),
}
