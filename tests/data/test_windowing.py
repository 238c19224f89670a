import re

import numpy as np
import pandas as pd
import pytest

from forecaster.data import DataError, WindowSpec, calendar_features, make_windows, read_csv, split
from tests.data.util import DATA


@pytest.fixture(scope="module")
def etth1():
    return read_csv(DATA / "ETTh1.csv").iloc[:1500]


def _long():
    """Three series of different lengths, with a static column and a known-future column."""
    rng = np.random.default_rng(0)
    frames = []
    for key, n, size in (("A", 30, 1.0), ("B", 17, 2.0), ("C", 45, 3.0)):
        index = pd.date_range("2021-03-01", periods=n, freq="h", name="date")
        frames.append(
            pd.DataFrame(
                {"id": key, "y": rng.normal(size=n), "p": rng.normal(size=n), "size": size},
                index=index,
            ).assign(promo=rng.integers(0, 2, n).astype(float))
        )
    frame = pd.concat(frames)
    frame.attrs = {"freq": "h", "id_col": "id"}
    return frame


def _slow(frame, spec, id_col, inputs, targets, future_columns=()):
    """The obviously-correct loop: every window of every series, one by one."""
    xs, ys, fs, ss = [], [], [], []
    keys = frame[id_col].unique() if id_col else [None]
    for key in keys:
        part = frame if key is None else frame[frame[id_col] == key]
        future = part[list(spec.known_future)]
        if spec.calendar:
            future = pd.concat([future, calendar_features(part.index, spec.calendar)], axis=1)
        start = 0
        while start + spec.lookback + spec.horizon <= len(part):
            middle = start + spec.lookback
            xs.append(part[list(inputs)].to_numpy()[start:middle])
            ys.append(part[list(targets)].to_numpy()[middle : middle + spec.horizon])
            fs.append(future.to_numpy()[start : middle + spec.horizon])
            ss.append(part[list(spec.static)].to_numpy()[0])
            start += spec.stride
    as_array = lambda items: np.array(items, dtype="float32")  # noqa: E731
    return as_array(xs), as_array(ys), as_array(fs), as_array(ss)


def _from_dataset(windows, batch_size=7):
    xs, ys = [], []
    for x, y in windows.dataset(batch_size).as_numpy_iterator():
        xs.append(x)
        ys.append(y)
    if isinstance(xs[0], dict):
        return {k: np.concatenate([x[k] for x in xs]) for k in xs[0]}, np.concatenate(ys)
    return np.concatenate(xs), np.concatenate(ys)


@pytest.mark.parametrize("stride", [1, 3])
def test_wide_windows_match_the_slow_loop(etth1, stride):
    spec = WindowSpec(48, 24, stride=stride)
    windows = make_windows(etth1, spec)
    x_slow, y_slow, _, _ = _slow(etth1, spec, None, list(etth1), list(etth1))
    x, y = windows.numpy()
    np.testing.assert_array_equal(x, x_slow)
    np.testing.assert_array_equal(y, y_slow)
    x, y = _from_dataset(windows)
    np.testing.assert_array_equal(x, x_slow)
    np.testing.assert_array_equal(y, y_slow)


def test_wide_windows_are_views_of_one_array(etth1):
    windows = make_windows(etth1, WindowSpec(336, 96))
    assert windows.inputs.shape == (1500 - 432 + 1, 336, 7)
    assert not windows.inputs.flags.owndata
    assert np.shares_memory(windows.inputs, windows.labels)
    low, high = np.lib.array_utils.byte_bounds(windows.inputs)
    assert high - low <= 1500 * 7 * 4  # within the float32 series: no per-window copies


@pytest.mark.parametrize("stride", [1, 4])
def test_long_windows_with_covariates_match_the_slow_loop(stride):
    frame = _long()
    spec = WindowSpec(
        6, 3, stride, inputs=["y", "p"], targets="y", known_future=["promo"],
        calendar=["hour", "day_of_week"], static=["size"],
    )  # fmt: skip
    windows = make_windows(frame, spec)
    x_slow, y_slow, f_slow, s_slow = _slow(frame, spec, "id", ["y", "p"], ["y"])
    for x, y in (windows.numpy(), _from_dataset(windows)):
        np.testing.assert_array_equal(x["past"], x_slow)
        np.testing.assert_array_equal(y, y_slow)
        np.testing.assert_allclose(x["future"], f_slow, atol=1e-6)
        np.testing.assert_array_equal(x["static"], s_slow)
    assert windows.future_columns == [
        "promo", "hour_sin", "hour_cos", "day_of_week_sin", "day_of_week_cos",
    ]  # fmt: skip


def test_no_window_crosses_two_series():
    windows = make_windows(_long(), WindowSpec(6, 3, static=["size"]))
    x, _ = windows.numpy()
    # Each series has one constant `size`; a crossing window would mix two of them.
    per_window = np.array([np.unique(row).size for row in x["static"]])
    assert (per_window == 1).all()
    assert len(windows) == (30 - 8) + (17 - 8) + (45 - 8)


def test_training_dataset_is_shuffled_and_complete(etth1):
    windows = make_windows(etth1, WindowSpec(24, 12))
    first = np.concatenate([y for _, y in windows.dataset(64, training=True, seed=3)])
    in_order = np.concatenate([y for _, y in windows.dataset(64)])
    assert not np.array_equal(first, in_order)
    key = lambda a: a[np.lexsort(a.reshape(len(a), -1).T)]  # noqa: E731
    np.testing.assert_array_equal(key(first), key(in_order))
    batches = [x.shape[0] for x, _ in windows.dataset(64)]
    assert batches[:-1] == [64] * (len(batches) - 1)
    assert sum(batches) == len(windows)


def test_validation_windows_start_lookback_rows_before_the_border(etth1):
    parts = split(etth1, 1000, 200, 300, lookback=48)
    val = make_windows(parts.val, WindowSpec(48, 24))
    assert len(val) == 200 - 24 + 1  # every validation row is a target of some window
    _, y = val.numpy()
    np.testing.assert_array_equal(y[0, 0], etth1.iloc[1000].to_numpy(dtype="float32"))


def test_repr_shows_the_index_ranges(etth1):
    windows = make_windows(
        etth1, WindowSpec(336, 96, stride=2, inputs=["OT", "HUFL"], targets="OT")
    )
    assert repr(windows) == (
        "Windows(535 windows over 1 series, lookback=336, horizon=96, stride=2)\n"
        "  input rows: [0, 336) ... [1068, 1404)\n"
        "  label rows: [336, 432) ... [1404, 1500)\n"
        "  input columns: ['OT', 'HUFL']\n"
        "  label columns: ['OT']"
    )


def test_series_shorter_than_lookback_plus_horizon(etth1):
    with pytest.raises(
        DataError, match=r"^the frame has 1500 rows, fewer than lookback \+ horizon = 1501$"
    ):
        make_windows(etth1, WindowSpec(1000, 501))
    with pytest.raises(
        DataError, match=r"^series 'B' has 17 rows, fewer than lookback \+ horizon = 20$"
    ):
        make_windows(_long(), WindowSpec(10, 10))


def test_target_column_that_does_not_exist(etth1):
    message = (
        "target column 'TO' is not in the frame; columns are "
        "['HUFL', 'HULL', 'MUFL', 'MULL', 'LUFL', 'LULL', 'OT']"
    )
    with pytest.raises(DataError, match=f"^{re.escape(message)}$"):
        make_windows(etth1, WindowSpec(10, 5, targets="TO"))


def test_static_column_must_be_constant_per_series():
    frame = _long()
    with pytest.raises(DataError, match=r"^static column 'p' varies within series 'A'$"):
        make_windows(frame, WindowSpec(4, 2, static=["p"]))


def test_nan_in_a_frame_not_from_read_csv(etth1):
    broken = etth1.copy()
    broken.iloc[7, 2] = np.nan
    with pytest.raises(
        DataError,
        match=r"^column 'MUFL' has 1 NaN or infinite values \(first at position 7\); "
        r"windows need finite numbers$",
    ):
        make_windows(broken, WindowSpec(10, 5))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"lookback": 0, "horizon": 1}, "lookback must be a positive integer, got 0"),
        ({"lookback": 4, "horizon": 2.0}, "horizon must be a positive integer, got 2.0"),
        (
            {"lookback": 4, "horizon": 1, "stride": True},
            "stride must be a positive integer, got True",
        ),
        ({"lookback": 4, "horizon": 1, "calendar": ["minute"]}, "calendar feature 'minute' is not"),
    ],
)
def test_spec_is_checked(options, message):
    with pytest.raises(ValueError, match=f"^{re.escape(message)}"):
        WindowSpec(**options)


def test_spec_is_frozen_and_lists_become_tuples():
    spec = WindowSpec(4, 2, inputs=["a"], calendar="hour")
    assert spec.inputs == ("a",)
    assert spec.calendar == ("hour",)
    with pytest.raises(AttributeError):
        spec.lookback = 5
