"""Folders saved in format version 1, by the code before the redesign, still load.

tests/estimators/format_v1/ holds a CIFG `Forecaster` (known_future=["holiday"],
calendar=["hour"]) and a ridge `LinearForecaster`, and expected.json their forecasts from
rows 340:376 of the last 400 rows of the shipped bikeshare data (the Forecaster with the
known-future rows 376:382).
"""

import json
from pathlib import Path

import numpy as np
import pytest

import forecaster as fc

FOLDER = Path(__file__).parent / "format_v1"
EXPECTED = json.loads((FOLDER / "expected.json").read_text())


@pytest.fixture(scope="module")
def frame():
    return fc.load_shipped("bikeshare").iloc[-400:]


def _forecast(model, frame, name):
    begin, end = EXPECTED["rows"]
    future = None
    if name == "forecaster":
        future = frame.iloc[slice(*EXPECTED["future_rows"])]
    return model.predict(frame.iloc[begin:end], future=future).to_numpy().ravel()


@pytest.mark.parametrize(
    ("name", "cls"), [("forecaster", fc.Forecaster), ("linear", fc.LinearForecaster)]
)
def test_a_version_1_folder_loads_and_forecasts_as_it_did(frame, name, cls):
    model = fc.load(FOLDER / name)
    assert type(model) is cls
    assert model.history_ is None  # version 1 did not save the history
    np.testing.assert_allclose(
        _forecast(model, frame, name), EXPECTED["forecasts"][name], rtol=1e-5
    )


@pytest.mark.parametrize("name", ["forecaster", "linear"])
def test_a_version_1_model_saves_again_and_reloads(frame, name, tmp_path):
    model = fc.Forecaster.load(FOLDER / name)
    model.save(tmp_path / name)
    again = fc.load(tmp_path / name)
    assert again.configs() == model.configs()
    assert again.schema_ == model.schema_
    np.testing.assert_allclose(
        _forecast(again, frame, name), EXPECTED["forecasts"][name], rtol=1e-5
    )
