"""Runs the long-horizon benchmark grid, resumably, into a results file.

python pipelines/ltsf_grid.py --results benchmarks/results/ltsf.csv --data ETTh1 ETTh2

See `forecaster.cli.ltsf_grid`: each data set's committed configuration, every point's
seeds together, the points already in the file skipped.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from forecaster.cli.ltsf_grid import main

if __name__ == "__main__":
    sys.exit(main())
