import pytest

from forecaster import cells
from tests.assertions import raises_exactly


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("rnn", cells.SimpleRNNCell),
        ("LSTM", cells.LSTMCell),
        ("Gru", cells.GRUCell),
        ("cifg", cells.CIFGCell),
    ],
)
def test_get_maps_names_in_any_case(name, cls):
    assert cells.get(name) is cls


@pytest.mark.parametrize("name", ["transformer", "", None])
def test_get_rejects_unknown_names(name):
    message = f"unknown cell {name!r}; known cells: 'cifg', 'gru', 'lstm', 'rnn'"
    with raises_exactly(ValueError, message):
        cells.get(name)
