"""Email: members choose per agreement; a burst of events arrives as one digest."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.urls import reverse

from notifications import tasks
from notifications.models import DEFAULT_EMAIL_EVENTS, EmailItem, Preference
from tests.notifications.conftest import T0, ingest_incident

pytestmark = pytest.mark.django_db


def _burst(count: int, django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(count):
            ingest_incident(f"INC-{n}", impact="degraded", title=f"slow {n}")


def test_a_burst_of_events_is_one_digest_per_recipient(
    agreement: Any,
    members: list[Any],
    mailoutbox: list[Any],
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.NOTIFICATION_DIGEST_SECONDS = 60
    with time_machine.travel(T0, tick=False) as clock:
        _burst(12, django_capture_on_commit_callbacks)
        tasks.escalate()
        assert mailoutbox == []  # the window is still open
        clock.shift(dt.timedelta(seconds=61))
        tasks.escalate()
        tasks.send_digests()
    assert sorted(m.to[0] for m in mailoutbox) == ["alice@acme.example", "bob@acme.example"]
    message = mailoutbox[0]
    assert message.subject == "[SLA Portal] 12 notifications for acme-hosting"
    assert "slow 0" in message.body and "slow 11" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html" and "slow 11" in html
    assert "http://127.0.0.1:8000/agreements/acme-hosting/notifications/" in message.body
    assert not EmailItem.objects.filter(sent_at__isnull=True).exists()


def test_a_single_event_says_what_happened_in_the_subject(
    agreement: Any,
    members: list[Any],
    mailoutbox: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    with time_machine.travel(T0, tick=False) as clock:
        _burst(1, django_capture_on_commit_callbacks)
        clock.shift(dt.timedelta(minutes=5))
        tasks.send_digests()
    assert {m.subject for m in mailoutbox} == {"[SLA Portal] acme-hosting: incident opened: slow 0"}


def test_members_receive_only_what_they_chose(
    agreement: Any,
    members: list[Any],
    mailoutbox: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    _alice, bob = members
    Preference.objects.create(agreement=agreement, user=bob, events=["period.closed"])
    with time_machine.travel(T0, tick=False) as clock:
        _burst(3, django_capture_on_commit_callbacks)
        clock.shift(dt.timedelta(minutes=5))
        tasks.send_digests()
    assert [m.to for m in mailoutbox] == [["alice@acme.example"]]


def test_other_customers_members_get_nothing(
    agreement: Any,
    members: list[Any],
    outsider: Any,
    mailoutbox: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    outsider.email = "globex@globex.example"
    outsider.save()
    Preference.objects.create(agreement=agreement, user=outsider, events=DEFAULT_EMAIL_EVENTS)
    with time_machine.travel(T0, tick=False) as clock:
        _burst(1, django_capture_on_commit_callbacks)
        clock.shift(dt.timedelta(minutes=5))
        tasks.send_digests()
    # Globex hears of the shared service's incident only about its own agreement.
    bodies = {m.to[0]: m.body for m in mailoutbox}
    assert "acme-hosting" not in bodies["globex@globex.example"]
    assert "globex-hosting" in bodies["globex@globex.example"]


def test_settings_page_for_members_only(
    agreement: Any, other_agreement: Any, client: Any, customer_user: Any, outsider: Any
) -> None:
    url = reverse("notifications:settings", args=[agreement.key])
    assert client.get(url).status_code == 302  # to the login page
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    assert client.post(url, {"events": ["period.closed"]}).status_code == 404
    client.force_login(customer_user)
    page = client.get(url)
    assert page.status_code == 200
    assert b'value="objective.breached" id="ev-2" style="width:auto" checked' in page.content
    assert b"<title>Notifications" in page.content  # extends the site layout
    response = client.post(url, {"events": ["period.closed", "credit.issued", "bogus"]})
    assert response.status_code == 302
    preference = Preference.objects.get(user=customer_user, agreement=agreement)
    assert preference.events == ["period.closed", "credit.issued"]
    page = client.get(url)
    assert b'value="objective.breached" id="ev-2" style="width:auto">' in page.content
    assert b'value="period.closed" id="ev-10" style="width:auto" checked' in page.content


def test_staff_who_are_not_members_have_no_settings_page(agreement: Any, admin_client: Any) -> None:
    url = reverse("notifications:settings", args=[agreement.key])
    assert admin_client.get(url).status_code == 404


def test_events_loaded_as_backfill_are_kept_but_never_emailed(
    agreement: Any,
    members: list[Any],
    mailoutbox: list[Any],
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from notifications.models import Event
    from notifications.services.events import backfill

    settings.NOTIFICATION_DIGEST_SECONDS = 0
    with backfill():
        _burst(3, django_capture_on_commit_callbacks)
    assert Event.objects.count() == 3
    assert not EmailItem.objects.exists()
    tasks.send_digests()
    assert mailoutbox == []
