"""Opening the MLflow store: experiments, dead-run repair, and what names a run's data and code.

Where the store is, and whether it can be opened, is `forecaster.tracking.location`, which
needs no MLflow; every function here checks the store there first, so a store that cannot
be opened is a `TrackingStoreError` before any lock, folder or MLflow call.
"""

import contextlib
import hashlib
import subprocess

import filelock
import mlflow
import pandas as pd
from mlflow.tracking import MlflowClient

from forecaster.tracking import processes
from forecaster.tracking.location import local_path, project_root, tracking_uri


def open_store():
    """Checks and opens the tracking store, ending the runs of this host whose process died.

    Those runs are marked KILLED (`forecaster.tracking.processes.end_dead_runs`), saying so
    on stderr; `forecaster ui` opens the store this way before MLflow shows it.

    Returns:
        The store's URI (`forecaster.tracking.location.tracking_uri`).

    Raises:
        TrackingStoreError: the store cannot be opened; nothing was written.
    """
    uri = tracking_uri()
    with first_contact(uri):
        processes.end_dead_runs(MlflowClient(uri))
    return uri


def experiment_id(name):
    """Points MLflow at the store and returns the id of experiment `name`, made if new.

    Opening the store also ends the runs of this host whose process died KILLED
    (`forecaster.tracking.processes.end_dead_runs`), saying so on stderr.

    Raises:
        TrackingStoreError: the store cannot be opened; nothing was written.
    """
    uri = tracking_uri()
    mlflow.set_tracking_uri(uri)
    found = local_path(uri)
    location = None
    if found is not None and found[0] == "sqlite":
        # Beside the database, not under whatever directory the process happens to run in.
        location = (found[1].parent / "artifacts" / name).as_uri()
    with first_contact(uri):
        experiment = _get_or_create(name, location)
        processes.end_dead_runs(MlflowClient(uri))
    return experiment


@contextlib.contextmanager
def first_contact(uri):
    """Holds the lock beside a SQLite database while the block runs (else nothing).

    Two processes that find the store new would otherwise both run MLflow's schema
    migrations on it, and one of them fails.
    """
    found = local_path(uri)
    if found is None or found[0] != "sqlite":
        yield
        return
    with filelock.FileLock(f"{found[1]}.lock", timeout=300):
        yield


# MLflow 3's UI opens an experiment by its kind; without it, it may guess GenAI (traces).
KIND = {"mlflow.experimentKind": "custom_model_development"}


def _get_or_create(name, location):
    found = mlflow.get_experiment_by_name(name)
    if found is None:
        try:
            return mlflow.create_experiment(name, artifact_location=location, tags=KIND)
        except mlflow.exceptions.MlflowException:
            found = mlflow.get_experiment_by_name(name)  # made meanwhile by another
    if "mlflow.experimentKind" not in found.tags:  # made before experiments said their kind
        MlflowClient().set_experiment_tag(found.experiment_id, *next(iter(KIND.items())))
    return found.experiment_id


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
