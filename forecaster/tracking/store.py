"""Where runs go: the MLflow store, experiments, and what names a run's data and code.

The store is `MLFLOW_TRACKING_URI` when it is set (MLflow's own convention, e.g. a server's
http://127.0.0.1:5000), otherwise SQLite at `<project root>/mlruns/mlflow.db` with the
artifacts under `<project root>/mlruns/artifacts`. MLflow 3's file store is not used.
"""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import filelock
import mlflow
import pandas as pd

import forecaster


def project_root():
    """The checkout that holds the package (where `pyproject.toml` is), else the cwd."""
    root = Path(forecaster.__file__).resolve().parents[1]
    return root if (root / "pyproject.toml").is_file() else Path.cwd()


def tracking_uri():
    """`MLFLOW_TRACKING_URI` if set, else the project's SQLite store under `mlruns/`."""
    if os.environ.get("MLFLOW_TRACKING_URI"):
        return os.environ["MLFLOW_TRACKING_URI"]
    store = project_root() / "mlruns"
    store.mkdir(exist_ok=True)
    return f"sqlite:///{store / 'mlflow.db'}"


def ui_command(port=5000):
    """The argv that starts `mlflow ui` on 127.0.0.1 against the tracking store."""
    command = [sys.executable, "-m", "mlflow", "ui", "--host", "127.0.0.1", "--port", str(port)]
    uri = tracking_uri()
    command += ["--backend-store-uri", uri]
    if uri.startswith("sqlite:///") and "MLFLOW_TRACKING_URI" not in os.environ:
        command += ["--default-artifact-root", (project_root() / "mlruns" / "artifacts").as_uri()]
    return command


def experiment_id(name):
    """Points MLflow at the store and returns the id of experiment `name`, made if new.

    For a SQLite store, a lock file beside the database serializes this first contact:
    two processes that find the store new would otherwise both run MLflow's schema
    migrations on it, and one of them fails.
    """
    uri = tracking_uri()
    mlflow.set_tracking_uri(uri)
    if not uri.startswith("sqlite:///"):
        return _get_or_create(name, None)
    database = Path(uri.removeprefix("sqlite:///"))
    # Beside the database, not under whatever directory the process happens to run in.
    location = (database.parent / "artifacts" / name).as_uri()
    with filelock.FileLock(f"{database}.lock", timeout=300):
        return _get_or_create(name, location)


def _get_or_create(name, location):
    found = mlflow.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    try:
        return mlflow.create_experiment(name, artifact_location=location)
    except mlflow.exceptions.MlflowException:
        return mlflow.get_experiment_by_name(name).experiment_id  # made meanwhile by another


def checksum(frame):
    """SHA-256 of the frame's index and values, so a run names the exact data it saw."""
    hashed = pd.util.hash_pandas_object(frame, index=True).to_numpy()
    digest = hashlib.sha256(hashed.tobytes())
    digest.update(",".join(map(str, frame.columns)).encode())
    return digest.hexdigest()


def git_commit():
    """The checkout's HEAD commit, or None outside a git checkout."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=project_root(),
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() if result.returncode == 0 else None
