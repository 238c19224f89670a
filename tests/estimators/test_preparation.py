"""Fit preparation: one path for frames and streams, below every forecaster."""

import numpy as np
import pytest

import forecaster as fc
from forecaster.config import DataConfig
from forecaster.estimators import preparation
from tests import structure
from tests.assertions import assert_same_schema, raises_exactly
from tests.data.util import DATA


@pytest.fixture(scope="module")
def frame():
    return fc.read_csv(DATA / "ETTh1.csv").iloc[:700]


@pytest.fixture(scope="module")
def source(frame, tmp_path_factory):
    path = tmp_path_factory.mktemp("prepare") / "series.csv"
    frame.to_csv(path, index_label="date")
    return fc.open_source(path, chunk_rows=90)


def test_preparation_sits_below_the_forecasters():
    edges = structure.edges(structure.modules())
    imported = {t for s, t in edges if s == "forecaster.estimators.preparation"}
    allowed = ("forecaster.data", "forecaster.config", "forecaster.checks")
    below = ("forecaster.evaluation.metrics", "forecaster.estimators.statics")
    assert all(t.startswith(allowed) or t in below for t in imported)
    users = sorted(s for s, t in edges if t == "forecaster.estimators.preparation")
    assert users == ["forecaster.estimators.base", "forecaster.estimators.forecasting"]


@pytest.mark.parametrize(
    "options",
    [
        {"targets": ("OT",), "calendar": ("hour",)},
        {"inputs": ("OT", "HUFL"), "known_future": ("MUFL",), "scaler": "minmax"},
    ],
)
def test_a_frame_and_a_stream_of_its_rows_prepare_alike(frame, source, options):
    data = DataConfig(lookback=24, horizon=6, **options)
    framed = preparation.prepare(data, frame)
    streamed = preparation.prepare_stream(data, source)
    assert_same_schema(streamed.schema, framed.schema)
    np.testing.assert_allclose(streamed.target_mean, framed.target_mean, atol=1e-12)
    for name in ("train", "val"):
        got, want = _joined(getattr(streamed, name)), _joined(getattr(framed, name))
        assert got.keys() == want.keys()
        for key, value in want.items():
            np.testing.assert_allclose(got[key], value, rtol=1e-6, atol=1e-6)


def _joined(windows):
    """Every window's arrays by name ("x" or "past", "future"; "y"), from `batches`."""
    xs, ys = zip(*windows.batches(50), strict=True)
    joined = {"y": np.concatenate(ys)}
    if isinstance(xs[0], dict):
        return {**joined, **{k: np.concatenate([x[k] for x in xs]) for k in xs[0]}}
    return {**joined, "x": np.concatenate(xs)}


def test_batches_cut_the_windows_in_order(frame):
    windows = fc.make_windows(frame, fc.WindowSpec(24, 6, inputs=("OT",)))
    x, y = windows.numpy()
    parts = list(windows.batches(100))
    assert [len(part[1]) for part in parts] == [100] * 6 + [len(y) - 600]
    np.testing.assert_array_equal(np.concatenate([p[0] for p in parts]), x)
    np.testing.assert_array_equal(np.concatenate([p[1] for p in parts]), y)


def test_without_holding_out_every_row_trains(frame):
    data = DataConfig(lookback=24, horizon=6)
    prepared = preparation.prepare(data, frame, hold_out=False)
    assert prepared.val is None
    assert len(prepared.train) == len(frame) - 30 + 1
    np.testing.assert_allclose(prepared.scaler.statistics()[0], frame.mean().to_numpy())


def test_bad_frames_are_named(frame):
    data = DataConfig(lookback=24, horizon=6, targets=("Temp",))
    with raises_exactly(
        fc.DataError,
        "target column 'Temp' is not in the frame; columns are "
        "['HUFL', 'HULL', 'MUFL', 'MULL', 'LUFL', 'LULL', 'OT']",
    ):
        preparation.prepare(data, frame)
    with raises_exactly(
        fc.DataError,
        "expected a DataFrame on a DatetimeIndex or a step index (as from forecaster.read_csv), "
        "got ndarray",
    ):
        preparation.prepare(data, frame.to_numpy())
    with raises_exactly(
        TypeError, "source must be a Source from forecaster.open_source, got DataFrame"
    ):
        preparation.prepare_stream(data, frame)
