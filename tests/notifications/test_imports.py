"""The notifications modules import one another without a cycle at load time.

The services enqueue tasks, and the tasks call services: the services import the task
objects at load time, and the tasks import the services only when they run. A module-
level import from tasks back into services would bring the cycle back.
"""

from __future__ import annotations

import ast
from pathlib import Path

import notifications

PACKAGE = Path(notifications.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts).removesuffix(".__init__")


def _load_time_imports() -> dict[str, set[str]]:
    """Module -> the notifications modules it imports at load time (top level only)."""
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        found: set[str] = set()
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    found.add(full if full in files else node.module)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
        graph[name] = {m for m in found if m in files and m != name}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> list[str] | None:
        if name in path:
            return [*path[path.index(name) :], name]
        if name in done:
            return None
        for dep in sorted(graph[name]):
            if found := visit(dep, [*path, name]):
                return found
        done.add(name)
        return None

    return next((c for n in sorted(graph) if (c := visit(n, []))), None)


def test_no_import_cycle_at_load_time() -> None:
    assert _cycle(_load_time_imports()) is None


def test_tasks_import_no_service_at_load_time() -> None:
    assert not {
        m
        for m in _load_time_imports()["notifications.tasks"]
        if m.startswith("notifications.services")
    }


def test_cycle_check_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"a"}}) == ["a", "b", "a"]
