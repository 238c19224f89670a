import numpy as np
import pandas as pd
import pytest

from forecaster.data import DataError, WindowSpec, resolve_columns
from forecaster.data.batches import batch_gather, finite_floats, future_columns, window_values
from tests.assertions import raises_exactly


def _frame(rows=40, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        rng.normal(size=(rows, 3)), columns=["a", "b", "promo"], dtype="float64"
    ).set_index(pd.date_range("2024-02-28 21:00", periods=rows, freq="h"))
    return frame.assign(size=2.5)


def _loop(values, spec, starts):
    """The obviously correct gather: each window sliced from the arrays, one at a time."""
    past, target, future = values
    xs, ys, fs = [], [], []
    for start in starts:
        middle = start + spec.lookback
        xs.append(past[start:middle])
        ys.append(target[middle : middle + spec.horizon])
        fs.append(future[start : middle + spec.horizon])
    return np.stack(xs), np.stack(ys), np.stack(fs)


@pytest.mark.parametrize("starts", [[0, 1, 2], [28, 0, 17, 5], [28]])
def test_the_batch_gather_is_the_loop(starts):
    spec = WindowSpec(
        7, 5, inputs=["a", "b"], targets=["b"], known_future=["promo"], calendar=["hour"],
        static=["size"],
    )  # fmt: skip
    frame = _frame()
    values = window_values(frame, spec, ("a", "b"), ("b",))
    static = np.array([[2.5], [7.0]], dtype="float32")
    gather = batch_gather(spec, *values, static)
    series = np.array([1, 0, 1, 0][: len(starts)])
    x, y = gather(np.array(starts, dtype="int64"), series)
    x_loop, y_loop, f_loop = _loop(values, spec, starts)
    assert sorted(x) == ["future", "past", "static"]
    np.testing.assert_array_equal(x["past"], x_loop)
    np.testing.assert_array_equal(y, y_loop)
    np.testing.assert_array_equal(x["future"], f_loop)
    np.testing.assert_array_equal(x["static"], static[series])


def test_without_covariates_the_input_is_the_past_alone():
    spec = WindowSpec(4, 2)
    past = finite_floats(_frame(), ["a", "b"])
    x, y = batch_gather(spec, past, past)(np.array([3, 9]))
    x_loop, y_loop, _ = _loop((past, past, past), spec, [3, 9])
    np.testing.assert_array_equal(x, x_loop)
    np.testing.assert_array_equal(y, y_loop)


def test_the_values_of_a_frame():
    spec = WindowSpec(4, 2, known_future=["promo"], calendar=["hour", "month"])
    frame = _frame()
    past, target, future = window_values(frame, spec, ("a", "b"), ("a", "b"))
    assert target is past  # the targets share the inputs' array
    assert past.dtype == np.float32
    assert past.flags.c_contiguous
    np.testing.assert_array_equal(past, frame[["a", "b"]].to_numpy(dtype="float32"))
    assert future.shape == (40, 5)
    np.testing.assert_array_equal(future[:, 0], frame["promo"].to_numpy(dtype="float32"))
    assert future_columns(spec) == ["promo", "hour_sin", "hour_cos", "month_sin", "month_cos"]
    _, target, future = window_values(frame, WindowSpec(4, 2), ("a",), ("b",))
    assert future is None
    np.testing.assert_array_equal(target[:, 0], frame["b"].to_numpy(dtype="float32"))


def test_a_value_that_is_not_finite_in_float32_names_its_position():
    frame = _frame()
    frame.iloc[[5, 9], 1] = [1e39, np.nan]  # 1e39 is finite in float64, not in float32
    message = (
        "column 'b' has 2 NaN or infinite values (first at position 105); windows need "
        "finite numbers"
    )
    with raises_exactly(DataError, message):
        finite_floats(frame, ["a", "b"], first_row=100)
    text = frame.assign(c="x")  # pandas 3 reads it as dtype str, pandas 2 as object
    with raises_exactly(DataError, f"column 'c' is not numeric (dtype {text['c'].dtype})"):
        finite_floats(text, ["a", "c"])


def test_columns_are_resolved_with_the_defaults():
    columns = ["id", "a", "b", "promo", "size"]
    spec = WindowSpec(4, 2, known_future=["promo"], static=["size"])
    assert resolve_columns(spec, columns, "id") == (("a", "b"), ("a", "b"))
    spec = WindowSpec(4, 2, inputs=["b", "a"], targets="a")
    assert resolve_columns(spec, columns) == (("b", "a"), ("a",))


@pytest.mark.parametrize(
    ("spec", "id_col", "message"),
    [
        (WindowSpec(4, 2), "key", "id column 'key' is not in the frame"),
        (WindowSpec(4, 2, inputs=["x"], targets="y"), None, "input column 'x' is not in the frame"),
        (WindowSpec(4, 2, targets=["y"]), None, "target column 'y' is not in the frame"),
        (WindowSpec(4, 2, known_future=["k"]), None, "known-future column 'k' is not in the frame"),
        (WindowSpec(4, 2, static=["s"]), None, "static column 's' is not in the frame"),
        (WindowSpec(4, 2, known_future=["a", "b"]), None, "the frame has no input columns"),
    ],
)  # fmt: skip
def test_a_column_that_is_not_there(spec, id_col, message):
    with raises_exactly(DataError, f"{message}; columns are ['a', 'b']"):
        resolve_columns(spec, pd.Index(["a", "b"]), id_col)
    source = message.replace("the frame", "the source")
    with raises_exactly(DataError, f"{source}; columns are ['a', 'b']"):
        resolve_columns(spec, ("a", "b"), id_col, where="source")
