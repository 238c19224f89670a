"""A fitted forecaster as an MLflow pyfunc model that forecasts from raw data.

`log_model` logs the whole forecaster (scaler, schema, network, calibration: its saved
folder) at the run's artifact path `model`. The pyfunc's `predict` takes a DataFrame as
`pandas.read_csv` reads the user's file (the time column as text, the data columns, wide
or long) and returns the forecast in the original units, one row per horizon step (per
series), the time column first as text:

>>> served = mlflow.pyfunc.load_model(f"runs:/{run_id}/model")  # no import forecaster needed
>>> served.predict(pandas.read_csv("bikes.csv"))

The raw rows are read with `forecaster.read_csv` and the options the training frame was
read with (`frame.attrs["read_options"]`), so a gap, a missing value or a messy header
is handled, or refused, exactly as when the model was fitted. The same model serves over
HTTP with `mlflow models serve -m runs:/<id>/model --env-manager local`.
"""

import json
import os
import tempfile
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.models import ModelSignature
from mlflow.types.schema import AnyType, ColSpec, Schema
from mlflow.types.type_hints import TypeFromExample

from forecaster.data import read_csv
from forecaster.estimators import saving

# The pyfunc's artifacts: the saved forecaster, and how its data was read.
FORECASTER, READING = "forecaster", "reading.json"
# MLflow draws a progress bar each time it copies the model's artifacts (to check the input
# example), which floods a comparison's log; a user who sets the variable keeps theirs.
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


class ForecasterModel(mlflow.pyfunc.PythonModel):
    """The pyfunc around a saved forecaster (`log_model` makes it)."""

    def load_context(self, context):
        """Loads the saved forecaster and its reading options."""
        self.model = saving.load(context.artifacts[FORECASTER])
        self.reading = json.loads(Path(context.artifacts[READING]).read_text())

    def predict(self, context, model_input: TypeFromExample, params=None):
        """The forecast after the raw rows `model_input`: a DataFrame, time column first."""
        return forecast(self.model, self.reading, model_input)


def raw(frame):
    """`frame` as `pandas.read_csv` would read it back from a CSV: the stamps as text."""
    out = frame.reset_index()
    # Plain labels: MLflow compares the columns with a range, which an Arrow-backed
    # string index (pandas 3's, from read_csv) refuses.
    out.columns = pd.Index([str(c) for c in out.columns], dtype=object)
    name = out.columns[0]
    if pd.api.types.is_datetime64_any_dtype(out[name]):
        out[name] = out[name].dt.strftime("%Y-%m-%d %H:%M:%S")
    return out


def read(reading, rows):
    """The raw DataFrame `rows` read as `forecaster.read_csv(**reading)` reads a file."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "rows.csv"
        rows.to_csv(path, index=False)
        return read_csv(path, **reading)


def forecast(model, reading, rows):
    """`model`'s forecast after the raw `rows`, as the pyfunc returns it."""
    frame = read(reading, rows)
    out = model.predict(frame)
    out.index.name = frame.index.name  # the time column's name in the file
    return raw(out)


def log_model(model, frame, *, register=None):
    """Logs a fitted forecaster as the run's pyfunc model `model`; returns its `ModelInfo`.

    Args:
        model: the fitted forecaster.
        frame: data it was fitted or tested on; its last `lookback` rows (per series) are
            the input example and its `attrs["read_options"]` how new data is read.
        register: a Model Registry name to register the model under; None: none.
    """
    reading = frame.attrs.get("read_options") or {}
    id_col = model.schema_.get("id_col")
    lookback = model.data.lookback
    recent = frame.groupby(id_col, sort=False).tail(lookback) if id_col else frame[-lookback:]
    example = raw(recent)
    output = forecast(model, reading, example)
    with tempfile.TemporaryDirectory() as folder:
        saved = Path(folder) / FORECASTER
        model.save(saved)
        (Path(folder) / READING).write_text(json.dumps(reading))
        return mlflow.pyfunc.log_model(
            name="model",
            python_model=str(Path(__file__).with_name("served_model.py")),
            artifacts={FORECASTER: str(saved), READING: str(Path(folder) / READING)},
            signature=_signature(example, output),
            input_example=example,
            registered_model_name=register,
            pip_requirements=_requirements(),
        )


def _signature(example, output):
    """The columns the raw input must have, of any type, and the forecast's.

    `pandas.read_csv` reads a column of whole numbers as integers and one with a missing
    value as floats; MLflow refuses either where the other was declared, so the input's
    columns are typed `Any` and `forecaster.read_csv` checks the values.
    """
    inputs = Schema([ColSpec(AnyType(), str(name)) for name in example.columns])
    return ModelSignature(inputs, mlflow.models.infer_signature(example, output).outputs)


def _requirements():
    """The packages the served model needs, pinned as installed here."""
    from importlib.metadata import version

    names = ("tensorflow", "keras", "pandas", "numpy", "scikit-learn", "scipy", "pyarrow")
    return [f"{name}=={version(name)}" for name in names]


def load_logged(uri):
    """`(forecaster, read options)` of a model `log_model` logged, by its MLflow URI.

    Raises:
        FileNotFoundError: MLflow finds nothing at `uri`, or not a forecaster's model.
    """
    try:
        folder = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri))
    except mlflow.exceptions.MlflowException as error:
        raise FileNotFoundError(f"--model {uri}: {error.message}") from None
    saved = folder / "artifacts" / FORECASTER
    if not (saved / saving.MANIFEST).is_file():
        raise FileNotFoundError(
            f"--model {uri} is not a forecaster's model (no artifacts/{FORECASTER}); pass the "
            "`model` of a run that forecaster logged"
        )
    return saving.load(saved), json.loads((folder / "artifacts" / READING).read_text())
