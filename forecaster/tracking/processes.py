"""Runs whose process died: each run names its process, and a later one ends it KILLED.

A run that is never ended (its process was SIGKILLed, ran out of memory, lost its machine)
stays RUNNING in the store forever. So every run we start carries tags naming its process:
`forecaster.host` (`socket.gethostname()`), `forecaster.pid`, and on Linux
`forecaster.pid_start`, the boot and the moment the process started
(`<boot id>:<clock ticks since boot>`, from /proc), so that a pid the system has since
given to another process is not taken for the run's. Whenever a store is opened
(`forecaster.tracking.store.experiment_id`, before every tracked fit or comparison, and
`open_store`, before the UI), `end_dead_runs` marks KILLED the RUNNING runs of this host
whose process is gone. Runs of other hosts, runs without these tags and runs of live
processes are left alone.
"""

import os
import socket
import sys
import time
from pathlib import Path

from mlflow.entities import RunStatus, ViewType

HOST_TAG = "forecaster.host"
PID_TAG = "forecaster.pid"
START_TAG = "forecaster.pid_start"
_PAGE = 1000  # runs or experiments per query; a store rarely has more RUNNING runs


def process_state(pid):
    """`(state, start)` of process `pid` from /proc, or None where /proc does not tell.

    `state` is proc_pid_stat(5)'s letter ("R", "S", ..., "Z" for a zombie: exited, not yet
    reaped by its parent); `start` is `<boot id>:<clock ticks since boot>`. None on a
    system without /proc, for a pid that does not exist, or one /proc hides from us.
    """
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces or parentheses.
    fields = stat[stat.rindex(")") + 2 :].split()
    return fields[0], f"{boot}:{fields[19]}"  # fields 3 and 22 of proc_pid_stat(5)


def process_tags():
    """The tags that name this process on a run: host, pid and (on Linux) its start."""
    tags = {HOST_TAG: socket.gethostname(), PID_TAG: str(os.getpid())}
    state = process_state(os.getpid())
    if state is not None:
        tags[START_TAG] = state[1]
    return tags


def is_gone(tags):
    """Whether the process these run tags name (on this host) no longer exists.

    False when it cannot be told: no pid tag, or a system without POSIX signals (where
    `os.kill(pid, 0)` would not merely probe).

    Args:
        tags: a run's tags, with `forecaster.pid` and maybe `forecaster.pid_start`.
    """
    pid = tags.get(PID_TAG, "")
    # pid 0 would ask about our own process group, not a process.
    if os.name != "posix" or not pid.isdigit() or int(pid) == 0:
        return False
    pid = int(pid)
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # it exists, as another user's process
    state = process_state(pid)
    if state is None:
        return False  # it exists, and /proc says no more
    # A zombie has exited; another start means the pid now belongs to another process.
    return state[0] in ("Z", "X") or (START_TAG in tags and state[1] != tags[START_TAG])


def end_dead_runs(client):
    """Marks KILLED (now as end time) the RUNNING runs of this host whose process is gone.

    One search over every active experiment of the store finds the RUNNING runs tagged
    with this host; each whose process is gone (see `is_gone`) and that is still RUNNING
    when read again is ended. What was ended is said in one line on stderr.

    Args:
        client: an `mlflow.tracking.MlflowClient` on the store.

    Returns:
        The ids of the runs marked KILLED, oldest first.
    """
    host = socket.gethostname()
    experiments = _all(client.search_experiments, view_type=ViewType.ACTIVE_ONLY)
    if not experiments:
        return []
    running = _all(
        client.search_runs,
        [e.experiment_id for e in experiments],
        filter_string=f"attributes.status = 'RUNNING' and tags.\"{HOST_TAG}\" = '{host}'",
        run_view_type=ViewType.ACTIVE_ONLY,
        order_by=["attributes.start_time ASC"],
    )
    dead = [run for run in running if is_gone(run.data.tags)]
    ended, pids = [], []
    for run in dead:
        # Read again: a run its process ended (and exited) since the search stays as it is.
        if client.get_run(run.info.run_id).info.status != "RUNNING":
            continue
        client.set_terminated(
            run.info.run_id, RunStatus.to_string(RunStatus.KILLED), int(time.time() * 1000)
        )
        ended.append(run.info.run_id)
        if run.data.tags[PID_TAG] not in pids:
            pids.append(run.data.tags[PID_TAG])
    if ended:
        runs = "1 run" if len(ended) == 1 else f"{len(ended)} runs"
        processes = f"pid {pids[0]}" if len(pids) == 1 else f"pids {', '.join(pids)}"
        print(
            f"forecaster: marked {runs} KILLED whose process is gone ({processes} on host "
            f"{host}): {', '.join(ended)}",
            file=sys.stderr,
            flush=True,
        )
    return ended


def _all(search, *args, **options):
    """Every page of an MLflow search (one page, one query, in the common case)."""
    found, token = [], None
    while True:
        page = search(*args, max_results=_PAGE, page_token=token, **options)
        found += page
        token = page.token
        if not token:
            return found
