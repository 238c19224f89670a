"""`forecaster predict`: a saved or logged forecaster's forecast after a CSV, as CSV.

    forecaster predict --model models/gru --data sales.csv
    forecaster predict --model runs:/<run id>/model --data sales.csv --output forecast.csv
    forecaster predict --model models:/bikes/3 --data bikes.csv

The model is a folder written by `save`, or a pyfunc model an MLflow run logged
(`forecaster.tracking.serving`) named by a `runs:/` or `models:/` URI (or any URI MLflow
downloads). The file is read with `forecaster.read_csv`, with the options the model's
training data was read with when the run recorded them. The forecast goes to `--output`,
or to stdout: the time column first, as text, then each target (and its quantiles).
"""

import dataclasses
import sys
from pathlib import Path


@dataclasses.dataclass(frozen=True)
class PredictConfig:
    """The `predict` command's arguments."""

    model: str
    data: str
    output: str | None = None


def add_arguments(parser):
    """Adds `--model`, `--data` and `--output` to the subcommand's parser."""
    parser.add_argument(
        "--model",
        required=True,
        metavar="MODEL",
        help="a folder saved by a forecaster, or an MLflow model URI (runs:/<id>/model, "
        "models:/<name>/<version>)",
    )
    parser.add_argument("--data", required=True, metavar="CSV", help="the series to forecast")
    parser.add_argument(
        "--output", default=None, metavar="CSV", help="where to write the forecast (stdout)"
    )


def config_from_args(args):
    """The `PredictConfig` of parsed arguments."""
    return PredictConfig(args.model, args.data, args.output)


def load(location):
    """`(forecaster, read options)` from a saved folder or an MLflow model URI.

    Raises:
        FileNotFoundError: a folder that holds no saved forecaster, or a URI MLflow cannot
            find, named with what `--model` takes.
    """
    from forecaster.estimators import saving
    from forecaster.tracking import serving

    folder = Path(location)
    if "://" not in location and ":/" not in location:
        if not (folder / saving.MANIFEST).is_file():
            raise FileNotFoundError(
                f"--model {location}: no saved forecaster there (no {saving.MANIFEST}); pass a "
                "folder written by save() or an MLflow URI such as runs:/<run id>/model"
            )
        return saving.load(folder), {}
    return serving.load_logged(location)


def predict(config):
    """Writes the forecast after `config.data`; returns it as the pyfunc does."""
    from forecaster.data import read_csv
    from forecaster.tracking.serving import raw

    model, reading = load(config.model)
    id_col = model.schema_.get("id_col")
    if id_col is not None:
        reading = {"id_col": id_col, **reading}
    frame = read_csv(config.data, **reading)
    forecast = model.predict(frame)
    forecast.index.name = frame.index.name
    table = raw(forecast)
    if config.output is None:
        table.to_csv(sys.stdout, index=False)
    else:
        Path(config.output).parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(config.output, index=False)
        print(f"{len(table)} rows of forecast written to {config.output}", file=sys.stderr)
    return table
