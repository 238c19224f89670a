"""The statistics of a cell comparison: the table over seeds, Welch's t-tests, the plot.

Plain pandas, SciPy and matplotlib on the per-run rows that `forecaster.tracking` collects;
nothing here talks to MLflow.
"""

import itertools
import re

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats

from forecaster import checks
from forecaster.evaluation.metrics import METRICS

# Scores of quantiles a comparison can rank by (`probabilistic.quantile_scores`), beside
# "msis_<c>" of a central interval (e.g. "msis_90"); lower is better for each.
PROBABILISTIC = ("crps", "pinball")
_INTERVAL = re.compile(r"(coverage|width|msis)_\d+(\.\d+)?")
# The levels every model of a comparison ranked by a probabilistic metric is calibrated
# at when its cells name no quantiles: the 50% and 90% intervals.
LEVELS = (0.05, 0.25, 0.75, 0.95)


def check_metric(metric):
    """Returns `metric` if a comparison can rank by it, else raises naming what it can."""
    if metric in METRICS or metric in PROBABILISTIC:
        return metric
    if re.fullmatch(r"msis_\d+(\.\d+)?", str(metric)):
        return metric
    raise checks.InvalidValueError(
        "metric",
        f"metric={metric!r} is not known; pass one of {METRICS}, or of a forecast's "
        f"quantiles {PROBABILISTIC} or 'msis_<coverage>' (e.g. 'msis_90')",
    )


def is_probabilistic(metric):
    """Whether `metric` scores quantiles (every model then needs them)."""
    return metric not in METRICS


def column(metric):
    """The column a comparison ranks by.

    A point metric's scaled values (the units the cells train in); a quantile score as it
    is (CRPS in the targets' units; MSIS is scale-free).
    """
    return metric if is_probabilistic(metric) else f"scaled_{metric}"


def row(name, seed, scores, seconds):
    """One run's line of the comparison: its model, seed, cost and test scores."""
    row = {"model": name, "seed": seed, "seconds": seconds}
    row.update(params=scores["params"], seconds_per_epoch=scores["seconds_per_epoch"])
    for key in METRICS:
        row[key] = scores[key]
        row[f"scaled_{key}"] = scores[f"scaled_{key}"]
    for key, value in scores.items():
        if key in PROBABILISTIC or _INTERVAL.fullmatch(key):
            row[key] = value
    return row


def table(runs):
    """Mean and standard deviation over seeds per model, in the models' order."""
    columns = [*METRICS, *(f"scaled_{m}" for m in METRICS)]
    columns += [c for c in runs.columns if c in PROBABILISTIC or _INTERVAL.fullmatch(c)]
    grouped = runs.groupby("model", sort=False)
    table = grouped[columns].agg(["mean", "std"])
    table.columns = [f"{metric}_{stat}" for metric, stat in table.columns]
    table.insert(0, "seeds", grouped.size())
    table["params"] = grouped["params"].first()
    table["seconds_per_epoch"] = grouped["seconds_per_epoch"].mean()
    return table


def welch(runs, cells, metric):
    """Welch's t-test p-value of `metric` (its `column`) between every pair of cells."""
    column_ = column(metric)
    p_values = pd.DataFrame(np.nan, index=cells, columns=cells)
    for a, b in itertools.combinations(cells, 2):
        x = runs.loc[runs["model"] == a, column_].to_numpy()
        y = runs.loc[runs["model"] == b, column_].to_numpy()
        if len(x) > 1 and len(y) > 1 and (x.std() > 0 or y.std() > 0):
            p_values.loc[a, b] = p_values.loc[b, a] = stats.ttest_ind(x, y, equal_var=False).pvalue
    return p_values


def summary(table, metric="mse"):
    """A narrow view of a comparison table for printing: "mean ± std" of the main scores.

    Args:
        table: what `compare_cells` returns.
        metric: the metric shown first, on the scaled values as the cells were trained.

    Returns:
        A DataFrame of strings, one row per model.
    """

    def spread(name):
        mean, std = table[f"{name}_mean"], table[f"{name}_std"].fillna(0.0)
        return [
            f"{m:.4g} ± {s:.2g}" if n > 1 else f"{m:.4g}"
            for m, s, n in zip(mean, std, table["seeds"], strict=True)
        ]

    view = pd.DataFrame(index=table.index)
    view["seeds"] = table["seeds"]
    shown = [column(metric), "scaled_mae", "mae", "mase"]
    if is_probabilistic(metric):
        shown += [c[: -len("_mean")] for c in table.columns if c.startswith("coverage_")]
    for name in dict.fromkeys(shown):
        if f"{name}_mean" in table.columns:
            view[f"test {name}"] = spread(name)
    view["params"] = table["params"]
    view["s/epoch"] = table["seconds_per_epoch"].map(lambda v: f"{v:.2f}")
    return view


def spread_plot(runs, cells, metric):
    """Each seed's metric per cell as a dot, with the mean and one standard deviation."""
    column_ = column(metric)
    figure = Figure(figsize=(1.6 * len(cells) + 2, 3.5), layout="constrained")
    ax = figure.subplots()
    for position, cell in enumerate(cells):
        values = runs.loc[runs["model"] == cell, column_].to_numpy()
        if not len(values):  # every trial of this cell failed
            continue
        ax.scatter(np.full(len(values), position), values, color="tab:blue", alpha=0.7)
        spread = values.std(ddof=1) if len(values) > 1 else 0.0
        ax.errorbar(position + 0.15, values.mean(), yerr=spread, fmt="o", color="black", capsize=4)
    for name in runs.loc[runs["seed"].isna(), "model"]:
        value = runs.loc[runs["model"] == name, column_].iloc[0]
        ax.axhline(value, linestyle="--", linewidth=1, color="0.5")
        ax.annotate(name, (len(cells) - 0.5, value), fontsize="small", color="0.3")
    ax.set_xticks(range(len(cells)), cells)
    ax.set_ylabel(f"test {metric}" + ("" if is_probabilistic(metric) else " (scaled)"))
    ax.set_title("each seed (dots), mean and standard deviation (bars); baselines dashed")
    return figure
