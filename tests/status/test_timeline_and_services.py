"""The ``services`` map of the document (names, supplier, public flag) and the public
incident timeline (``updates``) carried by the incidents API."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import time_machine

from agreements.document import DocumentError, validate
from agreements.models import Service
from agreements.services import agreement_export, agreement_import, printable_document
from metrics.models import Incident, IncidentStatusUpdate

pytestmark = pytest.mark.django_db


def test_services_map_marks_a_service_public(document: dict[str, Any]) -> None:
    document["services"] = {
        "hosted-api": {"name": "Hosted API", "provider": "Example Hosting Ltd", "public": True}
    }
    agreement = agreement_import(data=document, actor="test").agreement
    service = Service.objects.get(key="hosted-api")
    assert (service.name, service.provider, service.public) == (
        "Hosted API",
        "Example Hosting Ltd",
        True,
    )
    assert Service.objects.get(key="backbone").public is False
    exported = printable_document(agreement_export(agreement))
    assert exported["services"] == document["services"]
    # Importing the export changes nothing.
    again = agreement_import(data=copy.deepcopy(exported), actor="test")
    assert again.version is None


@pytest.mark.parametrize(
    ("services", "field", "words"),
    [
        ({"nowhere": {"public": True}}, "services.nowhere", "not the service of any objective"),
        ({"hosted-api": {"public": "yes"}}, "services.hosted-api.public", "true or false"),
        ({"hosted-api": {"colour": "red"}}, "services.hosted-api.colour", "unknown field"),
        ({"hosted-api": {"name": "a\nb"}}, "services.hosted-api.name", "single line"),
        ([], "services", "mapping"),
    ],
)
def test_bad_services_map_names_the_field(
    document: dict[str, Any], services: Any, field: str, words: str
) -> None:
    document["services"] = services
    with pytest.raises(DocumentError) as raised:
        validate(document)
    assert any(path == field and words in message for path, message in raised.value.errors), (
        raised.value.errors
    )


INCIDENT = {
    "service": "hosted-api",
    "external_id": "INC-7",
    "title": "API errors",
    "impact": "outage",
    "started_at": "2026-03-10T10:00:00Z",
    "resolved_at": None,
}


def post(client: Any, records: Any) -> Any:
    return client.post("/api/v1/incidents/", json.dumps(records), content_type="application/json")


def test_updates_are_stored_merged_and_idempotent(api: Any, agreement: Any) -> None:
    client = api("ingest")
    first = {
        **INCIDENT,
        "updates": [
            {"at": "2026-03-10T10:05:00Z", "status": "investigating", "message": "Looking."}
        ],
    }
    assert post(client, [first]).json() == {"accepted": 1, "duplicates": 0}
    assert post(client, [first]).json() == {"accepted": 0, "duplicates": 1}
    second = {
        **INCIDENT,
        "updates": [
            {"at": "2026-03-10T10:20:00Z", "status": "identified", "message": "A bad deploy."}
        ],
    }
    # Only the timeline grew: still accepted, and the earlier update stays.
    assert post(client, [second]).json() == {"accepted": 1, "duplicates": 0}
    incident = Incident.objects.get(external_id="INC-7")
    assert [(u.status, u.message) for u in incident.status_updates.all()] == [
        ("investigating", "Looking."),
        ("identified", "A bad deploy."),
    ]
    # The internal change log is untouched by the timeline: one entry, the creation.
    assert incident.updates.count() == 1


@pytest.mark.parametrize(
    ("updates", "field", "words"),
    [
        ("soon", "updates", "must be a list"),
        (
            [{"at": "2026-03-10T10:05:00Z", "status": "fixed", "message": "x"}],
            "updates[0].status",
            "must be one of",
        ),
        ([{"at": "yesterday", "status": "resolved", "message": "x"}], "updates[0].at", "ISO 8601"),
        (
            [{"at": "2026-03-10T09:59:59Z", "status": "investigating", "message": "x"}],
            "updates[0].at",
            "before started_at",
        ),
        (
            [{"at": "2026-03-10T10:05:00Z", "status": "resolved"}],
            "updates[0].message",
            "is required",
        ),
        (
            [{"at": "2026-03-10T10:05:00Z", "status": "resolved", "message": "x", "by": "me"}],
            "updates[0].by",
            "unknown field",
        ),
        (
            [{"at": "2026-03-10T10:05:00Z", "status": "resolved", "message": "x" * 2001}],
            "updates[0].message",
            "at most 2000",
        ),
    ],
)
def test_bad_updates_refuse_the_whole_batch(
    api: Any, agreement: Any, updates: Any, field: str, words: str
) -> None:
    good = {**INCIDENT, "external_id": "INC-OK"}
    response = post(api("ingest"), [good, {**INCIDENT, "updates": updates}])
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert (error["index"], error["field"]) == (1, field)
    assert words in error["message"]
    assert not Incident.objects.exists()
    assert not IncidentStatusUpdate.objects.exists()


def test_customers_see_the_same_timeline_on_their_agreement_page(
    api: Any, agreement: Any, customer_user: Any, client: Any
) -> None:
    record = {
        **INCIDENT,
        "updates": [
            {
                "at": "2026-03-10T10:05:00Z",
                "status": "investigating",
                "message": "Looking into it.",
            },
            {"at": "2026-03-10T10:20:00Z", "status": "identified", "message": "A bad deploy."},
        ],
    }
    assert post(api("ingest"), [record]).status_code == 201
    Incident.objects.update(postmortem_url="https://example.com/pm/7")
    client.force_login(customer_user)
    with time_machine.travel("2026-03-10T12:00:00Z", tick=False):
        page = client.get("/agreements/acme-hosting/").content.decode()
    assert "Investigating" in page and "Looking into it." in page
    assert page.index("Looking into it.") < page.index("A bad deploy.")
    assert 'href="https://example.com/pm/7"' in page
