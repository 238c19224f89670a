import forecaster
from forecaster import data


def test_public_names_are_exported_at_the_top():
    for name in ("read_csv", "split", "Split", "Scaler", "WindowSpec", "Windows", "make_windows"):
        assert getattr(forecaster, name) is getattr(data, name)
        assert name in forecaster.__all__
    assert issubclass(forecaster.DataError, ValueError)
