"""The pyfunc model's code, which MLflow runs to load a logged forecaster (models from code).

MLflow copies this file into every model `forecaster.tracking.serving.log_model` logs and
executes it on `mlflow.pyfunc.load_model`, so that nothing is unpickled.
"""

import mlflow

from forecaster.tracking.serving import ForecasterModel

mlflow.models.set_model(ForecasterModel())
