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
import sys
from pathlib import Path

from forecaster.cli import results
from forecaster.cli.loading import load_config
from forecaster.cli.ltsf_results import POINT, RESULT_COLUMNS, row_of
from forecaster.cli.sections import LTSF_MODELS, NEEDS, ConfigError

CONFIGS = Path(__file__).resolve().parents[2] / "pipelines" / "configs" / "ltsf"


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
        choices=LTSF_MODELS,
        help="the baselines first: seconds each, where a cell's seed at L=720 takes minutes",
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
    point.append("ltsf.results=null")  # the grid records the rows itself
    return load_config(path, [*overrides, *point], needs=NEEDS["ltsf"])


def finished(path):
    """{point: rows} of the results file; a point is (data, horizon, model, config_hash)."""
    import pandas as pd

    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        return {}
    table = pd.read_csv(path, dtype={"config_hash": str})
    return table.groupby(list(POINT)).size().to_dict()


def run_seed(item, overrides):
    """One seed's run: `item` is (data, horizon, model, seed); returns its results row."""
    from forecaster.cli.commands import ltsf

    data, horizon, model, seed = item
    config = config_of(data, horizon, model, seed, overrides)
    with contextlib.redirect_stdout(sys.stderr):  # the grid prints one line per point
        result = ltsf(config)
    return row_of(result, seed)


def run_point(data, horizon, model, seeds, overrides, path, key):
    """Runs the point's seeds that are not waiting in `path`'s pending file; returns its rows.

    Each finished seed's row is recorded at once (`results.record`), so an interrupted
    point loses at most the seed that was running; the last one moves them all into the
    results file `path`. `key` is the point's (data, horizon, model, config_hash).
    """
    point = dict(zip(POINT, key, strict=True))
    done = results.settle(path, RESULT_COLUMNS, point, seeds)  # all were waiting already
    if done:
        return done
    waiting = results.waiting(results.pending_path(path), point)
    for seed in range(seeds):
        if seed not in waiting:
            row = run_seed((data, horizon, model, seed), overrides)
            done = results.record(path, RESULT_COLUMNS, row, POINT, seeds)
    return done


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

    pending = results.pending_path(args.results)
    names, items = {}, []
    for key, data, horizon, model, seeds in points:
        point = dict(zip(POINT, key, strict=True))
        names[key] = (f"{data} H={horizon} {model}", seeds)
        settled = results.settle(args.results, RESULT_COLUMNS, point, seeds)  # all waited
        _say(names[key][0], settled)
        if not settled:
            waiting = results.waiting(pending, point)
            items += [
                (data, horizon, model, seed, key) for seed in range(seeds) if seed not in waiting
            ]

    def on_done(_, outcome):
        key, row = outcome
        name, seeds = names[key]
        _say(name, results.record(args.results, RESULT_COLUMNS, row, POINT, seeds))

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
        for key, data, horizon, model, seeds in points:
            rows = run_point(data, horizon, model, seeds, args.set, args.results, key)
            _say(f"{data} H={horizon} {model}", rows)
    except (ConfigError, FileNotFoundError, ValueError) as error:
        print(f"ltsf_grid.py: error: {error}", file=sys.stderr)
        return 2
    return 0


def _say(name, rows):
    """Prints a point's line once its rows are in the results file."""
    if rows:
        print(f"{name}: mse {[float(row['mse']) for row in rows]}", flush=True)


def _point_of(config, model):
    """A point's configuration hash, before running it, and whether its model takes a seed.

    A model without a seed gives the same result for every seed.
    """
    from forecaster.cli import models
    from forecaster.cli.commands import flat

    configuration = flat(models.build(model, config).configs())
    return results.point_hash(configuration), "train.seed" in configuration
