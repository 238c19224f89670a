"""Where runs go: the MLflow store, experiments, and what names a run's data and code.

The store is `MLFLOW_TRACKING_URI` when it is set (MLflow's own convention, e.g. a server's
http://127.0.0.1:5000), otherwise SQLite at `<project root>/mlruns/mlflow.db` with the
artifacts under `<project root>/mlruns/artifacts`. MLflow 3's file store is not used.

A local store (a SQLite database, or a file store's folder) is checked before anything
touches it, and one that cannot be opened is a `TrackingStoreError` at once, instead of a
long wait on the lock beside it or an error from deep inside MLflow that does not say
where the path came from.
"""

import contextlib
import hashlib
import os
import subprocess
import sys
import tempfile
import urllib.parse
from pathlib import Path

import filelock
import mlflow
import pandas as pd
from mlflow.tracking import MlflowClient

import forecaster
from forecaster.tracking import processes

VARIABLE = "MLFLOW_TRACKING_URI"


class TrackingStoreError(ValueError):
    """A tracking store that cannot be opened here; nothing was written to it.

    The message is one line: where the store came from (`MLFLOW_TRACKING_URI`, or the
    default store), its path, what is wrong and what would work.
    """


def project_root():
    """The checkout that holds the package (where `pyproject.toml` is), else the cwd."""
    root = Path(forecaster.__file__).resolve().parents[1]
    return root if (root / "pyproject.toml").is_file() else Path.cwd()


def tracking_uri():
    """`MLFLOW_TRACKING_URI` if set, else the project's SQLite store under `mlruns/`.

    The default store's folder is made if new; a folder named in `MLFLOW_TRACKING_URI`
    never is.

    Raises:
        TrackingStoreError: a local store that cannot be opened (see `store_problem`).
    """
    uri = os.environ.get(VARIABLE)
    if uri:
        problem = store_problem(uri)
        if problem is not None:
            wanted = "a database in a folder" if uri.startswith("sqlite:") else "a folder"
            raise TrackingStoreError(
                f"{VARIABLE} is {uri}: {problem}; point {VARIABLE} at {wanted} you can write to"
            )
        return uri
    folder = project_root() / "mlruns"
    database = folder / "mlflow.db"
    remedy = f"set {VARIABLE} to a store you can write to"
    problem = None
    if not os.path.lexists(folder):
        problem = _folder_problem(folder.parent)
        if problem is None:
            folder.mkdir(exist_ok=True)  # another process may make it meanwhile
    problem = problem or store_problem(f"sqlite:///{database}")
    if problem is not None:
        raise TrackingStoreError(f"the default store {database}: {problem}; {remedy}")
    return f"sqlite:///{database}"


def local_path(uri):
    """The local SQLite database or file store folder an MLflow URI names.

    Returns:
        ("sqlite", absolute path of the database), ("file", absolute path of the store
        folder), or None for any other store (a server, another database, SQLite in
        memory).
    """
    if uri.startswith("sqlite:///"):
        path = uri.removeprefix("sqlite:///").partition("?")[0]  # no SQLAlchemy options
        return None if path in ("", ":memory:") else ("sqlite", Path(path).absolute())
    parsed = urllib.parse.urlparse(uri)
    if parsed.scheme == "file":
        return "file", Path(urllib.parse.unquote(parsed.path)).absolute()
    if parsed.scheme == "":
        return "file", Path(uri).absolute()
    return None


def store_problem(uri):
    """What keeps this process from opening the store at `uri`, or None.

    For a SQLite database: its folder must exist (nothing here makes it), be a folder and
    take new files (SQLite writes a journal beside the database), and the database, if it
    exists, must be a file this process can open for writing. For a file store the folder
    may be missing (MLflow makes it) where the nearest folder above it takes new files.
    Other stores are not checked here. Nothing is written: the test for new files makes
    an unnamed temporary file where the system can (Linux's O_TMPFILE).

    Returns:
        The problem as a phrase naming the path ("the folder /proc is not writable").
    """
    found = local_path(uri)
    if found is None:
        return None
    kind, path = found
    if kind == "file":
        above = _existing(path)
        if above == path and not os.path.isdir(path):
            return f"{path} is a file, not a folder"
        return _folder_problem(above)
    problem = _folder_problem(path.parent)
    if problem is not None or not os.path.lexists(path):
        return problem
    if os.path.isdir(path):
        return f"{path} is a folder, not a database file"
    if not os.path.isfile(path):
        return f"{path} is not a regular file"
    try:
        os.close(os.open(path, os.O_RDWR))
    except OSError:
        return f"the database {path} is not writable"
    return None


def _existing(path):
    """`path` if it exists, else the nearest path above it that does (a file, maybe)."""
    return next(p for p in (path, *path.parents) if os.path.lexists(p))


def _folder_problem(folder):
    """What keeps this process from making files in `folder`, or None."""
    if not os.path.isdir(folder):
        above = _existing(folder)
        if not os.path.isdir(above):
            return f"{above} is a file, not a folder"
        return f"the folder {folder} does not exist"
    # Root passes os.access everywhere, /proc and read-only file systems included; a
    # temporary file asks the file system itself.
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"the folder {folder} is not writable"
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError:
        return f"the folder {folder} is not writable"
    return None


def ui_command(port=5000):
    """The argv that starts `mlflow ui` on 127.0.0.1 against the tracking store.

    The store is opened first, so the runs of this host whose process died show KILLED
    (see `experiment_id`).

    Raises:
        TrackingStoreError: the store cannot be opened; nothing was written.
    """
    command = [sys.executable, "-m", "mlflow", "ui", "--host", "127.0.0.1", "--port", str(port)]
    uri = tracking_uri()
    with first_contact(uri):
        processes.end_dead_runs(MlflowClient(uri))
    command += ["--backend-store-uri", uri]
    if uri.startswith("sqlite:///") and "MLFLOW_TRACKING_URI" not in os.environ:
        command += ["--default-artifact-root", (project_root() / "mlruns" / "artifacts").as_uri()]
    return command


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
