"""A store that cannot be opened is refused by whatever opens it, with nothing written.

The checks themselves, and the default store, are in tests/test_tracking_location.py.
"""

import os
import subprocess

import pytest
from mlflow.tracking import MlflowClient

import forecaster as fc
from forecaster.tracking import TrackingStoreError, store
from tests.assertions import raises_exactly
from tests.tracking.test_tracking import OPTIONS, births

REMEDY = "point MLFLOW_TRACKING_URI at a database in a folder you can write to"


def test_a_folder_nobody_can_write_is_refused(monkeypatch):
    # /proc takes no new files even from root, who passes every permission check.
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:////proc/mlflow.db")
    with raises_exactly(
        TrackingStoreError,
        f"MLFLOW_TRACKING_URI is sqlite:////proc/mlflow.db: the folder /proc is not writable; "
        f"{REMEDY}",
    ):
        fc.compare_cells(births(), cells=["rnn"], seeds=1, progress=False, **OPTIONS)


def test_a_missing_folder_is_refused_and_not_made(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'missing' / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    parts = fc.split(births(), 0.8, 0.0, 0.2, lookback=14)
    with raises_exactly(
        TrackingStoreError,
        f"MLFLOW_TRACKING_URI is {uri}: the folder {tmp_path / 'missing'} does not exist; {REMEDY}",
    ):
        fc.track_fit(fc.Forecaster(cell="rnn", **OPTIONS), parts.train, parts.test)
    assert os.listdir(tmp_path) == []


def test_a_file_where_the_folder_should_be_is_refused(tmp_path, monkeypatch):
    (tmp_path / "notes.txt").write_text("not a folder")
    uri = f"sqlite:///{tmp_path / 'notes.txt' / 'runs' / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    with raises_exactly(
        TrackingStoreError,
        f"MLFLOW_TRACKING_URI is {uri}: {tmp_path / 'notes.txt'} is a file, not a folder; {REMEDY}",
    ):
        store.experiment_id("refused")
    assert os.listdir(tmp_path) == ["notes.txt"]


def test_a_folder_where_the_database_should_be_is_refused(tmp_path, monkeypatch):
    (tmp_path / "mlflow.db").mkdir()
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    with raises_exactly(
        TrackingStoreError,
        f"MLFLOW_TRACKING_URI is {uri}: {tmp_path / 'mlflow.db'} is a folder, not a database "
        f"file; {REMEDY}",
    ):
        store.experiment_id("refused")
    assert os.listdir(tmp_path) == ["mlflow.db"]
    assert os.listdir(tmp_path / "mlflow.db") == []


@pytest.fixture
def read_only_database(tmp_path):
    """A real store whose database file this process cannot open for writing."""
    database = tmp_path / "mlflow.db"
    MlflowClient(tracking_uri=f"sqlite:///{database}").create_experiment("before")
    database.chmod(0o444)
    immutable = os.geteuid() == 0  # root writes read-only files; an immutable one it cannot
    if immutable and subprocess.run(["chattr", "+i", str(database)], check=False).returncode:
        pytest.skip("running as root on a file system without chattr +i")
    yield database
    if immutable:
        subprocess.run(["chattr", "-i", str(database)], check=True)


def test_a_database_that_cannot_be_written_is_refused(read_only_database, monkeypatch):
    uri = f"sqlite:///{read_only_database}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    with raises_exactly(
        TrackingStoreError,
        f"MLFLOW_TRACKING_URI is {uri}: the database {read_only_database} is not writable; "
        f"{REMEDY}",
    ):
        store.experiment_id("refused")


def test_a_file_store_on_a_file_is_refused(tmp_path, monkeypatch):
    (tmp_path / "mlruns").write_text("not a folder")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", str(tmp_path / "mlruns"))
    with raises_exactly(
        TrackingStoreError,
        f"MLFLOW_TRACKING_URI is {tmp_path / 'mlruns'}: {tmp_path / 'mlruns'} is a file, not a "
        "folder; point MLFLOW_TRACKING_URI at a folder you can write to",
    ):
        store.experiment_id("refused")
