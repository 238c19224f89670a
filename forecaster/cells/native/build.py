"""Compiles the recurrence kernels (`recurrence.cc`) on first use and loads them into TensorFlow.

The kernels are C++ against the TensorFlow that is installed, so they are built on the
machine that runs them, the way PyTorch builds its C++ extensions: `g++` (or `$CXX`) with
TensorFlow's own compile and link flags and `-march=native`. The library is cached under
`$FORECASTER_CACHE` (default `~/.cache/forecaster`) in a file named by a hash of the
source, the TensorFlow version, the compiler, its flags and the processor, so a change to
any of them builds anew and an unchanged setup loads in milliseconds. A build writes to a
temporary file and renames it into place, so processes that build at once (Ray workers,
tf.distribute workers) never load a half-written library.

A machine with no C++ compiler still trains: `load()` raises `NativeUnavailableError`, and the
layers then run Keras's own loop (`FastRNN.fallback_reason` says why). Setting
`FORECASTER_NATIVE=0` turns the kernels off the same way.
"""

import functools
import hashlib
import os
import platform
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

import tensorflow as tf

SOURCE = Path(__file__).with_name("recurrence.cc")
OPTIMIZE = ("-O3", "-march=native", "-shared", "-fPIC", "-w")


class NativeUnavailableError(RuntimeError):
    """The native kernels cannot be built or loaded here; the message says why."""


def cache_dir():
    """Where built libraries are kept: `$FORECASTER_CACHE`, else `~/.cache/forecaster`."""
    root = os.environ.get("FORECASTER_CACHE") or Path.home() / ".cache" / "forecaster"
    return Path(root) / "native"


def compiler():
    """The C++ compiler's path (`$CXX`, else `g++`, else `c++`), or None if there is none."""
    for name in (os.environ.get("CXX"), "g++", "c++"):
        if name and (path := shutil.which(name)):
            return path
    return None


def _processor():
    """The CPU's model and feature flags, so a cache shared between machines is not mixed."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return platform.processor()
    keep = [line for line in lines if line.startswith(("model name", "flags"))]
    return "\n".join(sorted(set(keep)))


def command(cxx, output):
    """The compiler command that builds `SOURCE` into `output`."""
    flags = tf.sysconfig.get_compile_flags() + tf.sysconfig.get_link_flags()
    return [cxx, *OPTIMIZE, str(SOURCE), "-o", str(output), *flags]


def library_path(cxx):
    """The cache file for this source, TensorFlow, compiler and processor."""
    digest = hashlib.sha256()
    toolchain = (tf.__version__, cxx, " ".join(command(cxx, "")), _processor())
    for part in (SOURCE.read_bytes(), *toolchain):
        digest.update(part if isinstance(part, bytes) else part.encode())
    return cache_dir() / f"recurrence-{digest.hexdigest()[:16]}.so"


def build(cxx):
    """Compiles the kernels unless the cache has them; returns the library's path."""
    target = library_path(cxx)
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as work:
        partial = Path(work) / target.name
        done = subprocess.run(command(cxx, partial), capture_output=True, text=True)
        if done.returncode != 0:
            errors = [line for line in done.stderr.splitlines() if "error" in line]
            first = errors[0] if errors else done.stderr.strip()[-300:]
            raise NativeUnavailableError(
                f"building {SOURCE.name} failed ({shlex.join(command(cxx, partial)[:2])} ...): "
                f"{first}"
            )
        os.replace(partial, target)  # atomic: other processes see all of it or none
    return target


def _build_and_load():
    if os.environ.get("FORECASTER_NATIVE", "1") == "0":
        raise NativeUnavailableError("FORECASTER_NATIVE=0 turns the native kernels off")
    cxx = compiler()
    if cxx is None:
        raise NativeUnavailableError(
            "no C++ compiler (set CXX, or install g++) to build the kernels"
        )
    path = build(cxx)
    try:
        return tf.load_op_library(str(path))
    except tf.errors.OpError as error:
        raise NativeUnavailableError(f"loading {path} failed: {error.message}") from None


@functools.cache
def _outcome():
    """Builds and loads once per process: `(module, None)` or `(None, reason)`."""
    try:
        return _build_and_load(), None
    except NativeUnavailableError as error:
        return None, str(error)


def load():
    """Builds (once per machine) and loads (once per process) the kernels.

    Returns:
        The module of `tf.load_op_library`, with `forecaster_recurrence` and
        `forecaster_recurrence_grad`.

    Raises:
        NativeUnavailableError: `FORECASTER_NATIVE=0`, no C++ compiler, or the build or load
            failed; the message says which.
    """
    module, reason = _outcome()
    if module is None:
        raise NativeUnavailableError(reason)
    return module


def available():
    """None when the kernels load, else the reason they do not (one sentence)."""
    try:
        load()
    except NativeUnavailableError as error:
        return str(error)
    return None
