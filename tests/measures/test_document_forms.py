"""The further objective forms in the agreement document: validated field by field,
stored, exported and imported back unchanged."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from typing import Any

import pytest
import yaml
from django.core.management import call_command

from agreements.document import DocumentError, load_document, terms_of, validate
from agreements.services import agreement_export, agreement_import
from credits.terms import terms_of as engine_terms
from tests.measures.forms import with_further_forms

NOW = dt.datetime(2026, 3, 15, 12, tzinfo=dt.UTC)


def errors_of(document: dict[str, Any], objectives: str) -> list[tuple[str, str]]:
    document["objectives"] = yaml.safe_load(objectives)
    with pytest.raises(DocumentError) as caught:
        validate(document)
    return caught.value.errors


def test_the_spec_forms_validate_to_their_canonical_form(document: dict[str, Any]) -> None:
    out = validate(with_further_forms(document))["objectives"]
    forms = {o["key"]: o for o in out}
    assert forms["restore-time"]["max"] == "4h"
    assert forms["restore-time"]["credits"] == [
        {"above": "4h", "percent": 5},
        {"above": "8h", "percent": 10},
    ]
    assert "target" not in forms["restore-time"]
    assert forms["failure-interval"]["min"] == "10d"
    assert forms["wan-jitter"]["max"] == 30
    assert forms["wan-throughput"]["metric"] == "throughput_mbps"
    assert forms["qualified-leads"]["carry_over"] is True
    assert forms["qualified-leads"]["credits"] == [{"below": 90, "percent": 5}]


@pytest.mark.parametrize(
    ("objective", "field", "message"),
    [
        ("{key: a, service: s, indicator: mttr}", "objectives[0].max", "is required"),
        ("{key: a, service: s, indicator: mttr, min: 4h}", "objectives[0].min", "bounded by max"),
        ("{key: a, service: s, indicator: mtbf, max: 4h}", "objectives[0].max", "bounded by min"),
        ("{key: a, service: s, indicator: mttr, max: 4}", "objectives[0].max", "duration"),
        ("{key: a, service: s, indicator: mttr, max: 0m}", "objectives[0].max", "longer than"),
        ("{key: a, service: s, indicator: jitter, max: -1}", "objectives[0].max", "between 0"),
        ("{key: a, service: s, indicator: jitter, max: x}", "objectives[0].max", "not a number"),
        (
            "{key: a, service: s, indicator: jitter, max: 3, target: 99}",
            "objectives[0].target",
            "give max",
        ),
        (
            "{key: a, service: s, indicator: metric_mean, min: 1, max: 2, metric: m}",
            "objectives[0].min",
            "not both",
        ),
        (
            "{key: a, service: s, indicator: metric_mean, min: 1}",
            "objectives[0].metric",
            "required",
        ),
        (
            "{key: a, service: s, indicator: metric_sum, min: 0, metric: m}",
            "objectives[0].min",
            "greater than 0",
        ),
        (
            "{key: a, service: s, indicator: metric_mean, min: 1, metric: m, carry_over: true}",
            "objectives[0].carry_over",
            "only metric_sum",
        ),
        (
            "{key: a, service: s, indicator: metric_sum, min: 1, metric: m, carry_over: yes-ish}",
            "objectives[0].carry_over",
            "true or false",
        ),
        (
            "{key: a, service: s, indicator: availability, target: 99, max: 3}",
            "objectives[0].max",
            "not used by availability",
        ),
        (
            "{key: a, service: s, indicator: mttr, max: 4h, credits: [{below: 4h, percent: 5}]}",
            "objectives[0].credits[0].below",
            "use above",
        ),
        (
            "{key: a, service: s, indicator: mttr, max: 4h, "
            "credits: [{above: 8h, percent: 5}, {above: 4h, percent: 10}]}",
            "objectives[0].credits[1].above",
            "strictly increasing",
        ),
        (
            "{key: a, service: s, indicator: mtbf, min: 10d, "
            "credits: [{below: 10d, percent: 10}, {below: 5d, percent: 5}]}",
            "objectives[0].credits[1].percent",
            "smaller percent",
        ),
    ],
)
def test_bad_forms_are_refused_naming_the_field(
    document: dict[str, Any], objective: str, field: str, message: str
) -> None:
    errors = errors_of(document, f"[{objective}]")
    assert any(path.startswith(field) and message in text for path, text in errors), errors


@pytest.mark.django_db
def test_forms_are_stored_exported_and_imported_back_unchanged(document: dict[str, Any]) -> None:
    agreement = agreement_import(data=with_further_forms(document), now=NOW).agreement
    assert agreement_export(agreement) == validate(document)
    out = io.StringIO()
    call_command("export_agreement", "acme-hosting", stdout=out)
    again = agreement_import(data=load_document(out.getvalue()), now=NOW)
    assert again.version is None


def test_terms_carry_bounds_in_the_value_unit(document: dict[str, Any]) -> None:
    terms = engine_terms(terms_of(validate(with_further_forms(document))))
    by_key = {o.key: o for o in terms.objectives}
    restore = by_key["restore-time"]
    assert restore.maximum == Decimal(4 * 3600)
    assert restore.above_tiers == ((Decimal(14400), Decimal(5)), (Decimal(28800), Decimal(10)))
    assert restore.value_unit == "s"
    assert by_key["failure-interval"].tiers == ((Decimal(864000), Decimal(5)),)
    assert by_key["wan-throughput"].value_unit == "throughput_mbps"
    leads = by_key["qualified-leads"]
    assert (leads.minimum, leads.carry_over, leads.target) == (Decimal(200), True, Decimal(100))
