"""Test set-up: the TensorFlow backend, quiet start-up logging and a fixed seed per test."""

import os

# Both must be set before keras or tensorflow is first imported.
os.environ["KERAS_BACKEND"] = "tensorflow"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import pytest

from forecaster.cells import native


@pytest.fixture(autouse=True)
def _seed():
    """Seeds Python, NumPy and the backend so every test sees the same random numbers."""
    keras.utils.set_random_seed(1234)


@pytest.fixture(scope="session", autouse=True)
def _native_kernels():
    """Builds the native kernels (once per machine) before the first test.

    The build says so on stderr; done here, that line never lands in a test that reads
    what a command wrote to stderr.
    """
    native.available()
