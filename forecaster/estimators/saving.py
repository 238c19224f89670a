"""Saving a fitted forecaster to one folder, and the table of the classes `load` builds.

The folder holds `forecaster.json` (the format version, the class, the configuration
dataclasses, the data schema: columns, frequency, last timestamp seen, MASE scales, and the
fit's per-epoch losses), `scaler.json` (the fitted scaler) and what the forecaster's own
`save_state` writes: `model.keras` for the neural forecaster (loaded in Keras's safe mode),
`state.npz` for the baselines.

`load` builds the class the manifest names from `LOADABLE`, which the forecasters join
with the `loadable` decorator where they are defined; this module imports none of them.

>>> model.save("models/gru")
>>> forecaster.load("models/gru").predict(frame)
"""

import dataclasses
import json
import shutil
import tempfile
from pathlib import Path

from forecaster.data import Scaler

FORMAT_VERSION = 1
MANIFEST = "forecaster.json"
# The classes `load` builds, by name: every `@loadable` class.
LOADABLE = {}


def loadable(cls):
    """Class decorator: lets `load` build `cls` from a folder that names it.

    The class provides `config_classes()`, `from_configs(**configs)`, `configs()`,
    `save_state(folder)` and `load_state(folder)` (as `BaseForecaster` asks of it).

    Raises:
        ValueError: another class of the same name is loadable already.

    Example:
        >>> @loadable
        ... class DriftForecaster(Baseline): ...
    """
    known = LOADABLE.get(cls.__name__)
    if known is not None and known is not cls:
        raise ValueError(
            f"a loadable class named {cls.__name__!r} exists already ({known.__module__}); "
            "give this one another name"
        )
    LOADABLE[cls.__name__] = cls
    return cls


def save(estimator, path):
    """Writes a fitted forecaster to the folder `path` (`BaseForecaster.save`).

    The folder is written next to its destination and moved into place only when
    complete, so a failure leaves any earlier save there as it was.

    Raises:
        FileExistsError: `path` exists and is not a folder this function wrote.
    """
    path = Path(path)
    if path.exists() and not (path / MANIFEST).is_file():
        raise FileExistsError(
            f"{path} exists and is not a saved forecaster; pick a new folder or remove it"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        manifest = {
            "format_version": FORMAT_VERSION,
            "class": type(estimator).__name__,
            "configs": {k: dataclasses.asdict(v) for k, v in estimator.configs().items()},
            "schema": estimator.schema_,
            "history": estimator.history_,
            "calibration": None
            if estimator.calibration_ is None
            else estimator.calibration_.to_dict(),
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2))
        (staging / "scaler.json").write_text(estimator.scaler_.to_json())
        estimator.save_state(staging)
        if path.exists():
            retired = path.with_name(f".{path.name}.old")
            shutil.rmtree(retired, ignore_errors=True)
            path.rename(retired)
            staging.rename(path)
            shutil.rmtree(retired)
        else:
            staging.rename(path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def load(path):
    """Loads a forecaster that `save` wrote, of whichever loadable class it was.

    A forecaster trained on several devices or machines is loaded onto one: `distribute`
    stays on record in forecaster.json, and is given to `fit` to train distributed again.
    Folders written before the history was saved load with `history_` None.

    Args:
        path: the folder.

    Returns:
        The fitted forecaster.

    Raises:
        FileNotFoundError: `path` holds no saved forecaster.
        ValueError: the folder was written in another format version, or names a class
            that is not loadable.

    Example:
        >>> model = forecaster.load("models/gru")
    """
    path = Path(path)
    if not (path / MANIFEST).is_file():
        raise FileNotFoundError(f"{path} holds no saved forecaster (no {MANIFEST})")
    manifest = json.loads((path / MANIFEST).read_text())
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise ValueError(
            f"{path} was saved in format version {version!r}; this forecaster reads version "
            f"{FORMAT_VERSION}; load it with the version that wrote it and save it again"
        )
    cls = LOADABLE.get(manifest["class"])
    if cls is None:
        raise ValueError(
            f"{path} holds a {manifest['class']}, which is not loadable; loadable are "
            f"{sorted(LOADABLE)} (a class joins them with @forecaster.estimators.saving.loadable)"
        )
    config_classes = cls.config_classes()
    saved = {name: dict(values) for name, values in manifest["configs"].items()}
    saved.get("train", {})["distribute"] = None
    network = saved.get("network")
    if network is not None and "highway" not in network:
        # Written before the stacked designs normalized their targets' windows and had a
        # highway: its configuration says what its saved network is.
        network["highway"] = False
        if network.get("architecture") != "segment":
            network["normalization"] = "none"
    configs = {name: config_classes[name](**values) for name, values in saved.items()}
    estimator = cls.from_configs(**configs)
    estimator.scaler_ = Scaler.from_json((path / "scaler.json").read_text())
    estimator.schema_ = manifest["schema"]
    estimator.history_ = manifest.get("history")
    calibration = manifest.get("calibration")
    if calibration is not None:
        estimator.calibration_ = estimator.calibration_from(calibration)
    estimator.load_state(path)
    return estimator
