"""`forecaster info`: what this installation runs on, read from the real machine."""

import os
import platform
import subprocess
import sys

from forecaster.cells.native import build
from forecaster.cli import commands as cli
from forecaster.cli import info


def test_the_instruction_set_is_read_from_the_flags_line_in_order():
    line = "flags\t: fpu avx512_fp16 sse4_2 avx2 fma avx avx512f lm"
    assert info.processor_extensions(line) == [
        "sse4_2",
        "avx",
        "avx2",
        "fma",
        "avx512f",
        "avx512_fp16",
    ]
    assert info.processor_extensions("flags\t: fpu lm") == []


def test_info_names_the_kernels_the_store_and_the_devices(tmp_path, monkeypatch, capsys):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    assert cli.main(["info"]) == 0
    lines = dict(line.split(":", 1) for line in capsys.readouterr().out.splitlines())
    shown = {label: value.strip() for label, value in lines.items()}
    assert shown["tracking URI"] == f"{uri} (MLFLOW_TRACKING_URI)"
    assert shown["processor"] == f"{build.processor_name()} ({platform.machine()})"
    assert shown["devices"].startswith("CPU:0")
    library = build.library_path(build.compiler())
    assert shown["native kernels"] == f"in use ({library})"
    recorded = build.built_with(library).get("flags")
    if recorded is not None:
        assert shown["built with"] == (" ".join(recorded) or "the compiler's default")
    assert shown["tensorflow"] == __import__("tensorflow").__version__
    assert not (tmp_path / "mlflow.db").exists()  # info reads the store's name, writes nothing


def test_info_says_why_the_kernels_are_off_and_the_store_cannot_open():
    env = {**os.environ, "FORECASTER_NATIVE": "0", "MLFLOW_TRACKING_URI": "sqlite:////proc/m.db"}
    result = subprocess.run(
        [sys.executable, "-m", "forecaster", "info"],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert (result.returncode, result.stderr) == (0, "")
    assert "native kernels:  not in use: FORECASTER_NATIVE=0 turns the native kernels off\n" in (
        result.stdout
    )
    assert (
        "tracking URI:    cannot be opened: MLFLOW_TRACKING_URI is sqlite:////proc/m.db: the "
        "folder /proc is not writable" in result.stdout
    )
