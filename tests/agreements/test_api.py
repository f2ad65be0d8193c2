"""Agreements over the REST API (the permission matrix is in tests/portal/test_permissions.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

pytestmark = pytest.mark.django_db


def test_customer_bound_key_lists_only_its_customer(
    api: Any, agreement: Any, other_agreement: Any
) -> None:
    response = api("read", customer=agreement.customer).get("/api/v1/agreements/")
    assert [a["key"] for a in response.json()] == ["acme-hosting"]
    response = api("read").get("/api/v1/agreements/")
    assert [a["key"] for a in response.json()] == ["acme-hosting", "globex-hosting"]


def test_agreement_detail_has_document_and_versions(api: Any, agreement: Any) -> None:
    body = api("read").get("/api/v1/agreements/acme-hosting/").json()
    assert body["customer"] == "acme"
    assert body["monthly_fee"] == "12000.00"
    assert body["document"]["objectives"][0]["key"] == "api-availability"
    assert body["versions"][0]["number"] == 1


def test_post_creates_then_updates(api: Any, document: dict[str, Any]) -> None:
    client = api("write")
    payload = json.loads(json.dumps(document, default=str))
    first = client.post("/api/v1/agreements/", payload, format="json")
    assert first.status_code == 201
    assert first.json()["version"]["number"] == 1
    payload["objectives"][0]["target"] = 99.5
    second = client.post("/api/v1/agreements/", payload, format="json")
    assert second.status_code == 200
    assert second.json()["version"]["number"] == 2


def test_post_invalid_document_lists_fields(api: Any, document: dict[str, Any]) -> None:
    payload = json.loads(json.dumps(document, default=str))
    payload["objectives"][2]["target"] = 101
    payload["surprise"] = True
    response = api("write").post("/api/v1/agreements/", payload, format="json")
    assert response.status_code == 400
    errors = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert errors["objectives[2].target"].startswith("must be between 0 and 100")
    assert errors["surprise"] == "unknown field"


@pytest.mark.parametrize("body", ["not json", "[1, 2]", '"text"', "null", "{"])
def test_post_garbage_is_400_not_500(api: Any, body: str) -> None:
    response = api("write").post("/api/v1/agreements/", body, content_type="application/json")
    assert response.status_code == 400
    assert "error" in response.json()


def test_openapi_schema_and_docs_are_served_without_cdn(client: Any) -> None:
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/agreements/" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "swagger" in html.lower()
    assert "cdn." not in html and "unpkg" not in html


def test_unknown_api_path_is_json_404(api: Any) -> None:
    response = api("read").get("/api/v1/nothing-here/")
    assert response.status_code == 404
    assert response.json() == {"error": "not found"}


@pytest.mark.parametrize("content_type", ["application/yaml", "application/x-yaml", "text/yaml"])
def test_post_takes_the_document_as_yaml(api: Any, content_type: str) -> None:
    from tests.conftest import SAMPLE

    response = api("write").post("/api/v1/agreements/", SAMPLE, content_type=content_type)
    assert response.status_code == 201, response.content
    assert response.json()["version"]["number"] == 1


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n", "aliases"),
        ("a: " + "[" * 5000 + "\n", "nested"),
        ("a: " + "{b: " * 20000 + "1" + "}" * 20000 + "\n", "nested"),
        ("agreement: [unclosed\n", "invalid YAML"),
    ],
)
def test_hostile_yaml_is_a_400_that_says_why(api: Any, body: str, says: str) -> None:
    response = api("write").post("/api/v1/agreements/", body, content_type="application/yaml")
    assert response.status_code == 400
    assert says in json.dumps(response.json())


def test_deep_json_is_a_400(api: Any) -> None:
    body = "[" * 100_000 + "]" * 100_000
    response = api("write").post("/api/v1/agreements/", body, content_type="application/json")
    assert response.status_code == 400


def test_yaml_with_an_integer_too_long_to_convert_is_a_400(api: Any) -> None:
    body = "agreement: x\nmonthly_fee: 1" + "0" * 5000 + "\n"
    response = api("write").post("/api/v1/agreements/", body, content_type="application/yaml")
    assert response.status_code == 400
