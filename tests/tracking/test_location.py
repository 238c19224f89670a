"""Where runs go, checked without MLflow: a store that cannot be opened is refused at once."""

import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import forecaster.tracking
from forecaster.tracking import location
from forecaster.tracking.location import TrackingStoreError, tracking_uri, ui_command
from tests.assertions import raises_exactly

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("keras", "mlflow", "pandas", "tensorflow")


def python(code, env, cwd=None):
    """Runs `code` in a fresh interpreter; returns the finished process (text output)."""
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def without_store(**extra):
    """This environment without MLFLOW_TRACKING_URI, and with `extra`."""
    return {**{k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}, **extra}


LIGHT = f"""
import sys
from forecaster.tracking.location import TrackingStoreError, tracking_uri, ui_command
import forecaster.tracking
names = [getattr(forecaster.tracking, name) for name in ("tracking_uri", "ui_command")]
try:
    print(tracking_uri())
    print(ui_command(5001)[-1])
except TrackingStoreError as error:
    print(f"{{type(error).__module__}}.{{type(error).__name__}}: {{error}}")
print(sorted(m for m in {HEAVY!r} if m in sys.modules))
"""


def test_the_location_loads_no_mlflow_tensorflow_keras_or_pandas(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    result = python(LIGHT, without_store(MLFLOW_TRACKING_URI=uri))
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout == f"{uri}\n{uri}\n[]\n"


def test_a_store_that_cannot_be_opened_is_refused_before_mlflow_loads():
    # /proc takes no new files even from root, who passes every permission check.
    result = python(LIGHT, without_store(MLFLOW_TRACKING_URI="sqlite:////proc/mlflow.db"))
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout == (
        "forecaster.tracking.location.TrackingStoreError: MLFLOW_TRACKING_URI is "
        "sqlite:////proc/mlflow.db: the folder /proc is not writable; point "
        "MLFLOW_TRACKING_URI at a database in a folder you can write to\n"
        "[]\n"
    )


def test_each_public_name_of_the_package_is_its_modules():
    homes = {
        "TrackingStoreError": "location",
        "compare_cells": "comparing",
        "open_store": "store",
        "project_root": "location",
        "track_fit": "runs",
        "track_split": "runs",
        "tracking_uri": "location",
        "ui_command": "location",
    }
    assert sorted(forecaster.tracking.__all__) == sorted(homes)
    assert set(forecaster.tracking.__all__) <= set(dir(forecaster.tracking))
    for name, module in homes.items():
        home = importlib.import_module(f"forecaster.tracking.{module}")
        assert getattr(forecaster.tracking, name) is getattr(home, name), name
    with pytest.raises(AttributeError) as error:
        forecaster.tracking.tracking_url  # noqa: B018
    assert str(error.value) == "module 'forecaster.tracking' has no attribute 'tracking_url'"


def test_a_store_that_opens_is_taken_as_it_is(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    assert tracking_uri() == uri
    assert os.listdir(tmp_path) == []  # checking it wrote nothing
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
    assert tracking_uri() == "http://127.0.0.1:5000"  # a server is its own business


def test_the_ui_command_serves_the_store_it_checked(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    assert ui_command(5001) == [
        sys.executable, "-m", "mlflow", "ui", "--host", "127.0.0.1", "--port", "5001",
        "--backend-store-uri", uri,
    ]  # fmt: skip
    assert os.listdir(tmp_path) == []
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'missing' / 'mlflow.db'}")
    with raises_exactly(
        TrackingStoreError,
        f"MLFLOW_TRACKING_URI is sqlite:///{tmp_path / 'missing' / 'mlflow.db'}: the folder "
        f"{tmp_path / 'missing'} does not exist; point MLFLOW_TRACKING_URI at a database in a "
        "folder you can write to",
    ):
        ui_command(5001)


@pytest.mark.parametrize(
    ("uri", "found"),
    [
        ("sqlite:////tmp/runs/mlflow.db?timeout=20", ("sqlite", "/tmp/runs/mlflow.db")),
        ("sqlite:///:memory:", None),
        ("file:///tmp/my%20runs", ("file", "/tmp/my runs")),
        ("/tmp/mlruns", ("file", "/tmp/mlruns")),
        ("http://127.0.0.1:5000", None),
        ("postgresql://user@db/mlflow", None),
    ],
)
def test_the_local_path_an_uri_names(uri, found):
    path = location.local_path(uri)
    assert (path if path is None else (path[0], str(path[1]))) == found


DEFAULT_STORE = """
from forecaster.tracking.location import TrackingStoreError, tracking_uri
try:
    tracking_uri()
except TrackingStoreError as error:
    print(error)
"""


def test_the_default_store_where_its_folder_cannot_be_made(tmp_path):
    """The package outside a checkout keeps its store under the working directory."""
    shutil.copytree(
        ROOT / "forecaster", tmp_path / "forecaster", ignore=shutil.ignore_patterns("__pycache__")
    )
    result = python(DEFAULT_STORE, without_store(PYTHONPATH=str(tmp_path)), cwd="/proc")
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout == (
        "the default store /proc/mlruns/mlflow.db: the folder /proc is not writable; "
        "set MLFLOW_TRACKING_URI to a store you can write to\n"
    )
