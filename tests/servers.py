"""Helpers for tests that start real servers on 127.0.0.1."""

import socket
import time
import urllib.request


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_healthy(process, url, seconds=90):
    """Polls `url`/health until it answers 200; raises if the process dies or time runs out."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                log = process.stderr.read()[-2000:] if process.stderr else ""
                raise RuntimeError(f"the server at {url} did not start: {log}") from None
            time.sleep(0.5)
