"""The saved folder and the table of the classes `forecaster.load` builds."""

import dataclasses
import json

import pandas as pd
import pytest

import forecaster as fc
from forecaster.estimators import saving
from forecaster.estimators.baselines import NaiveForecaster
from tests import structure
from tests.assertions import raises_exactly
from tests.data.util import DATA


@pytest.fixture(scope="module")
def airline():
    return fc.read_csv(DATA / "airline-passengers.csv")


@pytest.fixture
def table(monkeypatch):
    """The loadable table, restored after the test."""
    monkeypatch.setattr(saving, "LOADABLE", dict(saving.LOADABLE))
    return saving.LOADABLE


def test_the_table_holds_every_forecaster_of_the_package():
    expected = {
        "Forecaster": fc.Forecaster,
        "LinearForecaster": fc.LinearForecaster,
        "MeanForecaster": fc.MeanForecaster,
        "NaiveForecaster": fc.NaiveForecaster,
        "SeasonalNaiveForecaster": fc.SeasonalNaiveForecaster,
    }
    assert expected == saving.LOADABLE


def test_saving_imports_none_of_the_forecasters_it_loads():
    edges = structure.edges(structure.modules())
    imported = sorted(t for s, t in edges if s == "forecaster.estimators.saving")
    assert imported == ["forecaster.data"]


def test_a_loadable_class_of_ones_own_saves_and_loads(table, airline, tmp_path):
    @saving.loadable
    class DriftlessForecaster(NaiveForecaster):
        """A naive forecaster under another name."""

    assert table["DriftlessForecaster"] is DriftlessForecaster
    model = DriftlessForecaster(lookback=12, horizon=3).fit(airline)
    model.save(tmp_path / "model")
    loaded = fc.load(tmp_path / "model")
    assert type(loaded) is DriftlessForecaster
    pd.testing.assert_frame_equal(loaded.predict(airline), model.predict(airline))


def test_two_loadable_classes_of_one_name_are_refused(table):
    with raises_exactly(
        ValueError,
        "a loadable class named 'NaiveForecaster' exists already "
        "(forecaster.estimators.baselines); give this one another name",
    ):

        @saving.loadable
        class NaiveForecaster(fc.NaiveForecaster):
            """A second class of a loadable name."""

    assert table["NaiveForecaster"] is fc.NaiveForecaster
    assert saving.loadable(fc.NaiveForecaster) is fc.NaiveForecaster  # again: no change


def test_a_class_that_is_not_loadable_is_named(airline, tmp_path):
    fc.NaiveForecaster(lookback=12, horizon=3).fit(airline).save(tmp_path / "model")
    manifest_path = tmp_path / "model" / "forecaster.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["class"] = "ProphetForecaster"
    manifest_path.write_text(json.dumps(manifest))
    loadable = sorted(saving.LOADABLE)
    with raises_exactly(
        ValueError,
        f"{tmp_path / 'model'} holds a ProphetForecaster, which is not loadable; loadable are "
        f"{loadable} (a class joins them with @forecaster.estimators.saving.loadable)",
    ):
        fc.load(tmp_path / "model")


def test_the_history_is_saved_with_the_model(airline, tmp_path):
    parts = fc.split(airline, 0.75, 0.25, 0.0, lookback=12)
    model = fc.MeanForecaster(lookback=12, horizon=3).fit(parts.train, val=parts.val)
    model.save(tmp_path / "model")
    loaded = fc.load(tmp_path / "model")
    assert loaded.history_ == model.history_
    assert loaded.state_.keys() == model.state_.keys()


def test_an_unfitted_forecaster_is_not_saved(tmp_path):
    with raises_exactly(RuntimeError, "this LinearForecaster is not fitted; call fit(frame) first"):
        fc.LinearForecaster(lookback=12, horizon=3).save(tmp_path / "model")
    assert not (tmp_path / "model").exists()


def test_a_folder_without_a_saved_forecaster_is_named(tmp_path):
    with raises_exactly(
        FileNotFoundError, f"{tmp_path} holds no saved forecaster (no forecaster.json)"
    ):
        fc.load(tmp_path)


def test_the_gru_form_and_the_forget_bias_survive_save_and_load(airline, tmp_path):
    for cell, option in (("gru", {"reset_after": False}), ("cifg", {"unit_forget_bias": False})):
        model = fc.Forecaster(cell=cell, lookback=12, horizon=3, units=4, epochs=1, verbose=0)
        model = fc.Forecaster.from_configs(
            model.data, dataclasses.replace(model.network, **option), model.train
        ).fit(airline)
        model.save(tmp_path / cell)
        loaded = fc.load(tmp_path / cell)
        assert loaded.network == model.network
        cell_layer = loaded.model_.get_layer("encoder_0").cell
        assert {k: getattr(cell_layer, k) for k in option} == option
        assert (loaded.predict(airline) == model.predict(airline)).all().all()
