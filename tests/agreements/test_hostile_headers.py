"""An Authorization header that is not a well-formed ASCII bearer key is a 401, never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "header",
    [
        "Bearer caf\u00e9",  # a byte above 127, as WSGI hands it over
        "Bearer \u20ac",  # not even Latin-1
        "Bearer \udfff",
        "Bearer key\x00",
        "   ",
        "Bearer",
        "Bearer a b",
        "Basic dXNlcjpwYXNz",
    ],
    ids=["latin1", "euro", "surrogate", "nul", "blank", "no-key", "two-keys", "basic"],
)
def test_a_malformed_authorization_header_is_a_401(agreement: Any, header: str) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get("/api/v1/agreements/")
    assert response.status_code == 401, response.content
    assert response.json()["error"] in (
        "Authorization header must be 'Bearer <key>'",
        "Authorization header must be 'Bearer <key>' in ASCII characters",
        "unknown API key",
    )
