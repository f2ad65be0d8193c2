"""The agreement document has limits, and hostile values are a 400 naming the field:
never a 500, a partial import, or terms that later stall closing or break a page."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from agreements.models import Agreement, Customer, EscalationLevel, Objective, Service

pytestmark = pytest.mark.django_db
Change = Callable[[dict[str, Any]], None]


def post(api: Any, document: dict[str, Any]) -> Any:
    body = json.dumps(document, default=str)
    return api("write").post("/api/v1/agreements/", body, content_type="application/json")


def nothing_stored() -> bool:
    return not (
        Agreement.objects.exists()
        or Customer.objects.exists()
        or Service.objects.exists()
        or Objective.objects.exists()
        or EscalationLevel.objects.exists()
    )


def refused(response: Any, field: str, words: str = "") -> None:
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["error"] == "invalid agreement document"
    messages = [e["message"] for e in body["errors"] if e["field"] == field]
    assert messages, body
    assert words in " ".join(messages), body
    assert nothing_stored()


def objectives(n: int) -> Change:
    def change(d: dict[str, Any]) -> None:
        d["objectives"] = [{**d["objectives"][2], "key": f"o{i}"} for i in range(n)]

    return change


def tiers(n: int) -> Change:
    def change(d: dict[str, Any]) -> None:
        d["objectives"][0]["credits"] = [
            {"below": 100 - (i + 1) / 100, "percent": 1} for i in range(n)
        ]

    return change


def escalation(n: int) -> Change:
    def change(d: dict[str, Any]) -> None:
        d["escalation"] = [
            {"level": i + 1, "after": f"{i}h", "contact": "noc@example.com"} for i in range(n)
        ]

    return change


def calendars(n: int) -> Change:
    def change(d: dict[str, Any]) -> None:
        week = {"weekly": {"mon": ["09:00-17:00"]}}
        d["calendars"] = {"business-hours": week, **{f"cal-{i}": week for i in range(n - 1)}}

    return change


def ranges(n: int) -> Change:
    def change(d: dict[str, Any]) -> None:
        d["calendars"]["business-hours"]["weekly"]["mon"] = [
            f"{h:02d}:00-{h:02d}:30" for h in range(n)
        ]

    return change


def holidays(n: int) -> Change:
    def change(d: dict[str, Any]) -> None:
        d["calendars"]["business-hours"]["holidays"] = [
            f"{2026 + i // 300}-01-01"
            if i % 300 == 0
            else f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}"
            for i in range(n)
        ]

    return change


def setting(*path: Any, value: Any) -> Change:
    def change(d: dict[str, Any]) -> None:
        target = d
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value

    return change


LIMITS = [
    ("objectives", objectives(2000), "objectives", "at most 100"),
    ("tiers", tiers(21), "objectives[0].credits", "at most 20"),
    ("escalation", escalation(11), "escalation", "at most 10"),
    ("calendars", calendars(21), "calendars", "at most 20"),
    ("ranges", ranges(13), "calendars.business-hours.weekly.mon", "at most 12"),
    ("holidays", holidays(501), "calendars.business-hours.holidays", "at most 500"),
]


@pytest.mark.parametrize(
    ("change", "field", "words"), [x[1:] for x in LIMITS], ids=[x[0] for x in LIMITS]
)
def test_counts_beyond_the_limits_are_refused(
    api: Any, document: dict[str, Any], change: Change, field: str, words: str
) -> None:
    change(document)
    refused(post(api, document), field, words)


@pytest.mark.parametrize(
    "change", [objectives(100), tiers(20), escalation(10), calendars(20), ranges(12)]
)
def test_counts_at_the_limits_are_accepted(
    api: Any, document: dict[str, Any], change: Change
) -> None:
    change(document)
    assert post(api, document).status_code == 201


BAD_VALUES = [
    ("coverage-list", setting("objectives", 0, "coverage", value=[]), "objectives[0].coverage"),
    ("coverage-map", setting("objectives", 0, "coverage", value={}), "objectives[0].coverage"),
    ("after-25000d", setting("escalation", 0, "after", value="25000d"), "escalation[0].after"),
    ("after-367d", setting("escalation", 2, "after", value="367d"), "escalation[2].after"),
    (
        "threshold-2^31s",
        setting("objectives", 3, "threshold", value=f"{2**31}s"),
        "objectives[3].threshold",
    ),
    ("from-year-1", setting("effective_from", value="0001-01-01"), "effective_from"),
    ("from-1999", setting("effective_from", value="1999-12-31"), "effective_from"),
    ("to-9999", setting("effective_to", value="9999-12-31"), "effective_to"),
    ("from-basic", setting("effective_from", value="20260101"), "effective_from"),
    (
        "holiday-1900",
        setting("calendars", "business-hours", "holidays", value=["1900-12-25"]),
        "calendars.business-hours.holidays[0]",
    ),
    (
        "contact-255",
        setting("escalation", 0, "contact", value="a" * 243 + "@example.com"),
        "escalation[0].contact",
    ),
]


@pytest.mark.parametrize(
    ("change", "field"), [x[1:] for x in BAD_VALUES], ids=[x[0] for x in BAD_VALUES]
)
def test_out_of_range_values_are_refused(
    api: Any, document: dict[str, Any], change: Change, field: str
) -> None:
    change(document)
    refused(post(api, document), field)


def test_the_largest_durations_and_dates_import(api: Any, document: dict[str, Any]) -> None:
    document["escalation"][2]["after"] = "366d"
    document["objectives"][3]["threshold"] = "366d"
    document["effective_from"] = "2000-01-01"
    document["effective_to"] = "2100-12-31"
    assert post(api, document).status_code == 201


HOSTILE = [
    "db down\nBcc: x@example.invalid",
    "carriage\rreturn",
    "nul\x00byte",
    "lone \udfff surrogate",
    "c1 \x85 next line",
]
TEXT_FIELDS = [
    ("name", setting, ("name",)),
    ("provider", setting, ("provider",)),
    ("customer.name", setting, ("customer", "name")),
    ("objectives[3].priority", setting, ("objectives", 3, "priority")),
    ("escalation[0].contact", setting, ("escalation", 0, "contact")),
]


@pytest.mark.parametrize("value", HOSTILE, ids=range(len(HOSTILE)))
@pytest.mark.parametrize(
    ("field", "path"), [(f, p) for f, _, p in TEXT_FIELDS], ids=[f for f, _, _ in TEXT_FIELDS]
)
def test_text_with_control_characters_is_refused(
    api: Any, document: dict[str, Any], field: str, path: tuple[Any, ...], value: str
) -> None:
    setting(*path, value=value)(document)
    refused(post(api, document), field)


def test_an_email_with_a_header_after_it_is_refused(api: Any, document: dict[str, Any]) -> None:
    document["escalation"][0]["contact"] = "noc@example.com\nBcc: x@example.invalid"
    refused(post(api, document), "escalation[0].contact", "single line")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (setting("agreement", value="acme-hosting\n"), "agreement"),
        (setting("customer", "key", value="acme\n"), "customer.key"),
        (setting("objectives", 0, "key", value="up\n"), "objectives[0].key"),
        (setting("objectives", 0, "service", value="hosted-api\n"), "objectives[0].service"),
        (setting("escalation", 0, "after", value="2h\x00"), "escalation[0].after"),
    ],
    ids=["agreement", "customer", "objective", "service", "after"],
)
def test_keys_with_a_trailing_newline_are_refused(
    api: Any, document: dict[str, Any], change: Change, field: str
) -> None:
    change(document)
    refused(post(api, document), field)


def test_a_calendar_named_with_a_newline_is_refused(api: Any, document: dict[str, Any]) -> None:
    document["calendars"]["cal\n"] = copy.deepcopy(document["calendars"]["business-hours"])
    refused(post(api, document), "calendars.'cal\\n'")


def test_a_hostile_field_name_is_named_safely(api: Any, document: dict[str, Any]) -> None:
    document["\udfff\n"] = 1
    refused(post(api, document), "'\\udfff\\n'", "unknown field")


# Bodies larger than the server takes ----------------------------------------------------

ELEVEN_MB = 11 * 1024 * 1024


@pytest.mark.parametrize("content_type", ["application/json", "application/yaml"])
def test_an_oversized_document_is_a_json_413(
    api: Any, document: dict[str, Any], content_type: str
) -> None:
    document["name"] = "x" * ELEVEN_MB
    body = json.dumps(document, default=str)
    response = api("write").post("/api/v1/agreements/", body, content_type=content_type)
    assert response.status_code == 413
    assert response.json() == {"error": "the request body is larger than 10 MB"}
    assert nothing_stored()


def test_an_oversized_form_is_a_json_413_outside_the_api_too() -> None:
    response = Client().post("/accounts/login/", {"username": "x" * ELEVEN_MB, "password": "p"})
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert "10 MB" in response.json()["error"]
