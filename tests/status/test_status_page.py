"""The public status page: states, daily uptime, the machine-readable outputs, and a
persona who must see nothing private."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re
import xml.etree.ElementTree as ET
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from agreements.models import Service
from metrics.models import Incident, IncidentStatusUpdate, Maintenance
from status import publish
from status.snapshot import status_snapshot

pytestmark = pytest.mark.django_db
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def public(agreement: Any) -> Service:
    Service.objects.filter(key="hosted-api").update(name="Hosted API", public=True)
    return Service.objects.get(key="hosted-api")


def incident(
    service: Service, *, impact: str = "outage", hours_ago: float = 1, **over: Any
) -> Incident:
    now = timezone.now()
    fields = {
        "external_id": f"INC-{Incident.objects.count() + 1}",
        "title": "API errors",
        "impact": impact,
        "started_at": now - dt.timedelta(hours=hours_ago),
        **over,
    }
    made = Incident.objects.create(service=service, **fields)
    publish.forget()
    return made


def get(path: str, **headers: Any) -> Any:
    return Client().get(path, headers=headers)


def test_page_needs_no_sign_in_and_shows_only_public_services(public: Service) -> None:
    response = get("/status/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "All systems operational" in page
    assert "Hosted API" in page
    assert "backbone" not in page  # a service not marked public


@pytest.mark.parametrize(
    ("impact", "state", "headline"),
    [
        ("outage", "outage", "Outage: Hosted API"),
        ("degraded", "degraded", "Degraded performance: Hosted API"),
    ],
)
def test_open_incident_sets_the_state_and_resolving_clears_it(
    public: Service, impact: str, state: str, headline: str
) -> None:
    made = incident(public, impact=impact)
    body = json.loads(get("/status.json").content)
    assert body["services"][0]["status"] == state
    assert body["headline"] == headline
    assert headline in get("/status/").content.decode()
    made.resolved_at = timezone.now()
    made.save()
    publish.forget()
    body = json.loads(get("/status.json").content)
    assert body["services"][0]["status"] == "operational"
    assert body["headline"] == "All systems operational"


def test_maintenance_in_progress_reads_under_maintenance(public: Service) -> None:
    now = timezone.now()
    Maintenance.objects.create(
        service=public,
        external_id="M-1",
        title="Upgrade",
        start=now - dt.timedelta(minutes=5),
        end=now + dt.timedelta(hours=1),
        announced_at=now - dt.timedelta(days=3),
    )
    assert json.loads(get("/status.json").content)["services"][0]["status"] == "maintenance"
    # An outage outranks maintenance.
    incident(public)
    assert json.loads(get("/status.json").content)["services"][0]["status"] == "outage"


def test_daily_uptime_counts_outages_not_degraded(public: Service) -> None:
    now = timezone.now()
    day = (now - dt.timedelta(days=3)).date()
    start = dt.datetime.combine(day, dt.time(6), dt.UTC)
    Incident.objects.create(
        service=public,
        external_id="A",
        title="Down",
        impact="outage",
        started_at=start,
        resolved_at=start + dt.timedelta(hours=6),
    )
    # Overlapping outage: the union counts once (rule 5).
    Incident.objects.create(
        service=public,
        external_id="B",
        title="Down too",
        impact="outage",
        started_at=start + dt.timedelta(hours=3),
        resolved_at=start + dt.timedelta(hours=6),
    )
    Incident.objects.create(
        service=public,
        external_id="C",
        title="Slow",
        impact="degraded",
        started_at=start - dt.timedelta(days=1),
        resolved_at=start - dt.timedelta(days=1, hours=-2),
    )
    snapshot = status_snapshot(now=now)
    days = {d.date: d for d in snapshot.services[0].days}
    assert len(days) == 90
    assert days[day].achieved == Decimal(75)
    assert days[day].uptime == "75.000%"
    assert days[day].state == "outage"
    assert set(days[day].incidents) == {"Down", "Down too"}
    slow = days[day - dt.timedelta(days=1)]
    assert (slow.achieved, slow.state) == (Decimal(100), "degraded")
    page = get("/status/").content.decode()
    assert f"{day:%Y-%m-%d}: 75.000%" in page


def test_incident_timeline_and_postmortem_are_public(public: Service) -> None:
    made = incident(public, postmortem_url="https://example.com/pm/1")
    IncidentStatusUpdate.objects.create(
        incident=made, at=timezone.now(), status="identified", message="A <b>bad</b> deploy"
    )
    publish.forget()
    page = get("/status/").content.decode()
    assert "Identified" in page and "A &lt;b&gt;bad&lt;/b&gt; deploy" in page
    assert 'href="https://example.com/pm/1"' in page
    body = json.loads(get("/status.json").content)
    assert body["incidents"][0]["updates"] == [
        {
            "at": body["incidents"][0]["updates"][0]["at"],
            "status": "identified",
            "message": "A <b>bad</b> deploy",
        }
    ]
    assert body["incidents"][0]["postmortem_url"] == "https://example.com/pm/1"


@pytest.mark.parametrize(
    ("path", "control"),
    [
        ("/status/", "no-cache"),
        ("/status.json", "public, max-age=30"),
        ("/status/feed.atom", "public, max-age=30"),
        ("/status/badge/hosted-api.svg", "public, max-age=30"),
    ],
)
def test_outputs_carry_etag_and_cache_control(public: Service, path: str, control: str) -> None:
    first = get(path)
    assert first["Cache-Control"] == control
    assert get(path, if_none_match=first["ETag"]).status_code == 304


@pytest.mark.parametrize("path", ["/status/", "/status.json", "/status/feed.atom"])
def test_outputs_are_gzipped_for_clients_that_accept_it(public: Service, path: str) -> None:
    plain = get(path)
    packed = get(path, accept_encoding="br, gzip;q=0.8")
    assert packed["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.content) == plain.content
    assert plain["Vary"] == packed["Vary"] == "Accept-Encoding"
    assert "Content-Encoding" not in plain
    # Each representation has its own ETag, and each revalidates.
    assert packed["ETag"] != plain["ETag"]
    assert get(path, accept_encoding="gzip", if_none_match=packed["ETag"]).status_code == 304
    assert get(path, if_none_match=packed["ETag"]).status_code == 200
    refused = get(path, accept_encoding="gzip;q=0, identity")
    assert "Content-Encoding" not in refused and refused.content == plain.content


def test_feed_is_atom_with_an_entry_per_incident_and_maintenance(public: Service) -> None:
    incident(public, title="API <errors> & more")
    now = timezone.now()
    Maintenance.objects.create(
        service=public,
        external_id="M-1",
        title="Upgrade",
        start=now + dt.timedelta(days=1),
        end=now + dt.timedelta(days=1, hours=1),
        announced_at=now,
    )
    publish.forget()
    response = get("/status/feed.atom")
    assert response["Content-Type"].startswith("application/atom+xml")
    root = ET.fromstring(response.content)
    assert root.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated", "author"):
        assert root.find(f"{ATOM}{required}") is not None, required
    entries = root.findall(f"{ATOM}entry")
    titles = [e.findtext(f"{ATOM}title") for e in entries]
    assert titles == ["API <errors> & more", "Maintenance: Upgrade"]
    ids = [e.findtext(f"{ATOM}id") for e in entries]
    assert len(set(ids)) == 2
    for e in entries:
        assert e.find(f"{ATOM}updated") is not None


def test_badges_render_state_and_uptime(public: Service) -> None:
    response = get("/status/badge/hosted-api.svg")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    svg = ET.fromstring(response.content)
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    assert "Hosted API: operational" in response.content.decode()
    with time_machine.travel(timezone.now(), tick=False):
        incident(public, hours_ago=12)
        uptime = get("/status/badge/hosted-api.svg?uptime=24h").content.decode()
    assert "uptime 24h: 50.000%" in uptime
    assert "outage" in get("/status/badge/hosted-api.svg").content.decode()
    assert get("/status/badge/hosted-api.svg", if_none_match=response["ETag"]).status_code in (
        200,
        304,
    )


def test_badge_escapes_the_service_name(public: Service) -> None:
    Service.objects.filter(pk=public.pk).update(name='<script>"x"</script>')
    body = get("/status/badge/hosted-api.svg").content.decode()
    assert "<script>" not in body
    ET.fromstring(body)  # still well-formed XML


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/status/badge/backbone.svg", 404),  # exists, not public
        ("/status/badge/nothing.svg", 404),
        ("/status/badge/hosted-api.svg?uptime=1y", 400),
    ],
)
def test_badge_refuses_private_unknown_and_bad_windows(
    public: Service, path: str, status: int
) -> None:
    assert get(path).status_code == status


def test_persona_sees_nothing_private(public: Service, other_agreement: Any) -> None:
    """No customer, agreement, credit or non-public service in any status output."""
    backbone = Service.objects.get(key="backbone")
    Service.objects.filter(pk=backbone.pk).update(name="Secret backbone")
    incident(backbone, title="Secret backbone fire")
    incident(public, title="Public API trouble")
    now = timezone.now()
    Maintenance.objects.create(
        service=backbone,
        external_id="M-9",
        title="Secret works",
        start=now + dt.timedelta(hours=1),
        end=now + dt.timedelta(hours=2),
        announced_at=now,
    )
    publish.forget()
    outputs = [
        get(path).content.decode()
        for path in (
            "/status/",
            "/status.json",
            "/status/feed.atom",
            "/status/badge/hosted-api.svg",
            "/status/badge/hosted-api.svg?uptime=90d",
            "/status/subscribe/",
        )
    ]
    forbidden = [
        "Acme Corp",
        "Globex",
        "acme-hosting",
        "globex-hosting",
        "backbone",
        "Secret",
        "credit",
        "EUR",
        "12000",
        "api-availability",
    ]
    for text in outputs:
        for word in forbidden:
            assert word.lower() not in text.lower(), word
    assert "Public API trouble" in outputs[0]


def test_signed_in_users_get_the_same_page(public: Service, customer_user: Any) -> None:
    client = Client()
    client.force_login(customer_user)
    page = client.get("/status/").content.decode()
    assert "acme-viewer" not in page
    assert page == get("/status/").content.decode()


def test_queries_do_not_grow_with_services(
    public: Service, django_assert_max_num_queries: Any
) -> None:
    for n in range(20):
        service = Service.objects.create(key=f"svc-{n}", name=f"Service {n}", public=True)
        incident(service, hours_ago=30)
    with django_assert_max_num_queries(6):
        snapshot = status_snapshot(now=timezone.now())
    assert len(snapshot.services) == 21


def test_page_is_served_from_the_cache(public: Service, django_assert_max_num_queries: Any) -> None:
    get("/status/")
    with django_assert_max_num_queries(0):
        assert get("/status/").status_code == 200
    assert not re.search(r"sessionid", get("/status/").get("Set-Cookie", "") or "")


def test_feed_summaries_show_markup_as_text(public: Service) -> None:
    from metrics.models import IncidentStatusUpdate

    made = incident(public)
    IncidentStatusUpdate.objects.create(
        incident=made, at=timezone.now(), status="identified", message="<img src=x onerror=1>"
    )
    publish.forget()
    feed = get("/status/feed.atom").content.decode()
    from xml.etree import ElementTree

    ns = {"a": "http://www.w3.org/2005/Atom"}
    summary = ElementTree.fromstring(feed).find("a:entry/a:summary", ns)
    assert summary is not None and summary.get("type") == "html"
    # Decoded once by the reader, the HTML it gets still shows the title as text.
    assert "<img" not in (summary.text or "") and "&lt;img" in (summary.text or "")


@pytest.mark.parametrize("path", ["/status/", "/status.json", "/status/feed.atom"])
def test_writing_to_a_read_only_output_is_405(public: Service, path: str) -> None:
    assert Client(enforce_csrf_checks=True).post(path).status_code == 405


def test_contacts_of_the_agreements_over_public_services_are_shown(
    public: Service, agreement: Any, other_agreement: Any
) -> None:
    desk = {"role": "support", "name": "Service desk", "email": "desk@example.com"}
    noc = {"role": "noc", "phone": "+49 30 999", "hours": "24/7"}
    type(agreement).objects.filter(pk=agreement.pk).update(contacts=[desk, dict(desk)])
    type(other_agreement).objects.filter(pk=other_agreement.pk).update(contacts=[noc, desk])
    publish.forget()
    # Each distinct contact once, only the contact fields, in the documents' order.
    assert json.loads(get("/status.json").content)["contacts"] == [desk, noc]
    page = get("/status/").content.decode()
    assert "Service desk" in page and "mailto:desk@example.com" in page
    # With no public service left, nobody's contacts are shown.
    Service.objects.filter(pk=public.pk).update(public=False)
    publish.forget()
    assert json.loads(get("/status.json").content)["contacts"] == []


def test_public_ids_reveal_no_database_key(public: Service, other_agreement: Any) -> None:
    """An incident's public id is stable and the same in every output, but says nothing
    of how many records exist nor of the private incidents between two public ones."""
    backbone = Service.objects.get(key="backbone")
    first = incident(public, title="First public", hours_ago=3)
    hidden = incident(backbone, title="Private in between", hours_ago=2)
    second = incident(public, title="Second public", hours_ago=1)
    body = json.loads(get("/status.json").content)
    ids = sorted(i["id"] for i in body["incidents"])
    assert len(ids) == 2 and all(re.fullmatch(r"[0-9a-f]{16}", i) for i in ids)
    for made in (first, hidden, second):
        assert str(made.pk) not in ids
    page = get("/status/").content.decode()
    feed = get("/status/feed.atom").content.decode()
    for public_id in ids:
        assert f'id="incident-{public_id}"' in page
        assert f"#incident-{public_id}" in feed
        assert f"incident-{second.pk}<" not in feed
    publish.forget()
    assert sorted(i["id"] for i in json.loads(get("/status.json").content)["incidents"]) == ids
