"""The house rules of the package's layout, read from its source (see tests/structure.py)."""

import ast

import pytest

from tests import structure

MODULES = structure.modules()
EDGES = structure.edges(MODULES)


def external_imports(module):
    """The top-level names of the non-forecaster modules `module` imports, anywhere in it."""
    names = set()
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names.add(node.module.split(".")[0])
    return names - {"forecaster"}


def test_the_reader_sees_every_kind_of_import():
    # A wrong reader would pass the rules below on any code: hold it to a known source.
    source = """
import forecaster.data
from forecaster.cells import lstm
from forecaster.estimators.base import _private, public
def later():
    from forecaster.evaluation import metrics
if TYPE_CHECKING:
    from forecaster.tracking import runs
"""
    module = structure.Module("forecaster.example", structure.PACKAGE / "example.py", 8, None)
    module.tree = ast.parse(source)
    known = {**MODULES, "forecaster.example": module}
    found = {target for target, _ in structure.imports(module, known)}
    assert found == {
        "forecaster.data",
        "forecaster.cells.lstm",
        "forecaster.estimators.base",
        "forecaster.evaluation.metrics",
        "forecaster.tracking.runs",
    }
    assert structure.private_imports({"forecaster.example": module}) == [
        "forecaster.example imports forecaster.estimators.base: _private"
    ]
    circle = {("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")}
    assert structure.cycles(dict.fromkeys("abcd"), circle) == [["a", "b", "c"]]


def test_no_import_cycle():
    assert structure.cycles(MODULES, EDGES) == []


def test_no_private_name_is_imported_from_another_module():
    assert structure.private_imports(MODULES) == []


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_is_over_400_lines(name):
    assert MODULES[name].lines <= 400


def test_only_tracking_imports_mlflow():
    importers = sorted(n for n, m in MODULES.items() if "mlflow" in external_imports(m))
    assert importers
    assert all(n.startswith("forecaster.tracking.") for n in importers), importers


def test_configuration_and_data_import_no_keras_or_tensorflow_at_module_level():
    # forecaster.config and the cli's sections are read before any model is built, and a
    # config error answers without loading TensorFlow.
    for name in ("forecaster.config", "forecaster.checks"):
        tree = MODULES[name].tree
        top = {
            alias.name.split(".")[0]
            for node in tree.body
            if isinstance(node, ast.Import)
            for alias in node.names
        } | {
            node.module.split(".")[0]
            for node in tree.body
            if isinstance(node, ast.ImportFrom) and node.module
        }
        assert not top & {"keras", "tensorflow", "mlflow"}, name


@pytest.mark.parametrize(
    ("lower", "upper"),
    [
        ("forecaster.data", "forecaster.estimators"),
        ("forecaster.data", "forecaster.networks"),
        ("forecaster.cells", "forecaster.networks"),
        ("forecaster.networks", "forecaster.estimators"),
        ("forecaster.estimators", "forecaster.tracking"),
        ("forecaster.estimators", "forecaster.cli"),
        ("forecaster.evaluation", "forecaster.tracking"),
        ("forecaster.tracking", "forecaster.cli"),
    ],
)
def test_imports_run_down_the_stages(lower, upper):
    upward = [
        (source, target)
        for source, target in EDGES
        if (source == lower or source.startswith(lower + "."))
        and (target == upper or target.startswith(upper + "."))
    ]
    assert upward == []
