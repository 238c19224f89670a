"""`forecaster inspect FILE`: the report, and a config section that loads the file."""

import subprocess
import sys
from pathlib import Path

import yaml

from forecaster.cli import commands as cli
from forecaster.cli.sections import SourceConfig

ROOT = Path(__file__).resolve().parents[2]
TEXT = (
    "# logger export\n"
    "date;flow;state\n"
    "01.02.2024 00:00;1,5;on\n"
    "01.02.2024 01:00;2,5;off\n"
    "01.02.2024 02:00;-;on\n"
    "01.02.2024 03:00;4,5;on\n"
)


def test_the_section_it_prints_loads_the_file(tmp_path):
    path = tmp_path / "flow.csv"
    path.write_text(TEXT)
    result = subprocess.run(
        [sys.executable, "-m", "forecaster", "inspect", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stderr == ""  # notes are in the report, not repeated as warnings
    out = result.stdout
    assert "file: flow.csv, utf-8, separator ';' (found), header on line 2, numbers written " in out
    assert "time: 'date', step 'h', 2024-02-01 00:00:00 to 2024-02-01 03:00:00" in out
    section = yaml.safe_load(out.partition("config section:\n")[2])
    assert section == {
        "source": {
            "path": str(path),
            "skiprows": 1,
            "missing": "interpolate",
            "categorical": "onehot",
        }
    }
    frame = SourceConfig(**section["source"]).load()
    assert frame["flow"].tolist() == [1.5, 2.5, 3.5, 4.5]


def test_flags_are_the_first_options_and_a_bad_one_is_one_line(tmp_path, capsys):
    path = tmp_path / "flow.csv"
    path.write_text(TEXT)
    assert (
        cli.main(
            [
                "inspect",
                str(path),
                "--source.skiprows",
                "1",
                "--source.columns",
                "flow",
                "--source.missing",
                "zero",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert out.startswith("file: flow.csv")  # no refusal was left to meet
    assert "  flow: number, 1 missing, 0 to 4.5" in out
    assert cli.main(["inspect", str(path), "--source.skipfooter", "-2"]) == 2
    assert capsys.readouterr().err == (
        "forecaster inspect: error: source: skipfooter must be an integer >= 0, got -2\n"
    )
    assert cli.main(["inspect", str(tmp_path / "nope.csv")]) == 2
    assert capsys.readouterr().err.endswith("nope.csv is not a file\n")


def test_a_file_that_does_not_load_exits_1(tmp_path, capsys):
    path = tmp_path / "amb.csv"
    path.write_text("date;a\n2020-01-01;1,234\n2020-01-02;2,345\n")
    assert cli.main(["inspect", str(path)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("refused: amb.csv: column 'a' value '1,234' (row 1) reads as ")
    assert "config section" not in out
