"""Where runs go, checked before anything opens the store: no MLflow, TensorFlow or pandas.

The store is `MLFLOW_TRACKING_URI` when it is set (MLflow's own convention, e.g. a server's
http://127.0.0.1:5000), otherwise SQLite at `<project root>/mlruns/mlflow.db` with the
artifacts under `<project root>/mlruns/artifacts`. MLflow 3's file store is not used.

A local store (a SQLite database, or a file store's folder) is checked before anything
touches it, and one that cannot be opened is a `TrackingStoreError` at once, instead of a
long wait on the lock beside it or an error from deep inside MLflow that does not say
where the path came from. This module imports only the standard library, so a command can
refuse such a store in its first second, before it loads data, TensorFlow or MLflow;
opening the store (`forecaster.tracking.store`) is what needs MLflow.
"""

import os
import sys
import tempfile
import urllib.parse
from pathlib import Path

import forecaster

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
    never is. Nothing else is written, and MLflow is not imported.

    Example:
        >>> from forecaster.tracking.location import tracking_uri
        >>> tracking_uri()  # doctest: +SKIP
        'sqlite:////home/me/forecaster/mlruns/mlflow.db'

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

    The store is checked, not opened: the runs of this host whose process died are ended
    by opening it first (`forecaster.tracking.store.open_store`).

    Example:
        >>> ui_command(5001)[1:8]
        ['-m', 'mlflow', 'ui', '--host', '127.0.0.1', '--port', '5001']

    Raises:
        TrackingStoreError: the store cannot be opened; nothing was written.
    """
    command = [sys.executable, "-m", "mlflow", "ui", "--host", "127.0.0.1", "--port", str(port)]
    uri = tracking_uri()
    command += ["--backend-store-uri", uri]
    if uri.startswith("sqlite:///") and VARIABLE not in os.environ:
        command += ["--default-artifact-root", (project_root() / "mlruns" / "artifacts").as_uri()]
    return command
