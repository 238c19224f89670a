"""Wall time of a cell comparison with its trials one by one, and concurrently on Ray.

Both run the same config (the README's main job by default: 4 cells x 3 seeds and 3
baselines on the shipped bike data) into a temporary MLflow store, one after the other in
this process, `--repeats` times in alternating order; the speed-up is the median
sequential time over the median Ray time. Ray starts a local instance with one CPU per
trial, so on a 2-core machine two trials train at once, each on one TensorFlow thread,
against one trial at a time on two threads.

    python benchmarks/parallel_compare.py                       # about 6 minutes on 2 cores
    python benchmarks/parallel_compare.py --config pipelines/configs/quick.yaml --repeats 3
"""

import argparse
import dataclasses
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import forecaster
from forecaster.cli.loading import load_config
from forecaster.cli.sections import NEEDS

ROOT = Path(__file__).resolve().parents[1]


def compare(config, parallel):
    # The config's compare section, its engine and experiment replaced; its models as they are.
    settings = dataclasses.replace(
        config.compare, parallel=parallel, experiment=f"benchmark-{parallel or 'sequential'}"
    )
    start = time.perf_counter()
    table = forecaster.compare_cells(
        config.source.load(),
        **dataclasses.asdict(settings),
        **config.model_configs(),
        progress=False,
    )
    return time.perf_counter() - start, table


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(ROOT / "pipelines" / "configs" / "bikeshare.yaml"))
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    config = load_config(args.config, needs=NEEDS["compare"])
    trials = len(config.compare.cells) * config.compare.seeds + len(config.compare.baselines)
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; {args.config}")
    print(f"{trials} trials per comparison, {args.repeats} repeat(s)")
    times = {None: [], "ray": []}
    with tempfile.TemporaryDirectory() as store:
        os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{Path(store) / 'mlflow.db'}"
        for repeat in range(args.repeats):
            order = [None, "ray"] if repeat % 2 == 0 else ["ray", None]
            for parallel in order:
                seconds, table = compare(config, parallel)
                times[parallel].append(seconds)
                mse = table["scaled_mse_mean"].round(3).to_dict()
                print(f"{parallel or 'sequential':>10}: {seconds:7.1f} s  scaled MSE {mse}")
    sequential, ray = statistics.median(times[None]), statistics.median(times["ray"])
    speedup = sequential / ray
    print(f"median: sequential {sequential:.1f} s, ray {ray:.1f} s, speed-up {speedup:.2f}x")


if __name__ == "__main__":
    main()
