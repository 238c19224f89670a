"""The long-horizon benchmark as a grid: data sets x horizons x models x seeds, resumable.

python pipelines/ltsf_grid.py --results benchmarks/results/ltsf.csv --data ETTh1 ETTh2
(the defaults: horizons 96 192 336 720, models naive linear lstm gru cifg, 3 seeds)

Each data set's configuration is the committed `pipelines/configs/ltsf/<set>.yaml` (chosen
before any test score was seen), with only the horizon, the model and the seed set per
run. A (data set, horizon, model, configuration) point runs all its seeds and then appends
their rows to the results file in one write, so the file never holds a point with fewer
seeds; a point the file already holds is skipped, so the grid resumes where the file
stops (run it again after an interruption, or split it among machines by data set, or
run the seeds as Ray tasks with `--parallel ray`, on a local instance or a cluster). Each
finished seed waits in `<results>.pending.csv` until its point is complete, so an
interrupted point is resumed from its next seed, not from its first. A model whose
configuration has no seed (the naive and linear baselines: a fit in closed form) gives the
same result for every seed and runs once, as seed 0.
Every run is tracked in MLflow as `forecaster ltsf` tracks it.
"""

import argparse
import contextlib
import hashlib
import json
import sys
from pathlib import Path

from forecaster.cli import results
from forecaster.cli.loading import load_config
from forecaster.cli.sections import LTSF_MODELS, NEEDS, ConfigError

CONFIGS = Path(__file__).resolve().parents[2] / "pipelines" / "configs" / "ltsf"
RESULT_COLUMNS = (
    "data", "horizon", "lookback", "model", "seed", "config", "config_hash", "val_loss",
    "mse", "mae", "epochs", "wall_seconds", "cpu", "commit", "run_id",
)  # fmt: skip
# What a point's configuration is without: what varies between the runs of one point.
_PER_RUN = ("train.seed", "network.cell", "train.verbose")


def parser():
    """The command's argument parser."""
    main = argparse.ArgumentParser(
        prog="ltsf_grid.py", description=__doc__.splitlines()[0], allow_abbrev=False
    )
    main.add_argument("--results", required=True, metavar="PATH", help="the CSV to append to")
    main.add_argument("--data", nargs="+", default=["ETTh1", "ETTh2"], metavar="SET")
    main.add_argument("--horizons", nargs="+", type=int, default=[96, 192, 336, 720])
    main.add_argument(
        "--models", nargs="+", default=["naive", "linear", "lstm", "gru", "cifg"],
        choices=LTSF_MODELS, help="the baselines first: minutes, where a cell's seed is an hour",
    )  # fmt: skip
    main.add_argument("--seeds", type=int, default=3, help="seeds per point: 0 .. N - 1")
    main.add_argument(
        "--parallel", choices=["ray"], default=None,
        help="run the seeds as concurrent Ray tasks (a local instance, or --address)",
    )  # fmt: skip
    main.add_argument("--address", default=None, help="with --parallel ray: a cluster's address")
    main.add_argument(
        "--cpus-per-task", type=int, default=1, metavar="N",
        help="with --parallel ray: the CPUs (and threads) each seed's run gets",
    )  # fmt: skip
    main.add_argument(
        "--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
        help="override a key of every set's configuration (e.g. source.path=...)",
    )  # fmt: skip
    return main


def config_of(data, horizon, model, seed, overrides=()):
    """The run's `RunConfig`: the set's committed YAML, then the overrides, then the point."""
    path = CONFIGS / f"{data.lower()}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in CONFIGS.glob("*.yaml"))
        raise ConfigError(f"no configuration for data set {data!r} in {CONFIGS}; known: {known}")
    point = [f"data.horizon={horizon}", f"ltsf.model={model}", f"train.seed={seed}"]
    return load_config(path, [*overrides, *point], needs=NEEDS["ltsf"])


def config_hash(configuration):
    """A point's configuration (without its seed and cell) as 12 hex digits."""
    kept = {k: v for k, v in configuration.items() if k not in _PER_RUN}
    text = json.dumps(kept, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def finished(path):
    """{point: rows} of the results file; a point is (data, horizon, model, config_hash)."""
    import pandas as pd

    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        return {}
    table = pd.read_csv(path, dtype={"config_hash": str})
    return table.groupby(["data", "horizon", "model", "config_hash"]).size().to_dict()


def pending_path(path):
    """Where a point's finished seeds wait until all of them are done (beside `path`)."""
    path = Path(path)
    return path.with_name(f"{path.stem}.pending{path.suffix}")


def _pending(path, key):
    """The rows of the point `key` (data, horizon, model, config_hash) waiting in `path`."""
    import pandas as pd

    if not path.is_file() or path.stat().st_size == 0:
        return {}
    table = pd.read_csv(path, dtype={"config_hash": str}, keep_default_na=False)
    mine = table[_of_point(table, key)]
    return {int(row["seed"]): row.to_dict() for _, row in mine.iterrows()}


def _of_point(table, key):
    """Which rows of `table` are the point `key`'s (data, horizon, model, config_hash)."""
    columns = ("data", "horizon", "model", "config_hash")
    mask = True
    for column, value in zip(columns, key, strict=True):
        mask = mask & (table[column] == value)
    return mask


def _release(path, key):
    """Drops the point `key`'s rows from the pending file, rewritten beside it and renamed."""
    import pandas as pd

    table = pd.read_csv(path, dtype={"config_hash": str}, keep_default_na=False)
    keep = ~_of_point(table, key)
    staging = path.with_name(f".{path.name}.new")
    table[keep].to_csv(staging, index=False, lineterminator="\n")
    staging.replace(path)


def run_seed(item, overrides):
    """One seed's run: `item` is (data, horizon, model, seed); returns its results row."""
    from forecaster.cells.native.build import processor_name
    from forecaster.cli.commands import ltsf

    data, horizon, model, seed = item
    config = config_of(data, horizon, model, seed, overrides)
    with contextlib.redirect_stdout(sys.stderr):  # the grid prints one line per point
        result = ltsf(config)
    configuration = result["configuration"]
    kept = {k: v for k, v in configuration.items() if k not in _PER_RUN}
    return {
        **{k: result.get(k) for k in RESULT_COLUMNS},
        "seed": seed,
        "config": json.dumps(kept, sort_keys=True, default=str),
        "config_hash": config_hash(configuration),
        "cpu": processor_name(),
        "commit": results.commit(),
    }


def run_point(data, horizon, model, seeds, overrides, pending=None, key=None):
    """Runs one point's seeds; returns their result rows.

    With `pending` (a CSV path) each finished seed's row is kept there at once, and a seed
    already there is not run again, so an interrupted point loses at most the seed that was
    running; `key` is the point's (data, horizon, model, config_hash).
    """
    rows = []
    waiting = {} if pending is None else _pending(pending, key)
    for seed in range(seeds):
        if seed in waiting:
            rows.append(waiting[seed])
            continue
        rows.append(run_seed((data, horizon, model, seed), overrides))
        if pending is not None:
            results.append(pending, RESULT_COLUMNS, rows[-1])
    return rows


def _ray_seed(item, shared):
    """A Ray task: one seed's run into the driver's MLflow store; returns (point, row)."""
    import os

    overrides, tracking_uri = shared
    os.environ["MLFLOW_TRACKING_URI"] = tracking_uri
    *run, key = item
    return key, run_seed(tuple(run), overrides)


def run_points_on_ray(points, args):
    """Runs the seeds of `points` as concurrent Ray tasks, keeping the files as a serial run.

    Each finished seed goes into the pending file, and each point into the results file in
    one write once all its seeds are done (in the order the points finish).

    Args:
        points: [(key, data, horizon, model, seeds)], key being (data, horizon, model,
            config_hash).
        args: the parsed command line (results, set, address, cpus_per_task).
    """
    from forecaster.tracking import location, parallel

    pending = pending_path(args.results)
    waiting = {key: _pending(pending, key) for key, *_ in points}
    needed = {key: seeds for key, *_, seeds in points}
    names = {key: f"{data} H={horizon} {model}" for key, data, horizon, model, _ in points}

    def complete(key):
        rows = [waiting[key][seed] for seed in sorted(waiting[key])]
        results.append(args.results, RESULT_COLUMNS, *rows)  # in one write
        _release(pending, key)
        print(f"{names[key]}: mse {[row['mse'] for row in rows]}", flush=True)

    def on_done(_, outcome):
        key, row = outcome
        results.append(pending, RESULT_COLUMNS, row)
        waiting[key][row["seed"]] = row
        if len(waiting[key]) == needed[key]:
            complete(key)

    for key in needed:
        if len(waiting[key]) >= needed[key]:  # every seed was already waiting
            complete(key)
    items = [
        (data, horizon, model, seed, key)
        for key, data, horizon, model, seeds in points
        for seed in range(seeds)
        if seed not in waiting[key]
    ]
    shared = (args.set, location.tracking_uri())
    parallel.run_on_ray(
        _ray_seed, items, shared, address=args.address, cpus_per_task=args.cpus_per_task,
        on_done=on_done,
    )  # fmt: skip


def main(argv=None):
    """Runs every point of the grid not yet in the results file; returns the exit status."""
    args = parser().parse_args(argv)
    if args.seeds < 1:
        print("ltsf_grid.py: error: --seeds must be at least 1", file=sys.stderr)
        return 2
    try:
        done = finished(args.results)
        points = []
        for data in args.data:
            for horizon in args.horizons:
                for model in args.models:
                    config = config_of(data, horizon, model, 0, args.set)
                    if config.ltsf.quick:
                        raise ConfigError(
                            "ltsf.quick runs are smoke tests, not results; run them with "
                            "forecaster ltsf, without a results file"
                        )
                    digest, seeded = _point_of(config, model)
                    key = (config.source.name, horizon, model, digest)
                    seeds = args.seeds if seeded else 1
                    if done.get(key, 0) >= seeds:
                        print(f"{data} H={horizon} {model}: in the file, skipped", flush=True)
                        continue
                    points.append((key, data, horizon, model, seeds))
        if args.parallel == "ray":
            run_points_on_ray(points, args)
            return 0
        pending = pending_path(args.results)
        for key, data, horizon, model, seeds in points:
            rows = run_point(data, horizon, model, seeds, args.set, pending, key)
            results.append(args.results, RESULT_COLUMNS, *rows)  # in one write
            _release(pending, key)
            print(f"{data} H={horizon} {model}: mse {[row['mse'] for row in rows]}", flush=True)
    except (ConfigError, FileNotFoundError, ValueError) as error:
        print(f"ltsf_grid.py: error: {error}", file=sys.stderr)
        return 2
    return 0


def _point_of(config, model):
    """A point's configuration hash, before running it, and whether its model takes a seed.

    A model without a seed gives the same result for every seed.
    """
    from forecaster.cli import models
    from forecaster.cli.commands import flat

    configuration = flat(models.build(model, config).configs())
    return config_hash(configuration), "train.seed" in configuration
