"""Paths to the shared real data sets and a writer for small CSVs."""

from pathlib import Path

# The project reads real data from ../shared/data beside the repository; never copied in.
DATA = Path(__file__).parents[2] / ".." / "shared" / "data"


def write(tmp_path, text, name="series.csv", encoding="utf-8"):
    """Writes `text` to `tmp_path / name` and returns the path."""
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path
