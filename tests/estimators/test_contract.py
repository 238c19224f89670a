"""The contract every forecaster keeps, neural or baseline (after scikit-learn's).

`fit` and `fit_stream` return the forecaster; what the fit learned ends in an underscore;
a keyword for one fit never rewrites the configuration; and every forecaster takes a
fixed validation part and callbacks, so no caller branches on the kind of model.
"""

import keras
import numpy as np
import pytest

import forecaster as fc
from tests.assertions import raises_exactly
from tests.data.util import DATA

OPTIONS = {"lookback": 24, "horizon": 6, "targets": ["OT"]}
NEURAL = {"units": 4, "epochs": 2, "batch_size": 64, "verbose": 0}
MODELS = {
    "neural": lambda: fc.Forecaster("gru", **OPTIONS, **NEURAL),
    "naive": lambda: fc.NaiveForecaster(**OPTIONS),
    "seasonal_naive": lambda: fc.SeasonalNaiveForecaster(**OPTIONS),
    "mean": lambda: fc.MeanForecaster(**OPTIONS),
    "linear": lambda: fc.LinearForecaster(**OPTIONS, alpha=1.0),
}


@pytest.fixture(scope="module")
def etth1():
    return fc.read_csv(DATA / "ETTh1.csv").iloc[:600]


@pytest.fixture(scope="module")
def parts(etth1):
    return fc.split(etth1, 0.7, 0.3, 0.0, lookback=24)


class Recorder(keras.callbacks.Callback):
    """Records the hooks a fit calls, with the losses it gives at each epoch's end."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def on_train_begin(self, logs=None):
        self.calls.append("train_begin")

    def on_epoch_begin(self, epoch, logs=None):
        self.calls.append(f"epoch_begin {epoch}")

    def on_epoch_end(self, epoch, logs=None):
        self.calls.append(f"epoch_end {epoch} {sorted(k for k in logs if 'loss' in k)}")

    def on_train_end(self, logs=None):
        self.calls.append("train_end")


@pytest.mark.parametrize("name", MODELS)
def test_fit_returns_the_forecaster_with_its_fitted_state(name, etth1):
    model = MODELS[name]()
    assert (model.scaler_, model.schema_, model.history_) == (None, None, None)
    assert not hasattr(model, "uses_validation")
    configs = model.configs()
    assert model.fit(etth1) is model
    assert isinstance(model.scaler_, fc.Scaler)
    assert model.schema_["targets"] == ["OT"]
    assert model.configs() == configs
    assert model.clone().schema_ is None
    if name == "neural":
        assert isinstance(model.model_, keras.Model)
        assert model.count_params() == model.model_.count_params()
    else:  # what each baseline learned: nothing, a mean per target, or the map's weights
        lookback, horizon = OPTIONS["lookback"], OPTIONS["horizon"]
        inputs = len(model.schema_["inputs"])
        learned = {
            "naive": 0,
            "seasonal_naive": 0,
            "mean": 1,
            "linear": (lookback * inputs + 1) * horizon,
        }
        assert model.count_params() == learned[name]


@pytest.mark.parametrize("name", MODELS)
def test_history_holds_a_list_of_losses_per_epoch(name, etth1, parts):
    alone = MODELS[name]().fit(etth1)
    epochs = 2 if name == "neural" else 1
    expected = ["loss", "val_loss"] if name == "neural" else ["loss"]  # held out, or not
    assert [k for k in alone.history_ if "loss" in k] == expected
    assert all(len(v) == epochs and np.isfinite(v).all() for v in alone.history_.values())
    validated = MODELS[name]().fit(parts.train, val=parts.val)
    assert {"loss", "val_loss"} <= set(validated.history_)
    assert all(isinstance(v, float) for v in validated.history_["val_loss"])


@pytest.mark.parametrize("name", MODELS)
def test_every_forecaster_takes_a_validation_part_and_callbacks(name, parts):
    recorder = Recorder()
    model = MODELS[name]()
    assert model.fit(parts.train, val=parts.val, callbacks=[recorder]) is model
    epochs = 2 if name == "neural" else 1
    expected = ["train_begin"]
    for epoch in range(epochs):
        expected += [f"epoch_begin {epoch}", f"epoch_end {epoch} ['loss', 'val_loss']"]
    assert recorder.calls == [*expected, "train_end"]
    # Every statistic comes from the training part, whichever the model.
    mean = parts.train["OT"].mean()
    assert model.scaler_.inverse_transform(np.zeros((1, 1)), columns=["OT"])[0, 0] == (
        pytest.approx(mean)
    )


def test_neural_overrides_are_for_one_fit_only(etth1):
    model = MODELS["neural"]()
    train = model.train
    model.fit(etth1, epochs=1, learning_rate=1e-2)
    assert len(model.history_["loss"]) == 1
    assert model.history_["learning_rate"] == pytest.approx([1e-2])
    assert model.train is train
    model.fit(etth1)
    assert len(model.history_["loss"]) == 2
    assert model.history_["learning_rate"] == pytest.approx([1e-3, 1e-3])


@pytest.mark.parametrize("name", ["naive", "seasonal_naive", "mean", "linear"])
def test_a_baseline_takes_no_overrides(name, etth1):
    model = MODELS[name]()
    cls = type(model).__name__
    with raises_exactly(
        ValueError, f"unknown option 'epochs'; {cls}.fit takes no configuration overrides"
    ):
        model.fit(etth1, epochs=3)
    assert model.schema_ is None


@pytest.mark.parametrize("name", MODELS)
def test_fit_stream_returns_the_forecaster(name, tmp_path, etth1):
    etth1.to_csv(tmp_path / "series.csv", index_label="date")
    model = MODELS[name]()
    assert model.fit_stream(fc.open_source(tmp_path / "series.csv", chunk_rows=100)) is model
    assert model.schema_["last_timestamp"] == etth1.index[-1].isoformat()
    assert np.isfinite(model.history_["loss"]).all()
