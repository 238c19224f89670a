"""The configuration dataclasses: every check names its field, and reading one is light."""

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from forecaster import checks
from forecaster.config import (
    CALENDAR_FEATURES,
    CHANNELS,
    SCALERS,
    DataConfig,
    LinearConfig,
    NetworkConfig,
    TrainConfig,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("config_class", "options", "field", "message"),
    [
        (DataConfig, {"horizon": 0}, "horizon", "horizon must be a positive integer, got 0"),
        (DataConfig, {"targets": 5}, "targets", "targets must be column names, got 5"),
        (
            DataConfig,
            {"calendar": ["week"]},
            "calendar",
            f"calendar feature 'week' is not known; pass some of {CALENDAR_FEATURES}",
        ),
        (DataConfig, {"season": 0}, "season", "season must be a positive integer, got 0"),
        (DataConfig, {"id_col": 3}, "id_col", "id_col must be a column name or None, got 3"),
        (
            DataConfig,
            {"series_embedding": "yes"},
            "series_embedding",
            "series_embedding must be True or False, got 'yes'",
        ),
        (
            DataConfig,
            {"nonnegative": 1.0},
            "nonnegative",
            "nonnegative must be True, False or None (detect), got 1.0",
        ),
        (
            DataConfig,
            {"static": ["size"], "inputs": ["sales", "size"]},
            "static",
            "column 'size' is both static and an input or target; a static column is given "
            "once per series",
        ),
        (
            NetworkConfig,
            {"quantiles": [0.5, 1.5]},
            "quantiles",
            "quantiles must be levels in (0, 1), got 1.5",
        ),
        (
            NetworkConfig,
            {"quantiles": [0.1, 0.1]},
            "quantiles",
            "quantiles has a level twice: [0.1, 0.1]",
        ),
        (
            NetworkConfig,
            {"distribution": "poisson"},
            "distribution",
            "distribution='poisson' is not known; pass one of ('normal', 'studentt', "
            "'negbinomial')",
        ),
        (
            NetworkConfig,
            {"embedding_size": 0},
            "embedding_size",
            "embedding_size must be a positive integer, got 0",
        ),
        (
            DataConfig,
            {"val_fraction": 1.0},
            "val_fraction",
            "val_fraction must be in (0, 1), got 1.0",
        ),
        (
            NetworkConfig,
            {"cell": "tcn"},
            "cell",
            "unknown cell 'tcn'; known cells: 'cifg', 'gru', 'lstm', 'rnn'",
        ),
        (NetworkConfig, {"units": 0}, "units", "units must be a positive integer, got 0"),
        (
            NetworkConfig,
            {"cell": "gru", "peephole": True},
            "peephole",
            "peephole=True needs an LSTM-type cell ('lstm' or 'cifg'), got cell='gru'",
        ),
        (
            NetworkConfig,
            {"head_dropout": 1},
            "head_dropout",
            "head_dropout must be in [0, 1), got 1",
        ),
        (TrainConfig, {"lr_decay": 1.0}, "lr_decay", "lr_decay must be None or in (0, 1), got 1.0"),
        (TrainConfig, {"clipnorm": 0}, "clipnorm", "clipnorm must be a positive number, got 0"),
        (TrainConfig, {"verbose": 3}, "verbose", "verbose must be 0, 1 or 2, got 3"),
        (TrainConfig, {"seed": 1.5}, "seed", "seed must be an integer, got 1.5"),
        (TrainConfig, {"shuffle": 1}, "shuffle", "shuffle must be True or False, got 1"),
        (
            TrainConfig,
            {"loss": "mape"},
            "loss",
            "loss='mape' is not known; pass one of ('mse', 'mae')",
        ),
        (
            TrainConfig,
            {"distribute": "tpu"},
            "distribute",
            "distribute='tpu' is not known; pass None, 'mirrored' or 'multiworker', or a "
            "tf.distribute.Strategy to Forecaster",
        ),
        (LinearConfig, {"alpha": -1}, "alpha", "alpha must be a non-negative number, got -1"),
        (
            LinearConfig,
            {"channels": "mixed"},
            "channels",
            "channels='mixed' is not known; pass one of ('joint', 'independent')",
        ),
    ],
)
def test_every_check_names_its_field(config_class, options, field, message):
    if config_class is DataConfig:
        options = {"lookback": 4, "horizon": 2, **options}
    with pytest.raises(checks.InvalidValueError) as caught:
        config_class(**options)
    assert (caught.value.name, str(caught.value)) == (field, message)
    assert field in {f.name for f in dataclasses.fields(config_class)}


def test_column_lists_and_calendar_become_tuples():
    data = DataConfig(lookback=4, horizon=2, targets="OT", inputs=["a", "OT"], calendar="hour")
    assert (data.targets, data.inputs, data.calendar) == (("OT",), ("a", "OT"), ("hour",))
    assert data.window_spec(horizon=1).horizon == 1


def test_the_names_match_what_the_data_and_the_baselines_make():
    from forecaster.data import calendar, scaling
    from forecaster.estimators import baselines

    assert tuple(scaling.SCALERS) == SCALERS
    assert calendar.CALENDAR_FEATURES == CALENDAR_FEATURES
    assert baselines.CHANNELS == CHANNELS
    assert baselines.LinearConfig is LinearConfig


def test_reading_a_config_loads_no_numerical_library():
    code = (
        "import json, sys; from forecaster.config import DataConfig, NetworkConfig; "
        "NetworkConfig(units=8); DataConfig(lookback=4, horizon=2); "
        "print(json.dumps(sorted(m for m in ('numpy', 'pandas', 'keras', 'tensorflow') "
        "if m in sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []
