"""measured_by (SPEC §2): the sources whose measurements of an agreement's services count."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from agreements.document import MAX_MEASURED_BY, DocumentError, validate
from agreements.services import agreement_export, agreement_import, printable_document


def test_absent_means_any_source(document: dict[str, Any]) -> None:
    assert validate(document)["measured_by"] == []


def test_names_are_trimmed_and_kept_once_in_order(document: dict[str, Any]) -> None:
    document["measured_by"] = [" provider-monitoring ", "blackbox", "provider-monitoring"]
    assert validate(document)["measured_by"] == ["provider-monitoring", "blackbox"]


@pytest.mark.parametrize(
    ("value", "field", "words"),
    [
        ("provider-monitoring", "measured_by", "must be a list"),
        ({"a": 1}, "measured_by", "must be a list"),
        (["ok", ""], "measured_by[1]", "non-empty string"),
        (["ok", "   "], "measured_by[1]", "non-empty string"),
        ([7], "measured_by[0]", "must be a string"),
        (["two\nlines"], "measured_by[0]", "single line"),
        (["carriage\rreturn"], "measured_by[0]", "single line"),
        (["x" * 101], "measured_by[0]", "at most 100 characters"),
        ([f"key-{i}" for i in range(MAX_MEASURED_BY + 1)], "measured_by", "at most 20"),
    ],
)
def test_invalid_names_are_refused(
    document: dict[str, Any], value: Any, field: str, words: str
) -> None:
    document["measured_by"] = value
    with pytest.raises(DocumentError) as caught:
        validate(document)
    assert any(path == field and words in message for path, message in caught.value.errors), (
        caught.value.errors
    )


def test_twenty_names_are_enough(document: dict[str, Any]) -> None:
    document["measured_by"] = [f"key-{i}" for i in range(MAX_MEASURED_BY)]
    assert len(validate(document)["measured_by"]) == MAX_MEASURED_BY


@pytest.mark.django_db
def test_stored_exported_and_imported_back(document: dict[str, Any]) -> None:
    document["measured_by"] = ["provider-monitoring"]
    agreement = agreement_import(data=document, actor="test").agreement
    assert agreement.measured_by == ["provider-monitoring"]
    exported = agreement_export(agreement)
    assert exported["measured_by"] == ["provider-monitoring"]
    again = agreement_import(data=copy.deepcopy(exported), actor="test")
    assert not again.created and again.version is None  # nothing changed


@pytest.mark.django_db
def test_not_a_terms_change_and_left_out_of_a_plain_export(document: dict[str, Any]) -> None:
    agreement = agreement_import(data=document, actor="test").agreement
    assert "measured_by" not in printable_document(agreement_export(agreement))
    document["measured_by"] = ["provider-monitoring"]
    result = agreement_import(data=document, actor="test")
    # Whose data counts is not arithmetic of the terms: no new terms version.
    assert result.version is None
    assert result.agreement.measured_by == ["provider-monitoring"]
    document.pop("measured_by")
    assert agreement_import(data=document, actor="test").agreement.measured_by == []


@pytest.mark.django_db
def test_staff_see_it_in_admin(admin_client: Any, document: dict[str, Any]) -> None:
    from django.urls import reverse

    document["measured_by"] = ["provider-monitoring"]
    agreement = agreement_import(data=document, actor="test").agreement
    page = admin_client.get(reverse("admin:agreements_agreement_change", args=[agreement.pk]))
    assert page.status_code == 200
    assert "provider-monitoring" in page.content.decode()
