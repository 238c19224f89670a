"""forecaster: time-series forecasting with exact, fast recurrent cells for Keras 3.

The public API is what this module exports; `forecaster.cells` holds the recurrent cells.

`import forecaster` is light: each public name is imported from the submodule that defines
it on first use (PEP 562), so the `forecaster` command answers `--help` without loading
TensorFlow, and mlflow loads only with `forecaster.tracking`. Two things still happen on
their own once TensorFlow or Keras is imported, by forecaster or by the caller:

- Keras gets the cells and the networks' own layers and losses registered
  (`forecaster.cells`, `forecaster.networks.segment_layers` and
  `forecaster.networks.outputs` are imported right after Keras), so
  `import forecaster` then `keras.saving.load_model(path)` or `mlflow.pyfunc.load_model(uri)`
  reloads a saved network. Keras does not import a custom class's module by itself: it
  imports only `keras` modules named in a saved config, and looks every other class up in
  its registry of `register_keras_serializable` classes.
- TensorFlow starts quietly on a CPU-only machine: its C++ INFO lines are off
  (`TF_CPP_MIN_LOG_LEVEL=1` unless set), and while it loads, these lines are dropped from
  stderr: absl's "All log messages before absl::InitializeLog() is called are written to
  STDERR", "cudart_stub.cc ... Could not find cuda drivers on your machine" and, on CPUs
  where oneDNN's custom operations are on by default (AVX-512), "port.cc ... oneDNN custom
  operations are on", which no log level removes, and, where there is no NVIDIA device,
  "cuda_platform.cc ... failed call to cuInit", an ERROR only a level hiding every error
  removes (the first op would print it; the devices are listed during the load instead).
  Everything else written to stderr meanwhile is written back. `TF_CPP_MIN_LOG_LEVEL=0`
  shows it all.
"""

import os

# The project is built on the TensorFlow backend; respect a user's explicit choice.
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
# TensorFlow's caching (BFC) allocator on the CPU, unless the user chose. With the default
# allocator every tensor above glibc's mmap threshold (32 MiB at most) is mapped and unmapped
# at each step, and smaller ones are often trimmed and faulted in again: a training step at
# batch 64 x 336 steps x 128 units spent 160 ms of its 250 ms in the kernel zeroing pages
# (40,000 page faults a step), and 4 ms with this allocator. It takes effect only if set
# before TensorFlow runs its first op, so importing forecaster first gets it.
os.environ.setdefault("TF_CPU_ALLOCATOR_USE_BFC", "true")
# No C++ INFO lines (CPU feature notices and the like); warnings and errors still show.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")

import contextlib
import importlib
import importlib.abc
import importlib.util
import re
import sys
import tempfile

__version__ = "0.2.0"

_SUBMODULES = {
    "cells": "forecaster.cells",
    "data": "forecaster.data",
    "metrics": "forecaster.evaluation.metrics",
    "tracking": "forecaster.tracking",
}
_DEFINED_IN = {
    "forecaster.cells": ("CIFGCell", "GRUCell", "LSTMCell", "SimpleRNNCell"),
    "forecaster.config": ("DataConfig", "LinearConfig", "NetworkConfig", "TrainConfig"),
    "forecaster.data": (
        "BENCHMARKS",
        "DataError",
        "DataNote",
        "Scaler",
        "Source",
        "Split",
        "StreamWindows",
        "Windows",
        "WindowSpec",
        "benchmark_path",
        "inspect_csv",
        "load_benchmark",
        "load_shipped",
        "make_windows",
        "open_source",
        "read_csv",
        "shipped_path",
        "split",
        "split_last",
        "split_stream",
        "stream_scaler",
        "stream_windows",
    ),
    "forecaster.estimators": (
        "Forecaster",
        "LinearForecaster",
        "MeanForecaster",
        "NaiveForecaster",
        "SeasonalNaiveForecaster",
        "TrainingError",
        "load",
    ),
    "forecaster.evaluation": ("backtest",),
    "forecaster.tracking": ("compare_cells", "track_fit"),
}
_HOMES = {name: module for module, names in _DEFINED_IN.items() for name in names}
__all__ = sorted([*_SUBMODULES, *_HOMES])
# The modules of the flat layout before 0.2, and where their contents went.
MOVED = {
    "forecaster.backtest": "forecaster.evaluation.backtesting",
    "forecaster.baselines": "forecaster.estimators.baselines",
    "forecaster.comparison": "forecaster.evaluation.comparison",
    "forecaster.config_file": "forecaster.cli.loading",
    "forecaster.datasets": "forecaster.data.datasets",
    "forecaster.demo": "forecaster.cells.demo",
    "forecaster.distribute": "forecaster.estimators.distribute",
    "forecaster.estimator": "forecaster.estimators.base",
    "forecaster.forecaster": "forecaster.estimators.neural",
    "forecaster.info": "forecaster.cli.info",
    "forecaster.ltsf": "forecaster.evaluation.ltsf",
    "forecaster.metrics": "forecaster.evaluation.metrics",
    "forecaster.parallel": "forecaster.tracking.parallel",
    "forecaster.plotting": "forecaster.evaluation.plotting",
    "forecaster.process_group": "forecaster.cli.process_group",
    "forecaster.runconfig": "forecaster.cli.sections",
    "forecaster.saving": "forecaster.estimators.saving",
    "forecaster.segment": "forecaster.networks.segment",
    "forecaster.streamfit": "forecaster.estimators.preparation",
}


def __getattr__(name):
    """Imports a public name from its submodule on first use and keeps it here."""
    if name in _SUBMODULES:
        # import_module, not `from forecaster import tracking`, which would ask this
        # function for the attribute again before the submodule is in place.
        value = importlib.import_module(_SUBMODULES[name])
    elif name in _HOMES:
        value = getattr(importlib.import_module(_HOMES[name]), name)
    else:
        raise AttributeError(f"module 'forecaster' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    """The module's names, the public ones not yet imported included."""
    return sorted(set(globals()) | set(__all__))


class _Moved(importlib.abc.MetaPathFinder):
    """Refuses an import of a module of the old flat layout, naming where it went."""

    def find_spec(self, name, path=None, target=None):
        new = MOVED.get(name)
        if new is None or new == name:
            return None
        raise ModuleNotFoundError(
            f"{name} moved to {new} in forecaster 0.2; import it from there, or the "
            "public names from forecaster itself",
            name=name,
        )


sys.meta_path.append(_Moved())

# While TensorFlow loads: absl's notice that it writes every line to stderr until it is set
# up, and the CUDA stub's INFO line, one such line (TF_CPP_MIN_LOG_LEVEL=3 leaves both).
_NOISE = [
    rb"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR",
    rb"I\d{4} \S+ +\d+ cudart_stub\.cc:\d+\] Could not find cuda drivers on your machine, "
    rb"GPU will not be used\.",
    # Where oneDNN's custom operations are on by default (CPUs with AVX-512, not AVX2 only).
    rb"I\d{4} \S+ +\d+ port\.cc:\d+\] oneDNN custom operations are on\. .*",
]
# An NVIDIA GPU shows as /dev/nvidiactl (Linux, containers) or /dev/dxg (WSL 2); without
# one, TensorFlow's failed cuInit is an ERROR line about a GPU that is not there.
_NO_GPU = not any(os.path.exists(path) for path in ("/dev/nvidiactl", "/dev/dxg"))
if _NO_GPU:
    _NOISE.append(rb"E\d{4} \S+ +\d+ cuda_platform\.cc:\d+\] failed call to cuInit: .*")


@contextlib.contextmanager
def _without_start_up_noise():
    """Drops the `_NOISE` lines written to file descriptor 2 during the block.

    The block's stderr goes to a temporary file (not a pipe, which a C++ writer holding the
    GIL could fill and block on); the other lines are written back when the block ends,
    also when it raises. With no stderr to catch, or no file to catch it in, nothing is.
    """
    with contextlib.ExitStack() as stack:
        saved = None
        if os.environ.get("TF_CPP_MIN_LOG_LEVEL") != "0":  # "0": the user wants every line
            with contextlib.suppress(OSError):
                caught = stack.enter_context(tempfile.TemporaryFile())
                saved = os.dup(2)
        if saved is None:
            yield
            return
        if sys.stderr is not None:
            sys.stderr.flush()
        os.dup2(caught.fileno(), 2)
        try:
            yield
        finally:
            if sys.stderr is not None:
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            caught.seek(0)
            noise = re.compile(b"|".join(_NOISE))
            kept = b"".join(line for line in caught if not noise.fullmatch(line.rstrip(b"\n")))
            with contextlib.suppress(OSError), open(2, "wb", closefd=False) as stderr:
                stderr.write(kept)


def _load_tensorflow(load, tensorflow):
    with _without_start_up_noise():
        load()
        if _NO_GPU:  # initializes the platforms, as the first op would; no runtime yet
            tensorflow.config.list_physical_devices("GPU")


def _register():
    """Registers the cells and the networks' own layers with Keras (for loading them)."""
    importlib.import_module("forecaster.cells")
    importlib.import_module("forecaster.networks.segment_layers")
    importlib.import_module("forecaster.networks.outputs")


def _load_keras(load, _keras):
    load()
    _register()


class _Loader(importlib.abc.Loader):
    """A module's own loader, with `around(load, module)` run around its execution."""

    def __init__(self, loader, around):
        self.loader, self.around = loader, around

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        module.__loader__ = module.__spec__.loader = self.loader  # the module keeps its own
        self.around(lambda: self.loader.exec_module(module), module)


class _FirstImport(importlib.abc.MetaPathFinder):
    """Runs `_load_keras` (and `_load_tensorflow` if `quiet`) around the first import of each."""

    def __init__(self, quiet):
        self.pending = {"keras": _load_keras}
        if quiet:
            self.pending["tensorflow"] = _load_tensorflow
        self.finding = set()

    def find_spec(self, name, path=None, target=None):
        if name not in self.pending or name in self.finding:
            return None
        self.finding.add(name)
        try:  # the spec the other finders give
            spec = importlib.util.find_spec(name)
        finally:
            self.finding.discard(name)
        if spec is None or spec.loader is None:
            return None
        spec.loader = _Loader(spec.loader, self.pending.pop(name))
        return spec


if "keras" in sys.modules:  # imported before forecaster: register the cells now
    _register()
else:  # TensorFlow imported before forecaster has printed its lines already
    sys.meta_path.insert(0, _FirstImport(quiet="tensorflow" not in sys.modules))
