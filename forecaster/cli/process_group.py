"""Runs a command in a process group of its own, which a stop signal ends whole.

`forecaster ui` runs `mlflow ui` this way: MLflow starts uvicorn workers, a job runner and
huey consumers, and a signal to the `forecaster` process alone must not leave them serving.
"""

import os
import signal
import subprocess
import time

# The signals that stop `run_group`. Its process group gets SIGTERM for each: every process
# of `mlflow ui` ends on it, while on SIGINT its job runner dies with a KeyboardInterrupt
# traceback and restarts the huey consumers, and on SIGHUP uvicorn restarts its workers.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class _Stopped(BaseException):
    """A stop signal arrived while `run_group` waited (a request, as `KeyboardInterrupt` is)."""


def run_group(command, grace=3.0):
    """Runs `command` in a process group of its own until it ends; returns the exit status.

    `mlflow ui` starts uvicorn workers, a job runner and huey consumers; in a group (and
    session) of their own they can all be ended together, and a terminal's Ctrl-C reaches
    only this process. So SIGINT, SIGTERM or SIGHUP sent here ends the whole group: it gets
    SIGTERM (see `STOP_SIGNALS`), and whatever of it is left `grace` seconds later, SIGKILL.
    When the command ends by itself, the rest of its group gets the same.

    Args:
        command: the argv to run.
        grace: seconds the group has to end after a stop signal or after its leader ended.

    Returns:
        The command's exit status if it ended by itself (128 + N if signal N ended it);
        after a stop signal, 0 for SIGINT (Ctrl-C is the way to stop it) and 128 + the
        signal's number for SIGTERM and SIGHUP, as a shell reports a process they ended.
    """
    received, waiting = [], []

    def on_signal(signum, _frame):
        received.append(signum)
        if waiting:  # leave the blocking wait, once; before it, `received` is checked
            waiting.clear()
            raise _Stopped

    previous = {signum: signal.signal(signum, on_signal) for signum in STOP_SIGNALS}
    try:
        process = subprocess.Popen(command, start_new_session=True)
        group = process.pid  # the leader of a new session leads its process group
        try:
            waiting.append(True)
            if not received:
                process.wait()
        except _Stopped:
            pass
        finally:
            waiting.clear()
        deadline = time.monotonic() + grace
        _signal_group(group, signal.SIGTERM)  # on a stop signal, or to what the leader left
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            _signal_group(group, signal.SIGKILL)
            process.wait()
        while _signal_group(group, 0):  # until the group is empty, for `grace` at most
            if time.monotonic() > deadline:
                _signal_group(group, signal.SIGKILL)
                break
            time.sleep(0.05)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if received:
        return 0 if received[0] == signal.SIGINT else 128 + received[0]
    return 128 - process.returncode if process.returncode < 0 else process.returncode


def _signal_group(group, signum):
    """Sends `signum` to process group `group`; False if no process is left in it."""
    try:
        os.killpg(group, signum)
    except ProcessLookupError:
        return False
    return True
