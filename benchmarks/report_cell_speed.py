"""Renders the README's cell-speed table from `benchmarks/results/cell_speed.csv`.

For each set of kernel flags, the latest run that `benchmarks/cell_speed.py` appended: a row
per size, a column per cell, each cell "ours (Keras's) ms: ratio", under a line naming the
run, the commit, the processor and the load average at its start.

    python benchmarks/report_cell_speed.py                 # print the table
    python benchmarks/report_cell_speed.py --write README.md

`--write` replaces what stands between the `<!-- cell_speed:begin -->` and
`<!-- cell_speed:end -->` lines of the file.
"""

import argparse
import csv
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "cell_speed.csv"
BEGIN, END = "<!-- cell_speed:begin -->", "<!-- cell_speed:end -->"
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


def report(path):
    """Every flag set's latest table, separated by blank lines."""
    with open(path, newline="") as file:
        rows = list(csv.DictReader(file))
    return "\n\n".join(table(run) for run in latest_runs(rows).values())


def write(target, text):
    """Replaces the text between `BEGIN` and `END` in the file `target`."""
    content = Path(target).read_text()
    if BEGIN not in content or END not in content:
        sys.exit(f"{target} has no '{BEGIN}' ... '{END}' lines to write the table between")
    head, _, rest = content.partition(BEGIN)
    _, _, tail = rest.partition(END)
    Path(target).write_text(f"{head}{BEGIN}\n{text}\n{END}{tail}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", default=str(RESULTS), help="the CSV cell_speed.py wrote")
    parser.add_argument("--write", metavar="FILE", help="put the table into FILE's markers")
    args = parser.parse_args()
    text = report(args.results)
    if args.write:
        write(args.write, text)
    else:
        print(text)


if __name__ == "__main__":
    main()
