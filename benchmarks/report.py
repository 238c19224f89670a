"""Renders docs/results.md and the README's headline table from the results files.

python benchmarks/report.py           # writes docs/results.md and the README's block
python benchmarks/report.py --check   # exit status 1 if either is not what it would write

Every figure comes from a file a runner wrote (benchmarks/results/ltsf.csv by
pipelines/ltsf_grid.py, benchmarks/results/m4.csv by pipelines/m4_benchmark.py) and the
published figures from ../shared/data (its README's LTSF table, M4's published results);
the output depends on those files alone (no date, host or path), so the committed
documents are byte for byte what this writes. A point (data set, horizon, model,
configuration) is a mean +- standard deviation over its seeds; a point with fewer than
three seeds is listed as incomplete, not as a result. The cell reported for a data set
and horizon is the one with the lowest mean validation loss, chosen without the test part.
"""

import argparse
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
CELLS = ("rnn", "lstm", "gru", "cifg")
PUBLISHED = ("SegRNN", "PatchTST", "DLinear", "NLinear")
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"
SEEDS = 3


def published_ltsf(readme):
    """{(data, horizon): {method: (mse, mae)}} from the shared data README's table."""
    found = {}
    header = None
    for line in Path(readme).read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| data, horizon"):
            header = [re.sub(r" \(L=\d+\)", "", c) for c in cells[1:]]
            continue
        match = re.fullmatch(r"(\w+), (\d+)", cells[0]) if header and line.startswith("|") else None
        if match:
            pairs = [tuple(float(v) for v in c.split(" / ")) for c in cells[1:]]
            found[(match.group(1), int(match.group(2)))] = dict(zip(header, pairs, strict=True))
    return found


def _spread(values):
    values = np.asarray(values, dtype=float)
    std = values.std(ddof=1) if len(values) > 1 else 0.0
    return f"{values.mean():.3f} ± {std:.3f}"


def points(table, keys):
    """Mean, std and seeds per point (`keys` plus model and configuration)."""
    grouped = table.groupby([*keys, "model", "config_hash"], sort=True)
    return grouped


def ltsf_section(table, published):
    """The long-horizon results, per data set and horizon."""
    lines = ["## Long-horizon benchmark (LTSF)", ""]
    if table is None or table.empty:
        return [*lines, "No runs in benchmarks/results/ltsf.csv yet.", ""]
    lines += [
        "Scaled test MSE and MAE, mean ± standard deviation over seeds 0-2, of the committed",
        "configuration of each data set (`pipelines/configs/ltsf/`). **chosen** marks the cell",
        "with the lowest mean validation loss; p is Welch's t-test of its test MSE against the",
        "cell with the next lowest validation loss. Published figures are single runs.",
        "",
    ]
    incomplete = []
    for (data, horizon), part in table.groupby(["data", "horizon"], sort=True):
        rows, cells = [], {}
        for (model, config), runs in part.groupby(["model", "config_hash"], sort=True):
            if len(runs) < SEEDS:
                incomplete.append(f"{data} H={horizon} {model} ({len(runs)} seeds)")
                continue
            rows.append((model, config, runs))
            if model in CELLS:
                cells[(model, config)] = runs
        if not rows:
            continue
        order = sorted(cells, key=lambda key: cells[key]["val_loss"].mean())
        chosen = order[0] if order else None
        p_value = None
        if len(order) > 1:
            a, b = cells[order[0]]["mse"], cells[order[1]]["mse"]
            p_value = stats.ttest_ind(a, b, equal_var=False).pvalue
        lines += [f"### {data}, horizon {horizon}", ""]
        lines.append("| model | config | seeds | val loss | test MSE | test MAE |")
        lines.append("|---|---|---|---|---|---|")
        for model, config, runs in rows:
            mark = " **chosen**" if (model, config) == chosen else ""
            lines.append(
                f"| {model}{mark} | {config} | {len(runs)} | {runs['val_loss'].mean():.4f} | "
                f"{_spread(runs['mse'])} | {_spread(runs['mae'])} |"
            )
        for method in PUBLISHED:
            mse, mae = published.get((data, horizon), {}).get(method, (None, None))
            if mse is not None:
                lines.append(f"| {method} (published) | | 1 | | {mse:.3f} | {mae:.3f} |")
        if p_value is not None:
            lines += ["", f"Welch p, {order[0][0]} against {order[1][0]}: {p_value:.3g}."]
        lines.append("")
    if incomplete:
        lines += ["Incomplete points (not results): " + ", ".join(incomplete) + ".", ""]
    return lines


def m4_section(table, published):
    """The M4 Hourly results: points and intervals, beside the competition's best."""
    lines = ["## M4 Hourly", ""]
    if table is None or table.empty:
        return [*lines, "No runs in benchmarks/results/m4.csv yet.", ""]
    lines += [
        "Mean ± standard deviation over seeds of the runner's scores on the 414 series; the",
        "benchmarks are deterministic (one run). Rows with a level also scored the central",
        "interval of that coverage (MSIS, coverage).",
        "",
        "| model | interval | seeds | val loss | sMAPE | MASE | OWA | MSIS | coverage |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    table = table.assign(level=table["level"].fillna(0) if "level" in table else 0)
    for (model, _, level), runs in table.groupby(
        ["model", "config_hash", "level"], sort=True, dropna=False
    ):
        cell = model in CELLS
        if cell and len(runs) < SEEDS:
            continue
        val = f"{runs['val_loss'].mean():.4f}" if cell else ""
        interval = f"{int(level)}%" if level else ""
        msis = _spread(runs["msis"]) if level else ""
        coverage = _spread(runs["coverage"]) if level else ""
        lines.append(
            f"| {model} | {interval} | {len(runs) if cell else 1} | {val} | "
            f"{_spread(runs['smape'])} | {_spread(runs['mase'])} | {_spread(runs['owa'])} | "
            f"{msis} | {coverage} |"
        )
    if published is not None:
        best = published.sort_values("hourly_owa").head(3)
        lines += ["", "Published (the competition's best three hourly OWA, single runs):", ""]
        lines += ["| team | sMAPE | MASE | OWA | MSIS |", "|---|---|---|---|---|"]
        for _, row in best.iterrows():
            lines.append(
                f"| {row['team']} | {row['hourly_smape']:.3f} | {row['hourly_mase']:.3f} | "
                f"{row['hourly_owa']:.3f} | {row['hourly_msis']:.3f} |"
            )
    lines.append("")
    return lines


def _read(path):
    path = Path(path)
    if not path.is_file():
        return None
    return pd.read_csv(path, dtype={"config_hash": str})


def render(ltsf, m4, readme, m4_published):
    """The text of docs/results.md."""
    published = published_ltsf(readme) if Path(readme).is_file() else {}
    m4_table = pd.read_csv(m4_published) if Path(m4_published).is_file() else None
    lines = [
        "# Results",
        "",
        "Generated by `python benchmarks/report.py` from `benchmarks/results/*.csv`; do not",
        "edit by hand.",
        "",
        *ltsf_section(_read(ltsf), published),
        *m4_section(_read(m4), m4_table),
    ]
    return "\n".join(lines).rstrip() + "\n"


def headline(text):
    """The README's block: the M4 and LTSF lines of the chosen cells, from `render`'s text."""
    kept = [line for line in text.splitlines() if "**chosen**" in line or line.startswith("### ")]
    return "\n".join([BEGIN, *kept, END])


def main(argv=None):
    """Writes (or with --check, compares) docs/results.md and the README's block."""
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--check", action="store_true", help="compare instead of writing")
    args = options.parse_args(argv)
    text = render(
        ROOT / "benchmarks" / "results" / "ltsf.csv",
        ROOT / "benchmarks" / "results" / "m4.csv",
        SHARED / "README.md",
        SHARED / "m4" / "m4-hourly-published-results.csv",
    )
    out = ROOT / "docs" / "results.md"
    readme_path = ROOT / "README.md"
    readme = readme_path.read_text(encoding="utf-8")
    start, end = readme.find(BEGIN), readme.find(END)
    block = headline(text)
    new_readme = readme if start < 0 else readme[:start] + block + readme[end + len(END) :]
    if args.check:
        same = out.is_file() and out.read_text(encoding="utf-8") == text and new_readme == readme
        return 0 if same else 1
    out.write_text(text, encoding="utf-8")
    readme_path.write_text(new_readme, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
