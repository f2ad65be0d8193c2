"""The Redis cache backend keeps one client per connection pool."""

from __future__ import annotations

from portal.cache import RedisCache


def test_one_redis_client_per_pool() -> None:
    # No server is needed: clients and pools connect on first command.
    cache = RedisCache("redis://127.0.0.1:1/0", {})
    client = cache._cache.get_client("key")
    assert cache._cache.get_client("other", write=True) is client
    assert client.connection_pool is cache._cache._get_connection_pool(write=False)


def test_two_servers_two_clients() -> None:
    cache = RedisCache("redis://127.0.0.1:1/0,redis://127.0.0.1:2/0", {})
    writer = cache._cache.get_client(write=True)
    reader = cache._cache.get_client()
    assert writer is not reader
    assert cache._cache.get_client(write=True) is writer
