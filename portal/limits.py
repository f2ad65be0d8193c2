"""Limits on the account pages, counted in the shared cache: the sign-in lockout (for the
portal's sign-in and the admin's alike) and password-reset requests.

Counters are keyed by digests, so the cache never holds a username or an email address.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import ipaddress
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.http.response import HttpResponseBase, HttpResponseRedirectBase

View = Callable[..., HttpResponseBase]


def _digest(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _address(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or behind ``TRUSTED_PROXY_HOPS`` proxies the
    address the outermost of them appended to X-Forwarded-For (what a client writes there
    itself lies further left and is never read). A malformed entry falls back to
    REMOTE_ADDR."""
    hops = settings.TRUSTED_PROXY_HOPS
    if hops:
        chain = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        chain = [part for part in chain if part]
        if len(chain) >= hops:
            with contextlib.suppress(ValueError):
                return str(ipaddress.ip_address(chain[-hops]))
    return str(request.META.get("REMOTE_ADDR", ""))


def _increment(key: str, seconds: int) -> int:
    """Add one to a counter that lives ``seconds`` from its first count; returns it."""
    cache.add(key, 0, timeout=seconds)
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=seconds)
        return 1


# Sign-in lockout ----------------------------------------------------------------------


def _failure_key(request: HttpRequest) -> str:
    username = str(request.POST.get("username", "")).strip().lower()
    return f"login-failures:{_digest(username, _address(request))}"


def guard_sign_in(view: View, *, locked: Callable[[HttpRequest], HttpResponseBase]) -> View:
    """``view``, a sign-in view, behind the lockout.

    After LOGIN_FAILURE_LIMIT failed sign-ins for one username from one address, that
    pair is locked out for LOGIN_LOCK_MINUTES from the last failure: its POSTs get
    ``locked(request)`` (status 429) without the password being checked, the right one
    included. A sign-in view answers success with a redirect, so a POST answered with
    anything else is a failure; a success clears the count.
    """

    @functools.wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.method != "POST":
            return view(request, *args, **kwargs)
        key = _failure_key(request)
        if cache.get(key, 0) >= settings.LOGIN_FAILURE_LIMIT:
            return locked(request)
        response = view(request, *args, **kwargs)
        if isinstance(response, HttpResponseRedirectBase):
            cache.delete(key)
            return response
        seconds = settings.LOGIN_LOCK_MINUTES * 60
        failures = _increment(key, seconds)
        cache.touch(key, seconds)  # the lock lasts from the last failure
        if failures >= settings.LOGIN_FAILURE_LIMIT:
            return locked(request)
        return response

    return guarded


# Password reset -----------------------------------------------------------------------


def reset_allowed_from(request: HttpRequest) -> bool:
    """Counts a reset request from the caller's address; False once over the limit."""
    key = f"reset-address:{_digest(_address(request))}"
    seconds = settings.PASSWORD_RESET_WINDOW_MINUTES * 60
    return _increment(key, seconds) <= settings.PASSWORD_RESET_PER_ADDRESS


def reset_allowed_for(email: str) -> bool:
    """Counts a reset request for an email address, whether or not an account has it (so
    the count says nothing about accounts); False once over the limit."""
    key = f"reset-account:{_digest(email.strip().lower())}"
    seconds = settings.PASSWORD_RESET_WINDOW_MINUTES * 60
    return _increment(key, seconds) <= settings.PASSWORD_RESET_PER_ACCOUNT


# Status page subscriptions ------------------------------------------------------------

SUBSCRIBE_WINDOW_SECONDS = 3600
SUBSCRIBE_PER_ADDRESS = 10  # requests from one IP address per hour
SUBSCRIBE_PER_EMAIL = 3  # confirmation emails to one address per hour


def subscribe_allowed_from(request: HttpRequest) -> bool:
    """Counts a subscription request from the caller's address; False once over
    SUBSCRIBE_PER_ADDRESS in the hour."""
    key = f"subscribe-address:{_digest(_address(request))}"
    return _increment(key, SUBSCRIBE_WINDOW_SECONDS) <= SUBSCRIBE_PER_ADDRESS


def subscribe_allowed_for(email: str) -> bool:
    """Counts a subscription request for an email address, known or not; False once over
    SUBSCRIBE_PER_EMAIL in the hour (the request is then answered the same, and sends
    nothing: no one can flood an inbox through the form)."""
    key = f"subscribe-email:{_digest(email.strip().lower())}"
    return _increment(key, SUBSCRIBE_WINDOW_SECONDS) <= SUBSCRIBE_PER_EMAIL
