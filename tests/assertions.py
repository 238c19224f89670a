"""Assertions shared across the test suite."""

import re

import pytest


def raises_exactly(exception, message):
    """`pytest.raises` that demands the whole message, not a fragment of it."""
    return pytest.raises(exception, match=f"^{re.escape(message)}$")
