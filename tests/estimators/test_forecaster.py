import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

import forecaster as fc
from forecaster.config import DataConfig, NetworkConfig, TrainConfig
from forecaster.networks import Shapes, build_network
from tests.assertions import raises_exactly
from tests.data.util import DATA

SMALL = {"units": 8, "verbose": 0, "batch_size": 64, "epochs": 1}


@pytest.fixture(scope="module")
def etth1():
    return fc.read_csv(DATA / "ETTh1.csv")


@pytest.fixture(scope="module")
def fitted(etth1):
    """A small fitted model with a calendar feature, shared by the read-only tests."""
    model = fc.Forecaster(
        cell="cifg", lookback=24, horizon=6, targets=["OT"], calendar=["hour"], **SMALL
    )
    model.fit(etth1.iloc[:1500])
    return model


def test_learns_to_beat_the_naive_forecast_on_etth1_ot(etth1):
    parts = fc.split(etth1.iloc[:11520], 8640, 2880, 0, lookback=48)
    options = {"lookback": 48, "horizon": 24, "targets": ["OT"]}
    naive = fc.NaiveForecaster(**options).fit(parts.train)
    model = fc.Forecaster(
        cell="gru",
        inputs=["OT"],
        calendar=["hour"],
        units=16,
        learning_rate=3e-3,
        val_fraction=0.1,
        verbose=0,
        batch_size=64,
        **options,
    )
    assert model.fit(parts.train, epochs=4) is model
    assert len(model.history_["val_loss"]) == 4
    assert model.train.epochs == 30  # the override held for that fit only
    assert model.evaluate(parts.val)["mae"] < 0.95 * naive.evaluate(parts.val)["mae"]


def test_the_loss_option_trains_and_validates_on_mae(etth1):
    parts = fc.split(etth1.iloc[:1200], 800, 400, 0, lookback=24)
    model = fc.Forecaster(
        cell="gru", lookback=24, horizon=6, targets=["OT"], units=8, loss="mae", verbose=0
    )
    model.fit(parts.train, val=parts.val, epochs=2)
    x, y = fc.make_windows(model.scaler_.transform(parts.val), model.window_spec()).numpy()
    forecast = model.model_.predict(x, verbose=0)
    # The best epoch's weights are restored: its validation loss is their scaled MAE.
    best = min(model.history_["val_loss"])
    assert best == pytest.approx(np.mean(np.abs(forecast - y)), rel=1e-4)
    assert best != pytest.approx(np.mean((forecast - y) ** 2), rel=1e-2)


def test_lr_decay_replaces_the_plateau_schedule_with_a_fixed_one(etth1):
    model = fc.Forecaster(
        cell="gru", lookback=24, horizon=6, targets=["OT"], **{**SMALL, "epochs": 5}
    )
    model.fit(etth1.iloc[:600], learning_rate=4e-3, lr_decay=0.5, lr_decay_after=2, patience=10)
    expected = [4e-3, 4e-3, 2e-3, 1e-3, 5e-4]
    assert model.history_["learning_rate"] == pytest.approx(expected, rel=1e-6)
    assert float(model.model_.optimizer.learning_rate) == pytest.approx(5e-4, rel=1e-6)
    assert model.train.lr_decay is None  # the schedule was this fit's alone


def test_the_decay_schedule_is_segrnns_type3():
    config = TrainConfig(learning_rate=1e-3, lr_decay=0.8)
    rates = [config.rate(epoch) for epoch in range(7)]
    assert rates == pytest.approx([1e-3] * 4 + [8e-4, 6.4e-4, 5.12e-4], rel=1e-12)
    with raises_exactly(ValueError, "rate() is the lr_decay schedule; this TrainConfig has none"):
        TrainConfig().rate(0)


def test_forecast_continues_the_index_in_original_units(fitted, etth1):
    history = etth1.iloc[:2000]
    forecast = fitted.predict(history)
    expected = pd.date_range(history.index[-1] + pd.Timedelta(hours=1), periods=6, freq="h")
    pd.testing.assert_index_equal(forecast.index, expected.as_unit(history.index.unit))
    assert list(forecast.columns) == ["OT"]


def test_forecasts_are_in_the_original_units(etth1):
    """An affine change of the data must come back as the same change of the forecast.

    Standard scaling makes training blind to the change, so with the same seed only the
    inverse transform to the original units differs.
    """
    frame = etth1.iloc[:600]
    forecasts = []
    for data in (frame, frame * 10.0 + 5.0):
        model = fc.Forecaster(cell="gru", lookback=24, horizon=4, targets=["OT"], **SMALL)
        model.fit(data)
        forecasts.append(model.predict(data))
    np.testing.assert_allclose(forecasts[1], forecasts[0] * 10.0 + 5.0, rtol=1e-4)


def test_predict_uses_only_the_last_lookback_rows(fitted, etth1):
    history = etth1.iloc[:2000].copy()
    first = fitted.predict(history)
    history.iloc[:-24] = 0.0
    pd.testing.assert_frame_equal(fitted.predict(history), first)


def test_evaluate_reports_every_metric_in_original_and_scaled_units(fitted, etth1):
    test = etth1.iloc[1500 - 24 : 1800]
    scores = fitted.evaluate(test)
    assert scores["windows"] == len(test) - 24 - 6 + 1
    for name in ("mae", "mse", "rmse", "mape", "smape", "mase"):
        assert np.isfinite(scores[name])
        assert np.isfinite(scores[f"scaled_{name}"])
    # standard scaling: scaled errors are the original ones divided by OT's training std
    std = etth1["OT"].iloc[: int(0.8 * 1500)].std(ddof=0)
    assert scores["scaled_mae"] == pytest.approx(scores["mae"] / std, rel=1e-4)
    assert scores["rmse"] == pytest.approx(np.sqrt(scores["mse"]))


def test_save_and_load_give_identical_forecasts(fitted, etth1, tmp_path):
    fitted.save(tmp_path / "model")
    loaded = fc.Forecaster.load(tmp_path / "model")
    assert isinstance(loaded, fc.Forecaster)
    assert loaded.configs() == fitted.configs()
    history = etth1.iloc[:1700]
    pd.testing.assert_frame_equal(loaded.predict(history), fitted.predict(history))
    manifest = json.loads((tmp_path / "model" / "forecaster.json").read_text())
    assert manifest["schema"]["freq"] == "h"
    assert manifest["schema"]["last_timestamp"] == etth1.index[1499].isoformat()
    assert manifest["schema"]["targets"] == ["OT"]


def test_saving_again_replaces_the_folder_whole(fitted, tmp_path):
    fitted.save(tmp_path / "model")
    (tmp_path / "model" / "stale.txt").write_text("from before")
    fitted.save(tmp_path / "model")
    assert not (tmp_path / "model" / "stale.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_another_format_version_is_refused(fitted, tmp_path):
    fitted.save(tmp_path / "model")
    manifest_path = tmp_path / "model" / "forecaster.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["format_version"] = 99
    manifest_path.write_text(json.dumps(manifest))
    message = (
        f"{tmp_path / 'model'} was saved in format version 99; this forecaster reads version 1; "
        "load it with the version that wrote it and save it again"
    )
    with raises_exactly(ValueError, message):
        fc.Forecaster.load(tmp_path / "model")


def test_save_will_not_overwrite_a_foreign_folder(fitted, tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "keep.txt").write_text("mine")
    message = (
        f"{tmp_path / 'notes'} exists and is not a saved forecaster; pick a new folder or remove it"
    )
    with raises_exactly(FileExistsError, message):
        fitted.save(tmp_path / "notes")
    assert (tmp_path / "notes" / "keep.txt").read_text() == "mine"


def test_a_seeded_cpu_run_is_reproducible(etth1):
    frame = etth1.iloc[:600]
    forecasts = []
    for _ in range(2):
        model = fc.Forecaster(cell="lstm", lookback=24, horizon=4, dropout=0.2, seed=7, **SMALL)
        model.fit(frame)
        forecasts.append(model.predict(frame))
    pd.testing.assert_frame_equal(forecasts[0], forecasts[1])


@pytest.mark.parametrize(
    "options",
    [
        {"architecture": "seq2seq", "layers": 2, "bidirectional": True, "residual": True},
        {"architecture": "recursive", "inputs": ["OT", "HUFL"], "targets": ["HUFL", "OT"]},
    ],
    ids=["seq2seq", "recursive"],
)
def test_other_architectures_fit_and_forecast(options, etth1):
    frame = etth1.iloc[:600]
    model = fc.Forecaster(cell="gru", lookback=24, horizon=5, calendar=["hour"], **SMALL, **options)
    model.fit(frame)
    forecast = model.predict(frame)
    assert forecast.shape == (5, len(model.schema_["targets"]))
    assert np.isfinite(forecast.to_numpy()).all()
    assert model.evaluate(etth1.iloc[600:700])["windows"] == 100 - 24 - 5 + 1


def test_known_future_columns_are_taken_from_future(etth1):
    frame = etth1.iloc[:600]
    model = fc.Forecaster(
        cell="rnn", lookback=24, horizon=4, targets=["OT"], known_future=["HUFL"], **SMALL
    )
    model.fit(frame)
    upcoming = etth1.iloc[600:604]
    base = model.predict(frame, future=upcoming)
    shifted = upcoming.assign(HUFL=upcoming["HUFL"] + 50.0)
    assert not np.allclose(model.predict(frame, future=shifted), base)
    message = (
        "known-future columns ['HUFL'] need their values over the horizon: pass future=, a "
        "DataFrame with them for the 4 timestamps from 2016-07-26 00:00:00"
    )
    with raises_exactly(fc.DataError, message):
        model.predict(frame)


def test_a_diverging_loss_is_a_clear_error(etth1):
    frame = etth1.iloc[:300] * 1e30  # squared errors overflow float32
    model = fc.Forecaster(cell="rnn", lookback=12, horizon=2, scaler="none", **SMALL)
    message = (
        "training diverged: the loss became inf in epoch 1; lower learning_rate (now 0.001) "
        "or clipnorm (now 1.0), or check the data for extreme values"
    )
    with raises_exactly(fc.TrainingError, message):
        model.fit(frame)


def test_fit_overrides_only_training_options_and_only_for_that_fit(etth1):
    model = fc.Forecaster(cell="rnn", lookback=12, horizon=2, **SMALL)
    before = model.configs()
    model.fit(etth1.iloc[:300], epochs=2, patience=10)
    assert len(model.history_["loss"]) == 2
    assert model.configs() == before
    model.fit(etth1.iloc[:300])
    assert len(model.history_["loss"]) == 1  # the configured epochs again
    message = (
        "unknown option 'units'; known options are "
        f"{sorted(f.name for f in dataclasses.fields(TrainConfig))}"
    )
    with raises_exactly(ValueError, message):
        model.fit(etth1.iloc[:300], units=4)


def test_unknown_constructor_option_lists_the_known_ones():
    known = sorted(
        f.name for c in (DataConfig, NetworkConfig, TrainConfig) for f in dataclasses.fields(c)
    )
    with raises_exactly(ValueError, f"unknown option 'unit'; known options are {known}"):
        fc.Forecaster(cell="lstm", lookback=24, horizon=6, unit=64)


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"horizon": 0}, ValueError, "horizon must be a positive integer, got 0"),
        ({"lookback": -1}, ValueError, "lookback must be a positive integer, got -1"),
        (
            {"cell": "transformer"},
            ValueError,
            "unknown cell 'transformer'; known cells: 'cifg', 'gru', 'lstm', 'rnn'",
        ),
        (
            {"scaler": "log"},
            ValueError,
            "scaler='log' is not known; pass one of ('standard', 'minmax', 'robust', 'none')",
        ),
        ({"val_fraction": 1.0}, ValueError, "val_fraction must be in (0, 1), got 1.0"),
        ({"targets": 5}, ValueError, "targets must be column names, got 5"),
        (
            {"calendar": ["week"]},
            ValueError,
            "calendar feature 'week' is not known; pass some of "
            "('hour', 'day_of_week', 'day_of_year', 'month')",
        ),
        ({"learning_rate": 0}, ValueError, "learning_rate must be a positive number, got 0"),
        ({"lr_decay": 1.0}, ValueError, "lr_decay must be None or in (0, 1), got 1.0"),
        ({"lr_decay": 0}, ValueError, "lr_decay must be None or in (0, 1), got 0"),
        ({"lr_decay_after": 0}, ValueError, "lr_decay_after must be a positive integer, got 0"),
        ({"loss": "mape"}, ValueError, "loss='mape' is not known; pass one of ('mse', 'mae')"),
        (
            {"architecture": "recursive", "targets": ["OT"]},
            ValueError,
            "architecture='recursive' feeds each forecast back as the next input, so the inputs "
            "must be the targets; got inputs ['OT', 'HUFL'] and targets ['OT']",
        ),
    ],
)
def test_bad_arguments_are_named(options, error, message):
    options = {"cell": "lstm", "lookback": 24, "horizon": 6, **options}
    if options.get("architecture") == "recursive":
        options["inputs"] = ["OT", "HUFL"]
    with raises_exactly(error, message):
        fc.Forecaster(**options)


@pytest.mark.parametrize(
    ("rows", "options", "message"),
    [
        (
            300,
            {"targets": ["Temp"]},
            "target column 'Temp' is not in the frame; columns are "
            "['HUFL', 'HULL', 'MUFL', 'MULL', 'LUFL', 'LULL', 'OT']",
        ),
        (29, {}, "the frame has 29 rows, fewer than lookback + horizon = 30 needed for one window"),
        (
            50,
            {"val_fraction": 0.1},
            "the validation part has 29 rows (val_fraction=0.1 of 50), fewer than lookback + "
            "horizon = 30; pass a longer frame or change val_fraction",
        ),
    ],
)
def test_data_problems_are_named(etth1, rows, options, message):
    model = fc.Forecaster(cell="lstm", lookback=24, horizon=6, **SMALL, **options)
    with raises_exactly(fc.DataError, message):
        model.fit(etth1.iloc[:rows])


def test_predict_before_fit_is_refused(etth1):
    model = fc.Forecaster(cell="gru", lookback=24, horizon=6)
    with raises_exactly(RuntimeError, "this Forecaster is not fitted; call fit(frame) first"):
        model.predict(etth1)


def test_predict_names_a_missing_value_in_its_input(fitted, etth1):
    history = etth1.iloc[:2000].copy()
    history.iloc[-3, 0] = np.nan
    message = f"predict's input rows must be complete; row {history.index[-3]} has a missing value"
    with raises_exactly(fc.DataError, message):
        fitted.predict(history)


def test_plot_draws_history_forecast_and_actual(fitted, etth1, tmp_path):
    figure = fitted.plot(
        etth1.iloc[:2000], actual=etth1.iloc[2000:2006], path=tmp_path / "forecast.png"
    )
    (ax,) = figure.axes
    assert [line.get_label() for line in ax.get_lines()[:3]] == ["history", "actual", "forecast"]
    assert len(ax.get_lines()[2].get_xdata()) == 6
    assert (tmp_path / "forecast.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_checkpoints_hold_the_best_weights(tmp_path):
    # y is the last step's x in the training rows and its negative in the validation rows,
    # so each epoch that learns the training rule is worse on validation: the best epoch is
    # an early one whatever the arithmetic's rounding, and the restored weights are not the
    # last epoch's.
    x = np.random.default_rng(0).normal(0, 1, 400)
    y = np.roll(x, 1)
    y[320:] *= -1
    frame = pd.DataFrame(
        {"x": x, "y": y}, index=pd.date_range("2020-01-01", periods=400, freq="h", name="date")
    )
    model = fc.Forecaster(
        cell="rnn",
        lookback=12,
        horizon=1,
        targets=["y"],
        normalization="none",
        checkpoint_dir=str(tmp_path / "ckpt"),
        **{**SMALL, "units": 32, "epochs": 8, "patience": 3, "learning_rate": 0.05},
    )
    model.fit(frame)
    losses = model.history_["val_loss"]
    assert np.argmin(losses) < len(losses) - 1  # early stopping went back to a best epoch
    fresh = build_network(
        model.network, Shapes(lookback=12, horizon=1, inputs=2, targets=1), [1]
    )  # y is the second input
    fresh.load_weights(tmp_path / "ckpt" / "best.weights.h5")
    windows, _ = fc.make_windows(model.scaler_.transform(frame), model.window_spec()).numpy()
    best = fresh.predict(windows, verbose=0)
    np.testing.assert_allclose(best, model.model_.predict(windows, verbose=0), rtol=1e-6, atol=1e-6)


def test_a_segment_forecaster_checks_its_segments_before_any_data():
    with raises_exactly(
        ValueError,
        "horizon=100 is not a multiple of segment_length=48; the segment design cuts it into "
        "whole segments",
    ):
        fc.Forecaster("gru", architecture="segment", lookback=720, horizon=100)
    # Whole segments are accepted, and another architecture takes any horizon.
    fc.Forecaster("gru", architecture="segment", lookback=720, horizon=96, segment_length=48)
    fc.Forecaster("gru", lookback=720, horizon=100)
