"""Django's Redis cache, keeping one Redis client per connection pool, and degrading
instead of failing when Redis is unreachable.

Django builds a new ``redis.Redis`` for every cache call, and each fills a table of some
170 reply callbacks: a measurable share of a page served from the cache (the session and
the agreement page's sections are two cache reads per request). A ``redis.Redis`` only
wraps its pool and is thread-safe, so one per pool is enough.

Everything the portal keeps in the cache can be recomputed or lived without, so Redis
being down is not an error: a read is a miss, a write is skipped, and the outage is
logged. After a failure the cache is skipped for ``RETRY_SECONDS``, so each request does
not wait on a connection attempt. ``incr`` is the exception: a count cannot be made up,
so it raises ``CacheUnavailable`` and the caller decides (the API rate limit lets the
request through).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient as DjangoRedisCacheClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)

# How long the cache is skipped after Redis failed to answer.
RETRY_SECONDS = 5.0
UNREACHABLE = (RedisConnectionError, RedisTimeoutError)

T = TypeVar("T")


class CacheUnavailable(Exception):
    """Redis did not answer (or did a moment ago): the value cannot be counted."""


class RedisCacheClient(DjangoRedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)  # type: ignore[attr-defined]
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient
        self._down_until = 0.0

    def ping(self) -> None:
        """Ask Redis directly (for /healthz); raises when it does not answer."""
        self._cache.get_client(write=True).ping()

    @property
    def available(self) -> bool:
        return time.monotonic() >= self._down_until

    def _degrade(self, call: Callable[[], T], default: T) -> T:
        if not self.available:
            return default
        try:
            return call()
        except UNREACHABLE as error:
            self._mark_down(error)
            return default

    def _mark_down(self, error: Exception) -> None:
        if self.available:
            log.warning(
                "cache unreachable, working without it for %.0f s: %s", RETRY_SECONDS, error
            )
        self._down_until = time.monotonic() + RETRY_SECONDS

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        return self._degrade(lambda: super(RedisCache, self).get(key, default, version), default)

    def get_many(self, keys: Any, version: int | None = None) -> dict[Any, Any]:
        return self._degrade(lambda: super(RedisCache, self).get_many(keys, version), {})

    def has_key(self, key: Any, version: int | None = None) -> bool:
        return self._degrade(lambda: super(RedisCache, self).has_key(key, version), False)

    def add(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None
    ) -> bool:
        # Not stored: callers that debounce on add() schedule nothing, and the periodic
        # passes (recompute, digests) catch up.
        return self._degrade(
            lambda: super(RedisCache, self).add(key, value, timeout, version), False
        )

    def set(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None
    ) -> None:
        self._degrade(lambda: super(RedisCache, self).set(key, value, timeout, version), None)

    def set_many(self, data: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> list[Any]:
        return self._degrade(
            lambda: super(RedisCache, self).set_many(data, timeout, version), list(data)
        )

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> bool:
        return self._degrade(lambda: super(RedisCache, self).touch(key, timeout, version), False)

    def delete(self, key: Any, version: int | None = None) -> bool:
        return self._degrade(lambda: super(RedisCache, self).delete(key, version), False)

    def delete_many(self, keys: Any, version: int | None = None) -> None:
        self._degrade(lambda: super(RedisCache, self).delete_many(keys, version), None)

    def clear(self) -> None:
        self._degrade(lambda: super(RedisCache, self).clear(), None)

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        if not self.available:
            raise CacheUnavailable("the cache is unreachable")
        try:
            return super().incr(key, delta, version)
        except UNREACHABLE as error:
            self._mark_down(error)
            raise CacheUnavailable(str(error)) from error
