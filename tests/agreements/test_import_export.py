"""Importing, exporting and versioning agreements."""

from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any

import pytest
import yaml
from django.core.management import CommandError, call_command

from agreements.document import load_document, terms_of, validate
from agreements.models import Agreement, Calendar, CreditTier, Objective, TermsVersion
from agreements.services import agreement_export, agreement_import

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 3, 15, 12, tzinfo=dt.UTC)


def test_import_creates_everything_the_document_says(document: dict[str, Any]) -> None:
    result = agreement_import(data=document, now=NOW)
    agreement = result.agreement
    assert result.created
    assert agreement.customer.name == "Acme Corp"
    assert agreement.objectives.count() == 4
    assert CreditTier.objects.filter(objective__key="api-availability").count() == 3
    calendar = Calendar.objects.get(agreement=agreement, key="business-hours")
    assert calendar.ranges.filter(weekday=2).count() == 2
    assert [str(h) for h in calendar.holidays.all()] == ["2026-12-25", "2026-12-26"]
    assert Objective.objects.get(key="p1-first-response").threshold_seconds == 3600
    assert agreement.escalation.count() == 3
    assert result.version is not None
    assert result.version.number == 1
    assert result.version.effective_period == "2026-01"


def test_export_of_import_is_equivalent(document: dict[str, Any]) -> None:
    agreement = agreement_import(data=document, now=NOW).agreement
    assert agreement_export(agreement) == validate(document)


def test_exported_document_imports_back_unchanged(document: dict[str, Any]) -> None:
    agreement_import(data=document, now=NOW)
    for fmt in ("yaml", "json"):
        out = io.StringIO()
        call_command("export_agreement", "acme-hosting", "--format", fmt, stdout=out)
        again = agreement_import(data=load_document(out.getvalue()), now=NOW)
        assert not again.created
        assert again.version is None, f"{fmt} export changed the terms"
    assert TermsVersion.objects.count() == 1


def test_export_yaml_reads_like_the_spec(document: dict[str, Any]) -> None:
    agreement_import(data=document, now=NOW)
    out = io.StringIO()
    call_command("export_agreement", "acme-hosting", stdout=out)
    data = yaml.safe_load(out.getvalue())
    assert data["objectives"][0]["target"] == 99.9
    assert data["monthly_fee"] == "12000.00"
    assert data["objectives"][3]["threshold"] == "1h"


def test_reimport_unchanged_creates_no_version(document: dict[str, Any]) -> None:
    agreement_import(data=document, now=NOW)
    result = agreement_import(data=document, now=NOW)
    assert result.version is None
    assert TermsVersion.objects.count() == 1


def test_changed_terms_create_version_from_current_period(document: dict[str, Any]) -> None:
    agreement_import(data=document, now=NOW)
    document["objectives"][0]["target"] = 99.5
    result = agreement_import(data=document, now=NOW + dt.timedelta(days=40))
    assert result.version is not None
    assert (result.version.number, result.version.effective_period) == (2, "2026-04")
    agreement = result.agreement
    # Earlier periods keep the terms they were closed with.
    assert agreement.version_for("2026-03").number == 1
    assert agreement.version_for("2026-04").number == 2
    assert agreement.version_for("2026-12").number == 2
    assert agreement.version_for("2026-03").terms["objectives"][0]["target"] == "99.9"
    assert agreement.version_for("2026-04").terms["objectives"][0]["target"] == "99.5"


def test_version_period_uses_agreement_timezone(document: dict[str, Any]) -> None:
    document["timezone"] = "Asia/Kolkata"
    agreement_import(data=document, now=NOW)
    document["monthly_fee"] = "13000.00"
    # 2026-03-31T19:00Z is already April 1st, 00:30 in Kolkata.
    result = agreement_import(data=document, now=dt.datetime(2026, 3, 31, 19, tzinfo=dt.UTC))
    assert result.version.effective_period == "2026-04"


def test_name_change_is_not_a_new_version(document: dict[str, Any]) -> None:
    agreement_import(data=document, now=NOW)
    document["name"] = "Acme hosting, renamed"
    document["escalation"][0]["contact"] = "noc2@example.com"
    result = agreement_import(data=document, now=NOW)
    assert result.version is None
    assert Agreement.objects.get().name == "Acme hosting, renamed"


def test_removed_objective_is_removed_from_current_terms(document: dict[str, Any]) -> None:
    agreement_import(data=document, now=NOW)
    document["objectives"].pop(1)
    result = agreement_import(data=document, now=NOW)
    assert list(result.agreement.objectives.values_list("key", flat=True)) == [
        "api-availability",
        "packet-delivery",
        "p1-first-response",
    ]
    assert terms_of(validate(document)) == result.version.terms


def test_agreement_cannot_move_to_another_customer(document: dict[str, Any]) -> None:
    agreement_import(data=document, now=NOW)
    document["customer"] = {"key": "globex", "name": "Globex"}
    from agreements.document import DocumentError

    with pytest.raises(
        DocumentError, match=r"customer\.key: agreement 'acme-hosting' belongs to customer 'acme'"
    ):
        agreement_import(data=document, now=NOW)


def test_import_command_reads_files_and_stdin(
    tmp_path: Any, document: dict[str, Any], monkeypatch: Any
) -> None:
    path = tmp_path / "a.yaml"
    path.write_text(yaml.safe_dump(json.loads(json.dumps(document, default=str))))
    out = io.StringIO()
    call_command("import_agreement", str(path), stdout=out)
    assert "acme-hosting: created, terms version 1" in out.getvalue()
    document["agreement"] = "acme-two"
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(document, default=str)))
    out = io.StringIO()
    call_command("import_agreement", "-", stdout=out)
    assert "acme-two: created" in out.getvalue()


def test_import_command_is_all_or_nothing(tmp_path: Any, document: dict[str, Any]) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps(document, default=str))
    document["agreement"] = "bad-one"
    document["currency"] = "EURO"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(document, default=str))
    with pytest.raises(CommandError, match=r"bad.json: currency: 'EURO' is not an ISO 4217"):
        call_command("import_agreement", str(good), str(bad))
    assert not Agreement.objects.exists()


def test_import_command_missing_file(tmp_path: Any) -> None:
    with pytest.raises(CommandError, match="cannot read"):
        call_command("import_agreement", str(tmp_path / "missing.yaml"))


def test_export_unknown_agreement() -> None:
    with pytest.raises(CommandError, match="no agreement with key 'nope'"):
        call_command("export_agreement", "nope")
