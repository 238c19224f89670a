"""Trains the tanh RNN, LSTM, GRU and CIFG cells on one synthetic series and compares them.

python pipelines/demo_cells.py
python pipelines/demo_cells.py --cells lstm cifg --epochs 8 --units 64
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from forecaster.cells.demo import CellDemoConfig, demo_cells


def main():
    defaults = CellDemoConfig()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", nargs="+", default=list(defaults.cells))
    parser.add_argument("--units", type=int, default=defaults.units)
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    args = parser.parse_args()
    config = CellDemoConfig(
        cells=tuple(args.cells), units=args.units, epochs=args.epochs, seed=args.seed
    )

    print(
        f"Forecasting {config.horizon} hours from {config.lookback} of a synthetic hourly "
        f"series ({config.length} hours; last 20% held out), {config.epochs} epochs per cell."
    )
    rows = demo_cells(config)
    print(f"\n{'model':<28}{'params':>8}{'test MSE':>10}{'s/epoch':>9}")
    for row in rows:
        print(
            f"{row['model']:<28}{row['params']:>8}{row['test_mse']:>10.4f}"
            f"{row['seconds_per_epoch']:>9.2f}"
        )
    best = min(rows[1:], key=lambda row: row["test_mse"])
    print(
        f"\nLowest test MSE: {best['model']} ({best['test_mse']:.4f}); "
        "one seed, so this is no test of significance."
    )


if __name__ == "__main__":
    main()
