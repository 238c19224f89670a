import numpy as np

from forecaster.cells.demo import CellDemoConfig, demo_cells, synthetic_series


def test_cells_beat_the_naive_baseline_on_held_out_windows():
    config = CellDemoConfig(cells=("lstm", "cifg"), units=8, length=800, epochs=3, lookback=24)
    rows = demo_cells(config)
    assert [row["model"] for row in rows] == ["naive (repeat last value)", "lstm", "cifg"]
    naive, lstm, cifg = (row["test_mse"] for row in rows)
    assert lstm < naive
    assert cifg < naive
    # Dense(12) head on 8 units: 8 * 12 + 12 weights; CIFG has 3/4 of LSTM's cell weights.
    head = 8 * 12 + 12
    assert (rows[1]["params"] - head) * 3 == (rows[2]["params"] - head) * 4


def test_naive_baseline_uses_only_the_test_part():
    config = CellDemoConfig(cells=(), length=600, lookback=24, horizon=6)
    series = synthetic_series(config.length, config.seed)
    border = int(0.8 * config.length)
    scaled = (series - series[:border].mean()) / series[:border].std()
    tail = scaled[border - config.lookback :]
    errors = [
        np.mean(
            (tail[start + config.lookback : start + config.lookback + 6] - tail[start + 23]) ** 2
        )
        for start in range(len(tail) - config.lookback - 6 + 1)
    ]
    (naive,) = demo_cells(config)
    np.testing.assert_allclose(naive["test_mse"], np.mean(errors), rtol=1e-12)
