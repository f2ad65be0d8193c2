"""Bearer API keys for partners (``Authorization: Bearer <key>``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from rest_framework import authentication, exceptions, permissions

from agreements.models import ApiKey

# last_used_at is written at most this often per key, so hot ingestion paths
# do not turn every request into an UPDATE.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Any) -> tuple[ApiKeyUser, ApiKey] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        # Keys are ASCII: any other character (a byte above 127 arrives as one) cannot be
        # part of one, and must not reach the digest or an error message.
        if not isinstance(header, str) or not header.isascii():
            raise exceptions.AuthenticationFailed(
                "Authorization header must be 'Bearer <key>' in ASCII characters"
            )
        parts = header.split()
        if len(parts) != 2 or parts[0].lower() != self.keyword.lower():
            raise exceptions.AuthenticationFailed("Authorization header must be 'Bearer <key>'")
        key = ApiKey.objects.select_related("customer").filter(digest=ApiKey.hash(parts[1])).first()
        if key is None:
            raise exceptions.AuthenticationFailed("unknown API key")
        if not key.is_active:
            raise exceptions.AuthenticationFailed("this API key has been revoked")
        now = timezone.now()
        if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
            key.last_used_at = now
        return ApiKeyUser(key), key

    def authenticate_header(self, request: Any) -> str:
        return 'Bearer realm="api"'


class ApiKeyUser:
    """The request.user of an API request: the key, not a person."""

    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_superuser = False

    def __init__(self, key: ApiKey):
        self.key = key
        self.pk = None
        self.username = f"api-key:{key.name}"

    def __str__(self) -> str:
        return self.username


class HasScope(permissions.BasePermission):
    """Requires the view's ``required_scope`` (or ``scope_by_method``) on the caller's key."""

    message = "this API key lacks the required scope"

    def has_permission(self, request: Any, view: Any) -> bool:
        key = request.auth
        if not isinstance(key, ApiKey):
            return False
        scope = getattr(view, "scope_by_method", {}).get(request.method) or getattr(
            view, "required_scope", None
        )
        if scope is None:
            return False
        if not key.has_scope(scope):
            self.message = f"this API key lacks the {scope!r} scope"
            return False
        return True


class ProviderOnly(permissions.BasePermission):
    """Terms belong to the provider (SPEC §4, Authority): whatever its scopes, a key bound
    to a customer never creates or changes an agreement, an exclusion or a restatement.

    Reads stay open to such a key (its queryset is scoped to its customer); every other
    method of a view carrying this permission needs a key bound to no customer. The one
    home of that rule: each provider-only operation lists it in ``permission_classes``
    after ``HasScope``.
    """

    message = "this operation is the provider's"

    def has_permission(self, request: Any, view: Any) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        key = request.auth
        if not isinstance(key, ApiKey):
            return False
        if key.customer is not None:
            self.message = (
                f"this API key is bound to customer {key.customer.key!r}: agreements, their "
                "terms, exclusions and restatements are the provider's to write; a "
                "customer's key may claim credits, acknowledge escalations and register "
                "webhooks"
            )
            return False
        return True


def api_key_scopes_valid(scopes: list[str]) -> list[str]:
    valid = {choice for choice, _ in ApiKey.Scope.choices}
    return [s for s in scopes if s not in valid]


try:  # Documents the scheme in the OpenAPI schema.
    from drf_spectacular.extensions import OpenApiAuthenticationExtension

    class ApiKeyScheme(OpenApiAuthenticationExtension):
        target_class = "agreements.auth.ApiKeyAuthentication"
        name = "bearerKey"

        def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
            return {
                "type": "http",
                "scheme": "bearer",
                "description": "An API key made with `manage.py create_api_key`.",
            }
except ImportError:  # pragma: no cover
    pass


class ApiKeyRateThrottle:
    """A fixed one-minute window per API key, counted in the shared cache.

    Over the limit the API answers 429 with ``Retry-After`` (seconds to the next window).
    When the cache cannot count, requests pass (logged once a minute): an outage of the
    cache must not stop ingestion.
    """

    def __init__(self) -> None:
        self.retry_after = 0

    def allow_request(self, request: Any, view: Any) -> bool:
        from django.conf import settings
        from django.core.cache import cache

        key = request.auth
        if not isinstance(key, ApiKey):
            return True
        limit = settings.API_RATE_PER_MINUTE
        now = timezone.now().timestamp()
        window = int(now // 60)
        name = f"rate:{key.pk}:{window}"
        try:
            cache.add(name, 0, timeout=120)
            try:
                count = cache.incr(name)
            except ValueError:  # expired between add and incr
                cache.set(name, 1, timeout=120)
                count = 1
        except Exception as error:
            # Fail open: with the cache down, ingestion and reads go on, unlimited.
            self._warn_unlimited(window, error)
            return True
        if count > limit:
            self.retry_after = max(1, int((window + 1) * 60 - now) + 1)
            return False
        return True

    def wait(self) -> float:
        return float(self.retry_after)

    # The minute last warned about: one warning per minute while the cache is down.
    warned_window = -1

    def _warn_unlimited(self, window: int, error: Exception) -> None:
        import logging

        if window != ApiKeyRateThrottle.warned_window:
            ApiKeyRateThrottle.warned_window = window
            logging.getLogger(__name__).warning(
                "API rate limit not enforced, the cache is unavailable: %s", error
            )
