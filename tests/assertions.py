"""Assertions shared across the test suite."""

import re

import numpy as np
import pytest


def raises_exactly(exception, message):
    """`pytest.raises` that demands the whole message, not a fragment of it."""
    return pytest.raises(exception, match=f"^{re.escape(message)}$")


def assert_same_schema(got, want):
    """Two fitted schemas agree: the MASE scales to float rounding, the rest exactly."""
    assert got.keys() == want.keys()
    for key, value in want.items():
        if "mase" in key:
            np.testing.assert_allclose(got[key], value, rtol=1e-10)
        else:
            assert got[key] == value, key
