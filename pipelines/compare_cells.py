"""Compares the four cells and the baselines over several seeds on the shipped bike data.

python pipelines/compare_cells.py
python pipelines/compare_cells.py --compare.seeds 5 --compare.cells lstm cifg --network.units 64
python pipelines/compare_cells.py --config pipelines/configs/quick.yaml

The same as `forecaster compare --config pipelines/configs/bikeshare.yaml`: every run is
tracked in MLflow, the table and Welch's t-test p-values are printed at the end, then how
to open the MLflow UI.
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from forecaster.cli import commands

CONFIG = Path(__file__).resolve().parent / "configs" / "bikeshare.yaml"

if __name__ == "__main__":
    # The config from the file and flags, then the command: the same path as `forecaster compare`.
    sys.exit(commands.script("compare", CONFIG, __doc__))
