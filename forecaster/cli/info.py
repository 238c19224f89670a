"""What this installation runs on: versions, processor, native kernels, tracking store, devices.

`forecaster info` prints `report()`, the first thing to paste into a bug report and the
place to see why the native kernels are not in use.
"""

import importlib.metadata
import os
import platform

from forecaster.tracking.location import TrackingStoreError, tracking_uri

PACKAGES = ("forecaster", "tensorflow", "keras", "mlflow", "numpy", "pandas", "scikit-learn")
# The instruction-set extensions that decide how fast the kernels run, as /proc/cpuinfo
# names them.
EXTENSIONS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512_fp16", "amx_tile")


def versions():
    """Python's and each package's version in `PACKAGES` ("not installed" if absent)."""
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def processor_extensions(flags_line):
    """The extensions of `EXTENSIONS` in a /proc/cpuinfo `flags` line, in that order."""
    present = set(flags_line.partition(":")[2].split())
    return [name for name in EXTENSIONS if name in present]


def native_kernels():
    """The native kernels' state: {"kernels": in use or why not, "built with": flags}."""
    # Imported here: it imports TensorFlow, which `forecaster --help` must not wait for.
    from forecaster.cells.native import build

    flags_line = next(
        (line for line in build.processor().splitlines() if line.startswith("flags")), ""
    )
    state = {
        "processor": f"{build.processor_name()} ({platform.machine()})",
        "instruction set": " ".join(processor_extensions(flags_line)) or "unknown",
    }
    cxx = build.compiler()
    state["compiler"] = f"{cxx} ({build.compiler_version(cxx)})" if cxx else "none"
    reason = build.available()
    if reason is None:
        library = build.library_path(cxx)
        flags = build.built_with(library).get("flags")
        state["native kernels"] = f"in use ({library})"
        if flags is None:
            state["built with"] = "not recorded (an older build)"
        else:
            state["built with"] = " ".join(flags) or "the compiler's default"
    else:
        state["native kernels"] = f"not in use: {reason}"
    if os.environ.get("FORECASTER_MARCH"):
        state["FORECASTER_MARCH"] = os.environ["FORECASTER_MARCH"]
    state["kernel cache"] = str(build.cache_dir())
    return state


def devices():
    """TensorFlow's physical devices, e.g. "CPU:0" or "CPU:0, GPU:0"."""
    import tensorflow as tf  # see native_kernels

    names = [
        device.name.removeprefix("/physical_device:")
        for device in tf.config.list_physical_devices()
    ]
    return ", ".join(names)


def report():
    """Everything `forecaster info` prints, as an ordered {label: value}."""
    found = versions()
    found["platform"] = platform.platform()
    found.update(native_kernels())
    found["devices"] = devices()
    source = "MLFLOW_TRACKING_URI" if os.environ.get("MLFLOW_TRACKING_URI") else "default"
    try:
        found["tracking URI"] = f"{tracking_uri()} ({source})"
    except TrackingStoreError as error:
        found["tracking URI"] = f"cannot be opened: {error}"
    return found
