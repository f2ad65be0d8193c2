"""Limits on the account pages: the admin's sign-in shares the portal's lockout, and
password reset requests are limited per account and per address, revealing nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user(
        "ops", email="ops@example.com", password="pw-ops-staff-1", is_staff=True
    )


def admin_sign_in(client: Any, password: str, username: str = "ops", **extra: Any) -> Any:
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": username, "password": password, "next": "/admin/"},
        **extra,
    )


def test_admin_sign_in_works(client: Any, staff: Any) -> None:
    page = client.get("/admin/login/?next=/admin/")
    assert page.status_code == 200 and b"Too many" not in page.content
    response = admin_sign_in(client, "pw-ops-staff-1")
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_admin_sign_in_locks_after_repeated_failures(client: Any, staff: Any) -> None:
    for _ in range(settings.LOGIN_FAILURE_LIMIT - 1):
        assert admin_sign_in(client, "wrong").status_code == 200
    locked = admin_sign_in(client, "wrong")
    assert locked.status_code == 429
    assert "Too many failed sign-in attempts" in locked.content.decode()
    # The right password no longer gets in from this address ...
    right = admin_sign_in(client, "pw-ops-staff-1")
    assert right.status_code == 429
    assert client.get("/admin/").status_code == 302  # still signed out
    # ... while the same account from elsewhere does.
    assert admin_sign_in(Client(), "pw-ops-staff-1", REMOTE_ADDR="10.0.0.9").status_code == 302


def test_twelve_wrong_passwords_then_the_right_one_stay_locked(client: Any, staff: Any) -> None:
    statuses = [admin_sign_in(client, f"guess-{i}").status_code for i in range(12)]
    assert statuses.count(429) == 12 - settings.LOGIN_FAILURE_LIMIT + 1
    assert admin_sign_in(client, "pw-ops-staff-1").status_code == 429


def test_the_portal_and_the_admin_count_failures_together(
    client: Any, staff: Any, settings: Any
) -> None:
    settings.LOGIN_FAILURE_LIMIT = 2
    settings.LOGIN_LOCK_MINUTES = 9
    portal = client.post("/accounts/login/", {"username": "ops", "password": "wrong"})
    assert portal.status_code == 200
    locked = admin_sign_in(client, "wrong")
    assert locked.status_code == 429
    assert "9 minutes" in locked.content.decode()
    again = client.post("/accounts/login/", {"username": "ops", "password": "pw-ops-staff-1"})
    assert again.status_code == 429


def test_a_non_staff_account_is_a_failed_admin_sign_in(
    client: Any, customer_user: Any, settings: Any
) -> None:
    settings.LOGIN_FAILURE_LIMIT = 2
    assert admin_sign_in(client, "pw-acme-viewer-1", username="acme-viewer").status_code == 200
    assert admin_sign_in(client, "pw-acme-viewer-1", username="acme-viewer").status_code == 429


def test_admin_success_clears_the_count(client: Any, staff: Any) -> None:
    for _ in range(settings.LOGIN_FAILURE_LIMIT - 1):
        admin_sign_in(client, "wrong")
    assert admin_sign_in(client, "pw-ops-staff-1").status_code == 302
    client.post("/admin/logout/")
    for _ in range(settings.LOGIN_FAILURE_LIMIT - 1):
        assert admin_sign_in(client, "wrong").status_code == 200


# Password reset ---------------------------------------------------------------------


def reset(client: Any, email: str, **extra: Any) -> Any:
    return client.post("/accounts/password/reset/", {"email": email}, **extra)


def test_reset_requests_for_one_account_send_a_few_emails_only(client: Any, staff: Any) -> None:
    responses = [reset(client, "ops@example.com") for _ in range(8)]
    assert {r.status_code for r in responses} == {302}
    assert {r["Location"] for r in responses} == {"/accounts/password/reset/sent/"}
    assert len(mail.outbox) == settings.PASSWORD_RESET_PER_ACCOUNT


def test_the_account_limit_counts_the_address_however_it_is_written(
    staff: Any, settings: Any
) -> None:
    settings.PASSWORD_RESET_PER_ACCOUNT = 1
    reset(Client(), "ops@example.com", REMOTE_ADDR="10.0.0.1")
    reset(Client(), " OPS@Example.com ", REMOTE_ADDR="10.0.0.2")
    assert len(mail.outbox) == 1


def test_known_and_unknown_accounts_get_the_same_answers(
    client: Any, staff: Any, settings: Any
) -> None:
    settings.PASSWORD_RESET_PER_ACCOUNT = 2
    known = [reset(Client(), "ops@example.com", REMOTE_ADDR="10.0.0.1") for _ in range(4)]
    unknown = [reset(Client(), "nobody@example.com", REMOTE_ADDR="10.0.0.2") for _ in range(4)]
    assert [(r.status_code, r["Location"]) for r in known] == [
        (r.status_code, r["Location"]) for r in unknown
    ]
    assert len(mail.outbox) == 2


def test_one_address_may_not_flood_many_accounts(client: Any, staff: Any, settings: Any) -> None:
    settings.PASSWORD_RESET_PER_ADDRESS = 3
    answers = [reset(client, f"user{i}@example.com").status_code for i in range(3)]
    assert answers == [302, 302, 302]
    refused = reset(client, "ops@example.com")
    assert refused.status_code == 429
    assert "Too many reset requests" in refused.content.decode()
    assert mail.outbox == []
    # Another address is not held back.
    assert reset(Client(), "ops@example.com", REMOTE_ADDR="10.0.0.7").status_code == 302
    assert len(mail.outbox) == 1


@pytest.mark.parametrize(
    ("hops", "forwarded", "address"),
    [
        (0, "203.0.113.9", "10.0.0.1"),  # no proxy trusted: what a client writes is ignored
        (1, "203.0.113.9", "203.0.113.9"),
        (1, "198.51.100.7, 203.0.113.9", "203.0.113.9"),  # the first is the client's own say
        (2, "198.51.100.7, 203.0.113.9, 10.0.0.2", "203.0.113.9"),
        (1, "not-an-address", "10.0.0.1"),
        (2, "203.0.113.9", "10.0.0.1"),  # fewer hops than proxies: nothing to trust
    ],
)
def test_the_client_address_behind_trusted_proxies(
    settings: Any, hops: int, forwarded: str, address: str
) -> None:
    from django.test import RequestFactory

    from portal.limits import _address

    settings.TRUSTED_PROXY_HOPS = hops
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=forwarded)
    assert _address(request) == address
