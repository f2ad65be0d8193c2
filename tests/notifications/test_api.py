"""Webhooks and escalations over the API: scopes, validation, tenancy, SSRF refusals."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from notifications.models import Escalation, WebhookEndpoint
from tests.notifications.conftest import ingest_incident

pytestmark = pytest.mark.django_db

PUBLIC = "https://93.184.216.34/hooks/sla"  # a literal public address: no DNS needed


def _register(client: APIClient, **body: Any) -> Any:
    return client.post("/api/v1/webhooks/", body, format="json")


@pytest.mark.parametrize(
    ("scopes", "expected"), [(None, 401), (["ingest"], 403), (["read"], 403), (["write"], 201)]
)
def test_register_scope_matrix(
    agreement: Any, api: Any, scopes: list[str] | None, expected: int
) -> None:
    client = APIClient() if scopes is None else api(*scopes, customer=agreement.customer)
    response = _register(client, url=PUBLIC, events=["objective.breached"])
    assert response.status_code == expected, response.content
    if expected == 201:
        body = response.json()
        assert set(body) == {"id", "secret"}
        endpoint = WebhookEndpoint.objects.get(pk=body["id"])
        assert endpoint.secret == body["secret"] and body["secret"].startswith("whsec_")
        assert endpoint.customer == agreement.customer
        assert endpoint.events == ["objective.breached"]
    else:
        assert "error" in response.json()
        assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(
    ("method", "path", "scope_ok", "ok_status"),
    [
        ("get", "/api/v1/webhooks/", "read", 200),
        ("get", "/api/v1/webhooks/{webhook}/", "read", 200),
        ("delete", "/api/v1/webhooks/{webhook}/", "write", 204),
        ("get", "/api/v1/escalations/", "read", 200),
        ("post", "/api/v1/escalations/{escalation}/acknowledge/", "write", 200),
    ],
)
def test_other_endpoints_scope_matrix(
    agreement: Any,
    api: Any,
    django_capture_on_commit_callbacks: Any,
    method: str,
    path: str,
    scope_ok: str,
    ok_status: int,
) -> None:
    webhook = WebhookEndpoint.objects.create(
        customer=agreement.customer, url=PUBLIC, events=["incident.opened"]
    )
    with django_capture_on_commit_callbacks(execute=True):
        ingest_incident()
    url = path.format(webhook=webhook.pk, escalation=Escalation.objects.get().pk)
    assert getattr(APIClient(), method)(url).status_code == 401
    for scope in ("ingest", "read", "write"):
        response = getattr(api(scope, customer=agreement.customer), method)(url)
        assert response.status_code == (ok_status if scope == scope_ok else 403), scope


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"events": ["incident.opened"]}, "url: This field is required."),
        ({"url": "ftp://example.com/x", "events": ["incident.opened"]}, "url: scheme must be"),
        ({"url": "not a url", "events": ["incident.opened"]}, "url: scheme must be"),
        ({"url": PUBLIC}, "events: This field is required."),
        ({"url": PUBLIC, "events": []}, "events: This list may not be empty."),
        ({"url": PUBLIC, "events": "incident.opened"}, "events: Expected a list"),
        (
            {"url": PUBLIC, "events": ["incident.opened", "nope"]},
            "events[1]: unknown event 'nope'",
        ),
        (
            {"url": PUBLIC, "events": ["incident.opened"], "customer": "globex"},
            "customer: this API key registers webhooks for its own customer only",
        ),
    ],
)
def test_register_errors_name_the_field(
    agreement: Any, other_agreement: Any, api: Any, body: dict[str, Any], message: str
) -> None:
    response = _register(api("write", customer=agreement.customer), **body)
    assert response.status_code == 400
    assert response.json()["error"].startswith(message), response.json()
    assert not WebhookEndpoint.objects.exists()


def test_register_refuses_a_non_object_body(agreement: Any, api: Any) -> None:
    response = api("write", customer=agreement.customer).post(
        "/api/v1/webhooks/", ["x"], format="json"
    )
    assert response.status_code == 400


def test_unbound_key_must_name_the_customer(agreement: Any, other_agreement: Any, api: Any) -> None:
    client = api("write")
    response = _register(client, url=PUBLIC, events=["incident.opened"])
    assert response.status_code == 400
    assert response.json()["error"].startswith("customer: required")
    response = _register(client, url=PUBLIC, events=["incident.opened"], customer="nobody")
    assert response.json()["error"] == "customer: unknown customer 'nobody'"
    response = _register(client, url=PUBLIC, events=["incident.opened"], customer="globex")
    assert response.status_code == 201
    assert WebhookEndpoint.objects.get().customer == other_agreement.customer


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://10.0.0.1/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://localhost:9000/hook",
        "http://[::1]/hook",
        "http://192.168.0.10/hook",
    ],
)
def test_register_refuses_private_addresses(agreement: Any, api: Any, url: str) -> None:
    response = _register(
        api("write", customer=agreement.customer), url=url, events=["period.closed"]
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error.startswith("url: host") and "may not reach" in error
    assert not WebhookEndpoint.objects.exists()


def test_register_allows_loopback_when_the_operator_allows_it(
    agreement: Any, api: Any, settings: Any
) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE = True
    response = _register(
        api("write", customer=agreement.customer),
        url="http://127.0.0.1:8080/hook",
        events=["period.closed"],
    )
    assert response.status_code == 201


def test_a_bound_key_sees_and_changes_only_its_customer(
    agreement: Any, other_agreement: Any, api: Any, django_capture_on_commit_callbacks: Any
) -> None:
    theirs = WebhookEndpoint.objects.create(
        customer=other_agreement.customer, url=PUBLIC, events=["incident.opened"]
    )
    with django_capture_on_commit_callbacks(execute=True):
        ingest_incident()
    their_escalation = Escalation.objects.get(agreement=other_agreement)
    reader = api("read", customer=agreement.customer)
    writer = api("write", customer=agreement.customer)
    assert reader.get("/api/v1/webhooks/").json() == []
    assert reader.get(f"/api/v1/webhooks/{theirs.pk}/").status_code == 404
    assert writer.delete(f"/api/v1/webhooks/{theirs.pk}/").status_code == 404
    escalations = reader.get("/api/v1/escalations/").json()
    assert [e["agreement"] for e in escalations] == ["acme-hosting"]
    response = writer.post(f"/api/v1/escalations/{their_escalation.pk}/acknowledge/")
    assert response.status_code == 404
    assert WebhookEndpoint.objects.filter(pk=theirs.pk).exists()


def test_acknowledge_by_api_records_the_key(
    agreement: Any, api: Any, mailoutbox: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        ingest_incident()
    escalation = Escalation.objects.get()
    response = api("write", customer=agreement.customer).post(
        f"/api/v1/escalations/{escalation.pk}/acknowledge/"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["state"] == "acknowledged"
    assert body["acknowledged_via"] == "api"
    assert body["acknowledged_by"].startswith("api-key:")


def test_schema_documents_the_webhooks_endpoint(client: Any) -> None:
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/webhooks/" in schema.content
