"""Runs the M4 Hourly benchmark for one model and prints its scores as one line of JSON.

python pipelines/m4_benchmark.py --data ../shared/data/m4 --model gru --seed 0
python pipelines/m4_benchmark.py --data ../shared/data/m4 --model snaive
python pipelines/m4_benchmark.py --data ../shared/data/m4 --model lstm --set train.epochs=2

A cell ("rnn", "lstm", "gru", "cifg") trains one global model across the 414 series in the
configuration pipelines/configs/m4_hourly.yaml (every key a --set override); "naive1",
"snaive" and "naive2" are the competition's benchmark methods. The protocol, the scores
(sMAPE, MASE, OWA) and the JSON line are `forecaster.cli.m4`'s; the run is tracked in
MLflow (`MLFLOW_TRACKING_URI`, else mlruns/), the log goes to stderr.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from forecaster.cli import m4

if __name__ == "__main__":
    sys.exit(m4.main())
