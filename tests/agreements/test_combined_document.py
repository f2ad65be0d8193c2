"""Objectives over several services (rule 18) and bonus tiers (rule 12) in the document."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest

from agreements.document import DocumentError, validate
from agreements.models import Objective, Service
from agreements.services import agreement_export, agreement_import

NOW = dt.datetime(2026, 3, 15, 12, tzinfo=dt.UTC)

CHECKOUT = {
    "key": "checkout-end-to-end",
    "indicator": "availability",
    "services": ["web-frontend", "payments-gateway"],
    "combine": "all",
    "target": 99.5,
    "bonus": [{"above": 99.95, "percent": 2}],
}


@pytest.fixture
def combined(document: dict[str, Any]) -> dict[str, Any]:
    doc = copy.deepcopy(document)
    doc["objectives"].append(copy.deepcopy(CHECKOUT))
    doc.setdefault("services", {})
    doc["services"]["web-frontend"] = {"name": "Web frontend", "provider": "Example Web Ltd"}
    doc["services"]["payments-gateway"] = {"name": "Payments", "provider": "PayCo"}
    return doc


def _errors(doc: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(DocumentError) as caught:
        validate(doc)
    return caught.value.errors


def test_services_combine_and_bonus_are_canonical(combined: dict[str, Any]) -> None:
    out = validate(combined)["objectives"][-1]
    assert out["services"] == ["web-frontend", "payments-gateway"]
    assert out["combine"] == "all"
    assert out["bonus"] == [{"above": "99.95", "percent": 2}]
    assert "service" not in out
    del combined["objectives"][-1]["combine"]
    assert validate(combined)["objectives"][-1]["combine"] == "all"


@pytest.mark.parametrize(
    ("change", "path", "words"),
    [
        ({"service": "hosted-api"}, "objectives[4].services", "either service or services"),
        ({"services": ["web-frontend"]}, "objectives[4].services", "at least two"),
        ({"services": "web-frontend"}, "objectives[4].services", "must be a list"),
        ({"services": ["a", "a"]}, "objectives[4].services[1]", "listed twice"),
        ({"services": ["a", "B!"]}, "objectives[4].services[1]", "must be a slug"),
        ({"combine": "both"}, "objectives[4].combine", "all (in series) or any"),
        ({"indicator": "ratio"}, "objectives[4].services", "only availability"),
        ({"bonus": [{"above": 99.9}]}, "objectives[4].bonus[0].percent", "is required"),
        ({"bonus": [{"above": 100, "percent": 1}]}, "objectives[4].bonus[0].above", "below 100"),
        (
            {"bonus": [{"above": 99.9, "percent": 1}, {"above": 99.5, "percent": 2}]},
            "objectives[4].bonus[1].above",
            "strictly increasing",
        ),
        ({"bonus": [{"above": 99, "percent": 1, "x": 1}]}, "objectives[4].bonus[0].x", "unknown"),
    ],
)
def test_bad_fields_are_named(
    combined: dict[str, Any], change: dict[str, Any], path: str, words: str
) -> None:
    combined["objectives"][-1].update(change)
    errors = _errors(combined)
    assert any(p == path and words in m for p, m in errors), errors


def test_combine_without_services_is_refused(document: dict[str, Any]) -> None:
    document["objectives"][0]["combine"] = "any"
    assert ("objectives[0].combine", "only objectives over several services combine them") in (
        _errors(document)
    )


@pytest.mark.django_db
def test_import_export_round_trip_keeps_services_and_bonus(combined: dict[str, Any]) -> None:
    agreement = agreement_import(data=combined, now=NOW).agreement
    objective = Objective.objects.get(agreement=agreement, key="checkout-end-to-end")
    assert objective.service is None
    assert objective.services == ["web-frontend", "payments-gateway"]
    assert Service.objects.get(key="payments-gateway").provider == "PayCo"
    assert agreement_export(agreement) == validate(combined)
    again = agreement_import(data=agreement_export(agreement), now=NOW)
    assert again.version is None
