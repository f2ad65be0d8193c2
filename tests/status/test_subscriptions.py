"""Subscriptions: double opt-in, notices only to confirmed addresses, one-click
unsubscribe, a rate-limited form that never says whether an address is known."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from agreements.models import Service
from metrics.models import Incident, IncidentStatusUpdate
from portal import limits
from status.models import Subscriber

pytestmark = pytest.mark.django_db
_committed: Any = None


@pytest.fixture(autouse=True)
def _after_commit(django_capture_on_commit_callbacks: Any) -> Any:
    """Each request below commits: what waits for the commit (emails) then runs."""
    global _committed
    _committed = django_capture_on_commit_callbacks
    yield
    _committed = None


def sent() -> list[Any]:
    """The status page's emails (escalation emails of the agreement go out too)."""
    return [m for m in mail.outbox if m.subject.startswith("[Status]")]


def committed(call: Any) -> Any:
    with _committed(execute=True):
        return call()


@pytest.fixture
def public(agreement: Any) -> Service:
    Service.objects.filter(key="hosted-api").update(name="Hosted API", public=True)
    return Service.objects.get(key="hosted-api")


def subscribe(email: str, *services: str, address: str = "10.0.0.1") -> Any:
    return committed(
        lambda: Client(REMOTE_ADDR=address).post(
            "/status/subscribe/", {"email": email, "services": list(services)}
        )
    )


def link(message: Any, name: str) -> str:
    found = re.search(rf"https?://[^/\s]+(/status/{name}/[^\s]+/)", message.body)
    assert found, message.body
    return found[1]


def confirm(message: Any) -> None:
    path = link(message, "subscribe/confirm")
    assert "Confirm" in Client().get(path).content.decode()  # a GET changes nothing
    assert Client().post(path).status_code == 200


def post_incident(api: Any, **over: Any) -> Any:
    record = {
        "service": "hosted-api",
        "external_id": "INC-1",
        "title": "API errors",
        "impact": "outage",
        "started_at": (timezone.now() - dt.timedelta(minutes=3)).isoformat(),
        "resolved_at": None,
        **over,
    }
    response = committed(
        lambda: api("ingest").post(
            "/api/v1/incidents/", json.dumps([record]), content_type="application/json"
        )
    )
    assert response.status_code == 201, response.content
    return response


def test_double_opt_in_then_notices_with_unsubscribe(public: Service, api: Any) -> None:
    assert subscribe("Reader@Example.com").status_code == 200
    assert len(sent()) == 1
    confirmation = sent()[0]
    assert confirmation.to == ["reader@example.com"]
    # Not confirmed yet: an incident sends nothing to the address.
    post_incident(api)
    assert len(sent()) == 1
    confirm(confirmation)
    assert Subscriber.objects.get().confirmed_at is not None

    post_incident(api, external_id="INC-2")
    post_incident(
        api,
        external_id="INC-2",
        updates=[
            {"at": timezone.now().isoformat(), "status": "identified", "message": "A bad deploy."}
        ],
    )
    post_incident(api, external_id="INC-2", resolved_at=timezone.now().isoformat())
    subjects = [m.subject for m in sent()[1:]]
    assert subjects == [
        "[Status] Outage: Hosted API — API errors",
        "[Status] Identified: Hosted API — API errors",
        "[Status] Resolved: Hosted API — API errors",
    ]
    for message in sent():
        unsubscribe = message.extra_headers["List-Unsubscribe"]
        assert unsubscribe.startswith("<http") and "/status/unsubscribe/" in unsubscribe
        assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert "Unsubscribe: http" in message.body
    # Sending a notice again reaches no one twice.
    from status import emails

    incident_id = IncidentStatusUpdate.objects.get().incident_id
    assert emails.notify_incident(incident_id=incident_id, notice="resolved") == 0

    # RFC 8058 one-click: a POST without CSRF token, from the mail client.
    path = link(sent()[-1], "unsubscribe")
    client = Client(enforce_csrf_checks=True)
    assert client.post(path, {"List-Unsubscribe": "One-Click"}).status_code == 200
    assert not Subscriber.objects.exists()
    post_incident(api, external_id="INC-3")
    assert len(sent()) == 4


def test_maintenance_scheduled_is_announced(public: Service, api: Any) -> None:
    subscribe("ops@example.com")
    confirm(sent()[0])
    start = timezone.now() + dt.timedelta(days=2)
    response = committed(
        lambda: api("ingest").post(
            "/api/v1/maintenance/",
            json.dumps(
                [
                    {
                        "service": "hosted-api",
                        "external_id": "M-1",
                        "title": "Database upgrade",
                        "start": start.isoformat(),
                        "end": (start + dt.timedelta(hours=1)).isoformat(),
                        "announced_at": timezone.now().isoformat(),
                    }
                ]
            ),
            content_type="application/json",
        )
    )
    assert response.status_code == 201
    assert sent()[-1].subject == "[Status] Maintenance scheduled: Hosted API — Database upgrade"


def test_per_service_subscription_and_private_services(public: Service, api: Any) -> None:
    Service.objects.create(key="mail", name="Mail", public=True)
    subscribe("mail-only@example.com", "mail")
    confirm(sent()[0])
    post_incident(api)
    assert len(sent()) == 1  # hosted-api is not followed
    # A service not public never notifies, whoever subscribed to "all".
    subscribe("all@example.com")
    confirm(sent()[1])
    post_incident(api, service="backbone", external_id="B-1")
    assert len(sent()) == 2


def test_answer_is_the_same_for_a_known_address(public: Service) -> None:
    first = subscribe("known@example.com")
    confirm(sent()[0])
    again = subscribe("known@example.com")
    fresh = subscribe("fresh@example.com")
    strip = lambda r: r.content.decode().replace("known@", "x@").replace("fresh@", "x@")  # noqa: E731
    strip_csrf = lambda t: re.sub(r'value="[^"]+"', "", t)  # noqa: E731
    assert again.status_code == fresh.status_code == first.status_code == 200
    assert strip_csrf(strip(again)) == strip_csrf(strip(fresh))
    # The known address is told, and its subscription is not changed by a stranger.
    assert "subscribed already" in sent()[1].body
    assert Subscriber.objects.get(email="known@example.com").all_services is True


@pytest.mark.parametrize("email", ["", "not-an-address", "a@b", "x" * 300 + "@example.com"])
def test_bad_address_is_a_clear_400(public: Service, email: str) -> None:
    response = subscribe(email)
    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()
    assert not Subscriber.objects.exists()
    assert not sent()


def test_form_is_rate_limited_per_client_and_per_address(public: Service) -> None:
    for n in range(limits.SUBSCRIBE_PER_ADDRESS):
        assert subscribe(f"r{n}@example.com", address="10.0.0.9").status_code == 200
    assert subscribe("late@example.com", address="10.0.0.9").status_code == 429
    assert not Subscriber.objects.filter(email="late@example.com").exists()
    for n in range(limits.SUBSCRIBE_PER_EMAIL + 2):
        assert subscribe("victim@example.com", address=f"10.1.0.{n}").status_code == 200
    assert sum(m.to == ["victim@example.com"] for m in sent()) == limits.SUBSCRIBE_PER_EMAIL


@pytest.mark.parametrize("token", ["nonsense", "1:forged", "MQ:abc:def"])
def test_forged_links_do_nothing(public: Service, token: str) -> None:
    subscribe("someone@example.com")
    assert Client().post(f"/status/subscribe/confirm/{token}/").status_code == 400
    assert Client().post(f"/status/unsubscribe/{token}/").status_code == 200
    assert Subscriber.objects.get().confirmed_at is None


def test_a_burst_of_incidents_sends_a_capped_number_of_notices(public: Service, api: Any) -> None:
    from status import emails

    subscribe("ops@example.com")
    confirm(sent()[0])
    for n in range(emails.NOTICES_PER_HOUR + 5):
        post_incident(api, external_id=f"INC-{n}")
    notices = sent()[1:]
    assert len(notices) == emails.NOTICES_PER_HOUR
    assert "(more on the status page)" in notices[-1].subject
    assert "the status page has every one" in notices[-1].body
    # The suppressed ones are recorded, never sent later.
    assert (
        emails.notify_incident(
            incident_id=Incident.objects.get(external_id="INC-16").pk, notice="opened"
        )
        == 0
    )
    assert len(sent()) == 1 + emails.NOTICES_PER_HOUR
