"""Saving a fitted forecaster to one folder and loading it back.

The folder holds `forecaster.json` (the format version, the class, the configuration
dataclasses and the data schema: columns, frequency, last timestamp seen, MASE scales),
`scaler.json` (the fitted scaler) and the model's own state (`model.keras` for the neural
forecaster, loaded in Keras's safe mode; `state.json` for the baselines).
"""

import dataclasses
import json
import shutil
import tempfile
from pathlib import Path

from forecaster.data import Scaler

FORMAT_VERSION = 1
MANIFEST = "forecaster.json"


def save(estimator, path):
    """Writes a fitted forecaster to the folder `path`.

    The folder is written next to its destination and moved into place only when
    complete, so a failure leaves any earlier save there as it was.

    Raises:
        RuntimeError: the forecaster is not fitted.
        FileExistsError: `path` exists and is not a folder this function wrote.
    """
    estimator._check_fitted()
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
            "schema": estimator.schema,
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2))
        (staging / "scaler.json").write_text(estimator.scaler.to_json())
        estimator._save_state(staging)
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
    """Loads a forecaster that `save` wrote, of whichever class it was.

    Raises:
        FileNotFoundError: `path` holds no saved forecaster.
        ValueError: the folder was written in another format version.
    """
    from forecaster.config import DataConfig, NetworkConfig, TrainConfig
    from forecaster.estimators.baselines import (
        BASELINES,  # imported here: they import this module's users
    )
    from forecaster.estimators.neural import Forecaster

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
    classes = {cls.__name__: cls for cls in (Forecaster, *BASELINES.values())}
    config_classes = {"data": DataConfig, "network": NetworkConfig, "train": TrainConfig}
    for cls in BASELINES.values():
        config_classes.update(cls.config_classes())
    # A forecaster trained on several devices or machines is loaded onto one: `distribute`
    # stays on record in forecaster.json, and is given to fit to train distributed again.
    configs = {
        k: config_classes[k](**({**v, "distribute": None} if k == "train" else v))
        for k, v in manifest["configs"].items()
    }
    estimator = classes[manifest["class"]].from_configs(**configs)
    estimator.scaler = Scaler.from_json((path / "scaler.json").read_text())
    estimator.schema = manifest["schema"]
    estimator._load_state(path)
    return estimator
