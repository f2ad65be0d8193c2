"""Portal pages: login, dashboard, agreement page, and isolation between customers."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.django_db


def test_home_redirects_to_login(client: Any) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_login_page_renders(client: Any) -> None:
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert b"Sign in" in response.content


def test_login_and_see_own_agreements(
    client: Any, customer_user: Any, other_agreement: Any
) -> None:
    response = client.post(
        "/accounts/login/", {"username": "acme-viewer", "password": "pw-acme-viewer-1"}
    )
    assert response.status_code == 302
    page = client.get("/")
    assert b"Acme managed hosting" in page.content
    assert b"globex" not in page.content.lower()


def test_other_customers_agreement_is_404(client: Any, outsider: Any, agreement: Any) -> None:
    client.force_login(outsider)
    assert client.get(f"/agreements/{agreement.key}/").status_code == 404


def test_own_agreement_page(client: Any, customer_user: Any, agreement: Any) -> None:
    client.force_login(customer_user)
    response = client.get(f"/agreements/{agreement.key}/")
    assert response.status_code == 200
    assert b"api-availability" in response.content


def test_staff_see_every_agreement(
    client: Any, admin_user: Any, agreement: Any, other_agreement: Any
) -> None:
    client.force_login(admin_user)
    assert client.get(f"/agreements/{other_agreement.key}/").status_code == 200


def test_healthz(client: Any) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "cache": "ok", "broker": "ok"}
