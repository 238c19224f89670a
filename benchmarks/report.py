"""Renders docs/results.md and the README's headline table from the results files.

python benchmarks/report.py           # writes docs/results.md and the README's block
python benchmarks/report.py --check   # exit status 1 if either is not what it would write

Every figure comes from a file a runner wrote (benchmarks/results/ltsf.csv by
pipelines/ltsf_grid.py, benchmarks/results/m4.csv by pipelines/m4_benchmark.py) and the
published figures from ../shared/data (its README's LTSF table, M4's published results);
the output depends on those files alone (no date, host or path), so the committed
documents are byte for byte what this writes. A point (data set, horizon, model,
configuration) is a mean +- standard deviation over its seeds; a cell's point with fewer
than three seeds is listed as incomplete, not as a result (a baseline has no seed: one
run). The cell reported for a data set and horizon is the one with the lowest mean
validation loss, chosen without the test part.
"""

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from forecaster.cli.results import SEEDS, point_hash

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
CELLS = ("rnn", "lstm", "gru", "cifg")
GATED = ("lstm", "gru", "cifg")
SCORES = ("smape", "mase", "owa", "msis", "coverage")  # M4's, per run
PUBLISHED = ("SegRNN", "PatchTST", "DLinear", "NLinear")
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"


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
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{values.mean():.3f} ± {values.std(ddof=1):.3f}"


def point_config(text):
    """A run's configuration without what varies between its point's seeds, as 12 digits.

    The runners' own `point_hash`; "" for a run with none (a benchmark method).
    """
    if not isinstance(text, str) or not text:
        return ""
    return point_hash(json.loads(text))


def _published_at(published, data, horizon, method):
    """A published (MSE, MAE), or (None, None); the README writes "Weather", the grid "weather"."""
    for (name, steps), methods in published.items():
        if name.lower() == data.lower() and steps == horizon:
            return methods.get(method, (None, None))
    return None, None


def summary_section(summaries, published):
    """One line per published point: the chosen cell beside our baselines and the goals."""
    lines = [
        "### The recipe on every data set",
        "",
        "The same configuration on every set. Test MSE: the cell chosen by validation loss",
        "(mean over seeds), our naive and linear baselines under the same protocol, and the",
        "published SegRNN and DLinear figures. *≤ SegRNN*: the chosen cell's mean is at or",
        "below SegRNN's; *gated < DLinear*: every gated cell's mean is below DLinear's.",
        "",
        "| data, horizon | chosen cell | its MSE | linear | naive | SegRNN | DLinear "
        "| ≤ SegRNN | gated < DLinear | beats linear |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    ours = {(data.lower(), horizon): found for (data, horizon), found in summaries.items()}
    named = {(data.lower(), horizon) for data, horizon in published}
    points = set(published) | {key for key in summaries if (key[0].lower(), key[1]) not in named}
    for data, horizon in sorted(points, key=lambda key: (key[0].lower(), key[1])):
        found = ours.get((data.lower(), horizon), {})
        segrnn = _published_at(published, data, horizon, "SegRNN")[0]
        dlinear = _published_at(published, data, horizon, "DLinear")[0]
        chosen, gated = found.get("chosen"), found.get("gated", {})
        linear, naive = found.get("linear"), found.get("naive")
        mse = chosen[1] if chosen else None
        gated_below = None
        if dlinear is not None and len(gated) == len(GATED):
            gated_below = all(value < dlinear for value in gated.values())
        cells = [
            f"{data}, {horizon}",
            f"{chosen[0]} (of {len(found['cells'])})" if chosen else "not run",
            _number(mse),
            _number(linear),
            _number(naive),
            _number(segrnn),
            _number(dlinear),
            _verdict(None if None in (mse, segrnn) else mse <= segrnn),
            _verdict(gated_below),
            _verdict(None if None in (mse, linear) else mse < linear),
        ]
        lines.append(f"| {' | '.join(cells)} |")
    return [*lines, ""]


def _of(cell, cells):
    """The chosen cell and how many it was chosen from: "lstm (of 3: cifg, gru, lstm)"."""
    names = sorted({model for model, _ in cells})
    return f"{cell} (of {len(names)}: {', '.join(names)})"


def _verdict(holds):
    """A goal's cell: "yes", "**no**", or "" when it cannot be judged yet."""
    return "" if holds is None else ("yes" if holds else "**no**")


def _number(value):
    return "" if value is None else f"{value:.3f}"


def ltsf_section(table, published, headline):
    """The long-horizon results, per data set and horizon; adds its rows to `headline`."""
    lines = ["## Long-horizon benchmark (LTSF)", ""]
    if table is None or table.empty:
        return [*lines, "No runs in benchmarks/results/ltsf.csv yet.", ""]
    summaries = {}
    lines += [
        "Scaled test MSE and MAE, mean ± standard deviation over seeds 0-2 (one run of a",
        "baseline, which has no seed), of the committed configuration of each data set",
        "(`pipelines/configs/ltsf/`). **chosen** marks the cell with the lowest mean",
        "validation loss; p is Welch's t-test of its test MSE against the cell with the next",
        "lowest validation loss. Published figures are single runs.",
        "",
    ]
    intro = len(lines)  # the summary goes here, once every point is read
    incomplete = []
    for (data, horizon), part in table.groupby(["data", "horizon"], sort=True):
        rows, cells = [], {}
        for (model, config), runs in part.groupby(["model", "config_hash"], sort=True):
            if model in CELLS and len(runs) < SEEDS:  # a baseline has no seed: one run
                incomplete.append(f"{data} H={horizon} {model} ({len(runs)} seeds)")
                continue
            rows.append((model, config, runs))
            if model in CELLS:
                cells[(model, config)] = runs
        if not rows:
            continue
        order = sorted(cells, key=lambda key: cells[key]["val_loss"].mean())
        chosen = order[0] if order else None
        summary = summaries.setdefault((data, horizon), {"gated": {}})
        for model, _, runs in rows:
            if model in ("naive", "linear"):
                summary[model] = runs["mse"].mean()
            elif model in GATED:
                summary["gated"][model] = runs["mse"].mean()
        if chosen is not None:
            summary["chosen"] = (chosen[0], cells[chosen]["mse"].mean())
            summary["cells"] = sorted({model for model, _ in cells})
        p_value = None
        if len(order) > 1:
            a, b = cells[order[0]]["mse"], cells[order[1]]["mse"]
            if a.std() + b.std() > 0:  # two spreads of nought have no test
                p_value = stats.ttest_ind(a, b, equal_var=False).pvalue
        lines += [f"### {data}, horizon {horizon}", ""]
        lines.append("| model | config | seeds | val loss | test MSE | test MAE |")
        lines.append("|---|---|---|---|---|---|")
        for model, config, runs in rows:
            mark = " **chosen**" if (model, config) == chosen else ""
            # A cell's validation loss is its training loss; a baseline's is not comparable.
            val = f"{runs['val_loss'].mean():.4f}" if model in CELLS else ""
            lines.append(
                f"| {model}{mark} | {config} | {len(runs)} | {val} | "
                f"{_spread(runs['mse'])} | {_spread(runs['mae'])} |"
            )
        for method in PUBLISHED:
            mse, mae = _published_at(published, data, horizon, method)
            if mse is not None:
                lines.append(f"| {method} (published) | | 1 | | {mse:.3f} | {mae:.3f} |")
        if p_value is not None:
            lines += ["", f"Welch p, {order[0][0]} against {order[1][0]}: {p_value:.3g}."]
        lines.append("")
        if chosen is not None:
            segrnn = _published_at(published, data, horizon, "SegRNN")[0]
            headline.append(
                (f"{data}, horizon {horizon}", "test MSE", _of(chosen[0], cells),
                 _spread(cells[chosen]["mse"]),
                 "SegRNN" if segrnn else "", f"{segrnn:.3f}" if segrnn else "")
            )  # fmt: skip
    if incomplete:
        lines += ["Incomplete points (not results): " + ", ".join(incomplete) + ".", ""]
    return [*lines[:intro], *summary_section(summaries, published), *lines[intro:]]


def m4_section(table, published, headline):
    """The M4 Hourly results beside the competition's best; adds its rows to `headline`."""
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
    groups = table.groupby(["model", "config_hash", "level"], sort=True, dropna=False)
    complete = {key: runs for key, runs in groups if key[0] not in CELLS or len(runs) >= SEEDS}
    chosen = {}  # per interval level: the cell point with the lowest mean validation loss
    for key, runs in complete.items():
        if key[0] in CELLS:
            best = chosen.get(key[2])
            if best is None or runs["val_loss"].mean() < complete[best]["val_loss"].mean():
                chosen[key[2]] = key
    best = published.sort_values("hourly_owa").iloc[0] if published is not None else None
    for level, key in sorted(chosen.items()):
        runs = complete[key]
        cell = _of(key[0], [k[:2] for k in complete if k[0] in CELLS and k[2] == level])
        if level:
            headline.append(
                ("M4 Hourly", f"MSIS of the {int(level)}% interval", cell,
                 f"{_spread(runs['msis'])} (coverage {runs['coverage'].mean():.3f})",
                 "best published MSIS", f"{published['hourly_msis'].min():.3f}")
            )  # fmt: skip
        else:
            team, owa = ("", "") if best is None else (best["team"], f"{best['hourly_owa']:.3f}")
            headline.append(("M4 Hourly", "OWA", cell, _spread(runs["owa"]), team, owa))
    for key, runs in complete.items():
        model, _, level = key
        cell = model in CELLS
        if not cell:  # a deterministic method run again is the same result, not another
            runs = runs.drop_duplicates([c for c in SCORES if c in runs])
        mark = " **chosen**" if chosen.get(level) == key else ""
        val = f"{runs['val_loss'].mean():.4f}" if cell else ""
        interval = f"{int(level)}%" if level else ""
        msis = _spread(runs["msis"]) if level else ""
        coverage = _spread(runs["coverage"]) if level else ""
        lines.append(
            f"| {model}{mark} | {interval} | {len(runs)} | {val} | "
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
    """A results file with each run's point configuration as "config_hash"."""
    path = Path(path)
    if not path.is_file():
        return None
    table = pd.read_csv(path, dtype={"config_hash": str, "config": str})
    return table.assign(config_hash=table["config"].map(point_config))


def render(ltsf, m4, readme, m4_published):
    """The text of docs/results.md, and the headline rows.

    A row is (benchmark, score, chosen cell, its value, published method, its value).
    """
    rows = []
    published = published_ltsf(readme) if Path(readme).is_file() else {}
    m4_table = pd.read_csv(m4_published) if Path(m4_published).is_file() else None
    lines = [
        "# Results",
        "",
        "Generated by `python benchmarks/report.py` from `benchmarks/results/*.csv`; do not",
        "edit by hand.",
        "",
        *ltsf_section(_read(ltsf), published, rows),
        *m4_section(_read(m4), m4_table, rows),
    ]
    return "\n".join(lines).rstrip() + "\n", rows


def headline(rows):
    """The README's block: each benchmark's chosen cell beside the best published figure."""
    lines = [
        BEGIN,
        "| benchmark | score | cell chosen by validation | its test score, 3 seeds | "
        "published | its score |",
        "|---|---|---|---|---|---|",
        *(f"| {' | '.join(row)} |" for row in rows),
        "",
        "Generated by `python benchmarks/report.py`; every point in "
        "[docs/results.md](docs/results.md).",
        END,
    ]
    return "\n".join(lines)


def main(argv=None):
    """Writes (or with --check, compares) docs/results.md and the README's block."""
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--check", action="store_true", help="compare instead of writing")
    args = options.parse_args(argv)
    text, rows = render(
        ROOT / "benchmarks" / "results" / "ltsf.csv",
        ROOT / "benchmarks" / "results" / "m4.csv",
        SHARED / "README.md",
        SHARED / "m4" / "m4-hourly-published-results.csv",
    )
    out = ROOT / "docs" / "results.md"
    readme_path = ROOT / "README.md"
    readme = readme_path.read_text(encoding="utf-8")
    start, end = readme.find(BEGIN), readme.find(END)
    block = headline(rows)
    new_readme = readme if start < 0 else readme[:start] + block + readme[end + len(END) :]
    if args.check:
        same = out.is_file() and out.read_text(encoding="utf-8") == text and new_readme == readme
        return 0 if same else 1
    out.write_text(text, encoding="utf-8")
    readme_path.write_text(new_readme, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
