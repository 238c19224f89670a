"""The sections of a `forecaster` config: one frozen dataclass each.

A YAML config (read by `forecaster.cli.loading`) has a section per dataclass. The model's
hyperparameters are the sections `data`, `network`, `train` and `linear`, the dataclasses
of `forecaster.config` under the names a saved model and MLflow give them; the run's are
`source` (where the series comes from), `fit`, `compare`, `backtest`, `ltsf` and `ui`:

    source: {shipped: bikeshare}       # or {path: my.csv, missing: ffill}, {benchmark: ETTh1}
    data: {lookback: 48, horizon: 24, targets: [bikers], calendar: [hour]}
    network: {units: 32}
    train: {epochs: 15, verbose: 0}
    compare: {cells: [lstm, cifg], seeds: 3, experiment: bikeshare-cells}

So a key has one spelling: `network: {units: 64}` in the file, `--set network.units=64`,
the flag `--network.units 64`, the MLflow parameter `network.units` and a saved model's
`configs.network.units`. Each dataclass checks its own values with `forecaster.checks`;
the loader names the key of a refused one.

This module loads the standard library and `forecaster.config` only, so a bad
hyperparameter is refused at once; what a run section's names are checked against (data
sets, baselines, metrics) is imported when that section is built.
"""

import dataclasses
from pathlib import Path

from forecaster import checks
from forecaster.config import (
    CELLS,
    DataConfig,
    LinearConfig,
    NetworkConfig,
    TrainConfig,
    check_cell,
)
from forecaster.tracking.parallel import ENGINES

# What the LTSF benchmark runs: a cell in the network of the `network` section, or a baseline.
LTSF_MODELS = (*CELLS, "naive", "linear")
# `ltsf.quick`: one epoch of a small network on every 16th training window (every test
# window is still scored). These keys are set over the file and under the command line.
QUICK = {"train.epochs": 1, "network.units": 16, "data.stride": 16}


class ConfigError(ValueError):
    """A config file or flag is not usable; the message names the key and what is accepted."""


def _baselines():
    from forecaster.estimators.baselines import BASELINES  # TensorFlow: only when needed

    return tuple(BASELINES)


def _check_baselines(name, values):
    known = _baselines()
    for value in values:
        checks.choice(name, value, known)


@dataclasses.dataclass(frozen=True)
class SourceConfig:
    """Where the series comes from: the `source` section.

    Give one of `shipped`, `path` or `benchmark` (with `path` optionally naming a local
    copy, the file or a folder holding it). The other keys are `forecaster.read_csv`
    arguments (None: the reader's default, or the data set's own for shipped and benchmark
    data). On the command line, naming `path` drops the file's `shipped`, and naming
    `shipped` or `benchmark` drops the file's other source.

    Attributes:
        shipped: a data set in the project's data/ folder ("bikeshare").
        benchmark: "ETTh1", "ETTh2", "ETTm1", "ETTm2" or "weather".
        path: a CSV file, relative to the working directory (or, with benchmark, the file
            or a folder holding it).
        rows: keep only the last `rows` rows; None: all.
        time_col: the time column(s), or false for rows that are steps without
            timestamps, as in `forecaster.read_csv`.
        columns: the columns to read, as in `forecaster.read_csv`.
        date_format: the timestamps' format, as in `forecaster.read_csv`.
        freq: the series' frequency, as in `forecaster.read_csv`.
        missing: what fills missing steps, as in `forecaster.read_csv`.
        categorical: what to do with text columns, as in `forecaster.read_csv`.
        encoding: the file's encoding, as in `forecaster.read_csv`.
        sep: the column separator, as in `forecaster.read_csv`.
        decimal: the decimal mark, as in `forecaster.read_csv`.
        thousands: the thousands separator, as in `forecaster.read_csv`.
        na_values: the cells read as missing, as in `forecaster.read_csv`.
        skiprows: lines skipped before the header, as in `forecaster.read_csv`.
        skipfooter: lines dropped at the end, as in `forecaster.read_csv`.
        repeated_headers: "error" or "drop", as in `forecaster.read_csv`.
    """

    shipped: str | None = None
    benchmark: str | None = None
    path: str | None = None
    rows: int | None = None
    time_col: str | tuple | bool | None = None
    columns: tuple | None = None
    date_format: str | None = None
    freq: str | None = None
    missing: str | None = None
    categorical: str | None = None
    encoding: str | None = None
    sep: str | None = None
    decimal: str | None = None
    thousands: str | None = None
    na_values: tuple | None = None
    skiprows: int | None = None
    skipfooter: int | None = None
    repeated_headers: str | None = None

    def __post_init__(self):
        """Checks that one source is named and every value is accepted."""
        from forecaster.data.datasets import BENCHMARKS, SHIPPED  # pandas: only when needed
        from forecaster.data.numbers import THOUSANDS
        from forecaster.data.reading import CATEGORICAL_POLICIES, REPEATED_HEADER_POLICIES
        from forecaster.data.timestamps import MISSING_POLICIES

        if self.shipped is None and self.benchmark is None and self.path is None:
            raise ValueError("give one of 'shipped', 'path' or 'benchmark'")
        if self.shipped is not None:
            checks.choice("shipped", self.shipped, tuple(SHIPPED))
            for other in ("benchmark", "path"):
                if getattr(self, other) is not None:
                    raise ValueError(f"'shipped' and {other!r} exclude each other")
        if self.benchmark is not None:
            checks.choice("benchmark", self.benchmark, tuple(BENCHMARKS))
        checks.positive_int("rows", self.rows, optional=True)
        if self.time_col is True:
            raise checks.InvalidValueError(
                "time_col", "time_col must be column names, or false for steps, got True"
            )
        if self.missing is not None:
            checks.choice("missing", self.missing, MISSING_POLICIES)
        if self.categorical is not None:
            checks.choice("categorical", self.categorical, CATEGORICAL_POLICIES)
        if self.decimal is not None:
            checks.choice("decimal", self.decimal, (".", ","))
        if self.thousands is not None:
            checks.choice("thousands", self.thousands, THOUSANDS)
        if self.repeated_headers is not None:
            checks.choice("repeated_headers", self.repeated_headers, REPEATED_HEADER_POLICIES)
        for key in ("skiprows", "skipfooter"):
            if getattr(self, key) is not None:
                checks.count(key, getattr(self, key))

    @property
    def name(self):
        """The data set's name, for the borders of a benchmark and MLflow's tags."""
        return self.shipped or self.benchmark or Path(self.path).stem

    def read_options(self):
        """The `forecaster.read_csv` arguments given."""
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)[4:]
            if getattr(self, f.name) is not None
        }

    def file(self):
        """The CSV the series is read from."""
        from forecaster.data.datasets import benchmark_path, shipped_path

        if self.shipped is not None:
            return shipped_path(self.shipped)
        if self.benchmark is not None:
            return benchmark_path(self.benchmark, path=self.path)
        return Path(self.path)

    def load(self):
        """Reads the series; a missing file or a reader option it refuses is a `ConfigError`."""
        from forecaster.data import DataError

        try:
            frame = self._read()
        except (DataError, ConfigError):
            raise
        except ValueError as error:  # an option read_csv refuses (sep=';;', freq='0h')
            raise ConfigError(f"config section 'source': {error}") from None
        return frame if self.rows is None else frame.iloc[-self.rows :]

    def _read(self):
        from forecaster.data import read_csv
        from forecaster.data.datasets import load_benchmark, load_shipped

        if self.shipped is not None:
            frame = load_shipped(self.shipped, **self.read_options())
        elif self.benchmark is not None:
            try:
                frame = load_benchmark(self.benchmark, path=self.path, **self.read_options())
            except FileNotFoundError as error:
                raise ConfigError(f"config key 'source.path': {error}") from None
        else:
            if not Path(self.path).is_file():
                raise ConfigError(
                    f"data file {self.path!r} (config key 'source.path') does not exist"
                )
            frame = read_csv(self.path, **self.read_options())
        return frame


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
        checks.fraction("test_fraction", self.test_fraction)


@dataclasses.dataclass(frozen=True)
class CompareConfig:
    """The `compare` section (see `forecaster.tracking.compare_cells`).

    Attributes:
        cells: the cells compared (each replaces `network.cell`).
        seeds: runs per cell, seeds 0 .. seeds - 1 (each replaces `train.seed`).
        baselines: names from `forecaster.estimators.baselines.BASELINES`.
        test_fraction: the last share of the rows every model is scored on.
        experiment: the MLflow experiment.
        metric: the metric of the t-tests and the plot: a point metric ("mse", ...) or
            a score of quantiles ("crps", "pinball", "msis_90"; see `compare_cells`).
        tune: tuning trials per cell before the seeds, the same search for every cell
            (0: none; `forecaster.tracking.tuning`); keys set in the config are fixed.
        space: the search, {section.field: [choices] or {low, high, log}}; null: the
            default (units, layers, dropout, learning rate, lookback).
        parallel: null (one trial after another) or "ray" (concurrent trials on Ray).
        address: with parallel "ray", a Ray cluster's address; null: a local instance.
        cpus_per_trial: with parallel "ray", the CPUs (and threads) each trial gets.
    """

    cells: tuple = CELLS
    seeds: int = 3
    baselines: tuple = ("naive", "seasonal_naive", "linear")
    test_fraction: float = 0.2
    experiment: str = "cell-comparison"
    metric: str = "mse"
    tune: int = 0
    space: dict | None = None
    parallel: str | None = None
    address: str | None = None
    cpus_per_trial: int = 1

    def __post_init__(self):
        """Checks every value."""
        from forecaster.evaluation.comparison import check_metric  # pandas: only when needed

        for cell in self.cells:
            check_cell("cells", cell)
        checks.positive_int("seeds", self.seeds)
        _check_baselines("baselines", self.baselines)
        checks.fraction("test_fraction", self.test_fraction)
        check_metric(self.metric)
        checks.count("tune", self.tune)
        if self.space is not None:
            from forecaster.tracking.tuning import check_space  # mlflow: only when needed

            check_space(self.space)
        checks.choice("parallel", self.parallel, (None, *ENGINES))
        checks.positive_int("cpus_per_trial", self.cpus_per_trial)


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
        from forecaster.evaluation.backtesting import WINDOWS  # pandas: only when needed

        checks.positive_int("folds", self.folds)
        checks.choice("window", self.window, WINDOWS)
        checks.positive_int("train_size", self.train_size, optional=True)
        _check_baselines("baselines", self.baselines)


@dataclasses.dataclass(frozen=True)
class LtsfConfig:
    """The `ltsf` section: one run of the long-horizon benchmark protocol.

    The protocol is `forecaster.evaluation.ltsf`; the data set is the `source` section's,
    the model's settings are the `data`, `network`, `train` and `linear` sections'.

    Attributes:
        model: a cell ("rnn", "lstm", "gru", "cifg", replacing `network.cell`), "naive"
            (repeat the last value) or "linear" (the `linear` section's least-squares map).
        quick: the smoke mode: train.epochs 1, network.units 16 and data.stride 16 over
            the file (flags still override them); every test window is scored as always.
        experiment: the MLflow experiment.
        results: a results file (e.g. benchmarks/results/ltsf.csv) to record the run's row
            in; a cell's row waits beside it until its point has three seeds
            (`forecaster.cli.results.record`). None: no file. Refused with `quick`.
    """

    model: str = "gru"
    quick: bool = False
    experiment: str = "ltsf"
    results: str | None = None

    def __post_init__(self):
        """Checks the model's name, and that a quick run is not recorded as a result."""
        checks.choice("model", self.model, LTSF_MODELS)
        if self.quick and self.results is not None:
            raise checks.InvalidValueError(
                "results", "quick runs are smoke tests, not results; drop quick or results"
            )


@dataclasses.dataclass(frozen=True)
class UiConfig:
    """The `ui` section.

    Attributes:
        port: the port `mlflow ui` listens on at 127.0.0.1.
    """

    port: int = 5000

    def __post_init__(self):
        """Checks the port."""
        if isinstance(self.port, bool) or not 1 <= self.port <= 65535:
            raise checks.InvalidValueError("port", f"port must be in [1, 65535], got {self.port!r}")


# Every section by its name, in the order they are built: the model's, which load nothing,
# before the run's, whose checks read the data sets', the baselines' and the metrics' names.
SECTIONS = {
    "data": DataConfig,
    "network": NetworkConfig,
    "train": TrainConfig,
    "linear": LinearConfig,
    "source": SourceConfig,
    "fit": FitConfig,
    "compare": CompareConfig,
    "backtest": BacktestConfig,
    "ltsf": LtsfConfig,
    "ui": UiConfig,
}
MODEL_SECTIONS = ("data", "network", "train", "linear")


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """A whole config: each section's dataclass, or None where a command needs none."""

    data: DataConfig | None = None
    network: NetworkConfig | None = None
    train: TrainConfig | None = None
    linear: LinearConfig | None = None
    source: SourceConfig | None = None
    fit: FitConfig | None = None
    compare: CompareConfig | None = None
    backtest: BacktestConfig | None = None
    ltsf: LtsfConfig | None = None
    ui: UiConfig | None = None

    def model_configs(self):
        """The model's sections given, by name: what a forecaster is built from."""
        return {name: getattr(self, name) for name in MODEL_SECTIONS if getattr(self, name)}


# The sections each command reads (built from their defaults when absent); the sections it
# does not read are still checked when given.
NEEDS = {
    "fit": ("source", "data", "network", "train", "fit"),
    "compare": ("source", "data", "network", "train", "linear", "compare"),
    "tune": ("source", "data", "network", "train", "linear", "compare"),
    "backtest": ("source", "data", "network", "train", "linear", "backtest"),
    "ltsf": ("source", "data", "network", "train", "linear", "ltsf"),
    "ui": ("ui",),
}
