import keras
import numpy as np
import pandas as pd
import pytest

import forecaster as fc
from tests.assertions import raises_exactly
from tests.data.util import DATA

LINEAR = {"lookback": 12, "horizon": 12, "alpha": 1.0}


@pytest.fixture(scope="module")
def airline():
    return fc.read_csv(DATA / "airline-passengers.csv")


def test_fold_borders_tile_the_last_rows(airline):
    table = fc.backtest(fc.NaiveForecaster(lookback=12, horizon=12), airline, folds=3)
    index = airline.index
    folds = table.iloc[:3]
    assert list(folds["fold"]) == [0, 1, 2]
    assert list(folds["cutoff"]) == [index[107], index[119], index[131]]
    assert list(folds["train_start"]) == [index[0]] * 3
    assert list(folds["test_start"]) == [index[108], index[120], index[132]]
    assert list(folds["test_end"]) == [index[119], index[131], index[143]]
    mean = table.iloc[3]
    assert mean["fold"] == "mean"
    for name in ("mae", "mse", "rmse", "mape", "smape", "mase"):
        assert mean[name] == pytest.approx(folds[name].mean())


def test_fold_metrics_score_the_forecast_after_each_cutoff(airline):
    table = fc.backtest(fc.NaiveForecaster(lookback=12, horizon=12), airline, folds=2)
    values = airline["Passengers"].to_numpy()
    for fold, end in enumerate([120, 132]):
        errors = np.abs(values[end : end + 12] - values[end - 1])
        assert table.loc[fold, "mae"] == pytest.approx(errors.mean())


def test_sliding_window_keeps_the_training_length(airline):
    table = fc.backtest(
        fc.LinearForecaster(**LINEAR), airline, folds=3, window="sliding", train_size=60
    )
    assert list(table["train_start"].iloc[:3]) == [airline.index[i] for i in (48, 60, 72)]


def test_explicit_cutoffs(airline):
    cutoffs = ["1958-06-01", "1959-06-01"]
    table = fc.backtest(fc.NaiveForecaster(lookback=12, horizon=6), airline, cutoffs=cutoffs)
    assert list(table["cutoff"].iloc[:2]) == [pd.Timestamp(c) for c in cutoffs]
    assert list(table["test_start"].iloc[:2]) == [
        pd.Timestamp(c) for c in ("1958-07-01", "1959-07-01")
    ]


def test_no_fold_sees_data_after_its_cutoff(airline):
    """Changing every row after fold 1's cutoff changes no score of fold 0 or its fit."""
    model = fc.LinearForecaster(**LINEAR)
    first = fc.backtest(model, airline, folds=3)
    changed = airline.copy()
    changed.iloc[120:] = changed.iloc[120:] * 3.0 + 100.0
    second = fc.backtest(model, changed, folds=3)
    pd.testing.assert_series_equal(first.loc[0], second.loc[0])
    assert not np.isclose(first.loc[1, "mae"], second.loc[1, "mae"])


def test_without_refit_every_origin_uses_the_first_fit(airline):
    model = fc.LinearForecaster(**LINEAR)
    table = fc.backtest(model, airline, folds=3, refit=False)
    first = model.clone().fit(airline.iloc[:108])
    forecast = first.predict(airline.iloc[:132])
    errors = np.abs(airline["Passengers"].iloc[132:144].to_numpy() - forecast["Passengers"])
    assert table.loc[2, "mae"] == pytest.approx(errors.mean())
    assert model.schema_ is None  # the estimator passed in is only cloned


def test_a_neural_forecaster_takes_fit_options_for_each_fit_only(airline):
    model = fc.Forecaster(cell="gru", lookback=12, horizon=6, units=4, verbose=0, val_fraction=0.25)
    epochs = []
    logger = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: epochs.append(epoch))
    table = fc.backtest(model, airline, folds=2, epochs=1, callbacks=[logger])
    assert len(table) == 3
    assert np.isfinite(table["mae"].iloc[:2]).all()
    assert epochs == [0, 0]  # one epoch in each fold's fit
    assert model.train.epochs == 30  # the configuration is as it was


def test_the_estimators_own_check_names_a_bad_frame(airline):
    model = fc.NaiveForecaster(lookback=12, horizon=6)
    with raises_exactly(
        fc.DataError,
        "expected a DataFrame on a DatetimeIndex or a step index (as from forecaster.read_csv), "
        "got Series",
    ):
        fc.backtest(model, airline["Passengers"], folds=2)
    fitted = model.clone().fit(airline)
    with raises_exactly(
        fc.DataError,
        "column 'Passengers' was fitted on but is not in the frame; columns are ['other']",
    ):
        fc.backtest(fitted, airline.rename(columns={"Passengers": "other"}), folds=2)


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"folds": 0}, ValueError, "folds must be a positive integer, got 0"),
        (
            {"folds": 13},
            fc.DataError,
            "13 folds of horizon 12 need more than 156 rows; the frame has 144",
        ),
        (
            {"window": "rolling"},
            ValueError,
            "window='rolling' is not known; pass one of ('expanding', 'sliding')",
        ),
        (
            {"cutoffs": ["1958-06-15"]},
            fc.DataError,
            "cutoff '1958-06-15' is not a timestamp of the frame",
        ),
        (
            {"cutoffs": ["1960-06-01"]},
            fc.DataError,
            "cutoff '1960-06-01' leaves 6 rows after it; a fold needs horizon = 12",
        ),
        (
            {"cutoffs": ["1959-01-01", "1958-01-01"]},
            ValueError,
            "cutoffs must be distinct and in time order, got ['1959-01-01', '1958-01-01']",
        ),
        (
            {"train_size": 0, "window": "sliding"},
            ValueError,
            "train_size must be a positive integer, got 0",
        ),
    ],
)
def test_bad_options_are_named(airline, options, error, message):
    with raises_exactly(error, message):
        fc.backtest(fc.NaiveForecaster(lookback=12, horizon=12), airline, **options)
