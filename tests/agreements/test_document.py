"""The agreement document: every validation error names its field, nothing is written."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from typing import Any

import pytest

from agreements.document import (
    DocumentError,
    format_duration,
    load_document,
    parse_duration,
    parse_range,
    validate,
)
from agreements.models import Agreement, Customer, Objective, Service


def _set(doc: dict[str, Any], path: str, value: Any) -> None:
    """Set a dotted path like ``objectives.1.target``; value ``...`` deletes it."""
    parts = path.split(".")
    target: Any = doc
    for part in parts[:-1]:
        target = target[int(part)] if isinstance(target, list) else target[part]
    last = parts[-1]
    if value is ...:
        del target[int(last) if isinstance(target, list) else last]
    elif isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value


INVALID = [
    # (path to change, new value, field named in the error, words of the message)
    ("surprise", 1, "surprise", "unknown field"),
    ("objectives.0.surprise", 1, "objectives[0].surprise", "unknown field"),
    ("calendars.business-hours.colour", "red", "calendars.business-hours.colour", "unknown field"),
    ("agreement", ..., "agreement", "is required"),
    ("agreement", "Not A Slug!", "agreement", "must be a slug"),
    ("customer", ..., "customer", "is required"),
    ("customer.key", ..., "customer.key", "is required"),
    ("name", "", "name", "non-empty"),
    ("timezone", "Europe/Atlantis", "timezone", "not an IANA time zone"),
    ("timezone", 5, "timezone", "not an IANA time zone"),
    ("effective_from", "2026-02-30", "effective_from", "YYYY-MM-DD"),
    ("effective_to", "2025-12-31", "effective_to", "must not be before effective_from"),
    ("currency", "EURO", "currency", "ISO 4217"),
    ("currency", "XYZ", "currency", "ISO 4217"),
    ("monthly_fee", "12,000", "monthly_fee", "is not a number"),
    ("monthly_fee", "-1.00", "monthly_fee", "must not be negative"),
    ("monthly_fee", "1.005", "monthly_fee", "at most 2 decimal places"),
    ("monthly_fee", 12000.5, "monthly_fee", "decimal string"),
    ("credit_cap_percent", 150, "credit_cap_percent", "between 0 and 100"),
    ("claim_window_days", -1, "claim_window_days", "between 0 and"),
    ("claim_window_days", "30", "claim_window_days", "whole number"),
    ("maintenance_notice_hours", True, "maintenance_notice_hours", "whole number"),
    ("data_grace_hours", 1.5, "data_grace_hours", "whole number"),
    (
        "calendars.business-hours.weekly.mon",
        ["09:00-17:00", "16:00-18:00"],
        "calendars.business-hours.weekly.mon",
        "overlap",
    ),
    (
        "calendars.business-hours.weekly.mon",
        ["17:00-09:00"],
        "calendars.business-hours.weekly.mon[0]",
        "must end after it starts",
    ),
    (
        "calendars.business-hours.weekly.mon",
        ["9-17"],
        "calendars.business-hours.weekly.mon[0]",
        "is not a range",
    ),
    (
        "calendars.business-hours.weekly.mon",
        ["09:00-24:30"],
        "calendars.business-hours.weekly.mon[0]",
        "impossible time",
    ),
    (
        "calendars.business-hours.weekly.funday",
        ["09:00-17:00"],
        "calendars.business-hours.weekly.funday",
        "unknown weekday",
    ),
    (
        "calendars.business-hours.holidays",
        ["2026-13-01"],
        "calendars.business-hours.holidays[0]",
        "YYYY-MM-DD",
    ),
    ("calendars.business-hours.weekly", ..., "calendars.business-hours.weekly", "is required"),
    ("objectives", [], "objectives", "non-empty list"),
    ("objectives.2.target", 0, "objectives[2].target", "must be between 0 and 100"),
    ("objectives.2.target", 100.5, "objectives[2].target", "must be between 0 and 100"),
    ("objectives.2.target", "high", "objectives[2].target", "is not a number"),
    ("objectives.0.target", ..., "objectives[0].target", "is required"),
    ("objectives.0.indicator", "uptime", "objectives[0].indicator", "must be one of"),
    ("objectives.0.source", "logs", "objectives[0].source", "probes or incidents"),
    ("objectives.1.source", "probes", "objectives[1].source", "only availability"),
    ("objectives.0.service", ..., "objectives[0].service", "is required"),
    ("objectives.3.service", "hosted-api", "objectives[3].service", "not used by ticket"),
    ("objectives.1.key", "api-availability", "objectives[1].key", "duplicate"),
    ("objectives.3.coverage", "night-shift", "objectives[3].coverage", "unknown calendar"),
    ("objectives.1.threshold_ms", ..., "objectives[1].threshold_ms", "is required"),
    ("objectives.1.threshold_ms", 0, "objectives[1].threshold_ms", "between 1 and"),
    ("objectives.3.threshold", "1 hour", "objectives[3].threshold", "is not a duration"),
    ("objectives.3.threshold", "0m", "objectives[3].threshold", "longer than zero"),
    ("objectives.3.threshold", ..., "objectives[3].threshold", "is required"),
    ("objectives.0.threshold", "1h", "objectives[0].threshold", "only ticket indicators"),
    ("objectives.3.warn_at_percent", 0, "objectives[3].warn_at_percent", "between 1 and 99"),
    ("objectives.3.warn_at_percent", 100, "objectives[3].warn_at_percent", "between 1 and 99"),
    ("objectives.3.warn_at_percent", "75", "objectives[3].warn_at_percent", "whole number"),
    ("objectives.0.warn_at_percent", 75, "objectives[0].warn_at_percent", "only ticket"),
    ("objectives.0.priority", "P1", "objectives[0].priority", "only ticket indicators"),
    (
        "objectives.0.credits.1.below",
        99.95,
        "objectives[0].credits[1].below",
        "strictly decreasing",
    ),
    ("objectives.0.credits.1.percent", 5, "objectives[0].credits[1].percent", "smaller percent"),
    ("objectives.0.credits.0.percent", 0, "objectives[0].credits[0].percent", "between 0 and 100"),
    ("objectives.0.credits.0.below", ..., "objectives[0].credits[0].below", "is required"),
    ("objectives.0.credits", "lots", "objectives[0].credits", "must be a list"),
    ("escalation.1.after", "2 hours", "escalation[1].after", "is not a duration"),
    ("escalation.1.contact", "ops-lead", "escalation[1].contact", "email address"),
    ("escalation.1.level", 1, "escalation[1].level", "increasing order"),
    ("escalation.2.after", "1h", "escalation[2].after", "not be earlier"),
]


@pytest.mark.parametrize(
    ("path", "value", "field", "words"), INVALID, ids=[i[0] + "=" + repr(i[1]) for i in INVALID]
)
def test_invalid_document_names_field_and_problem(
    document: dict[str, Any], path: str, value: Any, field: str, words: str
) -> None:
    _set(document, path, value)
    with pytest.raises(DocumentError) as caught:
        validate(document)
    messages = dict(caught.value.errors)
    assert field in messages, caught.value.errors
    assert words in messages[field]
    assert f"{field}: " in str(caught.value)


def test_spec_example_message_format(document: dict[str, Any]) -> None:
    document["objectives"][2]["target"] = 120
    with pytest.raises(DocumentError, match=r"objectives\[2\]\.target: must be between 0 and 100"):
        validate(document)


def test_every_problem_is_reported_at_once(document: dict[str, Any]) -> None:
    document["currency"] = "??"
    document["timezone"] = "Mars/Olympus"
    document["objectives"][0]["target"] = -1
    with pytest.raises(DocumentError) as caught:
        validate(document)
    assert {p for p, _ in caught.value.errors} >= {"currency", "timezone", "objectives[0].target"}


def test_not_a_mapping_is_refused() -> None:
    with pytest.raises(DocumentError, match="must be a mapping"):
        validate(["a", "list"])


def test_broken_yaml_and_json_are_refused_clearly() -> None:
    with pytest.raises(DocumentError, match="invalid YAML"):
        load_document("agreement: [unclosed")
    with pytest.raises(DocumentError, match="invalid JSON"):
        load_document('{"agreement": ')


def test_yaml_numbers_are_exact_decimals() -> None:
    data = load_document("target: 99.95\nfee: 0.1")
    assert data["target"] == Decimal("99.95")
    assert isinstance(data["fee"], Decimal)


def test_json_document_is_accepted(document: dict[str, Any]) -> None:
    text = json.dumps(document, default=str)
    assert validate(load_document(text)) == validate(document)


def test_defaults_are_filled(document: dict[str, Any]) -> None:
    for key in (
        "credit_cap_percent",
        "claim_window_days",
        "maintenance_notice_hours",
        "data_grace_hours",
    ):
        document.pop(key, None)
    document["objectives"][0].pop("source")
    canonical = validate(document)
    assert canonical["credit_cap_percent"] == 100
    assert canonical["claim_window_days"] == 0
    assert canonical["data_grace_hours"] == 24
    assert canonical["objectives"][0]["source"] == "probes"
    assert canonical["objectives"][1]["coverage"] == "always"


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("30m", 1800), ("4h", 14400), ("2d", 172800)]
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("seconds", [0, 1, 59, 60, 90, 3600, 5400, 86400, 90000])
def test_duration_format_round_trips(seconds: int) -> None:
    assert parse_duration(format_duration(seconds)) == seconds


def test_range_may_end_at_midnight() -> None:
    assert parse_range("00:00-24:00") == (0, 1440)


def test_invalid_document_writes_nothing(db: Any, document: dict[str, Any]) -> None:
    from agreements.services import agreement_import

    document["objectives"][3]["coverage"] = "unknown"
    with pytest.raises(DocumentError):
        agreement_import(data=document)
    assert not Agreement.objects.exists()
    assert not Customer.objects.exists()
    assert not Service.objects.exists()
    assert not Objective.objects.exists()


def test_canonical_form_is_stable(document: dict[str, Any]) -> None:
    once = validate(copy.deepcopy(document))
    assert validate(once) == once
