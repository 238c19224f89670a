"""Native (C++) whole-sequence kernels for the four cells, built on first use.

`recurrence` is the differentiable entry point; `available()` says whether the kernels
load on this machine (None) or why not.
"""

from forecaster.cells.native.build import NativeUnavailableError, available, load
from forecaster.cells.native.ops import CELLS, recurrence

__all__ = ["CELLS", "NativeUnavailableError", "available", "load", "recurrence"]
