"""Compiles the recurrence kernels on first use and loads them into TensorFlow.

The kernels are C++ against the TensorFlow that is installed, so they are built on the
machine that runs them, the way PyTorch builds its C++ extensions: `g++` (or `$CXX`) with
TensorFlow's own compile and link flags. They are two translation units (see `kernels.h`):

- `kernels.cc`, the arithmetic, compiled for this processor's instruction set on purpose:
  on x86-64, `-march=native` less the extensions that TensorFlow's bundled Eigen cannot
  compile (`EXCLUDED`: AVX-512 FP16, on Sapphire Rapids and later), and if that fails and
  the processor has AVX2 and FMA, `-march=x86-64-v3`; elsewhere (aarch64) the compiler's
  portable default;
- `recurrence.cc`, the TensorFlow ops, compiled for the compiler's portable default.

Both compile at once (two processes), then link. The library is cached under
`$FORECASTER_CACHE` (default `~/.cache/forecaster`) in a file named by a hash of the
sources, the TensorFlow version, the compiler and its version, the flags and the processor,
so a change to any of them builds anew and an unchanged setup loads in milliseconds. A
build writes to a temporary folder and renames the library into place, so processes that
build at once (Ray workers, tf.distribute workers) never load a half-written library.

A build that fails is remembered beside it (`<name>.failed`, with the compiler's output in
`<name>.log`): no later process compiles it again, and only the process that saw it fail
says so, in one line on stderr. Deleting the `.failed` file tries again. A machine with no
C++ compiler still trains: `load()` raises `NativeUnavailableError`, and the layers then
run Keras's own loop (`FastRNN.fallback_reason` says why). Setting `FORECASTER_NATIVE=0`
turns the kernels off the same way.
"""

import functools
import hashlib
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import tensorflow as tf

HERE = Path(__file__).parent
KERNELS = HERE / "kernels.cc"  # the arithmetic, built for this processor
OPS = HERE / "recurrence.cc"  # the TensorFlow ops, built for the portable baseline
SOURCES = (HERE / "kernels.h", KERNELS, OPS)
OPTIMIZE = ("-O3", "-fPIC", "-w")
# Predefined macro of an instruction-set extension -> the flag that turns it off. The
# Eigen that TensorFlow 2.21 bundles does not compile with AVX-512 FP16
# (Eigen/src/Core/arch/AVX512/PacketMathFP16.h: "expected initializer before '<' token"),
# and the kernels have no half-precision arithmetic to lose.
EXCLUDED = {"__AVX512FP16__": "-mno-avx512fp16"}


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


def is_x86_64():
    """Whether this process runs on x86-64, where the instruction set is chosen by level."""
    return platform.machine().lower() in ("x86_64", "amd64")


def processor():
    """The CPU's model and feature flags, so a cache shared between machines is not mixed."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return platform.processor()
    keep = [line for line in lines if line.startswith(("model name", "flags"))]
    return "\n".join(sorted(set(keep)))


def processor_name():
    """The CPU's model name as the kernel reports it (e.g. "AMD EPYC"), else the machine."""
    for line in processor().splitlines():
        if line.startswith("model name"):
            return line.partition(":")[2].strip()
    return platform.processor() or platform.machine()


@functools.cache
def macros(cxx, march):
    """The macros `cxx -march=<march>` predefines (e.g. `__AVX2__`), or None if it refuses it."""
    done = subprocess.run(
        [cxx, f"-march={march}", "-dM", "-E", "-x", "c++", os.devnull],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        return None
    return frozenset(line.split()[1] for line in done.stdout.splitlines() if line.strip())


def target_flags(cxx, march="native"):
    """The instruction-set flags for `kernels.cc` on a processor that `-march=<march>` names.

    On x86-64: `-march=<march>` and, for each extension in `EXCLUDED` that it turns on,
    the flag that turns it off again. On other architectures: none (the compiler's
    portable default).

    Returns:
        The flags, or None when the compiler does not know `march`.
    """
    if not is_x86_64():
        return []
    defined = macros(cxx, march)
    if defined is None:
        return None
    return [f"-march={march}", *(flag for macro, flag in EXCLUDED.items() if macro in defined)]


def candidates(cxx):
    """The instruction sets to try for this processor, best first.

    `-march=native` less `EXCLUDED`, then, on a processor with AVX2 and FMA (which the
    register tiles need), `-march=x86-64-v3`, for a processor newer than anything the
    exclusions know. There is no lower fallback: built for x86-64-v2 the kernels trained
    at 0.76-1.52 of Keras's time, whose own products use AVX2 where the processor has it.
    Elsewhere, only the portable default. `$FORECASTER_MARCH` (x86-64) names one target
    instead, e.g. `x86-64-v3` for a library that every AVX2 machine of a cluster can share.

    Raises:
        NativeUnavailableError: the compiler does not know `$FORECASTER_MARCH`.
    """
    chosen = os.environ.get("FORECASTER_MARCH")
    if chosen and is_x86_64():
        flags = target_flags(cxx, chosen)
        if flags is None:
            raise NativeUnavailableError(
                f"FORECASTER_MARCH is {chosen!r}, which {cxx} does not know as -march=; "
                "unset it, or name a processor it knows (e.g. x86-64-v3)"
            )
        return [flags]
    native = target_flags(cxx)
    if not native:
        return [[]]
    if {"__AVX2__", "__FMA__"} <= macros(cxx, "native"):
        return [native, ["-march=x86-64-v3"]]
    return [native]


def tf_flags():
    """TensorFlow's compile flags (include path, ABI, C++ standard) and its link flags."""
    return tf.sysconfig.get_compile_flags(), tf.sysconfig.get_link_flags()


@functools.cache
def compiler_version(cxx):
    """The first line of `cxx --version`, so an upgraded compiler builds anew."""
    try:
        done = subprocess.run([cxx, "--version"], capture_output=True, text=True, check=False)
    except OSError:
        return ""
    return (done.stdout.splitlines() or [""])[0]


def library_path(cxx):
    """The cache file for these sources, TensorFlow, compiler, flags and processor."""
    digest = hashlib.sha256()
    compile_flags, link_flags = tf_flags()
    toolchain = [tf.__version__, cxx, compiler_version(cxx), " ".join(OPTIMIZE)]
    toolchain += [" ".join(compile_flags + link_flags), repr(candidates(cxx)), processor()]
    for part in (*(source.read_bytes() for source in SOURCES), *toolchain):
        digest.update(part if isinstance(part, bytes) else part.encode())
    return cache_dir() / f"recurrence-{digest.hexdigest()[:16]}.so"


def compile_command(cxx, source, output, flags=()):
    """The command that compiles `source` into the object file `output` with `flags`."""
    return [cxx, *OPTIMIZE, *flags, "-c", str(source), "-o", str(output), *tf_flags()[0]]


def syntax_check(cxx, march):
    """Compiles `kernels.cc` for the processor `-march=<march>` names, syntax only.

    This is how the tests show that the kernels build for processors other than this one
    (the TensorFlow ops, in `recurrence.cc`, are built for the portable default everywhere).

    Returns:
        None when it compiles, else the compiler's first error line.

    Raises:
        ValueError: the compiler does not know `march`.
    """
    flags = target_flags(cxx, march)
    if flags is None:
        raise ValueError(f"{cxx} does not know -march={march}")
    done = subprocess.run(
        [cxx, "-fsyntax-only", "-w", *flags, str(KERNELS), *tf_flags()[0]],
        capture_output=True,
        text=True,
        check=False,
    )
    return None if done.returncode == 0 else first_error(done.stderr)


def first_error(log):
    """The compiler's first error line, else the end of its output."""
    errors = [line for line in log.splitlines() if "error" in line]
    return errors[0].strip() if errors else log.strip()[-300:]


def _compile(cxx, work, output):
    """Compiles both units at once, tries each target of `candidates`, links `output`.

    Returns:
        The flags `kernels.cc` was built with.

    Raises:
        NativeUnavailableError: with the compiler's first error line; the whole output is
            in `<output>.log`.
    """
    work = Path(work)
    ops = subprocess.Popen(
        compile_command(cxx, OPS, work / "ops.o"), stderr=subprocess.PIPE, text=True
    )
    log, built = [], None
    for flags in candidates(cxx):
        done = subprocess.run(
            compile_command(cxx, KERNELS, work / "kernels.o", flags),
            capture_output=True,
            text=True,
            check=False,
        )
        log.append(f"$ {shlex.join(done.args)}\n{done.stderr}")
        if done.returncode == 0:
            built = flags
            break
    ops_errors = ops.communicate()[1]
    log.append(f"$ {shlex.join(ops.args)}\n{ops_errors}")
    failed = None
    if built is None:
        failed = f"compiling {KERNELS.name} failed: {first_error(log[0])}"
    elif ops.returncode != 0:
        failed = f"compiling {OPS.name} failed: {first_error(ops_errors)}"
    else:
        link = [cxx, "-shared", str(work / "kernels.o"), str(work / "ops.o")]
        link += ["-o", str(output), *tf_flags()[1]]
        done = subprocess.run(link, capture_output=True, text=True, check=False)
        log.append(f"$ {shlex.join(link)}\n{done.stderr}")
        if done.returncode != 0:
            failed = f"linking the kernels failed: {first_error(done.stderr)}"
    _write(output.parent / "build.log", "\n".join(log))
    if failed is not None:
        raise NativeUnavailableError(f"{failed} ({shlex.quote(cxx)})")
    return built


def _write(path, text):
    """Writes `text` to `path` atomically: readers see all of it or the old file."""
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_text(text)
    os.replace(partial, path)


def build(cxx):
    """Compiles the kernels unless the cache has them, or a failure is recorded.

    Returns:
        The library's path.

    Raises:
        NativeUnavailableError: this build failed, now or in an earlier process.
    """
    target = library_path(cxx)
    failed = target.with_suffix(".failed")
    if target.exists():
        return target
    if failed.exists():
        raise NativeUnavailableError(failed.read_text().strip())
    target.parent.mkdir(parents=True, exist_ok=True)
    print(
        "forecaster: building the native recurrence kernels for this processor "
        "(once per machine, about a minute)",
        file=sys.stderr,
        flush=True,
    )
    start = time.monotonic()
    with tempfile.TemporaryDirectory(dir=target.parent) as work:
        partial = Path(work) / target.name
        try:
            flags = _compile(cxx, work, partial)
        except NativeUnavailableError as error:
            os.replace(Path(work) / "build.log", target.with_suffix(".log"))
            reason = f"{error}; the whole log is in {target.with_suffix('.log')}"
            _write(failed, reason)
            print(
                f"forecaster: warning: the native kernels did not build, so the recurrent "
                f"layers run Keras's step-by-step loop instead (slower); {reason}; delete "
                f"{failed} to try again",
                file=sys.stderr,
                flush=True,
            )
            raise NativeUnavailableError(reason) from None
        seconds = time.monotonic() - start
        record = {"flags": flags, "seconds": round(seconds, 1), "compiler": cxx}
        _write(target.with_suffix(".json"), json.dumps(record))
        os.replace(Path(work) / "build.log", target.with_suffix(".log"))
        os.replace(partial, target)  # atomic: other processes see all of it or none
    print(
        f"forecaster: built the native kernels in {seconds:.0f} s: {target}",
        file=sys.stderr,
        flush=True,
    )
    return target


def built_with(path):
    """What the library at `path` was built with: `{"flags", "seconds", "compiler"}`, or {}."""
    try:
        return json.loads(path.with_suffix(".json").read_text())
    except (OSError, ValueError):
        return {}


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
