"""Every admin changelist, add page and change page answers for staff."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin
from django.urls import reverse

from agreements.models import Agreement, ApiKey, TermsVersion

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client: Any, admin_user: Any, agreement: Any) -> Any:
    ApiKey.generate(name="monitoring", scopes=["ingest"], customer=None)
    client.force_login(admin_user)
    return client


def _models() -> list[Any]:
    return list(admin.site._registry)


@pytest.mark.parametrize("model", _models(), ids=lambda m: m._meta.label)
def test_changelist_and_pages_answer(staff_client: Any, model: Any) -> None:
    opts = model._meta
    assert (
        staff_client.get(
            reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        ).status_code
        == 200
    )
    assert (
        staff_client.get(
            reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"), {"q": "acme"}
        ).status_code
        == 200
    )
    if admin.site._registry[model].has_add_permission(_request(staff_client)):
        assert (
            staff_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add")).status_code
            == 200
        )
    first = model.objects.first()
    if first is not None:
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[first.pk])
        assert staff_client.get(url).status_code == 200


def _request(client: Any) -> Any:
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.user = client.session and __import__(
        "django.contrib.auth", fromlist=["get_user"]
    ).get_user(client)
    return request


def test_import_by_upload(staff_client: Any, document: dict[str, Any]) -> None:
    import json

    document["agreement"] = "acme-uploaded"
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile(
        "a.json", json.dumps(document, default=str).encode(), "application/json"
    )
    response = staff_client.post(reverse("admin:agreements_agreement_import"), {"file": upload})
    assert response.status_code == 302
    assert Agreement.objects.filter(key="acme-uploaded").exists()


def test_import_by_upload_shows_field_errors(staff_client: Any) -> None:
    response = staff_client.post(
        reverse("admin:agreements_agreement_import"), {"text": "agreement: x\ncurrency: EURO"}
    )
    assert response.status_code == 200
    assert b"currency: &#x27;EURO&#x27; is not an ISO 4217" in response.content


def test_editing_a_target_in_admin_makes_a_version(staff_client: Any, agreement: Any) -> None:
    objective = agreement.objectives.get(key="api-latency")
    url = reverse("admin:agreements_objective_change", args=[objective.pk])
    page = staff_client.get(url)
    form = page.context["adminform"].form
    data = {
        name: field.value() if field.value() is not None else ""
        for name, field in ((n, form[n]) for n in form.fields)
    }
    data["target"] = "96"
    data.update(
        {
            "tiers-TOTAL_FORMS": "1",
            "tiers-INITIAL_FORMS": "0",
            "tiers-MIN_NUM_FORMS": "0",
            "tiers-MAX_NUM_FORMS": "1000",
            "tiers-0-objective": str(objective.pk),
            "tiers-0-below": "95",
            "tiers-0-percent": "5",
        }
    )
    response = staff_client.post(url, data)
    assert response.status_code == 302, response.content[:2000]
    latest = TermsVersion.objects.filter(agreement=agreement).order_by("-number").first()
    assert latest.number == 2
    assert latest.terms["objectives"][1]["target"] == 96
    assert latest.terms["objectives"][1]["credits"] == [{"below": 95, "percent": 5}]


def test_revoke_action(staff_client: Any) -> None:
    key = ApiKey.objects.get()
    staff_client.post(
        reverse("admin:agreements_apikey_changelist"),
        {"action": "revoke", "_selected_action": [key.pk]},
    )
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_api_key_added_in_admin_shows_secret_once(staff_client: Any) -> None:
    response = staff_client.post(
        reverse("admin:agreements_apikey_add"),
        {"name": "billing", "scopes": ["read"], "customer": ""},
        follow=True,
    )
    assert b"Copy this key now" in response.content
    key = ApiKey.objects.get(name="billing")
    assert key.scopes == ["read"]
