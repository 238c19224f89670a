"""The `forecaster` command (also `python -m forecaster`): fit, compare, backtest, ui and info.

    forecaster compare --config pipelines/configs/bikeshare.yaml --seeds 2
    forecaster fit --config pipelines/configs/quick.yaml --set model.units=64
    forecaster backtest --config pipelines/configs/quick.yaml --folds 3 --cell gru
    forecaster ui --port 5000
    forecaster info                  # versions, processor, native kernels, store, devices

Each command reads a YAML config (`--config`, see `forecaster.cli.sections`); flags override
it, the named ones (`--data`, `--cell`, `--epochs`, ...) first, then each `--set
section.key=value` in order. A config error is one line on stderr and exit status 2.
The MLflow work goes through `forecaster.tracking`, imported only by the commands that track.

The parser needs nothing beyond the standard library, so `--help` and a bad flag answer at
once: the modules a command runs (the config, which builds on TensorFlow and Keras, pandas,
MLflow) are imported inside the functions that use them, for start-up time, not to break an
import cycle.
"""

import argparse
import sys
from pathlib import Path

from forecaster.cli.process_group import run_group

_DESCRIPTIONS = {
    "fit": "Fit one forecaster on the training part, score it on the test part (tracked in "
    "MLflow) and save it.",
    "compare": "Compare the cells over several seeds, with the baselines, in one MLflow run; "
    "print the table and Welch's t-test p-values.",
    "backtest": "Rolling-origin backtest of the model and the baselines; print the per-fold "
    "table and a summary.",
    "ui": "Start `mlflow ui` on 127.0.0.1 against the project's tracking store (Ctrl-C stops it).",
    "info": "Print the versions, the processor and its instruction set, whether the native "
    "kernels are in use (and why not), the tracking store and the devices.",
}
# The commands that write to or show the tracking store: it is checked before anything
# else, so a store that cannot be opened is refused before TensorFlow loads.
TRACKED = ("fit", "compare", "ui")
EPILOG = (
    "Flags override the --config file: the named flags first, then each --set in order. "
    "Sections and their keys: data (shipped | path | benchmark, rows, and read_csv's "
    "time_col, columns, date_format, freq, missing, categorical, encoding, sep), model "
    "(Forecaster keywords: DataConfig, NetworkConfig and TrainConfig fields), compare (cells, "
    "seeds, baselines, test_fraction, experiment, metric, parallel, address, cpus_per_trial), "
    "backtest (folds, window, refit, train_size, baselines), fit (test_fraction, output, "
    "experiment), ui (port)."
)


def add_arguments(parser, command, config=None):
    """Adds `command`'s flags to an `argparse` parser.

    Args:
        parser: the parser (a subcommand's, or a pipeline script's own).
        command: "fit", "compare", "backtest" or "ui".
        config: the default `--config` file; None: none.
    """
    parser.add_argument("--config", default=config, metavar="YAML", help="the config file")

    def flag(name, key, help, **options):
        options.setdefault("metavar", key.partition(".")[2].upper())
        parser.add_argument(name, dest=key, default=argparse.SUPPRESS, help=help, **options)

    if command != "ui":
        flag("--data", "data.path", "read this CSV instead of the config's data", metavar="CSV")
        flag("--epochs", "model.epochs", "most training epochs (model.epochs)", type=int)
        flag("--units", "model.units", "hidden units per layer (model.units)", type=int)
    if command in ("fit", "backtest"):
        flag("--cell", "model.cell", "rnn, lstm, gru or cifg (model.cell)")
    if command == "compare":
        flag("--cells", "compare.cells", "the cells to compare (compare.cells)", nargs="+")
        flag("--seeds", "compare.seeds", "runs per cell (compare.seeds)", type=int)
        flag(
            "--parallel",
            "compare.parallel",
            "run the trials concurrently on Ray: 'ray' (compare.parallel)",
            choices=["ray"],
        )
        flag(
            "--address",
            "compare.address",
            "the Ray cluster to use with --parallel ray; default: a local instance "
            "(compare.address)",
        )
    if command in ("fit", "compare"):
        flag("--experiment", f"{command}.experiment", f"MLflow experiment ({command}.experiment)")
    if command == "fit":
        flag("--output", "fit.output", "folder to save the model to (fit.output)")
    if command == "backtest":
        flag("--folds", "backtest.folds", "forecast origins (backtest.folds)", type=int)
    if command == "ui":
        flag("--port", "ui.port", "the port on 127.0.0.1 (ui.port)", type=int)
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override any config key; VALUE is read as YAML (e.g. model.calendar=[hour])",
    )


def config_from_args(args, command):
    """The `RunConfig` of parsed arguments: the file, then the flags, then each `--set`.

    Raises:
        ConfigError: as `forecaster.cli.sections.load_config`.
    """
    from forecaster.cli.loading import load_config
    from forecaster.cli.sections import NEEDS

    flags = [(key, value) for key, value in vars(args).items() if "." in key]
    if any(key == "data.path" for key, _ in flags):  # --data replaces the config's source
        flags = [("data.shipped", None), ("data.benchmark", None), *flags]
    return load_config(args.config, [*flags, *args.overrides], needs=NEEDS[command])


def fit(config):
    """Fits, scores and saves one forecaster, tracked in MLflow; prints where it all is.

    Returns:
        The test scores, with "run_id".
    """
    import pandas as pd

    from forecaster import tracking
    from forecaster.cli.sections import ConfigError
    from forecaster.data import split
    from forecaster.estimators.saving import MANIFEST

    output = config.fit.output
    if output is not None and Path(output).exists() and not (Path(output) / MANIFEST).is_file():
        raise ConfigError(
            f"config key 'fit.output' is {output!r}, which exists and is not a saved "
            "forecaster; pick a new folder"
        )
    frame = config.data.load()
    fraction, lookback = config.fit.test_fraction, config.model.data.lookback
    parts = split(frame, 1 - fraction, 0.0, fraction, lookback=lookback)
    model = config.model.forecaster()
    print(
        f"Fitting {model.network.cell} on {len(parts.train)} rows of {config.data.name}; "
        f"scoring on the last {len(parts.test) - lookback}.",
        flush=True,
    )
    scores = tracking.track_fit(
        model, parts.train, parts.test, experiment=config.fit.experiment, dataset=config.data.name
    )
    shown = {k: v for k, v in scores.items() if k not in ("run_id", "windows")}
    print(pd.Series(shown, name="test").to_frame().to_markdown(floatfmt=".4g"))
    if output is not None:
        model.save(output)
        print(f"Model saved to {output} (forecaster.Forecaster.load reads it back).")
    print(
        f"MLflow run {scores['run_id']} in experiment {config.fit.experiment!r} at "
        f"{tracking.tracking_uri()}."
    )
    _print_ui_hint()
    return scores


def compare(config):
    """Runs `forecaster.tracking.compare_cells` and prints the table and the p-values.

    Returns:
        The comparison table.
    """
    from forecaster import tracking

    settings, frame = config.compare, config.data.load()
    runs = len(settings.cells) * settings.seeds + len(settings.baselines)
    print(
        f"Comparing {', '.join(settings.cells)} over {settings.seeds} seed(s) and "
        f"{len(settings.baselines)} baselines on {config.data.name} ({len(frame)} rows, last "
        f"{settings.test_fraction:.0%} for testing): {runs} runs.",
        flush=True,
    )
    table = tracking.compare_cells(
        frame,
        settings.cells,
        settings.seeds,
        baselines=settings.baselines,
        test_fraction=settings.test_fraction,
        experiment=settings.experiment,
        dataset=config.data.name,
        metric=settings.metric,
        progress=True,
        parallel=settings.parallel,
        address=settings.address,
        cpus_per_trial=settings.cpus_per_trial,
        **config.model.options("cell", "seed"),
    )
    metric = settings.metric
    columns = [f"{metric}_mean", f"{metric}_std", "mae_mean", "mase_mean"]
    columns += [f"scaled_{metric}_mean", "params", "seconds_per_epoch"]
    seeds = f"{settings.seeds} seed{'s' if settings.seeds > 1 else ''}"
    print(f"\nTest scores, mean and std over {seeds} (the full table is in the MLflow run):")
    print(table[[c for c in columns if c in table.columns]].to_markdown(floatfmt=".4g"))
    p_values = table.attrs["p_values"]
    if p_values.notna().any().any():
        print(f"\nWelch's t-test p-values of the scaled test {metric} between cells:")
        print(p_values.to_markdown(floatfmt=".3g"))
    else:
        print(f"\nNo Welch's t-test p-values: they need 2 seeds or more (seeds: {settings.seeds}).")
    for label, error in table.attrs["failed"].items():
        print(f"\nFAILED {label} (its run is marked FAILED): {error}")
    print(
        f"\nMLflow run {table.attrs['run_id']} in experiment {table.attrs['experiment']!r} at "
        f"{tracking.tracking_uri()}."
    )
    _print_ui_hint()
    return table


def backtest(config):
    """Backtests the model and the baselines; prints the model's folds and a summary.

    Returns:
        The model's per-fold table (with its "mean" row).
    """
    import pandas as pd

    settings, frame = config.backtest, config.data.load()
    options = {"folds": settings.folds, "window": settings.window, "refit": settings.refit}
    options["train_size"] = settings.train_size
    model = config.model.forecaster()
    print(
        f"Backtesting {model.network.cell} on {config.data.name}: {settings.folds} folds of "
        f"{model.data.horizon} steps, {settings.window} window, "
        f"{'refit at every fold' if settings.refit else 'fitted once'}.",
        flush=True,
    )
    table = model.backtest(frame, **options)
    shown = ["fold", "cutoff", "mae", "mse", "rmse", "smape", "mase"]
    folds = table[shown].astype({"cutoff": str}).replace({"cutoff": {"NaT": ""}})
    print(folds.to_markdown(index=False, floatfmt=".4g"))
    means = {model.network.cell: table.iloc[-1]}
    for name in settings.baselines:
        means[name] = config.model.baseline(name).backtest(frame, **options).iloc[-1]
    summary = pd.DataFrame(means).T[shown[2:]].astype(float)
    print(f"\nMean over the folds, model and baselines:\n{summary.to_markdown(floatfmt='.4g')}")
    return table


def ui(config):
    """Runs `mlflow ui` in the foreground until it ends or is stopped (see `run_group`).

    Returns:
        The exit status: mlflow's if it ended by itself, 0 after Ctrl-C (SIGINT), 128 + the
        signal's number after SIGTERM (143) or SIGHUP (129).
    """
    from forecaster import tracking

    tracking.open_store()  # ends the runs whose process died, so the UI shows them KILLED
    command = tracking.ui_command(config.ui.port)
    print(
        f"MLflow UI at http://127.0.0.1:{config.ui.port} for {tracking.tracking_uri()}; "
        "Ctrl-C stops it.",
        flush=True,
    )
    return run_group(command)


def _print_ui_hint():
    print("Open the MLflow UI with `forecaster ui` and browse to http://127.0.0.1:5000.")


def info(_config=None):
    """Prints `forecaster.cli.info.report()`, one "label: value" line each."""
    from forecaster.cli.info import report

    found = report()
    width = max(map(len, found))
    for label, value in found.items():
        print(f"{label + ':':<{width + 2}}{value}")
    return found


COMMANDS = {"fit": fit, "compare": compare, "backtest": backtest, "ui": ui, "info": info}


def parser():
    """The `forecaster` argument parser, a subcommand per entry of `COMMANDS`."""
    main_parser = argparse.ArgumentParser(
        prog="forecaster",
        description="Recurrent time-series forecasters from a YAML config, tracked in MLflow.",
    )
    commands = main_parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        sub = commands.add_parser(
            name, help=_DESCRIPTIONS[name], description=_DESCRIPTIONS[name], epilog=EPILOG
        )
        if name != "info":
            add_arguments(sub, name)
    return main_parser


def run(command, args):
    """Builds the config from parsed arguments and runs `command`; returns the exit status.

    A bad config, a missing file or data that does not fit the config is one line on
    stderr and status 2, with no traceback.
    """
    from forecaster.tracking.location import TrackingStoreError, tracking_uri

    try:
        if command in TRACKED:
            tracking_uri()  # refuses a store that cannot be opened, in milliseconds
        if command == "info":
            info()
            return 0
    except TrackingStoreError as error:
        print(f"forecaster {command}: error: {error}", file=sys.stderr)
        return 2
    from forecaster.cli.sections import ConfigError
    from forecaster.data import DataError

    try:
        config = config_from_args(args, command)
        result = COMMANDS[command](config)
    except (ConfigError, DataError, FileNotFoundError, TrackingStoreError) as error:
        print(f"forecaster {command}: error: {error}", file=sys.stderr)
        return 2
    return result if command == "ui" else 0


def main(argv=None):
    """The console script: `forecaster COMMAND [flags]`; returns the exit status."""
    args = parser().parse_args(argv)
    return run(args.command, args)
