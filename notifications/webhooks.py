"""Webhook mechanics with no ORM: URL checks, address checks, signing, one HTTP POST.

Deliveries never go to an address the operator has not allowed: the host is resolved,
every address is checked (loopback, private, link-local, reserved... are refused unless
``WEBHOOK_ALLOW_PRIVATE``), and the connection is made to the checked address itself, so
a DNS answer that changes between the check and the connection (rebinding) cannot
redirect it. Redirects are never followed: a 3xx answer is a failed attempt.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import json
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

SIGNATURE_HEADER = "X-SLA-Signature"
TIMESTAMP_HEADER = "X-SLA-Timestamp"
USER_AGENT = "SLA-Portal-Webhooks/1.0"


class UnsafeUrl(ValueError):
    """The URL is malformed, or leads to an address that is not allowed."""


def allow_private() -> bool:
    return bool(settings.WEBHOOK_ALLOW_PRIVATE)


def timeout_seconds() -> float:
    return float(settings.WEBHOOK_TIMEOUT_SECONDS)


def check_url_syntax(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an http(s) URL, or UnsafeUrl naming what is wrong."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise UnsafeUrl(f"not a valid URL ({error})") from None
    if parts.scheme not in ("http", "https"):
        raise UnsafeUrl("scheme must be http or https")
    if not parts.hostname:
        raise UnsafeUrl("a host is required")
    if parts.username or parts.password:
        raise UnsafeUrl("credentials in the URL are not allowed; verify the signature instead")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


# IPv6 forms that carry an IPv4 address in their last 32 bits. A packet sent to one of
# them may well reach that IPv4 address (through NAT64, a translator, or a host stack
# that still honours the deprecated forms), so the IPv4 address is judged too.
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052 well-known prefix
TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")  # RFC 2765 IPv4-translated
COMPATIBLE = ipaddress.IPv6Network("::/96")  # RFC 4291 IPv4-compatible, deprecated

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """Every IPv4 address that ``ip`` carries: mapped, NAT64, translated, compatible,
    6to4 and both Teredo addresses (server and client)."""
    found = []
    if ip.ipv4_mapped is not None:
        found.append(ip.ipv4_mapped)
    if ip in NAT64 or ip in TRANSLATED or ip in COMPATIBLE:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF))
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)
    return found


def globally_reachable(ip: Address) -> bool:
    """What the address is, judged by every property the standard library knows; the
    properties overlap, but none of them alone covers every special range."""
    special = (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local)
    )
    return ip.is_global and not special


def address_allowed(address: str) -> bool:
    """Whether a webhook may connect to ``address`` (without WEBHOOK_ALLOW_PRIVATE)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv4Address):
        return globally_reachable(ip)
    inner = embedded_ipv4(ip)
    if ip.ipv4_mapped is not None or ip in NAT64:
        # Another way of writing the IPv4 address (the NAT64 prefix is reserved space
        # only in name): the IPv4 address alone decides.
        return all(globally_reachable(v4) for v4 in inner)
    return globally_reachable(ip) and all(globally_reachable(v4) for v4 in inner)


def resolve(host: str, port: int) -> list[str]:
    """Every address of ``host``, each of them checked; UnsafeUrl if any is refused."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise UnsafeUrl(f"host {host!r} does not resolve") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise UnsafeUrl(f"host {host!r} does not resolve")
    if not allow_private():
        refused = [a for a in addresses if not address_allowed(a)]
        if refused:
            raise UnsafeUrl(
                f"host {host!r} resolves to {refused[0]}, a loopback, private, link-local "
                "or reserved address (or one that embeds such an IPv4 address), "
                "which webhooks may not reach"
            )
    return addresses


def check_url(url: str) -> list[str]:
    """Syntax and every resolved address; returns the addresses to connect to."""
    _, host, port = check_url_syntax(url)
    return resolve(host, port)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    message = f"{timestamp}.".encode() + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """What a receiver does (documented in the README)."""
    expected = (
        "sha256="
        + hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    )
    return hmac.compare_digest(expected, signature)


def encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, default=str).encode()


@dataclass
class Outcome:
    status_code: int | None
    duration_ms: int
    error: str = ""
    excerpt: str = ""

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to an address checked beforehand, sending the URL's host as Host."""

    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        # Certificate checked against the URL's host name (SNI too), not the address.
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def post(url: str, *, secret: str, body: bytes, headers: dict[str, str]) -> Outcome:
    """One signed POST; never raises for network trouble, never follows a redirect."""
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        scheme, host, port = check_url_syntax(url)
        addresses = resolve(host, port)
    except UnsafeUrl as error:
        return Outcome(None, elapsed(), f"refused: {error}")
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    timestamp = int(time.time())
    all_headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(secret, timestamp, body),
        **headers,
    }
    cls = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
    connection = cls(host, port, addresses[0], timeout_seconds())
    try:
        connection.request("POST", target, body=body, headers=all_headers)
        response = connection.getresponse()
        excerpt = response.read(500).decode("utf-8", "replace")
        outcome = Outcome(response.status, elapsed(), excerpt=excerpt)
        if 300 <= response.status < 400:
            outcome.error = "redirect not followed"
        elif not outcome.ok:
            outcome.error = f"HTTP {response.status}"
        return outcome
    except TimeoutError:
        return Outcome(None, elapsed(), f"timed out after {timeout_seconds():g} s")
    except (OSError, http.client.HTTPException) as error:
        return Outcome(None, elapsed(), f"{type(error).__name__}: {error}"[:300])
    finally:
        connection.close()
