"""benchmarks/report.py: figures from the results files alone, chosen on validation."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "report.py"
spec = importlib.util.spec_from_file_location("report", SCRIPT)
report = importlib.util.module_from_spec(spec)
spec.loader.exec_module(report)


def test_the_committed_documents_are_what_the_report_writes():
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, "run python benchmarks/report.py and commit its output"


def _ltsf(tmp_path, rows):
    columns = ["data", "horizon", "lookback", "model", "seed", "config", "val_loss", "mse", "mae"]
    table = pd.DataFrame(rows, columns=columns)
    path = tmp_path / "ltsf.csv"
    table.to_csv(path, index=False)
    return path


def test_the_cell_is_chosen_by_validation_loss_not_by_its_test_score(tmp_path):
    config = json.dumps({"network.units": 512})
    rows = []
    for seed in range(3):
        # lstm: the better validation loss, the worse test score
        rows.append(["ETTh1", 96, 720, "lstm", seed, config, 0.30, 0.36 + seed / 100, 0.40])
        rows.append(["ETTh1", 96, 720, "gru", seed, config, 0.31, 0.34 + seed / 100, 0.39])
    rows.append(["ETTh1", 96, 720, "cifg", 0, config, 0.20, 0.30, 0.35])  # one seed only
    path = _ltsf(tmp_path, rows)
    text, headline = report.render(path, tmp_path / "none.csv", ROOT / "missing", tmp_path / "x")
    assert "| lstm **chosen** |" in text
    assert "| gru |" in text
    assert "Incomplete points (not results): ETTh1 H=96 cifg (1 seeds)." in text
    chosen = "lstm (of 2: gru, lstm)"  # cifg's one seed is not a point to choose from
    assert headline == [("ETTh1, horizon 96", "test MSE", chosen, "0.370 ± 0.010", "", "")]
    assert "Welch p, lstm against gru: " in text
    # The same files give the same bytes.
    assert report.render(path, tmp_path / "none.csv", ROOT / "missing", tmp_path / "x")[0] == text


@pytest.mark.parametrize("readme", [ROOT.parent / "shared" / "data" / "README.md"])
def test_the_published_figures_are_read_from_the_shared_readme(readme):
    if not readme.is_file():
        pytest.skip(f"{readme} is not shared")
    published = report.published_ltsf(readme)
    assert len(published) == 20
    assert published[("ETTh1", 96)]["SegRNN"] == (0.351, 0.392)
    assert published[("Weather", 720)]["DLinear"] == (0.323, 0.362)


def test_the_summary_marks_the_goals_per_point_beside_our_baselines(tmp_path):
    config = json.dumps({"network.units": 512})
    rows = [["weather", 96, 720, "linear", 0, "{}", 0.9, 0.150, 0.2]]
    rows.append(["weather", 96, 720, "naive", 0, "{}", 0.9, 0.260, 0.3])
    for seed in range(3):
        rows.append(["weather", 96, 720, "lstm", seed, config, 0.30, 0.140 + seed / 1000, 0.2])
        rows.append(["weather", 96, 720, "gru", seed, config, 0.31, 0.170 + seed / 500, 0.2])
        rows.append(["weather", 96, 720, "cifg", seed, config, 0.32, 0.180 + seed / 500, 0.2])
    readme = tmp_path / "README.md"
    readme.write_text(
        "| data, horizon | SegRNN (L=720) | DLinear (L=336) |\n|---|---|---|\n"
        "| Weather, 96 | 0.143 / 0.198 | 0.176 / 0.237 |\n"
        "| ETTh1, 96 | 0.351 / 0.392 | 0.375 / 0.399 |\n"
    )
    text, _ = report.render(_ltsf(tmp_path, rows), tmp_path / "none.csv", readme, tmp_path / "x")
    # The grid's "weather" is the README's "Weather": one line. lstm (chosen on validation)
    # is under SegRNN and beats our linear; cifg is above DLinear, so not every gated cell is.
    assert (
        "| Weather, 96 | lstm (of 3) | 0.141 | 0.150 | 0.260 | 0.143 | 0.176 | yes | **no** | yes |"
        in text
    )
    assert "| ETTh1, 96 | not run |  |  |  | 0.351 | 0.375 |  |  |  |" in text
    assert sum(line.lower().startswith("| weather, 96 |") for line in text.splitlines()) == 1
    linear = f"| linear | {report.point_config('{}')} | 1 |  | 0.150 | 0.200 |"
    assert linear in text  # a baseline: one run, and no validation loss to set beside a cell's


def test_a_deterministic_benchmark_run_twice_is_one_result(tmp_path):
    columns = ["model", "seed", "config", "val_loss", "smape", "mase", "owa"]
    same = ["naive2", 0, "", None, 18.383, 2.395, 1.0]
    path = tmp_path / "m4.csv"
    pd.DataFrame([same, same], columns=columns).to_csv(path, index=False)
    text, _ = report.render(tmp_path / "none.csv", path, ROOT / "missing", tmp_path / "x")
    assert "| naive2 |  | 1 |  | 18.383 | 2.395 | 1.000 |  |  |" in text
