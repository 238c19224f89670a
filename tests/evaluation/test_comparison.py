"""The comparison's statistics: Holm's correction, the ranking and the verdict."""

import numpy as np
import pandas as pd
import pytest

from forecaster.evaluation import comparison


def _p(values):
    names = ["a", "b", "c"]
    frame = pd.DataFrame(np.nan, index=names, columns=names)
    for (x, y), p in values.items():
        frame.loc[x, y] = frame.loc[y, x] = p
    return frame


def test_holm_multiplies_by_the_remaining_tests_and_keeps_the_order():
    adjusted = comparison.holm(_p({("a", "b"): 0.01, ("a", "c"): 0.04, ("b", "c"): 0.03}))
    # Sorted 0.01, 0.03, 0.04 times 3, 2, 1: 0.03, 0.06, then max(0.06, 0.04) = 0.06.
    assert adjusted.loc["a", "b"] == pytest.approx(0.03)
    assert adjusted.loc["b", "c"] == pytest.approx(0.06)
    assert adjusted.loc["a", "c"] == pytest.approx(0.06)
    assert adjusted.loc["c", "a"] == adjusted.loc["a", "c"]


def _table(means, seeds):
    rows = {
        name: {"seeds": seeds.get(name, 3), "scaled_mse_mean": mean, "scaled_mse_std": 0.01}
        for name, mean in means.items()
    }
    return pd.DataFrame.from_dict(rows, orient="index")


def test_the_verdict_names_a_significant_winner_and_a_baseline_that_beats_it():
    table = _table({"lstm": 0.20, "gru": 0.30, "naive": 0.50}, {"naive": 1})
    adjusted = pd.DataFrame([[np.nan, 0.001], [0.001, np.nan]], ["lstm", "gru"], ["lstm", "gru"])
    assert comparison.verdict(table, adjusted, ["lstm", "gru"], "mse") == (
        "lstm wins: its scaled_mse is significantly lower than every other cell's "
        "(Holm-corrected Welch p ≤ 0.001)."
    )
    table = _table({"lstm": 0.20, "gru": 0.21, "linear": 0.10}, {"linear": 1})
    adjusted.loc["lstm", "gru"] = adjusted.loc["gru", "lstm"] = 0.4
    assert comparison.verdict(table, adjusted, ["lstm", "gru"], "mse") == (
        "no significant winner: lstm has the lowest mean scaled_mse, but not significantly "
        "below gru (Holm-corrected Welch p = 0.4 against gru); the baseline linear beats "
        "every cell."
    )


def test_the_spread_plot_marks_a_baseline_far_off_the_cells_scale():
    runs = pd.DataFrame(
        {
            "model": ["lstm", "lstm", "gru", "gru", "naive", "linear"],
            "seed": [0, 1, 0, 1, None, None],
            "scaled_mse": [0.33, 0.34, 0.36, 0.37, 1.41, 0.35],
        }
    )
    (ax,) = comparison.spread_plot(runs, ["lstm", "gru"], "mse").axes
    _, high = ax.get_ylim()
    assert high < 0.5  # the cells' differences are visible, not squeezed under 1.41
    labels = [text.get_text() for text in ax.texts]
    assert labels == ["linear 0.35", "↑ off scale: naive 1.41"]
