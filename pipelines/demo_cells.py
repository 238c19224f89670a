"""Trains the tanh RNN, LSTM, GRU and CIFG cells on one synthetic series and compares them.

python pipelines/demo_cells.py
python pipelines/demo_cells.py --demo.cells lstm cifg --demo.epochs 8 --demo.units 64

Every field of `forecaster.cells.demo.CellDemoConfig` is a flag `--demo.<field>`.
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from forecaster.cells.demo import CellDemoConfig, demo_cells
from forecaster.cli.flags import add_section


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    add_section(parser, "demo", CellDemoConfig)
    given = {key.partition(".")[2]: value for key, value in vars(parser.parse_args()).items()}
    if "cells" in given:
        given["cells"] = tuple(given["cells"])
    config = CellDemoConfig(**given)

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
