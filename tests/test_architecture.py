"""The package's rooms: no module imports another in a circle, and the queue has one seam."""

from __future__ import annotations

import ast
from pathlib import Path

import django_voiceotp

PACKAGE = Path(django_voiceotp.__file__).parent


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts).removesuffix(".__init__")


def import_graph() -> dict[str, set[str]]:
    """Each module of the package and the modules of the package it imports, at module level or
    inside functions (a function-level import is the same knot, tied later)."""
    modules = {
        module_name(path): path
        for path in PACKAGE.rglob("*.py")
        if "migrations" not in path.parts and "sandbox" not in path.parts
    }
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(parts + ([base] if base else []))
                targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                continue
            for target in targets:
                # A module's own package is where it lives, not a module it depends on.
                if target in modules and target != name and not name.startswith(target + "."):
                    graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found, state, stack = [], {}, []

    def visit(module: str) -> None:
        state[module] = "open"
        stack.append(module)
        for imported in sorted(graph[module]):
            if state.get(imported) == "open":
                found.append(stack[stack.index(imported) :] + [imported])
            elif imported not in state:
                visit(imported)
        stack.pop()
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module)
    return found


def test_the_graph_sees_imports_inside_functions_and_relative_ones():
    graph = import_graph()
    assert "django_voiceotp.sending" in graph["django_voiceotp"]  # inside send_otp
    assert "django_voiceotp.jobs" in graph["django_voiceotp.tasks"]  # from . import jobs


def test_a_circle_is_found():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]


def test_no_module_imports_another_in_a_circle():
    assert cycles(import_graph()) == []


def test_only_the_queues_own_dispatchers_import_the_task_modules():
    """Services, views and jobs reach the queue through ``dispatch``, never a task module."""
    graph = import_graph()
    importers = sorted(
        name for name, imported in graph.items() if "django_voiceotp.tasks" in imported
    )
    assert importers == ["django_voiceotp.dispatch.celery"]
