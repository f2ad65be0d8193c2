"""API keys: creation, hashing, scopes, customer binding, revocation."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from agreements.models import ApiKey

pytestmark = pytest.mark.django_db


def test_create_api_key_prints_secret_alone_on_last_line(agreement: Any) -> None:
    out = io.StringIO()
    call_command(
        "create_api_key",
        "monitoring",
        "--scope",
        "ingest",
        "--scope",
        "read",
        "--customer",
        "acme",
        stdout=out,
    )
    secret = out.getvalue().strip().splitlines()[-1]
    assert secret.startswith("sla_") and " " not in secret
    key = ApiKey.objects.get()
    assert key.scopes == ["ingest", "read"]
    assert key.customer == agreement.customer
    assert secret not in (key.digest, key.prefix)
    assert key.digest == ApiKey.hash(secret)


def test_create_api_key_takes_several_scopes_after_one_flag() -> None:
    call_command("create_api_key", "billing", "--scope", "read", "write", stdout=io.StringIO())
    assert ApiKey.objects.get().scopes == ["read", "write"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["x", "--scope", "admin"], "unknown scope"),
        (["x", "--scope", "read", "--customer", "nobody"], "no customer with key 'nobody'"),
    ],
)
def test_create_api_key_refuses_bad_input(args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("create_api_key", *args, stdout=io.StringIO())
    assert not ApiKey.objects.exists()


def test_last_used_is_recorded(api: Any, agreement: Any) -> None:
    client = api("read")
    assert client.get("/api/v1/agreements/").status_code == 200
    assert ApiKey.objects.get().last_used_at is not None


def test_revoked_key_is_refused(api: Any, agreement: Any) -> None:
    client = api("read")
    ApiKey.objects.update(revoked_at=timezone.now())
    response = client.get("/api/v1/agreements/")
    assert response.status_code == 401
    assert response.json() == {"error": "this API key has been revoked"}


@pytest.mark.parametrize("header", ["Bearer", "Token abc", "Bearer a b", "Bearer unknown"])
def test_malformed_or_unknown_keys_are_401(client: Any, agreement: Any, header: str) -> None:
    response = client.get("/api/v1/agreements/", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert "error" in response.json()
