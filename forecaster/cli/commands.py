"""The `forecaster` command (also `python -m forecaster`): fit, compare, backtest, ltsf, ui, ...

    forecaster compare --config pipelines/configs/bikeshare.yaml --compare.seeds 2
    forecaster fit --config pipelines/configs/quick.yaml --network.units 64
    forecaster backtest --config pipelines/configs/quick.yaml --backtest.folds 3 --network.cell gru
    forecaster ltsf --config pipelines/configs/ltsf/etth1.yaml --ltsf.model lstm --ltsf.quick
    forecaster ui --ui.port 5000
    forecaster info                  # versions, processor, native kernels, store, devices
    forecaster inspect sales.csv     # what the reader finds, and the call that loads it

Each command reads a YAML config (`--config`, see `forecaster.cli.sections`); the flags,
one per field of the sections it reads (`--network.units`, `--train.epochs`, ...; see
`forecaster.cli.flags`), override it, then each `--set section.key=value` in order. A
config error is one line on stderr and exit status 2. The MLflow work goes through
`forecaster.tracking`, imported only by the commands that track.

The parser needs nothing beyond the standard library and the config's dataclasses, so
`--help`, a bad flag and a bad hyperparameter answer at once: the modules a command runs
(pandas, TensorFlow and Keras, MLflow) are imported inside the functions that use them, for
start-up time, not to break an import cycle.
"""

import argparse
import contextlib
import dataclasses
import json
import sys
import time
from pathlib import Path

from forecaster.cli import models, predicting
from forecaster.cli.comparing import compare, print_ui_hint, tune
from forecaster.cli.flags import add_arguments, add_section, config_from_args
from forecaster.cli.inspecting import inspect, inspect_source
from forecaster.cli.process_group import run_group
from forecaster.cli.sections import SECTIONS, ConfigError, SourceConfig

_DESCRIPTIONS = {
    "fit": "Fit one forecaster on the training part, score it on the test part (tracked in "
    "MLflow) and save it.",
    "compare": "Compare the cells over several seeds, with the baselines, in one MLflow run; "
    "print the table and Welch's t-test p-values.",
    "tune": "Tune every cell with the same budget of trials (--tune N) on the validation part, "
    "tracked in MLflow; print each cell's chosen configuration.",
    "backtest": "Rolling-origin backtest of the model and the baselines; print the per-fold "
    "table and a summary.",
    "ltsf": "Run the long-horizon benchmark protocol (LTSF) for one model, tracked in MLflow; "
    "print its scores as one line of JSON.",
    "ui": "Start `mlflow ui` on 127.0.0.1 against the project's tracking store (Ctrl-C stops it).",
    "inspect": "Read a CSV as forecaster.read_csv would and print what it found (time column "
    "and step, span, rows, each column, gaps, separator, encoding), each problem with the "
    "option that gets past it, and the read_csv call and config section that load it.",
    "predict": "Forecast after a CSV with a saved forecaster (a folder) or a logged one "
    "(runs:/<id>/model, models:/<name>/<version>); write the forecast as CSV.",
    "info": "Print the versions, the processor and its instruction set, whether the native "
    "kernels are in use (and why not), the tracking store and the devices.",
}
# The commands that write to or show the tracking store: it is checked before anything
# else, so a store that cannot be opened is refused before TensorFlow loads.
TRACKED = ("fit", "compare", "tune", "ltsf", "ui")
EPILOG = (
    "Flags override the --config file, then each --set in order. The sections: "
    + ", ".join(f"{name} ({cls.__name__})" for name, cls in SECTIONS.items())
    + "; a key is spelled the same in the file, as a flag, in --set, as the MLflow "
    "parameter and in a saved model."
)


def fit(config):
    """Fits, scores and saves one forecaster, tracked in MLflow; prints where it all is.

    Returns:
        The test scores, with "run_id".
    """
    import pandas as pd

    from forecaster import tracking
    from forecaster.data import split
    from forecaster.estimators.saving import MANIFEST

    output = config.fit.output
    if output is not None and Path(output).exists() and not (Path(output) / MANIFEST).is_file():
        raise ConfigError(
            f"config key 'fit.output' is {output!r}, which exists and is not a saved "
            "forecaster; pick a new folder"
        )
    model = models.build(config.network.cell, config)
    frame = config.source.load()
    fraction, lookback = config.fit.test_fraction, config.data.lookback
    parts = split(frame, 1 - fraction, 0.0, fraction, lookback=lookback)
    print(
        f"Fitting {config.network.cell} on {len(parts.train)} rows of {config.source.name}; "
        f"scoring on the last {len(parts.test) - lookback}.",
        flush=True,
    )
    scores = tracking.track_fit(
        model, parts.train, parts.test, experiment=config.fit.experiment, dataset=config.source.name
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
    print_ui_hint()
    return scores


def backtest(config):
    """Backtests the model and the baselines; prints the model's folds and a summary.

    Returns:
        The model's per-fold table (with its "mean" row).
    """
    import pandas as pd

    settings, cell = config.backtest, config.network.cell
    options = {"folds": settings.folds, "window": settings.window, "refit": settings.refit}
    options["train_size"] = settings.train_size
    model = models.build(cell, config)
    baselines = {name: models.build(name, config) for name in settings.baselines}
    frame = config.source.load()
    print(
        f"Backtesting {cell} on {config.source.name}: {settings.folds} folds of "
        f"{config.data.horizon} steps, {settings.window} window, "
        f"{'refit at every fold' if settings.refit else 'fitted once'}.",
        flush=True,
    )
    table = model.backtest(frame, **options)
    shown = ["fold", "cutoff", "mae", "mse", "rmse", "smape", "mase"]
    folds = table[shown].astype({"cutoff": str}).replace({"cutoff": {"NaT": ""}})
    print(folds.to_markdown(index=False, floatfmt=".4g"))
    means = {cell: table.iloc[-1]}
    for name, baseline in baselines.items():
        means[name] = baseline.backtest(frame, **options).iloc[-1]
    summary = pd.DataFrame(means).T[shown[2:]].astype(float)
    print(f"\nMean over the folds, model and baselines:\n{summary.to_markdown(floatfmt='.4g')}")
    return table


def flat(configs):
    """Configuration dataclasses by section as one dict of `section.field` keys (MLflow's)."""
    return {
        f"{section}.{name}": value
        for section, values in configs.items()
        for name, value in dataclasses.asdict(values).items()
    }


def ltsf(config):
    """Runs the LTSF protocol for one model in an MLflow run; prints its scores as JSON.

    The data set is `source`'s, split at the protocol's borders (`forecaster.evaluation.ltsf`),
    the model is `ltsf.model` in the model sections. Keras's log goes to stderr, stdout gets
    one line of JSON.

    Returns:
        The printed dict: "data", "model", "lookback", "horizon", "quick", "mse", "mae"
        (scaled), "windows", "wall_seconds" (reading, fitting, scoring and logging),
        "run_id", "val_loss" (the best epoch's), "epochs", "params", "seconds_per_epoch"
        and "configuration" (the model's configuration, as `section.field`). With
        `ltsf.results`, the run's row is recorded in that file (`ltsf_results.record`).
    """
    from forecaster import tracking
    from forecaster.evaluation import ltsf as protocol

    start = time.perf_counter()
    source, settings = config.source, config.ltsf
    frame = source.load()  # first: a missing file is refused before TensorFlow is imported
    model = models.build(settings.model, config)
    stamps = None
    if source.benchmark is not None:  # the frame may be the file made regular (weather)
        stamps = protocol.file_stamps(source.file(), frame.index.name)
        stamps = None if stamps.equals(frame.index) else stamps
    parts = protocol.protocol_split(frame, source.name, config.data.lookback, stamps)
    quick = str(settings.quick).lower()
    with contextlib.redirect_stdout(sys.stderr):  # Keras's log; stdout is for the JSON
        scores = tracking.track_split(
            model, parts, experiment=settings.experiment, dataset=source.name, quick=quick,
            protocol="ltsf",
        )  # fmt: skip
    result = {
        "data": source.name,
        "model": settings.model,
        "lookback": config.data.lookback,
        "horizon": config.data.horizon,
        "quick": settings.quick,
        "mse": float(scores["scaled_mse"]),
        "mae": float(scores["scaled_mae"]),
        "windows": int(scores["windows"]),
        "wall_seconds": round(time.perf_counter() - start, 2),
        "run_id": scores["run_id"],
        "val_loss": float(min(model.history_["val_loss"])),
        "epochs": len(model.history_["loss"]),
        "params": int(scores["params"]),
        "seconds_per_epoch": round(scores["seconds_per_epoch"], 2),
        "configuration": flat(model.configs()),
    }
    print(json.dumps(result), flush=True)
    if settings.results is not None:
        from forecaster.cli import ltsf_results

        ltsf_results.record(settings.results, result)
    return result


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


def info(_config=None):
    """Prints `forecaster.cli.info.report()`, one "label: value" line each."""
    from forecaster.cli.info import report

    found = report()
    width = max(map(len, found))
    for label, value in found.items():
        print(f"{label + ':':<{width + 2}}{value}")
    return found


COMMANDS = {
    "fit": fit,
    "compare": compare,
    "tune": tune,
    "backtest": backtest,
    "ltsf": ltsf,
    "ui": ui,
    "inspect": inspect,
    "predict": predicting.predict,
    "info": info,
}


def parser():
    """The `forecaster` argument parser, a subcommand per entry of `COMMANDS`."""
    main_parser = argparse.ArgumentParser(
        prog="forecaster",
        description="Recurrent time-series forecasters from a YAML config, tracked in MLflow.",
    )
    commands = main_parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        sub = commands.add_parser(
            name,
            help=_DESCRIPTIONS[name],
            description=_DESCRIPTIONS[name],
            epilog=EPILOG,
            allow_abbrev=False,
        )
        if name == "inspect":
            sub.add_argument("file", metavar="FILE", help="the CSV file (plain or compressed)")
            add_section(sub, "source", SourceConfig, skip=("shipped", "benchmark", "path", "rows"))
        elif name == "predict":
            predicting.add_arguments(sub)
        elif name != "info":
            add_arguments(sub, name)
    return main_parser


def run(command, args, prog=None):
    """Builds the config from parsed arguments and runs `command`; returns the exit status.

    A bad config, a missing file or data that does not fit the config is one line on
    stderr, `<prog>: error: <what>`, and status 2, with no traceback.

    Args:
        command: a key of `COMMANDS`.
        args: the parsed arguments (`add_arguments`'s flags).
        prog: the program's name in an error; None: "forecaster <command>".
    """
    from forecaster.tracking.location import TrackingStoreError, tracking_uri

    prefix = f"{prog or f'forecaster {command}'}: error:"
    try:
        if command in TRACKED:
            tracking_uri()  # refuses a store that cannot be opened, in milliseconds
        if command == "info":
            info()
            return 0
        # Before pandas or TensorFlow load.
        if command == "inspect":
            config = inspect_source(args)
        elif command == "predict":
            config = predicting.config_from_args(args)
        else:
            config = config_from_args(args, command)
    except (ConfigError, TrackingStoreError) as error:
        print(prefix, error, file=sys.stderr)
        return 2
    from forecaster.data import DataError

    try:
        result = COMMANDS[command](config)
    except (ConfigError, DataError, FileNotFoundError, TrackingStoreError) as error:
        print(prefix, error, file=sys.stderr)
        return 2
    return result if command in ("ui", "inspect") else 0


def main(argv=None):
    """The console script: `forecaster COMMAND [flags]`; returns the exit status."""
    args = parser().parse_args(argv)
    return run(args.command, args)


def script(command, config, description, argv=None):
    """A pipeline script's main: `command`'s flags with `config` as the default `--config`.

    Args:
        command: a key of `COMMANDS`.
        config: the default YAML config file.
        description: the script's `--help` text (its docstring's first line is used).
        argv: the arguments; None: `sys.argv[1:]`.

    Returns:
        The exit status, as `run` gives it.
    """
    prog = Path(sys.argv[0]).name
    script_parser = argparse.ArgumentParser(
        description=description.splitlines()[0], epilog=EPILOG, prog=prog, allow_abbrev=False
    )
    add_arguments(script_parser, command, config=str(config))
    return run(command, script_parser.parse_args(argv), prog=prog)
