"""The reference in docs/ stays linkable and names code that exists."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
RULES = (DOCS / "rules.md").read_text()


def _anchor(heading: str) -> str:
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def test_every_rule_has_its_stable_anchor() -> None:
    headings = re.findall(r"^## (Rule \d+ — .+)$", RULES, flags=re.MULTILINE)
    numbers = [int(re.search(r"\d+", h).group()) for h in headings]  # type: ignore[union-attr]
    assert numbers == list(range(1, 21))
    assert _anchor("Rule 4 — Availability from probes") == "rule-4--availability-from-probes"
    assert "rule-4--availability-from-probes" in {_anchor(h) for h in headings}


@pytest.mark.parametrize(
    "dotted",
    sorted(
        set(
            re.findall(
                r"`((?:agreements|metrics|credits|portal|notifications|contracts)\.[\w.]+)`", RULES
            )
        )
    ),
)
def test_code_named_by_the_rules_exists(dotted: str) -> None:
    module_name, _, name = dotted.rpartition(".")
    module = importlib.import_module(module_name)
    if not hasattr(module, name):
        importlib.import_module(dotted)  # a module named as a whole, or ImportError
