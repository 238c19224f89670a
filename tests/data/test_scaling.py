import json

import numpy as np
import pandas as pd
import pytest
from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler

from forecaster.data import DataError, Scaler, read_csv, split
from tests.data.util import DATA

KINDS = ["standard", "minmax", "robust", "none"]


@pytest.fixture(scope="module")
def etth1():
    return read_csv(DATA / "ETTh1.csv").iloc[:2000]


def _long(n=40, seed=0):
    rng = np.random.default_rng(seed)
    index = pd.date_range("2020-01-01", periods=n, freq="D", name="date")
    frames = [
        pd.DataFrame({"id": key, "x": rng.normal(loc, 1 + loc, n), "y": rng.normal(0, 1, n)}, index)
        for key, loc in (("A", 0.0), ("B", 50.0))
    ]
    frame = pd.concat(frames)
    frame.attrs = {"freq": "D", "id_col": "id"}
    return frame


@pytest.mark.parametrize("kind", KINDS)
def test_round_trip(etth1, kind):
    scaler = Scaler(kind).fit(etth1)
    restored = scaler.inverse_transform(scaler.transform(etth1))
    np.testing.assert_allclose(restored.to_numpy(), etth1.to_numpy(), rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize(
    ("kind", "reference"),
    [("standard", StandardScaler), ("minmax", MinMaxScaler), ("robust", RobustScaler)],
)
def test_matches_scikit_learn_per_column(etth1, kind, reference):
    scaled = Scaler(kind).fit(etth1).transform(etth1)
    expected = reference().fit_transform(etth1.to_numpy())
    np.testing.assert_allclose(scaled.to_numpy(), expected)
    assert scaled.index.equals(etth1.index)


def test_standard_statistics_of_etth1(etth1):
    center, scale = Scaler("standard").fit(etth1).statistics()
    np.testing.assert_allclose(center, etth1.mean().to_numpy())
    np.testing.assert_allclose(scale, etth1.std(ddof=0).to_numpy())


def test_none_is_the_identity(etth1):
    pd.testing.assert_frame_equal(Scaler("none").fit(etth1).transform(etth1), etth1)


@pytest.mark.parametrize("kind", KINDS)
def test_constant_column_stays_finite(kind):
    frame = pd.DataFrame({"c": [3.0] * 5, "x": [1.0, 2, 3, 4, 5]})
    scaled = Scaler(kind).fit(frame).transform(frame)
    assert np.isfinite(scaled.to_numpy()).all()
    assert scaled["c"].nunique() == 1


def test_per_series_statistics():
    frame = _long()
    scaler = Scaler("standard").fit(frame)
    for key in "AB":
        part = frame[frame["id"] == key]
        np.testing.assert_allclose(scaler.statistics(key)[0], part[["x", "y"]].mean().to_numpy())
    scaled = scaler.transform(frame)
    assert scaled["id"].tolist() == frame["id"].tolist()
    means = scaled.groupby("id")[["x", "y"]].mean().to_numpy()
    np.testing.assert_allclose(means, 0, atol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_json_round_trip(kind):
    frame = _long()
    scaler = Scaler(kind).fit(frame)
    text = scaler.to_json()
    assert json.loads(text)["kind"] == kind
    restored = Scaler.from_json(text)
    pd.testing.assert_frame_equal(restored.transform(frame), scaler.transform(frame))
    scaled = scaler.transform(frame)
    pd.testing.assert_frame_equal(restored.inverse_transform(scaled), frame)
    assert restored.to_json() == text


def test_inverse_transform_of_predictions_for_some_columns(etth1):
    scaler = Scaler("standard").fit(etth1)
    scaled = scaler.transform(etth1)
    predictions = scaled[["OT", "HUFL"]].to_numpy()[:96][None]  # (1, 96, 2)
    restored = scaler.inverse_transform(predictions, columns=["OT", "HUFL"])
    np.testing.assert_allclose(restored[0], etth1[["OT", "HUFL"]].to_numpy()[:96])


def test_unknown_series_and_columns():
    scaler = Scaler("standard").fit(_long())
    other = _long().replace({"id": {"B": "C"}})
    with pytest.raises(
        DataError, match=r"^series 'C' was not in the data the scaler was fitted on$"
    ):
        scaler.transform(other)
    with pytest.raises(DataError, match=r"^column 'z' was not scaled; scaled are \['x', 'y'\]$"):
        scaler.inverse_transform(np.zeros((2, 1)), columns=["z"], series="A")
    with pytest.raises(
        DataError, match=r"^the frame has no column 'y', which the scaler was fit on$"
    ):
        scaler.transform(_long().drop(columns="y"))


def test_bad_kind_and_unfitted():
    with pytest.raises(ValueError, match=r"^kind='log' is not a scaler; pass one of "):
        Scaler("log")
    with pytest.raises(
        ValueError, match=r"^this Scaler is not fitted yet; call fit\(train\) first$"
    ):
        Scaler().transform(pd.DataFrame({"x": [1.0]}))


# No leakage: whatever happens after the training border leaves every fitted statistic alone.

SPLITS = {
    "fractions": (0.7, 0.1, 0.2),
    "counts": (25, 5, 5),
    "timestamps": ("2020-01-26", "2020-01-31"),
}


def _perturb_after(frame, borders, id_col, rng):
    """Replaces every value after each series' training border with noise."""
    changed = frame.copy()
    columns = [c for c in frame.columns if c != id_col]
    keys = frame[id_col].to_numpy() if id_col else np.full(len(frame), None)
    for key, (train_end, _, _) in borders.items():
        rows = np.flatnonzero(keys == key)[train_end:]
        noise = rng.normal(1e3, 1e3, (len(rows), len(columns)))
        changed.iloc[rows, [frame.columns.get_loc(c) for c in columns]] = noise
    return changed


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("sizes", SPLITS.values(), ids=SPLITS.keys())
@pytest.mark.parametrize("layout", ["wide", "long"])
def test_no_statistic_sees_past_the_training_border(kind, sizes, layout):
    frame = _long() if layout == "long" else _long().query("id == 'A'").drop(columns="id")
    id_col = "id" if layout == "long" else None
    frame.attrs = {"freq": "D", "id_col": id_col}
    parts = split(frame, *sizes, lookback=3)
    fitted = Scaler(kind).fit(parts.train).to_json()
    rng = np.random.default_rng(1)
    changed = _perturb_after(frame, parts.borders, id_col, rng)
    assert not changed.equals(frame)
    assert Scaler(kind).fit(split(changed, *sizes, lookback=3).train).to_json() == fitted
    if kind != "none":  # and the check can fail: a change before the border is seen
        before = frame.copy()
        before.iloc[0, before.columns.get_loc("x")] += 1e4
        assert Scaler(kind).fit(split(before, *sizes, lookback=3).train).to_json() != fitted


@pytest.mark.parametrize("missing", ["ffill", "zero", "interpolate"])
def test_no_leakage_through_gap_filling_except_interpolation(tmp_path, missing):
    # Days 20 and 21 (rows 19, 20) are missing: the training border (row 20) cuts the gap.
    stamps = pd.date_range("2020-01-01", periods=30, freq="D").delete([5, 19, 20])
    values = np.arange(len(stamps), dtype=float)

    def fitted(values):
        lines = [f"{t:%Y-%m-%d},{v}" for t, v in zip(stamps, values, strict=True)]
        (tmp_path / "gaps.csv").write_text("\n".join(["date,x", *lines]))
        frame = read_csv(tmp_path / "gaps.csv", missing=missing)
        return Scaler("standard").fit(split(frame, 20, 5).train).to_json()

    changed = values.copy()
    changed[18:] = -99.0  # every observed row after the border, from 2020-01-22 on
    # Interpolating the training row 2020-01-20 looks ahead to 2020-01-22, as documented.
    assert (fitted(changed) == fitted(values)) == (missing != "interpolate")
    changed[17] = -99.0  # the last observed training row
    assert fitted(changed) != fitted(values)
