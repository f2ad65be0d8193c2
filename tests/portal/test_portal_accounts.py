"""Accounts: sign-in with brute-force protection, sign-out, password change and reset, CSRF."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client

pytestmark = pytest.mark.django_db


def sign_in(client: Any, password: str, username: str = "acme-viewer", **extra: Any) -> Any:
    return client.post("/accounts/login/", {"username": username, "password": password}, **extra)


def test_repeated_failures_lock_the_username_from_that_address(
    client: Any, customer_user: Any
) -> None:
    for _ in range(settings.LOGIN_FAILURE_LIMIT - 1):
        assert sign_in(client, "wrong").status_code == 200
    locked = sign_in(client, "wrong")
    assert locked.status_code == 429
    assert "Too many failed sign-in attempts" in locked.content.decode()
    # While locked, even the right password is refused ...
    assert sign_in(client, "pw-acme-viewer-1").status_code == 429
    # ... but only for that address: the same user elsewhere signs in.
    other = sign_in(Client(), "pw-acme-viewer-1", REMOTE_ADDR="10.0.0.9")
    assert other.status_code == 302


def test_failure_limit_and_lock_come_from_settings(
    client: Any, customer_user: Any, settings: Any
) -> None:
    settings.LOGIN_FAILURE_LIMIT = 2
    settings.LOGIN_LOCK_MINUTES = 7
    assert sign_in(client, "wrong").status_code == 200
    locked = sign_in(client, "wrong")
    assert locked.status_code == 429
    assert "7 minutes" in locked.content.decode()


def test_lock_is_per_username(client: Any, customer_user: Any, manager_user: Any) -> None:
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        sign_in(client, "wrong")
    assert sign_in(client, "pw-acme-manager-1", username="acme-manager").status_code == 302


def test_success_clears_the_failure_count(client: Any, customer_user: Any) -> None:
    for _ in range(settings.LOGIN_FAILURE_LIMIT - 1):
        sign_in(client, "wrong")
    assert sign_in(client, "pw-acme-viewer-1").status_code == 302
    client.post("/accounts/logout/")
    for _ in range(settings.LOGIN_FAILURE_LIMIT - 1):
        assert sign_in(client, "wrong").status_code == 200


def test_sign_in_rotates_the_session_and_sign_out_ends_it(client: Any, customer_user: Any) -> None:
    client.get("/accounts/login/")
    sign_in(client, "pw-acme-viewer-1")
    first = client.session.session_key
    assert client.get("/").status_code == 200
    assert client.get("/accounts/logout/").status_code == 405  # sign-out is a POST
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/").status_code == 302
    sign_in(client, "pw-acme-viewer-1")
    assert client.session.session_key != first


def test_forms_need_the_csrf_token(customer_user: Any, manager_user: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    assert sign_in(client, "pw-acme-viewer-1").status_code == 403
    page = client.get("/accounts/login/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token
    response = client.post(
        "/accounts/login/",
        {
            "username": "acme-viewer",
            "password": "pw-acme-viewer-1",
            "csrfmiddlewaretoken": token[1],
        },
    )
    assert response.status_code == 302


def test_session_cookie_is_http_only(client: Any, customer_user: Any) -> None:
    response = sign_in(client, "pw-acme-viewer-1")
    assert response.cookies["sessionid"]["httponly"]


def test_password_change(client: Any, customer_user: Any) -> None:
    assert client.get("/accounts/password/change/").status_code == 302  # signed in only
    client.force_login(customer_user)
    assert b"Change your password" in client.get("/accounts/password/change/").content
    response = client.post(
        "/accounts/password/change/",
        {
            "old_password": "pw-acme-viewer-1",
            "new_password1": "a-new-long-passphrase-7",
            "new_password2": "a-new-long-passphrase-7",
        },
    )
    assert response.status_code == 302
    customer_user.refresh_from_db()
    assert customer_user.check_password("a-new-long-passphrase-7")


def test_password_reset_by_email(client: Any, customer_user: Any) -> None:
    customer_user.email = "viewer@acme.example"
    customer_user.save()
    assert b"Reset your password" in client.get("/accounts/password/reset/").content
    response = client.post("/accounts/password/reset/", {"email": "viewer@acme.example"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = re.search(r"http://\S+/accounts/reset/\S+/", mail.outbox[0].body)
    assert link
    path = link[0].split("testserver", 1)[1]
    form = client.get(path, follow=True)
    assert b"Choose a new password" in form.content
    done = client.post(
        form.redirect_chain[-1][0],
        {
            "new_password1": "another-long-passphrase-9",
            "new_password2": "another-long-passphrase-9",
        },
    )
    assert done.status_code == 302
    customer_user.refresh_from_db()
    assert customer_user.check_password("another-long-passphrase-9")


def test_unknown_email_sends_nothing_and_says_the_same(client: Any, customer_user: Any) -> None:
    response = client.post(
        "/accounts/password/reset/", {"email": "nobody@example.com"}, follow=True
    )
    assert b"Check your email" in response.content
    assert mail.outbox == []
