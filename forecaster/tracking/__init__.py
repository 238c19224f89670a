"""MLflow tracking: single fits and cell comparisons. The only package that imports mlflow.

- `location`: where runs go (`MLFLOW_TRACKING_URI`, else SQLite under `<project root>/mlruns/`),
  checked before use (`TrackingStoreError`), with no MLflow, TensorFlow or pandas;
- `store`: opening the store (experiments, ending the runs whose process died) and what
  names a run's data and code;
- `processes`: which process a run belongs to, and ending the runs whose process died;
- `runs`: one tracked fit (`track_fit`, `track_split`);
- `comparing`: a cell comparison (`compare_cells`), its trials one by one or on Ray.

`import forecaster.tracking` is light: each public name is imported from its submodule on
first use (PEP 562), so `forecaster.tracking.tracking_uri()` refuses a store that cannot be
opened without loading MLflow or TensorFlow; `compare_cells` and `track_fit` load both.
"""

import importlib

__all__ = [
    "TrackingStoreError",
    "compare_cells",
    "open_store",
    "project_root",
    "track_fit",
    "track_split",
    "tracking_uri",
    "ui_command",
]

_DEFINED_IN = {
    "forecaster.tracking.comparing": ("compare_cells",),
    "forecaster.tracking.location": (
        "TrackingStoreError",
        "project_root",
        "tracking_uri",
        "ui_command",
    ),
    "forecaster.tracking.runs": ("track_fit", "track_split"),
    "forecaster.tracking.store": ("open_store",),
}
_HOMES = {name: module for module, names in _DEFINED_IN.items() for name in names}


def __getattr__(name):
    """Imports a public name from its submodule on first use and keeps it here."""
    if name not in _HOMES:
        raise AttributeError(f"module 'forecaster.tracking' has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOMES[name]), name)
    globals()[name] = value
    return value


def __dir__():
    """The module's names, the public ones not yet imported included."""
    return sorted(set(globals()) | set(__all__))
