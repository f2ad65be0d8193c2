"""End-to-end tests run real monitoring tools as subprocesses and take a minute or two:
they run only when asked for with ``-m e2e`` (``make e2e``) and are deselected
otherwise."""

from __future__ import annotations

from typing import Any


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    if "e2e" in (config.getoption("markexpr") or ""):
        return
    kept = [item for item in items if item.get_closest_marker("e2e") is None]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in kept])
        items[:] = kept
