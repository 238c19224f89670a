import gzip
import itertools
import json
import re

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forecaster.data import (
    DataError,
    Scaler,
    WindowSpec,
    make_windows,
    open_source,
    read_csv,
    split,
    split_stream,
    stream_scaler,
    stream_windows,
)
from tests.assertions import raises_exactly

ROWS = 400
CHUNK = 37  # divides none of the sizes below


def _series(rows=ROWS, seed=0):
    """A random walk in three columns (plus a 0/1 known-future flag) on an hourly grid."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(rows, 3)).cumsum(axis=0), columns=["a", "b", "c"])
    frame["flag"] = (np.arange(rows) % 5 == 0).astype(float)
    frame.insert(0, "date", pd.date_range("2021-03-01", periods=rows, freq="h"))
    return frame


def _csv(folder, frame, name="series.csv"):
    path = folder / name
    frame.to_csv(path, index=False)
    return path


def _folder(folder, frame):
    """The series in four pieces of uneven length: CSV, Parquet, CSV, Parquet."""
    folder.mkdir()
    cuts = [0, 90, 151, 290, len(frame)]
    for i, (begin, end) in enumerate(itertools.pairwise(cuts)):
        piece = frame.iloc[begin:end]
        if i % 2:
            piece.to_parquet(folder / f"part-{i}.parquet", index=False)
        else:
            piece.to_csv(folder / f"part-{i}.csv", index=False)
    return folder


@pytest.fixture(scope="module")
def paths(tmp_path_factory):
    """The same series as one CSV and as a folder of CSV and Parquet pieces."""
    folder = tmp_path_factory.mktemp("streams")
    frame = _series()
    return {"file": _csv(folder, frame), "folder": _folder(folder / "pieces", frame)}


def _memory(paths):
    return read_csv(paths["file"])


@pytest.mark.parametrize("layout", ["file", "folder"])
def test_the_source_counts_rows_and_reads_chunks_of_the_series(paths, layout):
    source = open_source(paths[layout], chunk_rows=CHUNK)
    frame = _memory(paths)
    assert len(source) == ROWS
    assert source.freq == "h"
    assert source.columns == ("a", "b", "c", "flag")
    chunks = list(source.chunks())
    assert max(len(c) for c in chunks) == CHUNK
    pd.testing.assert_frame_equal(
        pd.concat(chunks), frame, check_freq=False, check_names=False, check_index_type=False
    )
    part = list(source.part(100, 211).chunks())
    pd.testing.assert_frame_equal(
        pd.concat(part),
        frame.iloc[100:211],
        check_freq=False,
        check_names=False,
        check_index_type=False,
    )


@pytest.mark.parametrize(
    ("sizes", "lookback"), [((0.7, 0.1, 0.2), 24), ((250, 60, None), 10), ((0.6, 0.2, None), 0)]
)
def test_split_stream_cuts_where_split_cuts(paths, sizes, lookback):
    parts = split_stream(open_source(paths["file"]), *sizes, lookback=lookback)
    expected = split(_memory(paths), *sizes, lookback=lookback)
    assert repr(parts) == repr(expected)
    for name in ("train", "val", "test"):
        streamed = pd.concat(list(getattr(parts, name).chunks()))
        assert streamed.index.equals(getattr(expected, name).index)


@pytest.mark.parametrize("layout", ["file", "folder"])
@pytest.mark.parametrize("kind", ["standard", "minmax", "none"])
def test_the_scaler_of_one_pass_is_the_in_memory_scaler(paths, layout, kind):
    parts = split_stream(open_source(paths[layout], chunk_rows=CHUNK), 0.7, 0.1, 0.2)
    streamed = stream_scaler(parts.train, kind, ["a", "b", "c"])
    fitted = Scaler(kind).fit(split(_memory(paths), 0.7, 0.1, 0.2).train, columns=["a", "b", "c"])
    got, want = json.loads(streamed.to_json()), json.loads(fitted.to_json())
    assert got.keys() == want.keys()
    assert got["columns"] == want["columns"]
    for name, value in want["series"]["null"].items():
        np.testing.assert_allclose(got["series"]["null"][name], value, rtol=1e-12)
    restored = Scaler.from_json(streamed.to_json())
    assert restored.to_json() == streamed.to_json()


def _same_windows(streamed, expected):
    got_x, got_y = streamed.numpy()
    want_x, want_y = expected.numpy()
    if isinstance(want_x, dict):
        assert got_x.keys() == want_x.keys()
        for key in want_x:
            np.testing.assert_array_equal(got_x[key], want_x[key])
    else:
        np.testing.assert_array_equal(got_x, want_x)
    np.testing.assert_array_equal(got_y, want_y)


COVARIATES = {"known_future": ["flag"], "calendar": ["hour"], "targets": ["a"]}
CALENDAR = {"calendar": ["hour", "day_of_year"]}


@pytest.mark.parametrize(
    ("layout", "stride", "chunk_rows", "covariates"),
    [
        ("file", 1, CHUNK, {}),
        ("file", 3, 11, {}),  # 11 < lookback + horizon
        ("folder", 1, 11, COVARIATES),
        ("folder", 3, CHUNK, COVARIATES),
    ],
)
def test_windows_are_the_in_memory_windows(paths, layout, stride, chunk_rows, covariates):
    spec = WindowSpec(24, 8, stride, **covariates)
    parts = split_stream(
        open_source(paths[layout], chunk_rows=chunk_rows), 0.7, 0.1, 0.2, lookback=24
    )
    expected = split(_memory(paths), 0.7, 0.1, 0.2, lookback=24)
    scaler = Scaler("standard").fit(expected.train)
    for name in ("train", "val", "test"):
        streamed = stream_windows(getattr(parts, name), spec, scaler)
        windows = make_windows(scaler.transform(getattr(expected, name)), spec)
        assert len(streamed) == len(windows)
        np.testing.assert_array_equal(streamed.starts, windows.starts)
        assert streamed.future_columns == windows.future_columns
        _same_windows(streamed, windows)


@pytest.mark.parametrize(
    ("part", "spec"),
    [
        ("all", WindowSpec(24, 8, 2, known_future=["flag"])),
        ("val", WindowSpec(24, 8, 3, known_future=["flag"], calendar=["hour", "day_of_week"])),
        ("train", WindowSpec(12, 5, inputs=["a", "flag"], targets="b", **CALENDAR)),
    ],
)
def test_the_dataset_batches_as_the_in_memory_dataset(paths, part, spec):
    source = open_source(paths["folder"], chunk_rows=CHUNK)
    frame = _memory(paths)
    scaler = None
    if part != "all":  # a part with lookback context, scaled on the training rows
        source = getattr(split_stream(source, 0.7, 0.1, 0.2, lookback=24), part)
        parts = split(frame, 0.7, 0.1, 0.2, lookback=24)
        scaler = Scaler("standard").fit(parts.train)
        frame = scaler.transform(getattr(parts, part))
    streamed = stream_windows(source, spec, scaler, shuffle_buffer=0)
    windows = make_windows(frame, spec)
    got, want = list(streamed.dataset(16, training=True)), list(windows.dataset(16))
    assert streamed.dataset(16).cardinality() == len(want)
    assert len(got) == len(want)
    for (gx, gy), (wx, wy) in zip(got, want, strict=True):
        assert gx.keys() == wx.keys()
        for key in wx:
            np.testing.assert_array_equal(gx[key], wx[key])
        np.testing.assert_array_equal(gy, wy)


def test_a_value_beyond_float32_in_a_chunk_is_refused_as_in_memory(tmp_path):
    frame = _series(rows=200)
    frame.loc[99, "b"] = 1e39  # finite in float64, so read; infinite in the float32 windows
    path = _csv(tmp_path, frame)
    spec = WindowSpec(12, 4, known_future=["flag"], calendar=["hour"])
    message = (
        "column 'b' has 1 NaN or infinite values (first at position 89); windows need "
        "finite numbers"
    )  # row 100 of the file is the part's 90th: chunk 3 of the part, which begins at row 10
    with raises_exactly(DataError, message):
        make_windows(read_csv(path).iloc[10:], spec)
    streamed = stream_windows(open_source(path, chunk_rows=CHUNK).part(10, 200), spec)
    with raises_exactly(DataError, message):
        streamed.numpy()
    # TensorFlow carries the error out of the dataset's reader as its own, message kept.
    with pytest.raises(tf.errors.InvalidArgumentError, match=re.escape(f"DataError: {message}")):
        list(streamed.dataset(8))


def _labels(dataset):
    return np.concatenate([y.numpy() for _, y in dataset])


def test_training_shuffles_every_window_once_within_pieces(paths):
    spec = WindowSpec(12, 4)
    source = open_source(paths["file"], chunk_rows=CHUNK)
    windows = make_windows(_memory(paths), spec)
    ordered = _labels(stream_windows(source, spec, shuffle_buffer=0).dataset(32, training=True))
    np.testing.assert_array_equal(ordered, windows.labels)  # unshuffled: in order
    pieces = stream_windows(source, spec, shuffle_buffer=100)
    dataset = pieces.dataset(32, training=True, seed=3)
    first, second = _labels(dataset), _labels(dataset)
    assert not np.array_equal(first, ordered)
    assert not np.array_equal(first, second)  # reshuffled each epoch
    again = pieces.dataset(32, training=True, seed=3)
    np.testing.assert_array_equal(_labels(again), first)  # reproducible from the seed
    sizes = [len(starts) for *_, starts in pieces.pieces(100)]
    assert sizes == [96, 111, 111, 67]  # 111 rows each (3 chunks), the last the rest
    borders = np.cumsum([0, *sizes])
    for shuffled in (first, second):  # every window once, none outside its piece
        assert len(shuffled) == len(windows)
        for begin, end in itertools.pairwise(borders):
            piece, got = ordered[begin:end], shuffled[begin:end]
            assert sorted(map(bytes, got)) == sorted(map(bytes, piece))


@pytest.fixture(scope="module")
def short_file(tmp_path_factory):
    return _csv(tmp_path_factory.mktemp("short"), _series(rows=120, seed=1))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    chunk_rows=st.integers(2, 70),
    lookback=st.integers(1, 30),
    horizon=st.integers(1, 12),
    stride=st.integers(1, 7),
    begin=st.integers(0, 40),
)
def test_windows_match_for_any_chunking(short_file, chunk_rows, lookback, horizon, stride, begin):
    spec = WindowSpec(lookback, horizon, stride)
    part = open_source(short_file, chunk_rows=chunk_rows).part(begin, 120)
    frame = read_csv(short_file).iloc[begin:]
    _same_windows(stream_windows(part, spec), make_windows(frame, spec))


def test_repr_shows_rows_and_columns(paths):
    source = open_source(paths["file"], chunk_rows=CHUNK)
    assert repr(source) == (
        "Source(series.csv, rows [0, 400) of 400, columns=['a', 'b', 'c', 'flag'], freq='h', "
        "chunk_rows=37)"
    )
    windows = stream_windows(source.part(10, 110), WindowSpec(24, 8, 4, calendar=["hour"]))
    assert repr(windows).splitlines()[1:] == [
        "  input rows: [0, 24) ... [68, 92)",
        "  label rows: [24, 32) ... [92, 100)",
        "  input columns: ['a', 'b', 'c', 'flag']",
        "  label columns: ['a', 'b', 'c', 'flag']",
        "  known-future columns: ['hour_sin', 'hour_cos']",
    ]


# -- bad input --------------------------------------------------------------------------


def _read_all(path, **options):
    for _ in open_source(path, chunk_rows=CHUNK, **options).chunks():
        pass


def test_a_timestamp_that_goes_back_across_a_chunk_border(tmp_path):
    frame = _series(rows=100)
    frame.loc[37, "date"] = frame.loc[35, "date"]  # row 38, the first of chunk 2
    with raises_exactly(
        DataError,
        "series.csv: timestamp 2021-03-02 11:00:00 at row 38 is not after 2021-03-02 12:00:00 "
        "at row 37; a stream's rows must rise one step at a time (sort and fill the data first)",
    ):
        _read_all(_csv(tmp_path, frame))


def test_a_timestamp_that_goes_back_across_a_file_border(tmp_path):
    frame = _series(rows=100)
    (tmp_path / "pieces").mkdir()
    _csv(tmp_path / "pieces", frame.iloc[:60], "a.csv")
    frame.iloc[50:].to_parquet(tmp_path / "pieces" / "b.parquet", index=False)
    with raises_exactly(
        DataError,
        "b.parquet: timestamp 2021-03-03 02:00:00 at row 1 is not after 2021-03-03 11:00:00 "
        "at row 60 of a.csv; a stream's rows must rise one step at a time (sort and fill the "
        "data first)",
    ):
        _read_all(tmp_path / "pieces")


def test_a_gap_in_the_timestamps(tmp_path):
    frame = _series(rows=100).drop(index=80)
    with raises_exactly(
        DataError,
        "series.csv: timestamp 2021-03-04 09:00:00 at row 81 is not one step (h) after "
        "2021-03-04 07:00:00 at row 80; a stream's rows must rise one step at a time (sort and "
        "fill the data first)",
    ):
        _read_all(_csv(tmp_path, frame))


def test_a_non_numeric_value_in_chunk_3(tmp_path):
    frame = _series(rows=200).astype({"b": object})
    frame.loc[79, "b"] = "1.5.2"  # row 80: chunk 3 holds rows 75 to 111
    path = _csv(tmp_path, frame)
    source = open_source(path, chunk_rows=CHUNK)  # opening reads no values
    with raises_exactly(
        DataError, "series.csv: column 'b' has a non-numeric value at row 80: '1.5.2'"
    ):
        stream_scaler(source)


def test_an_empty_cell(tmp_path):
    frame = _series(rows=100)
    frame.loc[9, "c"] = np.nan
    with raises_exactly(
        DataError,
        "series.csv: column 'c' has a missing value at row 10; a stream cannot fill gaps: "
        "fill them first, or read the file with read_csv(missing=...)",
    ):
        _read_all(_csv(tmp_path, frame))


def test_an_empty_folder(tmp_path):
    with raises_exactly(DataError, f"{tmp_path} holds no CSV or Parquet files"):
        open_source(tmp_path)


def test_an_unsupported_file_type(tmp_path):
    path = tmp_path / "series.json"
    path.write_text("{}")
    with raises_exactly(
        DataError, "series.json is not a CSV or Parquet file; accepted are ('.csv', '.parquet')"
    ):
        open_source(path)
    _csv(tmp_path, _series(rows=10))
    with raises_exactly(
        DataError,
        f"{tmp_path} holds 'series.json', which is not a CSV or Parquet file; a stream's folder "
        "holds only files ending in ('.csv', '.parquet')",
    ):
        open_source(tmp_path)


def test_a_compressed_csv_is_refused_with_what_reads_it(tmp_path):
    path = tmp_path / "series.csv"
    path.write_bytes(gzip.compress(b"date,a\n2020-01-01,1\n2020-01-02,2\n"))
    with raises_exactly(
        DataError,
        "series.csv is gzip-compressed; a stream reads plain CSV or Parquet files: decompress "
        "it first, or read it whole with read_csv",
    ):
        open_source(path)
    assert read_csv(path)["a"].tolist() == [1.0, 2.0]


def test_a_file_without_a_column(tmp_path):
    (tmp_path / "pieces").mkdir()
    frame = _series(rows=100)
    _csv(tmp_path / "pieces", frame.iloc[:50], "a.csv")
    _csv(tmp_path / "pieces", frame.iloc[50:].drop(columns="b"), "b.csv")
    with raises_exactly(
        DataError, "b.csv has no column 'b'; columns are ['date', 'a', 'c', 'flag']"
    ):
        open_source(tmp_path / "pieces")


def test_a_blank_line_breaks_the_row_count(tmp_path):
    path = _csv(tmp_path, _series(rows=50))
    path.write_text(path.read_text().replace("\n", "\n\n", 1))
    with raises_exactly(
        DataError,
        "series.csv has 50 data rows but 51 lines after the header; a stream needs one line "
        "per row (no blank lines, no line breaks in quotes)",
    ):
        _read_all(path)


def test_the_robust_scaler_is_refused(paths):
    with raises_exactly(
        ValueError,
        "scaler='robust' needs the median and quartiles of the training part, which one pass "
        "over a stream cannot give; use 'standard', 'minmax' or 'none', or fit "
        "Scaler('robust') on a frame from read_csv",
    ):
        stream_scaler(open_source(paths["file"]), "robust")


def test_bad_arguments(paths):
    source = open_source(paths["file"])
    with raises_exactly(ValueError, "chunk_rows must be a positive integer, got 0"):
        open_source(paths["file"], chunk_rows=0)
    missing = paths["file"].parent / "absent.csv"
    with raises_exactly(
        DataError, f"{missing} does not exist; pass a CSV or Parquet file, or a folder of them"
    ):
        open_source(missing)
    with raises_exactly(
        ValueError,
        "split_stream takes fractions or row counts, not timestamps; got train='2021-03-05'",
    ):
        split_stream(source, "2021-03-05", "2021-03-06")
    with raises_exactly(DataError, "the part has 20 rows, fewer than lookback + horizon = 32"):
        stream_windows(source.part(0, 20), WindowSpec(24, 8))
    with raises_exactly(ValueError, "shuffle_buffer must be an integer >= 0, got -1"):
        stream_windows(source, WindowSpec(24, 8), shuffle_buffer=-1)


def test_the_streaming_names_are_exported_at_the_top():
    import forecaster
    from forecaster import data

    names = ("Source", "StreamWindows", "open_source", "split_stream", "stream_scaler")
    for name in (*names, "stream_windows"):
        assert getattr(forecaster, name) is getattr(data, name)
        assert name in forecaster.__all__
