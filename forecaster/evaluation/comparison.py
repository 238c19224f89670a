"""The statistics of a cell comparison: the table over seeds, Welch's t-tests, the plot.

Plain pandas, SciPy and matplotlib on the per-run rows that `forecaster.tracking` collects;
nothing here talks to MLflow.
"""

import itertools

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats

from forecaster.evaluation.metrics import METRICS


def row(name, seed, scores, seconds):
    """One run's line of the comparison: its model, seed, cost and test scores."""
    row = {"model": name, "seed": seed, "seconds": seconds}
    row.update(params=scores["params"], seconds_per_epoch=scores["seconds_per_epoch"])
    for key in METRICS:
        row[key] = scores[key]
        row[f"scaled_{key}"] = scores[f"scaled_{key}"]
    return row


def table(runs):
    """Mean and standard deviation over seeds per model, in the models' order."""
    columns = [*METRICS, *(f"scaled_{m}" for m in METRICS)]
    grouped = runs.groupby("model", sort=False)
    table = grouped[columns].agg(["mean", "std"])
    table.columns = [f"{metric}_{stat}" for metric, stat in table.columns]
    table.insert(0, "seeds", grouped.size())
    table["params"] = grouped["params"].first()
    table["seconds_per_epoch"] = grouped["seconds_per_epoch"].mean()
    return table


def welch(runs, cells, metric):
    """Welch's t-test p-value of the scaled `metric` between every pair of cells."""
    column = f"scaled_{metric}"
    p_values = pd.DataFrame(np.nan, index=cells, columns=cells)
    for a, b in itertools.combinations(cells, 2):
        x = runs.loc[runs["model"] == a, column].to_numpy()
        y = runs.loc[runs["model"] == b, column].to_numpy()
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
    for name in dict.fromkeys([f"scaled_{metric}", "scaled_mae", "mae", "mase"]):
        view[f"test {name}"] = spread(name)
    view["params"] = table["params"]
    view["s/epoch"] = table["seconds_per_epoch"].map(lambda v: f"{v:.2f}")
    return view


def spread_plot(runs, cells, metric):
    """Each seed's scaled metric per cell as a dot, with the mean and one standard deviation."""
    column = f"scaled_{metric}"
    figure = Figure(figsize=(1.6 * len(cells) + 2, 3.5), layout="constrained")
    ax = figure.subplots()
    for position, cell in enumerate(cells):
        values = runs.loc[runs["model"] == cell, column].to_numpy()
        if not len(values):  # every trial of this cell failed
            continue
        ax.scatter(np.full(len(values), position), values, color="tab:blue", alpha=0.7)
        spread = values.std(ddof=1) if len(values) > 1 else 0.0
        ax.errorbar(position + 0.15, values.mean(), yerr=spread, fmt="o", color="black", capsize=4)
    for name in runs.loc[runs["seed"].isna(), "model"]:
        value = runs.loc[runs["model"] == name, column].iloc[0]
        ax.axhline(value, linestyle="--", linewidth=1, color="0.5")
        ax.annotate(name, (len(cells) - 0.5, value), fontsize="small", color="0.3")
    ax.set_xticks(range(len(cells)), cells)
    ax.set_ylabel(f"test {metric} (scaled)")
    ax.set_title("each seed (dots), mean and standard deviation (bars); baselines dashed")
    return figure
