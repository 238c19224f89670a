"""Results files: the CSV files a benchmark runner appends one row per run to.

A row is written in one `write` call, after the header when the file is new; a row is
never changed or removed. A file written before the runner gained columns at the end is
widened first: its rows are rewritten with those cells empty, beside the file, which is
then replaced in one rename, so a failure leaves it as it was.
"""

import csv
import io
import subprocess
from pathlib import Path

from forecaster.cli.sections import ConfigError

_ROOT = Path(__file__).resolve().parents[2]


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
