"""Webhook deliveries to a real HTTP receiver on loopback."""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

import pytest
from django.urls import reverse

from agreements.models import Customer
from notifications import tasks, webhooks
from notifications.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from tests.notifications.conftest import ingest_incident

pytestmark = pytest.mark.django_db


def _endpoint(agreement: Any, url: str, events: list[str] | None = None) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(
        customer=agreement.customer, url=url, events=events or ["incident.opened"]
    )


def test_delivery_is_signed_over_timestamp_and_body(
    agreement: Any, allow_private: Any, receiver: Any, django_capture_on_commit_callbacks: Any
) -> None:
    endpoint = _endpoint(agreement, receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        ingest_incident(impact="degraded")
    assert len(receiver.received) == 1
    request = receiver.received[0]
    timestamp = request.headers["X-SLA-Timestamp"]
    assert abs(int(timestamp) - time.time()) < 60
    expected = hmac.new(
        endpoint.secret.encode(), f"{timestamp}.".encode() + request.body, hashlib.sha256
    ).hexdigest()
    assert request.headers["X-SLA-Signature"] == f"sha256={expected}"
    assert webhooks.verify(endpoint.secret, timestamp, request.body, f"sha256={expected}")
    assert not webhooks.verify("whsec_wrong", timestamp, request.body, f"sha256={expected}")
    assert request.headers["Content-Type"] == "application/json"
    assert request.path == "/hooks/sla"
    body = request.json()
    assert set(body) == {"id", "type", "time", "agreement", "data"}
    assert body["type"] == "incident.opened"
    assert body["agreement"] == "acme-hosting"
    assert body["time"] == "2026-03-10T12:00:00Z"
    assert body["data"]["incident"]["external_id"] == "INC-1"
    delivery = WebhookDelivery.objects.get()
    assert (delivery.state, delivery.attempts, delivery.last_status_code) == ("succeeded", 1, 200)
    attempt = WebhookAttempt.objects.get()
    assert attempt.status_code == 200 and attempt.duration_ms >= 0


def test_only_wanted_events_of_own_customer_are_delivered(
    agreement: Any,
    other_agreement: Any,
    allow_private: Any,
    receiver: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    _endpoint(agreement, receiver.url, ["incident.resolved"])
    with django_capture_on_commit_callbacks(execute=True):
        ingest_incident(impact="degraded")
    assert receiver.received == []
    with django_capture_on_commit_callbacks(execute=True):
        ingest_incident(impact="degraded", resolved_at=ingest_time())
    assert [r.json()["type"] for r in receiver.received] == ["incident.resolved"]
    # The other customer's agreement heard of the incident too, but not through acme's URL.
    assert {r.json()["agreement"] for r in receiver.received} == {"acme-hosting"}


def ingest_time() -> Any:
    from tests.notifications.conftest import T0

    return T0.replace(hour=13)


def test_retries_on_500_with_the_same_event_id(
    agreement: Any, allow_private: Any, receiver: Any, django_capture_on_commit_callbacks: Any
) -> None:
    receiver.script = [500, 503]
    _endpoint(agreement, receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        ingest_incident(impact="degraded")
    assert len(receiver.received) == 3
    assert len({r.json()["id"] for r in receiver.received}) == 1
    assert [r.headers["X-SLA-Attempt"] for r in receiver.received] == ["1", "2", "3"]
    delivery = WebhookDelivery.objects.get()
    assert (delivery.state, delivery.attempts) == ("succeeded", 3)
    assert list(WebhookAttempt.objects.values_list("number", "status_code")) == [
        (1, 500),
        (2, 503),
        (3, 200),
    ]


def test_backoff_is_exponential_and_capped() -> None:
    assert [tasks.backoff(n) for n in range(8)] == [30, 60, 120, 240, 480, 960, 1920, 3600]


def test_timeout_is_a_failed_attempt_then_retried(
    agreement: Any,
    allow_private: Any,
    receiver: Any,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.3
    receiver.script = [("sleep", 1.5)]
    _endpoint(agreement, receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        ingest_incident(impact="degraded")
    first, second = WebhookAttempt.objects.order_by("number")
    assert first.status_code is None and "timed out" in first.error
    assert first.duration_ms < 1400
    assert second.status_code == 200
    assert WebhookDelivery.objects.get().state == "succeeded"


def test_redirects_are_never_followed(
    agreement: Any,
    allow_private: Any,
    receiver: Any,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    receiver.script = [("redirect", receiver.url + "/elsewhere")]
    _endpoint(agreement, receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        ingest_incident(impact="degraded")
    assert [r.path for r in receiver.received] == ["/hooks/sla"]
    delivery = WebhookDelivery.objects.get()
    assert (delivery.state, delivery.last_status_code) == ("failed", 302)
    assert delivery.last_error == "redirect not followed"


def test_repeated_failures_disable_the_endpoint_and_tell_the_customer(
    agreement: Any,
    members: Any,
    allow_private: Any,
    receiver: Any,
    settings: Any,
    mailoutbox: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    settings.WEBHOOK_DISABLE_AFTER = 2
    receiver.script = [500] * 10
    endpoint = _endpoint(agreement, receiver.url)
    for n in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            ingest_incident(f"INC-{n}", impact="degraded")
    endpoint.refresh_from_db()
    assert not endpoint.is_active
    assert endpoint.consecutive_failures == 2
    assert "2 deliveries in a row failed" in endpoint.disabled_reason
    # Two deliveries × two attempts; the third event found the endpoint disabled.
    assert len(receiver.received) == 4
    assert WebhookDelivery.objects.filter(state="failed").count() == 2
    assert WebhookDelivery.objects.count() == 2
    disabled = [m for m in mailoutbox if "Webhook disabled" in m.subject]
    assert len(disabled) == 1
    assert disabled[0].to == ["alice@acme.example"]  # the customer's manager
    assert receiver.url in disabled[0].body
    assert disabled[0].alternatives[0][1] == "text/html"


def test_admin_resend_delivers_again(
    agreement: Any,
    admin_client: Any,
    allow_private: Any,
    receiver: Any,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    receiver.script = [500]
    _endpoint(agreement, receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        ingest_incident(impact="degraded")
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == "failed"
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:notifications_webhookdelivery_changelist"),
            {"action": "resend", "_selected_action": [delivery.pk]},
        )
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == ("succeeded", 2)
    assert len(receiver.received) == 2
    page = admin_client.get(
        reverse("admin:notifications_webhookdelivery_change", args=[delivery.pk])
    )
    assert page.status_code == 200 and b"500" in page.content


@pytest.mark.parametrize("host", ["127.0.0.1", "10.0.0.1", "169.254.169.254", "localhost", "[::1]"])
def test_delivery_to_private_addresses_is_refused(
    agreement: Any, host: str, receiver: Any, django_capture_on_commit_callbacks: Any
) -> None:
    port = receiver.url.split(":")[2].split("/")[0]
    _endpoint(agreement, f"http://{host}:{port}/hooks/sla")
    with django_capture_on_commit_callbacks(execute=True):
        ingest_incident(impact="degraded")
    assert receiver.received == []
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == "failed"
    assert delivery.attempts == 1  # refused addresses are not retried
    assert delivery.last_error.startswith("refused:")


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("127.0.0.1", False),
        ("10.0.0.1", False),
        ("172.16.5.4", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("::1", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("::ffff:127.0.0.1", False),
        ("93.184.216.34", True),
        ("2606:4700:4700::1111", True),
    ],
)
def test_address_allowed(address: str, allowed: bool) -> None:
    assert webhooks.address_allowed(address) is allowed


# IPv6 forms that carry a forbidden IPv4 address, and forms that carry a public one.
EMBEDDING_FORMS = [
    ("::127.0.0.1", False),  # IPv4-compatible loopback
    ("::7f00:1", False),  # the same, written in hex
    ("64:ff9b::a9fe:a9fe", False),  # NAT64 of 169.254.169.254, the metadata service
    ("64:ff9b::10.0.0.1", False),
    ("2002:7f00:1::", False),  # 6to4 of 127.0.0.1
    ("2002:c0a8:101::1", False),  # 6to4 of 192.168.1.1
    ("::ffff:0:127.0.0.1", False),  # IPv4-translated loopback
    ("::ffff:a9fe:a9fe", False),  # IPv4-mapped metadata service
    ("fec0::1", False),  # site-local
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", False),  # Teredo
    ("::", False),
    ("::8.8.8.8", False),  # IPv4-compatible is deprecated and reserved: refused regardless
    ("64:ff9b:1::8.8.8.8", False),  # local-use NAT64 prefix
    ("8.8.8.8", True),
    ("1.1.1.1", True),
    ("2001:4860:4860::8888", True),
    ("::ffff:8.8.8.8", True),  # mapped public address: the public address itself
    ("64:ff9b::8.8.8.8", True),  # NAT64 of a public address, as DNS64 answers
    ("2002:808:808::1", True),  # 6to4 of a public address
]


@pytest.mark.parametrize(("address", "allowed"), EMBEDDING_FORMS)
def test_ipv6_forms_are_judged_by_the_ipv4_address_they_embed(address: str, allowed: bool) -> None:
    assert webhooks.address_allowed(address) is allowed


@pytest.mark.parametrize(
    "host",
    [
        "[::127.0.0.1]",
        "[::7f00:1]",
        "[64:ff9b::a9fe:a9fe]",
        "[2002:7f00:1::]",
        "[::ffff:0:127.0.0.1]",
        "[fec0::1]",
    ],
)
def test_check_url_refuses_ipv6_forms_of_private_addresses(host: str) -> None:
    with pytest.raises(webhooks.UnsafeUrl, match="which webhooks may not reach"):
        webhooks.check_url(f"https://{host}/hooks/sla")


@pytest.mark.parametrize(
    "host", ["93.184.216.34", "[2606:4700:4700::1111]", "[2001:4860:4860::8888]"]
)
def test_check_url_accepts_public_literal_addresses(host: str) -> None:
    assert webhooks.check_url(f"https://{host}/hooks/sla")


def test_private_forms_are_allowed_when_the_operator_allows_private(settings: Any) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE = True
    assert webhooks.check_url("http://[::127.0.0.1]:8080/hooks") == ["::127.0.0.1"]


def test_check_url_refuses_other_schemes_and_credentials() -> None:
    for url, message in [
        ("ftp://example.com/x", "scheme must be http or https"),
        ("file:///etc/passwd", "scheme must be http or https"),
        ("https://user:pw@93.184.216.34/", "credentials"),
        ("http:///nohost", "a host is required"),
        ("http://example.com:99999/", "not a valid URL"),
    ]:
        with pytest.raises(webhooks.UnsafeUrl, match=message):
            webhooks.check_url(url)


def test_disabled_endpoint_is_not_delivered_to(
    agreement: Any, allow_private: Any, receiver: Any, django_capture_on_commit_callbacks: Any
) -> None:
    endpoint = _endpoint(agreement, receiver.url)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(is_active=False)
    with django_capture_on_commit_callbacks(execute=True):
        ingest_incident(impact="degraded")
    assert receiver.received == []
    assert Customer.objects.get(key="acme").webhooks.get().deliveries.count() == 0
