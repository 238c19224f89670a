"""MLflow tracking: single fits and cell comparisons. The only package that imports mlflow.

- `store`: where runs go (`MLFLOW_TRACKING_URI`, else SQLite under `<project root>/mlruns/`),
  checked before use (`TrackingStoreError`);
- `processes`: which process a run belongs to, and ending the runs whose process died;
- `runs`: one tracked fit (`track_fit`, `track_split`);
- `comparing`: a cell comparison (`compare_cells`), its trials one by one or on Ray.
"""

from forecaster.tracking.comparing import compare_cells
from forecaster.tracking.runs import track_fit, track_split
from forecaster.tracking.store import TrackingStoreError, project_root, tracking_uri, ui_command

__all__ = [
    "TrackingStoreError",
    "compare_cells",
    "project_root",
    "track_fit",
    "track_split",
    "tracking_uri",
    "ui_command",
]
