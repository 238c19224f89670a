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
            # "mse (scaled)", not "test scaled_mse": a narrow column cuts a shared prefix
            label = f"{name[7:]} (scaled)" if name.startswith("scaled_") else name
            view[label] = spread(name)
    view["params"] = table["params"]
    view["s/epoch"] = table["seconds_per_epoch"].map(lambda v: f"{v:.2f}")
    return view


def holm(p_values):
    """Holm's step-down correction of the pairwise p-values (a symmetric DataFrame).

    Each pair is one test; the m tests' p-values, in increasing order, are multiplied by
    m, m - 1, ..., 1 and kept non-decreasing (capped at 1), which controls the chance of
    any false "significant" at the level used.
    """
    names = list(p_values.index)
    pairs = [(a, b) for a, b in itertools.combinations(names, 2) if pd.notna(p_values.loc[a, b])]
    adjusted = pd.DataFrame(np.nan, index=names, columns=names)
    ordered = sorted(pairs, key=lambda pair: p_values.loc[pair])
    running = 0.0
    for rank, (a, b) in enumerate(ordered):
        running = max(running, min(1.0, (len(ordered) - rank) * p_values.loc[a, b]))
        adjusted.loc[a, b] = adjusted.loc[b, a] = running
    return adjusted


def ranking(table, cells, metric):
    """Every model by its mean `metric`, lowest first: `(model, mean, std, seeds, kind)`."""
    name = column(metric)
    rows = [
        (model, row[f"{name}_mean"], row[f"{name}_std"], int(row["seeds"]))
        for model, row in table.iterrows()
    ]
    rows.sort(key=lambda item: item[1])
    return [(*item, "cell" if item[0] in cells else "baseline") for item in rows]


def verdict(table, adjusted, cells, metric, level=0.05):
    """One line on what the comparison supports, from the Holm-corrected p-values.

    It names the cell with the lowest mean and says whether it is significantly better
    than every other cell at `level`, and when a baseline's score is below every cell's.
    """
    ranked = ranking(table, cells, metric)
    tested = [item for item in ranked if item[4] == "cell"]
    if not tested:
        return "no cell finished; nothing to compare"
    best = tested[0]
    name = column(metric)
    others = [item[0] for item in tested[1:]]
    if not others:
        line = f"{best[0]} is the only cell that finished"
    elif best[3] < 2:
        line = f"{best[0]} has the lowest {name}; one seed per cell allows no test"
    else:
        p = {other: adjusted.loc[best[0], other] for other in others}
        unclear = [o for o in others if not p[o] < level]
        if not unclear:
            line = (
                f"{best[0]} wins: its {name} is significantly lower than every other cell's "
                f"(Holm-corrected Welch p ≤ {max(p.values()):.3g})"
            )
        else:
            worst = max(unclear, key=lambda o: p[o])
            line = (
                f"no significant winner: {best[0]} has the lowest mean {name}, but not "
                f"significantly below {', '.join(unclear)} (Holm-corrected Welch p = "
                f"{p[worst]:.3g} against {worst})"
            )
    beaten = [item for item in ranked if item[4] == "baseline" and item[1] < best[1]]
    if beaten:
        names = " and ".join(item[0] for item in beaten)
        line += f"; the baseline {names} beats every cell"
    return line + "."


def note(table, adjusted, cells, metric, title):
    """The parent run's description in markdown: ranking, p-values, verdict."""
    name = column(metric)
    lines = [f"## {title}", "", f"**Verdict:** {verdict(table, adjusted, cells, metric)}", ""]
    lines.append(f"| rank | model | kind | test {name} (mean ± std) | seeds |")
    lines.append("|---|---|---|---|---|")
    for rank, (model, mean, std, seeds, kind) in enumerate(ranking(table, cells, metric), 1):
        spread = f"{mean:.4g} ± {std:.2g}" if seeds > 1 else f"{mean:.4g}"
        lines.append(f"| {rank} | {model} | {kind} | {spread} | {seeds} |")
    if adjusted.notna().any().any():
        lines += ["", f"Holm-corrected Welch p-values of the test {name} between cells:", ""]
        lines.append(adjusted.to_markdown(floatfmt=".3g"))
    return "\n".join(lines)


def spread_plot(runs, cells, metric):
    """Each seed's metric per cell as a dot, with the mean and one standard deviation.

    Each baseline is a labelled dashed line. The axis spans the cells' values (and the
    baselines near them); a baseline far outside is not drawn to scale but named at the
    edge it lies beyond, with its value, so that it cannot squeeze the cells together.
    """
    column_ = column(metric)
    figure = Figure(figsize=(1.6 * len(cells) + 3, 3.8), layout="constrained")
    ax = figure.subplots()
    values = {cell: runs.loc[runs["model"] == cell, column_].to_numpy() for cell in cells}
    found = np.concatenate([v for v in values.values() if len(v)] or [np.zeros(0)])
    low, high = (found.min(), found.max()) if found.size else (0.0, 1.0)
    reach = max(high - low, 1e-12 + 0.05 * abs(high))
    baselines = runs.loc[runs["seed"].isna(), ["model", column_]].to_numpy()
    near = [(n, v) for n, v in baselines if low - 2 * reach <= v <= high + 2 * reach]
    far = [(n, v) for n, v in baselines if not low - 2 * reach <= v <= high + 2 * reach]
    for position, cell in enumerate(cells):
        if not len(values[cell]):  # every trial of this cell failed
            continue
        seeds = values[cell]
        ax.scatter(np.full(len(seeds), position), seeds, color="tab:blue", alpha=0.7)
        spread = seeds.std(ddof=1) if len(seeds) > 1 else 0.0
        ax.errorbar(position + 0.15, seeds.mean(), yerr=spread, fmt="o", color="black", capsize=4)
    right = len(cells) - 0.4
    for name, value in near:
        ax.axhline(value, linestyle="--", linewidth=1, color="0.5")
        ax.annotate(f"{name} {value:.4g}", (right, value), fontsize="small", color="0.3",
                    va="bottom", ha="right")  # fmt: skip
    shown = [low, high, *(v for _, v in near)]
    bottom, top = min(shown), max(shown)
    margin = 0.15 * max(top - bottom, reach)
    ax.set_ylim(bottom - margin, top + margin)
    for above in (True, False):  # one line per edge, so that their names never overlap
        beyond = [(n, v) for n, v in far if (v > top) == above]
        if beyond:
            names = ", ".join(f"{n} {v:.4g}" for n, v in sorted(beyond, key=lambda b: b[1]))
            edge, va = (top + margin, "top") if above else (bottom - margin, "bottom")
            ax.annotate(f"{'↑' if above else '↓'} off scale: {names}", (right, edge),
                        fontsize="small", color="tab:red", va=va, ha="right")  # fmt: skip
    ax.set_xlim(-0.5, len(cells) - 0.3)
    ax.set_xticks(range(len(cells)), cells)
    ax.set_ylabel(f"test {metric}" + ("" if is_probabilistic(metric) else " (scaled)"))
    ax.set_title("each seed (dots), mean ± std (bars); baselines dashed, named at the right")
    return figure
