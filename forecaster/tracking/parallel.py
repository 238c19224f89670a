"""Running independent tasks concurrently on Ray: a local instance, or a cluster.

Ray is the optional `distributed` extra (`pip install -e ".[distributed]"`); nothing else
in the package imports it. A cell comparison uses this for its (cell, seed) trials
(`compare_cells(..., parallel="ray")`).

On a cluster every node needs the same Python environment (this package installed, or
shipped with Ray's `runtime_env`) and every task must reach the MLflow store: use an
`mlflow server` (MLFLOW_TRACKING_URI=http://...), since a SQLite file on the head node is
not visible to the other nodes.
"""

import importlib

ENGINES = ("ray",)  # what `compare_cells(parallel=...)` accepts besides None


def import_ray():
    """Ray, or an ImportError that says how to install it."""
    try:
        return importlib.import_module("ray")
    except ImportError:
        raise ImportError(
            "parallel='ray' needs Ray, which is not installed; install the extra with "
            "pip install -e \".[distributed]\" (or pip install 'ray>=2.50')"
        ) from None


def check(cpus_per_task=1):
    """Ray, after checking it is installed and that `cpus_per_task` is a positive integer."""
    if isinstance(cpus_per_task, bool) or not isinstance(cpus_per_task, int) or cpus_per_task < 1:
        raise ValueError(f"cpus_per_task must be a positive integer, got {cpus_per_task!r}")
    return import_ray()


def run_on_ray(function, items, shared, *, address=None, cpus_per_task=1, on_done=None):
    """Calls `function(item, shared)` for every item as concurrent Ray tasks.

    Each task reserves `cpus_per_task` CPUs and is told to use that many threads
    (TensorFlow's and OpenMP's), so that concurrent tasks do not oversubscribe the cores.
    `shared` goes into Ray's object store once, not once per task.

    Args:
        function: a module-level function (Ray ships it to the workers by reference).
        items: the tasks' first arguments.
        shared: the second argument of every task.
        address: a Ray cluster's address; None starts a local instance. A Ray instance
            already initialized in this process is used as it is and left running.
        cpus_per_task: CPUs reserved per task (a positive integer).
        on_done: called as `on_done(number, result)` as each task finishes, in the
            order they finish, numbering from 1.

    Returns:
        The results in the order of `items`.

    Raises:
        KeyboardInterrupt: after asking the running tasks to stop (each gets a
            KeyboardInterrupt of its own) and waiting up to 30 s for them.
    """
    ray = check(cpus_per_task)
    started = not ray.is_initialized()
    if started:
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    threads = str(cpus_per_task)
    env = {"TF_NUM_INTRAOP_THREADS": threads, "TF_NUM_INTEROP_THREADS": threads}
    env["OMP_NUM_THREADS"] = threads
    task = ray.remote(function).options(num_cpus=cpus_per_task, runtime_env={"env_vars": env})
    refs = []
    try:
        shared_ref = ray.put(shared)
        refs = [task.remote(item, shared_ref) for item in items]
        pending, number = list(refs), 0
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            number += 1
            if on_done is not None:
                on_done(number, ray.get(done[0]))
        return ray.get(refs)
    except KeyboardInterrupt:
        for ref in refs:
            ray.cancel(ref)  # a KeyboardInterrupt in the task: its run ends KILLED
        ray.wait(refs, num_returns=len(refs), timeout=30)
        raise
    finally:
        if started:
            ray.shutdown()
