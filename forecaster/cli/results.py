"""Results files: the CSV files a benchmark runner appends one row per run to.

A row is written in one `write` call, after the header when the file is new; a row is
never changed or removed. A file written before the runner gained columns at the end is
widened first: its rows are rewritten with those cells empty, beside the file, which is
then replaced in one rename, so a failure leaves it as it was.

A point (a model and configuration on one task) of a model with a seed gets its seeds
together: `record` keeps each run's row in `<results>.pending.csv` until the point has
`SEEDS` of them, then moves them into the results file in one write, so the file never
holds a point with fewer.
"""

import csv
import hashlib
import io
import json
import subprocess
from pathlib import Path

from forecaster.cli.sections import ConfigError

_ROOT = Path(__file__).resolve().parents[2]
SEEDS = 3  # a point's seeds, run before its rows reach a results file
PER_RUN = ("train.seed", "network.cell", "train.verbose")  # what differs within a point


def point_config(configuration):
    """A run's configuration (`section.field` keys) without what differs within its point."""
    return {k: v for k, v in configuration.items() if k not in PER_RUN}


def point_hash(configuration):
    """A point's configuration (without the seed and cell of the run) as 12 hex digits."""
    text = json.dumps(point_config(configuration), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def commit():
    """The checkout's short commit hash ("" outside a git checkout)."""
    done = subprocess.run(
        ["git", "-C", str(_ROOT), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip()


def append(path, columns, *rows):
    """Appends `rows` (dicts keyed by `columns`) to the CSV file `path`, in one write.

    Raises:
        ConfigError: the file's header is not a start of `columns`.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _widen(path, columns)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    if not path.is_file() or path.stat().st_size == 0:
        writer.writeheader()
    writer.writerows(rows)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(buffer.getvalue())


def _widen(path, columns):
    """Gives the rows of a file with fewer columns (a start of `columns`) the rest, empty."""
    if not path.is_file() or path.stat().st_size == 0:
        return
    with path.open(encoding="utf-8", newline="") as handle:
        header = next(csv.reader(handle))
        handle.seek(0)
        rows = list(csv.DictReader(handle))
    if header == list(columns):
        return
    if header != list(columns[: len(header)]):
        raise ConfigError(
            f"{path} has the columns {header}, not a start of {list(columns)}; pass another "
            "--results file"
        )
    staging = path.with_name(f".{path.name}.new")
    with staging.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    staging.replace(path)


def record(path, columns, row, key, seeds=SEEDS):
    """Records a run's row: in the results file `path` once its point has `seeds` seeds.

    Args:
        path: the results file.
        columns: its columns.
        row: the run's row, a dict keyed by `columns` with a "seed".
        key: the columns that name the run's point (e.g. data, horizon, model,
            config_hash): its runs differ only in their seed.
        seeds: the seeds a point needs; 1 for a model without a seed, whose row is
            appended at once.

    Returns:
        The rows appended to `path`, in seed order: the point's, or none while it waits.
    """
    if seeds <= 1:
        append(path, columns, row)
        return [row]
    append(pending_path(path), columns, row)
    return settle(path, columns, {column: row[column] for column in key}, seeds)


def settle(path, columns, point, seeds=SEEDS):
    """Moves the point's waiting rows into the results file `path` if it has `seeds` seeds.

    Returns:
        The rows moved, in seed order, or none.
    """
    pending = pending_path(path)
    rows = waiting(pending, point)
    if len(rows) < seeds:
        return []
    rows = [rows[seed] for seed in sorted(rows)]
    append(path, columns, *rows)  # in one write
    release(pending, point)
    return rows


def pending_path(path):
    """Where a point's finished seeds wait until all of them are done (beside `path`)."""
    path = Path(path)
    return path.with_name(f"{path.stem}.pending{path.suffix}")


def waiting(pending, point):
    """{seed: row} of the point (a dict {column: value}) waiting in the file `pending`.

    The rows are the file's text (a value as written, "" for an empty cell), so that
    moving them into a results file copies them exactly.
    """
    import pandas as pd

    pending = Path(pending)
    if not pending.is_file() or pending.stat().st_size == 0:
        return {}
    table = pd.read_csv(pending, dtype=str, keep_default_na=False)
    mine = table[_of_point(table, point)]
    return {int(row["seed"]): row.to_dict() for _, row in mine.iterrows()}


def release(pending, point):
    """Drops the point's rows from the file `pending`, rewritten beside it and renamed."""
    import pandas as pd

    pending = Path(pending)
    table = pd.read_csv(pending, dtype=str, keep_default_na=False)
    staging = pending.with_name(f".{pending.name}.new")
    table[~_of_point(table, point)].to_csv(staging, index=False, lineterminator="\n")
    staging.replace(pending)


def _of_point(table, point):
    """Which rows of `table` (read as text) are the point's."""
    mask = True
    for column, value in point.items():
        mask = mask & (table[column] == ("" if value is None else str(value)))
    return mask
