"""The LTSF runner's results rows: the columns, a point's key, and recording a run.

`forecaster ltsf --ltsf.results PATH` records one run; the grid (`forecaster.cli.ltsf_grid`)
records every seed of its points. Either way a cell's row waits beside the file until its
point has three seeds (`forecaster.cli.results.record`).
"""

import json

from forecaster.cli import results

RESULT_COLUMNS = (
    "data", "horizon", "lookback", "model", "seed", "config", "config_hash", "val_loss",
    "mse", "mae", "epochs", "wall_seconds", "cpu", "commit", "run_id",
)  # fmt: skip
POINT = ("data", "horizon", "model", "config_hash")  # the columns that name a point


def row_of(result, seed):
    """The results row of a `forecaster ltsf` run's result (its printed dict)."""
    from forecaster.cells.native.build import processor_name

    configuration = result["configuration"]
    return {
        **{k: result.get(k) for k in RESULT_COLUMNS},
        "seed": seed,
        "config": json.dumps(results.point_config(configuration), sort_keys=True, default=str),
        "config_hash": results.point_hash(configuration),
        "cpu": processor_name(),
        "commit": results.commit(),
    }


def record(path, result):
    """Records a `forecaster ltsf` run's row in the results file `path` (`results.record`).

    A model without a seed is one run; a cell's row waits until its point has three seeds.
    """
    seed = result["configuration"].get("train.seed")
    seeds = 1 if seed is None else results.SEEDS
    return results.record(path, RESULT_COLUMNS, row_of(result, seed or 0), POINT, seeds)
