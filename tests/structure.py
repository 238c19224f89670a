"""The package's structure as its source states it: modules, imports, sizes.

Every `import` and `from ... import` of a `forecaster` module counts, wherever it stands
(module level, inside a function, under `if TYPE_CHECKING:`). Run it to print the figures:

    python -m tests.structure
"""

import ast
import dataclasses
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "forecaster"
LONG_FUNCTION = 50  # lines


@dataclasses.dataclass
class Module:
    """One file of the package."""

    name: str  # dotted, e.g. "forecaster.data.reading"
    path: Path
    lines: int
    tree: ast.Module


def modules(package=PACKAGE):
    """Every `.py` file below `package`, by dotted name."""
    found = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        text = path.read_text(encoding="utf-8")
        found[name] = Module(name, path, len(text.splitlines()), ast.parse(text))
    return found


def _package_of(module):
    return module.name if module.path.name == "__init__.py" else module.name.rpartition(".")[0]


def imports(module, known):
    """`(target module, imported names)` for each import of a package module in `module`."""
    found = []
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            found += [(a.name, ()) for a in node.names if a.name.split(".")[0] == "forecaster"]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = _package_of(module).split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            if base.split(".")[0] != "forecaster":
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.append((sub, ()) if sub in known else (base, (alias.name,)))
    return found


def edges(found):
    """The import edges between package modules: {(importer, imported): names}."""
    result = {}
    for module in found.values():
        for target, names in imports(module, found):
            while target not in found and "." in target:
                target = target.rpartition(".")[0]
            if target != module.name:
                result.setdefault((module.name, target), set()).update(names)
    return result


def cycles(found, graph_edges):
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    graph = {name: [] for name in found}
    for source, target in graph_edges:
        graph[source].append(target)
    index, low, stack, on_stack, groups = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for name in graph:
        if name not in index:
            visit(name)
    return groups


def private_imports(found):
    """`importer imports module.name` for each imported name (or module) starting with `_`."""
    bad = []
    for module in found.values():
        for target, names in imports(module, found):
            private = [n for n in names if n.startswith("_")]
            private += [p for p in target.split(".") if p.startswith("_") and p != "__main__"]
            bad += [f"{module.name} imports {target}: {n}" for n in private]
    return bad


def long_functions(found, limit=LONG_FUNCTION):
    """`module:function (lines)` for each function longer than `limit` lines."""
    long = []
    for module in found.values():
        for node in ast.walk(module.tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                size = node.end_lineno - node.lineno + 1
                if size > limit:
                    long.append(f"{module.name}:{node.name} ({size})")
    return long


def report():
    """The figures, one `label: value` a line."""
    found = modules()
    graph_edges = edges(found)
    groups = cycles(found, graph_edges)
    largest = max(found.values(), key=lambda m: m.lines)
    return {
        "modules": len(found),
        "top-level modules": sum(1 for m in found.values() if m.name.count(".") == 1),
        "import edges": len(graph_edges),
        "import cycles": "; ".join(", ".join(g) for g in groups) or "none",
        "private imports": len(private_imports(found)),
        f"functions over {LONG_FUNCTION} lines": len(long_functions(found)),
        "largest module": f"{largest.name} ({largest.lines} lines)",
        "modules over 400 lines": sum(1 for m in found.values() if m.lines > 400),
    }


if __name__ == "__main__":
    for label, value in report().items():
        print(f"{label}: {value}")
    for line in private_imports(modules()):
        print(f"  {line}")
    for line in long_functions(modules()):
        print(f"  long: {line}")
