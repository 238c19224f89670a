import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_demo_script_prints_the_comparison():
    result = subprocess.run(
        [sys.executable, "pipelines/demo_cells.py", "--demo.cells", "gru", "--demo.epochs", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert any(line.startswith("naive (repeat last value)") for line in lines)
    assert any(line.startswith("gru ") for line in lines)
    assert "Lowest test MSE: gru" in result.stdout
