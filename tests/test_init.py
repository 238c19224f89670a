import subprocess
import sys


def test_import_is_light_and_tracking_loads_on_first_use():
    """`import forecaster` must not import mlflow; `forecaster.compare_cells` then does."""
    code = (
        "import sys, forecaster as fc\n"
        "assert 'mlflow' not in sys.modules, 'mlflow imported eagerly'\n"
        "assert fc.compare_cells is fc.tracking.compare_cells\n"
        "from forecaster import tracking\n"
        "assert tracking is fc.tracking and 'mlflow' in sys.modules\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
