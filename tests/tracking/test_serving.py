"""A logged forecaster served from raw data: the CLI's predict, the registry, HTTP."""

import json
import os
import subprocess
import sys
import time
import urllib.request

import mlflow
import numpy as np
import pandas as pd
import pytest

import forecaster as fc
from forecaster.cli.commands import main
from tests.data.util import DATA
from tests.servers import free_port

FILE = DATA / "daily-total-female-births.csv"
OPTIONS = {"lookback": 14, "horizon": 7, "units": 4, "epochs": 1, "verbose": 0}


@pytest.fixture(scope="module")
def logged(tmp_path_factory):
    """A forecaster fitted, scored and registered in a temporary SQLite store."""
    folder = tmp_path_factory.mktemp("served")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", uri)
        frame = fc.read_csv(FILE)
        parts = fc.split(frame, 0.8, 0.0, 0.2, lookback=14)
        model = fc.Forecaster("gru", **OPTIONS)
        scores = fc.track_fit(model, parts.train, parts.test, register="births")
    return scores["run_id"], uri, model, folder


def test_predict_writes_the_forecast_of_a_run_a_registered_model_and_a_folder(
    logged, tmp_path, monkeypatch, capsys
):
    run_id, uri, model, _ = logged
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    expected = model.predict(fc.read_csv(FILE))
    model.save(tmp_path / "saved")
    for location in (f"runs:/{run_id}/model", "models:/births/1", str(tmp_path / "saved")):
        output = tmp_path / f"{len(location)}.csv"
        arguments = ["--model", location, "--data", str(FILE), "--output", str(output)]
        assert main(["predict", *arguments]) == 0
        written = pd.read_csv(output)
        assert list(written.columns) == ["Date", "Births"]
        assert list(written["Date"]) == [f"{t:%Y-%m-%d %H:%M:%S}" for t in expected.index]
        np.testing.assert_allclose(written["Births"], expected["Births"], rtol=1e-6)
    capsys.readouterr()
    assert main(["predict", "--model", str(tmp_path), "--data", str(FILE)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"forecaster predict: error: --model {tmp_path}: no saved forecaster there (no "
        "forecaster.json); pass a folder written by save() or an MLflow URI such as "
        "runs:/<run id>/model"
    )


def test_mlflow_models_serve_answers_a_raw_frame_over_http(logged):
    run_id, uri, model, folder = logged
    port = free_port()
    command = [
        sys.executable, "-m", "mlflow", "models", "serve", "-m", f"runs:/{run_id}/model",
        "--env-manager", "local", "--host", "127.0.0.1", "--port", str(port),
    ]  # fmt: skip
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri}
    log = (folder / "serve.log").open("w")  # a file, not a pipe the server could fill
    server = subprocess.Popen(command, env=env, cwd=folder, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 240
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2):
                    break
            except OSError:
                assert server.poll() is None, (folder / "serve.log").read_text()[-3000:]
                assert time.monotonic() < deadline, "the server did not answer /ping"
                time.sleep(0.5)
        rows = pd.read_csv(FILE).iloc[:-10]  # the raw rows, as pandas reads the file
        body = json.dumps({"dataframe_split": rows.to_dict(orient="split")}).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/invocations",
            data=body,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=120) as response:
            answer = json.loads(response.read())
    finally:
        server.terminate()
        server.wait(timeout=60)
        log.close()
    served = pd.DataFrame(answer["predictions"])
    expected = model.predict(fc.read_csv(FILE).iloc[:-10])
    assert list(served.columns) == ["Date", "Births"]
    np.testing.assert_allclose(served["Births"], expected["Births"], rtol=1e-6)


def test_a_global_model_serves_every_series_of_a_long_csv(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    days = pd.date_range("2021-01-01", periods=60, freq="D").strftime("%Y-%m-%d")
    raw = pd.concat(
        pd.DataFrame({"store": s, "date": days, "sales": 10 + k + rng.normal(0, 1, 60)})
        for k, s in enumerate(["a", "b"])
    )
    raw.to_csv(tmp_path / "sales.csv", index=False)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    frame = fc.read_csv(tmp_path / "sales.csv", id_col="store")
    parts = fc.split_last(frame, 14, lookback=14)
    model = fc.Forecaster("gru", **OPTIONS)
    run_id = fc.track_fit(model, parts.train, parts.val)["run_id"]
    served = mlflow.pyfunc.load_model(f"runs:/{run_id}/model").predict(
        pd.read_csv(tmp_path / "sales.csv")
    )
    expected = model.predict(frame)
    assert list(served.columns) == ["date", "store", "sales"]
    assert list(served["store"]) == ["a"] * 7 + ["b"] * 7
    np.testing.assert_allclose(served["sales"], expected["sales"], rtol=1e-6)
