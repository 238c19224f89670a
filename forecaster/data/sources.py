"""Series too large for memory: a CSV file, or a folder of CSV and Parquet files, read in chunks.

A `Source` names the files and a range of rows; `Source.chunks` reads that range piece by
piece (pandas's ``read_csv(chunksize=...)``, pyarrow's ``iter_batches``) and checks each
piece as `read_csv` checks a whole file: the timestamps parse and step exactly one
`freq` forward (across chunk and file borders too), every value is a finite number. A
stream cannot fill gaps or reorder rows, so those are errors. Each chunk comes out as
`read_csv`'s frames do: float64 value columns on a DatetimeIndex.

Rows are counted from 1 at the first line after each file's header, as in `DataError`.
"""

import contextlib
import csv
import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from forecaster import checks
from forecaster.data.columns import time_columns
from forecaster.data.dates import parse_times
from forecaster.data.errors import DataError
from forecaster.data.files import compression
from forecaster.data.timestamps import infer_frequency, to_offset

SUFFIXES = (".csv", ".parquet")
_HEAD_ROWS = 1000  # rows of the first file read to infer the step
_COUNT_BLOCK = 1 << 24  # bytes per read while counting a CSV's lines


@dataclasses.dataclass(frozen=True, eq=False)
class Source:
    """Rows ``[begin, end)`` of a series stored in one or more files; make it with `open_source`.

    Attributes:
        files: the files in order, each a consecutive piece of the series.
        file_rows: the data rows of each file.
        time_col: the time column (a list of columns for composite stamps).
        columns: the value columns, in order.
        freq: the step as a pandas frequency string.
        begin: the first row of the range, counted over all files from 0.
        end: the row after the range's last.
        chunk_rows: the most rows per chunk.
        options: `date_format`, `sep` and `encoding` as given to `open_source`.
    """

    files: tuple
    file_rows: tuple
    time_col: tuple
    columns: tuple
    freq: str
    begin: int
    end: int
    chunk_rows: int
    options: dict

    def __len__(self):
        """The number of rows in the range."""
        return self.end - self.begin

    def __repr__(self):
        """Names the files, the row range and the columns."""
        names = self.files[0].name if len(self.files) == 1 else f"{len(self.files)} files"
        return (
            f"Source({names}, rows [{self.begin}, {self.end}) of {sum(self.file_rows)}, "
            f"columns={list(self.columns)}, freq={self.freq!r}, chunk_rows={self.chunk_rows})"
        )

    def part(self, begin, end):
        """The rows ``[begin, end)`` of this range (positions relative to `self.begin`)."""
        if not 0 <= begin <= end <= len(self):
            raise ValueError(f"rows [{begin}, {end}) are not within [0, {len(self)})")
        return dataclasses.replace(self, begin=self.begin + begin, end=self.begin + end)

    def chunks(self):
        """Yields the range's rows as checked DataFrames of at most `chunk_rows` rows.

        Files wholly before the range are skipped unread; reading stops at its end.

        Raises:
            DataError: a row that is out of order, off the grid, empty or not a number;
                the message names the file, the row and the value.
        """
        offset, previous = to_offset(self.freq), None
        first = 0  # the row number, over all files, of the current file's first row
        for path, rows in zip(self.files, self.file_rows, strict=True):
            if first + rows <= self.begin:
                first += rows
                continue
            if first >= self.end:
                return
            seen = 0
            for frame in _read(path, self.time_col, self.columns, self.chunk_rows, self.options):
                frame, previous = _checked(frame, path, seen, previous, offset)
                low, high = self.begin - first - seen, self.end - first - seen
                seen += len(frame)
                if high <= 0:
                    return
                if low < len(frame):
                    yield frame.iloc[max(low, 0) : high]
            if seen != rows:
                raise DataError(
                    f"{path.name} has {seen} data rows but {rows} lines after the header; a "
                    "stream needs one line per row (no blank lines, no line breaks in quotes)"
                )
            first += rows


def open_source(
    path,
    *,
    chunk_rows=100_000,
    time_col=None,
    columns=None,
    date_format=None,
    freq=None,
    sep=",",
    encoding="utf-8",
):
    """Opens a CSV file, or a folder of CSV and Parquet files, for reading in chunks.

    A folder's files are read in the order of their names, each a consecutive piece of the
    series (``part-000.csv``, ``part-001.parquet``, ...); all have the time column and the
    value columns. Opening counts every file's rows (a fast pass over a CSV's line breaks,
    the footer of a Parquet file), reads the headers, and the first file's first 1000
    timestamps for the step; the values are read and checked only by `Source.chunks`. A
    CSV must hold one line per row (no blank lines, no line breaks inside quotes).

    Args:
        path: a ``.csv`` or ``.parquet`` file, or a folder of them.
        chunk_rows: the most rows per chunk.
        time_col: the time column or columns, as for `read_csv`; None: the first column
            named like a time column.
        columns: the value columns to keep, in order; None: every other column.
        date_format: a `strftime` format for the time column; None infers ISO 8601 and the
            formats `read_csv` knows, chunk by chunk (pass it for day-first dates).
        freq: the step as a pandas frequency; None infers it from the first 1000 rows.
        sep: the CSV field separator.
        encoding: the CSV text encoding.

    Returns:
        A `Source` over all the rows.

    Raises:
        DataError: no files, an unsupported file, a missing column, or a head that gives
            no step.
        ValueError: an argument is not one of the accepted values.

    Example:
        >>> source = open_source("big/", chunk_rows=50_000)  # big/part-000.parquet, ...
        >>> parts = split_stream(source, 0.7, 0.1, 0.2, lookback=336)
    """
    chunk_rows = int(checks.positive_int("chunk_rows", chunk_rows))
    options = {"date_format": date_format, "sep": sep, "encoding": encoding}
    files = _files(Path(path))
    header = _header(files[0], sep, encoding)
    table = pd.DataFrame(columns=header)
    time_cols = time_columns(table, time_col, files[0].name)
    value_columns = [c for c in header if c not in time_cols] if columns is None else columns
    value_columns = [value_columns] if isinstance(value_columns, str) else list(value_columns)
    for file in files:
        names = _header(file, sep, encoding)
        absent = [c for c in [*time_cols, *value_columns] if c not in names]
        if absent:
            raise DataError(f"{file.name} has no column {absent[0]!r}; columns are {names}")
    if not value_columns:
        raise DataError(f"{files[0].name} has no value columns besides {time_cols!r}")
    head = next(_read(files[0], time_cols, [], _HEAD_ROWS, options))  # the stamps only
    _checked(head, files[0], 0, None, None)
    offset = infer_frequency(head.index, files[0].name) if freq is None else to_offset(freq)
    rows = tuple(_count(file) for file in files)
    return Source(
        files=files,
        file_rows=rows,
        time_col=tuple(time_cols),
        columns=tuple(value_columns),
        freq=offset.freqstr,
        begin=0,
        end=sum(rows),
        chunk_rows=chunk_rows,
        options=options,
    )


def _files(path):
    if not path.exists():
        raise DataError(f"{path} does not exist; pass a CSV or Parquet file, or a folder of them")
    if path.is_file():
        if path.suffix.lower() not in SUFFIXES:
            raise DataError(f"{path.name} is not a CSV or Parquet file; accepted are {SUFFIXES}")
        return (path,)
    files = sorted(p for p in path.iterdir() if not p.name.startswith("."))
    if not files:
        raise DataError(f"{path} holds no CSV or Parquet files")
    odd = [p.name for p in files if p.is_dir() or p.suffix.lower() not in SUFFIXES]
    if odd:
        raise DataError(
            f"{path} holds {odd[0]!r}, which is not a CSV or Parquet file; a stream's folder "
            f"holds only files ending in {SUFFIXES}"
        )
    return tuple(files)


def _header(path, sep, encoding):
    if path.suffix.lower() == ".parquet":
        return list(pq.read_schema(path).names)
    kind = compression(path)
    if kind is not None:
        raise DataError(
            f"{path.name} is {kind}-compressed; a stream reads plain CSV or Parquet files: "
            "decompress it first, or read it whole with read_csv"
        )
    with open(path, encoding=encoding, newline="") as file:
        names = next(csv.reader(file, delimiter=sep), [])
    if not names:
        raise DataError(f"{path.name} is empty")
    repeated = [c for c in names if names.count(c) > 1]
    if repeated:
        raise DataError(f"{path.name} has the column name {repeated[0]!r} more than once")
    return names


def _count(path):
    """A file's data rows: from a Parquet footer, or a CSV's line breaks minus the header."""
    if path.suffix.lower() == ".parquet":
        return pq.ParquetFile(path).metadata.num_rows
    breaks, last = 0, b"\n"
    with open(path, "rb") as file:
        while block := file.read(_COUNT_BLOCK):
            breaks += block.count(b"\n")
            last = block[-1:]
    return max(breaks + (last != b"\n") - 1, 0)


def _read(path, time_cols, columns, chunk_rows, options):
    """Yields raw chunks of a file: the value columns on parsed (unchecked) timestamps."""
    time_cols, columns = list(time_cols), list(columns)
    wanted = list(dict.fromkeys([*time_cols, *columns]))
    if path.suffix.lower() == ".parquet":
        batches = pq.ParquetFile(path).iter_batches(batch_size=chunk_rows, columns=wanted)
        tables = (batch.to_pandas() for batch in batches)
    else:
        text = {c: "string" for c in time_cols} if options["date_format"] else None
        tables = pd.read_csv(
            path,
            sep=options["sep"],
            encoding=options["encoding"],
            usecols=wanted,
            dtype=text,
            chunksize=chunk_rows,
        )
    first = 1
    with contextlib.closing(tables):  # pandas's reader holds the file open
        for table in tables:
            rows = np.arange(first, first + len(table))
            try:
                times = parse_times(table, time_cols, options["date_format"], rows)
                values = _numbers(table[columns], rows)
            except DataError as error:
                raise DataError(f"{path.name}: {error}") from None
            first += len(table)
            yield values.set_axis(times, axis=0)


def _numbers(table, rows):
    """Float64 value columns; text, empty and infinite cells are errors naming row and value."""
    out = {}
    for column in table.columns:
        values = table[column]
        if pd.api.types.is_numeric_dtype(values.dtype):
            numbers = values.to_numpy(dtype="float64", na_value=np.nan)
        else:
            text = values.astype(str).where(values.notna())
            numbers = pd.to_numeric(text.str.strip(), errors="coerce").to_numpy(dtype="float64")
            bad = np.flatnonzero(text.notna().to_numpy() & np.isnan(numbers))
            if len(bad):
                raise DataError(
                    f"column {column!r} has a non-numeric value at row {rows[bad[0]]}: "
                    f"{text.iloc[bad[0]]!r}"
                )
        bad = np.flatnonzero(~np.isfinite(numbers))
        if len(bad):
            i = bad[0]
            if np.isnan(numbers[i]):
                raise DataError(
                    f"column {column!r} has a missing value at row {rows[i]}; a stream cannot "
                    "fill gaps: fill them first, or read the file with read_csv(missing=...)"
                )
            raise DataError(
                f"column {column!r} has an infinite value at row {rows[i]}: {numbers[i]!r}; "
                "only finite numbers are accepted"
            )
        out[column] = numbers
    return pd.DataFrame(out, index=pd.RangeIndex(len(table)), copy=False)


def _checked(frame, path, seen, previous, offset):
    """Checks that the stamps rise one `offset` per row (any amount when None).

    Args:
        frame: a chunk of `path` whose first row is the file's row ``seen + 1``.
        path: the file.
        seen: the file's rows before the chunk.
        previous: `(stamp, file, row)` of the row before the chunk, or None.
        offset: the step, or None to check only that the stamps rise.

    Returns:
        `(frame, last)`: the frame and its last `(stamp, file, row)` for the next chunk.
    """
    times = frame.index
    if len(times) == 0:
        return frame, previous
    rows = np.arange(seen + 1, seen + 1 + len(times))
    if previous is None:  # each stamp against the one before it
        prior, prior_rows, times, rows = times[:-1], rows[:-1], times[1:], rows[1:]
    else:
        prior, prior_rows = times[:-1].insert(0, previous[0]), np.r_[previous[2], rows[:-1]]
    bad = np.flatnonzero(np.asarray(times <= prior))
    if offset is not None and not len(bad):
        bad = np.flatnonzero(np.asarray(times != prior + offset))
    if len(bad):
        i = bad[0]
        where = f"row {prior_rows[i]}"
        if i == 0 and previous is not None and previous[1] != path:
            where += f" of {previous[1].name}"
        problem = (
            "is not after" if times[i] <= prior[i] else f"is not one step ({offset.freqstr}) after"
        )
        raise DataError(
            f"{path.name}: timestamp {times[i]} at row {rows[i]} {problem} {prior[i]} at {where}; "
            "a stream's rows must rise one step at a time (sort and fill the data first)"
        )
    return frame, (frame.index[-1], path, seen + len(frame))
