"""Renders the cell-speed tables from `benchmarks/results/cell_speed.csv`.

For each set of kernel flags, the latest run that `benchmarks/cell_speed.py` appended: a row
per size, a column per cell, each cell "ours (Keras's) ms: ratio", under a line naming the
run, the commit, the processor and the load average at its start.

    python benchmarks/report_cell_speed.py            # print the tables
    python benchmarks/report_cell_speed.py --write    # README.md and docs/performance.md
    python benchmarks/report_cell_speed.py --write docs/performance.md

`--write` replaces what stands between each `<!-- cell_speed:begin -->` line and the next
`<!-- cell_speed:end -->` line of the files: every flag set's table, or only one flag set's
where the begin line names it, as the README's headline does:
`<!-- cell_speed:begin kernels=-march=native -->`.
"""

import argparse
import csv
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "cell_speed.csv"
# The files `--write` renders into when it names none.
TARGETS = (ROOT / "README.md", ROOT / "docs" / "performance.md")
# A marked block: the begin line (with an optional flag set), the old table, the end line.
BLOCK = re.compile(
    r"^(<!-- cell_speed:begin(?: kernels=(?P<kernels>\S+))? -->\n)(.*?)^(<!-- cell_speed:end -->)$",
    re.MULTILINE | re.DOTALL,
)
CELLS = {"rnn": "tanh RNN", "lstm": "LSTM", "gru": "GRU", "cifg": "CIFG"}
BASELINE = {"rnn": "SimpleRNN", "lstm": "LSTM", "cifg": "LSTM", "gru": "GRU"}


def latest_runs(rows):
    """{kernel flags: that flag set's rows of its latest run}, in the order first seen."""
    latest = {}
    for row in rows:
        if row["run"] >= latest.get(row["kernels"], ""):
            latest[row["kernels"]] = row["run"]
    return {
        kernels: [row for row in rows if row["run"] == run and row["kernels"] == kernels]
        for kernels, run in latest.items()
    }


def table(rows):
    """The markdown table of one run's rows."""
    first = rows[0]
    sizes = list(dict.fromkeys(row["size"] for row in rows))
    times = {(row["size"], row["model"]): row for row in rows}
    cells = [cell for cell in CELLS if any(row["model"] == f"ours:{cell}" for row in rows)]
    lines = [
        f"Kernels built with `{first['kernels']}`: run {first['run']}, commit {first['commit']},"
        f" {first['cpu']} ({first['isa']}), load average {first['load_start']} at the start.",
        "",
        "| batch x steps x units | "
        + " | ".join(f"{CELLS[c]} ({BASELINE[c]})" for c in cells)
        + " |",
        "|---|" + "---|" * len(cells),
    ]
    for size in sizes:
        entries = []
        for cell in cells:
            ours, keras = times[size, f"ours:{cell}"], times[size, f"keras:{BASELINE[cell]}"]
            entries.append(f"{ours['train_ms']} ({keras['train_ms']}): {ours['vs_keras']}")
        lines.append(f"| {size.replace('x', ' x ')} | " + " | ".join(entries) + " |")
    return "\n".join(lines)


def report(runs, kernels=None):
    """Every flag set's latest table, separated by blank lines; only `kernels`' if given."""
    if kernels is None:
        return "\n\n".join(table(run) for run in runs.values())
    if kernels not in runs:
        sys.exit(f"no run with kernels {kernels!r} in the results; there are {list(runs)}")
    return table(runs[kernels])


def write(target, runs):
    """Renders every marked block of the file `target` anew."""
    content = Path(target).read_text()
    if not BLOCK.search(content):
        sys.exit(
            f"{target} has no '<!-- cell_speed:begin -->' ... '<!-- cell_speed:end -->' lines "
            "to write the tables between"
        )

    def render(match):
        return f"{match[1]}{report(runs, match['kernels'])}\n{match[4]}"

    Path(target).write_text(BLOCK.sub(render, content))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", default=str(RESULTS), help="the CSV cell_speed.py wrote")
    parser.add_argument(
        "--write",
        nargs="*",
        metavar="FILE",
        help="render the tables into each FILE's markers (none named: README.md and "
        "docs/performance.md)",
    )
    args = parser.parse_args()
    with open(args.results, newline="") as file:
        runs = latest_runs(list(csv.DictReader(file)))
    if args.write is None:
        print(report(runs))
        return
    for target in args.write or TARGETS:
        write(target, runs)


if __name__ == "__main__":
    main()
