"""Runs the long-horizon benchmark protocol (LTSF) for one model and prints its scores.

python pipelines/ltsf_benchmark.py                          # GRU on ETTh1, L=720, H=96
python pipelines/ltsf_benchmark.py --data.lookback 336 --ltsf.model naive
python pipelines/ltsf_benchmark.py --config pipelines/configs/ltsf/ettm1.yaml --ltsf.quick

The same as `forecaster ltsf --config pipelines/configs/ltsf/etth1.yaml` (the default
config; pipelines/configs/ltsf/ has one per data set), whose sections hold SegRNN's
settings; every field of them is a flag (`--network.units 256`, `--train.lr_decay 0.8`,
...; see --help). The protocol is `forecaster.evaluation.ltsf` (splits at the
published borders, scaler on the training rows, stride 1, every test window scored on the
scaled values). A cell is trained in the segment-recurrent network (SegRNN); "naive" and
"linear" go through the same code. The run is tracked in MLflow (`MLFLOW_TRACKING_URI`,
else `mlruns/`), the training log goes to stderr, and stdout gets one line of JSON: data,
model, lookback, horizon, quick, mse, mae, windows, wall_seconds, run_id, params,
seconds_per_epoch and the configuration.

--ltsf.quick is the smoke mode: one epoch of a 16-unit network on every 16th training
window (all test windows are still scored); a few tens of seconds on a 2-core CPU.
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from forecaster.cli import commands

CONFIG = Path(__file__).resolve().parent / "configs" / "ltsf" / "etth1.yaml"

if __name__ == "__main__":
    # The config from the file and flags, then the command: the same path as `forecaster ltsf`.
    sys.exit(commands.script("ltsf", CONFIG, __doc__))
