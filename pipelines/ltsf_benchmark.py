"""Runs the long-horizon benchmark protocol (LTSF) for one model and prints its scores.

python pipelines/ltsf_benchmark.py --data ../shared/data/ETTh1.csv --lookback 720 --model gru
python pipelines/ltsf_benchmark.py --data ../shared/data/ETTh1.csv --lookback 336 --model naive
python pipelines/ltsf_benchmark.py --data ../shared/data/ETTh1.csv --model lstm --quick

The protocol is `forecaster.evaluation.ltsf` (splits at the published borders, scaler on
the training rows, stride 1, every test window scored on the scaled values). A cell is trained in the
segment-recurrent network (SegRNN); "naive" and "linear" go through the same code. The run
is tracked in MLflow (`MLFLOW_TRACKING_URI`, else `mlruns/`), the training log goes to
stderr, and stdout gets one line of JSON: mse, mae, windows, wall_seconds, the run's id
and the configuration.

--quick is the smoke mode: one epoch of a 16-unit network on every 16th training window
(all test windows are still scored); a few tens of seconds on a 2-core CPU.
"""

import argparse
import contextlib
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from forecaster import DataError
from forecaster.evaluation import ltsf


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], prog="ltsf_benchmark.py")
    parser.add_argument("--data", required=True, help="the CSV, e.g. ../shared/data/ETTh1.csv")
    parser.add_argument("--lookback", type=int, default=720, help="input steps L (720)")
    parser.add_argument("--horizon", type=int, default=96, help="steps forecast H (96)")
    parser.add_argument("--model", choices=ltsf.MODELS, default="gru", help="(gru)")
    parser.add_argument("--quick", action="store_true", help="smoke mode: 1 epoch, 16 units")
    parser.add_argument("--epochs", type=int, help="most epochs (30; 1 when quick)")
    parser.add_argument("--units", type=int, help="recurrent units (512; 16 when quick)")
    parser.add_argument("--segment-length", type=int, default=48, help="steps per segment (48)")
    parser.add_argument("--normalization", choices=("last", "revin"), default="last")
    parser.add_argument(
        "--head-dropout", type=float, default=0.0, help="dropout before the output map (0)"
    )
    parser.add_argument("--batch-size", type=int, default=256, help="(256)")
    parser.add_argument("--learning-rate", type=float, default=1e-3, help="(0.001)")
    parser.add_argument(
        "--lr-decay",
        type=float,
        help="multiply the learning rate by this every epoch after the fourth, as SegRNN "
        "does with 0.8 (default: halve it after 3 epochs without improvement)",
    )
    parser.add_argument(
        "--loss", choices=("mse", "mae"), default="mae", help="training loss (mae, as SegRNN)"
    )
    parser.add_argument("--patience", type=int, default=10, help="early stopping (10)")
    parser.add_argument("--seed", type=int, default=0, help="(0)")
    parser.add_argument("--experiment", default="ltsf", help="the MLflow experiment (ltsf)")
    args = parser.parse_args()
    try:
        config = ltsf.BenchmarkConfig(**vars(args))
        config.make_model()  # checks the model's settings before anything is read or logged
    except ValueError as error:
        parser.error(str(error))
    try:
        with contextlib.redirect_stdout(sys.stderr):  # Keras's log; stdout is for the JSON
            result = ltsf.benchmark(config)
    except (DataError, FileNotFoundError) as error:  # the file, or a data set too short
        parser.exit(2, f"{parser.prog}: error: {error}\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
