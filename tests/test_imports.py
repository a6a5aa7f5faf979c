"""The import graph of radlib: no circle, no function-local import of a radlib module, every module imports alone.

The graph is read from the source with ``ast`` (module-level imports; ``if TYPE_CHECKING:`` blocks
left out, as they never run), so a circle is found even where Python's import order happens to
tolerate it. ``from radlib import analysis`` is an edge to ``radlib.analysis``.
"""

import ast
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "radlib"
# The engine rewrite (radlib/experiment.py: the lazy re-export of radlib.grid) removes its function-local
# import; until it lands, that module alone may hold one.


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _imports(tree: ast.AST) -> tuple[set[str], list[tuple[int, str]]]:
    """(radlib modules imported at module level, (line, module) of radlib imports inside functions)."""
    module_level, local = set(), []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and getattr(child.test, "id", None) == "TYPE_CHECKING":
                continue
            inside = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            targets = []
            if isinstance(child, ast.ImportFrom) and child.level == 0 and (child.module or "").startswith("radlib"):
                targets = [child.module, *(f"{child.module}.{alias.name}" for alias in child.names)]
            elif isinstance(child, ast.Import):
                targets = [alias.name for alias in child.names if alias.name.startswith("radlib")]
            targets = [t for t in targets if t in MODULES]
            if targets and inside:
                local.append((child.lineno, targets[0]))
            elif targets:
                module_level.update(targets)
            visit(child, inside)

    visit(tree, False)
    return module_level, local


GRAPH, LOCAL = {}, {}
for _name, _path in MODULES.items():
    _edges, _local = _imports(ast.parse(_path.read_text(encoding="utf-8")))
    GRAPH[_name] = _edges - {_name}
    LOCAL[_name] = _local


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], [0]

    def connect(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return found


def test_the_circle_finder_finds_a_circle_and_a_self_contained_chain():
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _circles({"a": {"b"}, "b": set()}) == []


def test_the_graph_is_read_from_the_source():
    assert "radlib.records" in GRAPH["radlib.analysis.pairs"]
    assert "radlib.analysis" in GRAPH["radlib.analysis.power"]  # from radlib import analysis


def test_the_import_graph_of_radlib_has_no_circle():
    assert _circles(GRAPH) == []


def test_no_function_imports_a_radlib_module():
    local = {name: lines for name, lines in LOCAL.items() if lines}
    assert local == {}


def _import_alone(module: str) -> tuple[str, int, str]:
    run = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True, cwd=ROOT)
    lines = run.stderr.strip().splitlines()
    return module, run.returncode, lines[-1] if lines else ""


@pytest.mark.slow
def test_every_module_imports_alone_in_a_fresh_interpreter():
    with ThreadPoolExecutor(max_workers=2) as pool:
        failures = [(m, err) for m, code, err in pool.map(_import_alone, sorted(MODULES)) if code]
    assert failures == []
