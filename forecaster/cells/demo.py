"""A short demonstration of the cells: each one trained on the same series, side by side.

The series is synthetic (hourly, with a daily and a weekly cycle, a slow trend and noise),
so the demo runs anywhere in well under a minute, with no data file and no MLflow store:
a first look at the cells. The comparison on real data, tracked in MLflow, is the main job
(`python pipelines/compare_cells.py`, `forecaster.tracking.compare_cells`).
"""

import dataclasses
import time

import keras
import numpy as np

from forecaster import cells


@dataclasses.dataclass(frozen=True)
class CellDemoConfig:
    """What the demo trains.

    Attributes:
        cells: short names of the cells to train, see `forecaster.cells.get`.
        units: hidden units of every cell.
        lookback: input steps per window.
        horizon: steps forecast per window.
        length: hours in the synthetic series.
        epochs: training epochs per cell.
        batch_size: windows per training step.
        seed: seed of the series, the weights and the shuffling.
    """

    cells: tuple[str, ...] = cells.NAMES
    units: int = 32
    lookback: int = 48
    horizon: int = 12
    length: int = 3000
    epochs: int = 4
    batch_size: int = 64
    seed: int = 0


def synthetic_series(length, seed):
    """Hourly values with daily and weekly cycles, a slow trend and Gaussian noise, `(length,)`."""
    rng = np.random.default_rng(seed)
    t = np.arange(length, dtype=np.float64)
    daily = np.sin(2 * np.pi * t / 24)
    weekly = 0.5 * np.sin(2 * np.pi * t / (24 * 7))
    return 10 + daily + weekly + t / length + 0.2 * rng.standard_normal(length)


def _windows(series, lookback, horizon):
    """Inputs `(n, lookback, 1)` and targets `(n, horizon)` of every window, stride 1."""
    view = np.lib.stride_tricks.sliding_window_view(series, lookback + horizon)
    return view[:, :lookback, None], view[:, lookback:]  # (n, L+H) -> (n, L, 1), (n, H)


def demo_cells(config):
    """Trains each cell on the synthetic series and scores it on the last 20% of windows.

    The series is standardized with the mean and standard deviation of its first 80%
    only, and the windows are split in time order, so no statistic sees the test part.

    Args:
        config: a `CellDemoConfig`.

    Returns:
        One dict per model, the repeat-last-value baseline first: `model`, `params`,
        `test_mse` (on the standardized scale) and `seconds_per_epoch`.

    Example:
        >>> rows = demo_cells(CellDemoConfig(cells=("lstm",), epochs=1))
    """
    series = synthetic_series(config.length, config.seed)
    border = int(0.8 * config.length)
    train_part = series[:border]
    scaled = (series - train_part.mean()) / train_part.std()
    x_train, y_train = _windows(scaled[:border], config.lookback, config.horizon)
    x_test, y_test = _windows(scaled[border - config.lookback :], config.lookback, config.horizon)

    naive = np.repeat(x_test[:, -1, :], config.horizon, axis=1)  # (n, 1) -> (n, H)
    rows = [
        {
            "model": "naive (repeat last value)",
            "params": 0,
            "test_mse": float(np.mean((naive - y_test) ** 2)),
            "seconds_per_epoch": 0.0,
        }
    ]
    for name in config.cells:
        keras.utils.set_random_seed(config.seed)
        model = keras.Sequential(
            [
                keras.Input((config.lookback, 1)),
                keras.layers.RNN(cells.get(name)(config.units)),
                keras.layers.Dense(config.horizon),
            ]
        )
        model.compile(keras.optimizers.Adam(3e-3, clipnorm=1.0), "mse")
        start = time.perf_counter()
        model.fit(x_train, y_train, epochs=config.epochs, batch_size=config.batch_size, verbose=0)
        seconds = (time.perf_counter() - start) / config.epochs
        mse = model.evaluate(x_test, y_test, batch_size=256, verbose=0)
        rows.append(
            {
                "model": name,
                "params": model.count_params(),
                "test_mse": float(mse),
                "seconds_per_epoch": seconds,
            }
        )
    return rows
