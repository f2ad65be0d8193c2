"""Units, constants and small helpers every part of the engine shares.

Intervals are half-open ``[start, end)`` pairs of aware UTC datetimes. Every ratio is
computed in ``DECIMAL`` so a caller's decimal context cannot change a figure.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Context, Decimal, localcontext
from functools import lru_cache
from zoneinfo import ZoneInfo

Interval = tuple[datetime, datetime]

MINUTE = timedelta(minutes=1)
DAY = timedelta(days=1)
MINUTES_PER_DAY = 1440
_ONE_US = timedelta(microseconds=1)
_HUNDRED = Decimal(100)
_CENT = Decimal("0.01")

# Every ratio is computed in its own context, so a caller's global decimal context cannot
# change a money figure; 40 digits is well beyond the 28 the spec asks for.
_DECIMAL = Context(prec=40)


def _utc(instant: datetime) -> datetime:
    if instant.tzinfo is UTC:
        return instant
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"naive datetime {instant!r}: the engine only takes aware datetimes")
    return instant.astimezone(UTC)


@lru_cache(maxsize=64)
def _zone(tz: str) -> ZoneInfo:
    return ZoneInfo(tz)


def _offset(instant: datetime, zone: ZoneInfo) -> timedelta:
    offset = instant.astimezone(zone).utcoffset()
    assert offset is not None
    return offset


def _percent(part: Decimal | int, whole: Decimal | int) -> Decimal:
    with localcontext(_DECIMAL):
        return _HUNDRED * Decimal(part) / Decimal(whole)


def _seconds(span: timedelta) -> Decimal:
    micros = (span.days * 86_400 + span.seconds) * 1_000_000 + span.microseconds
    with localcontext(_DECIMAL):
        return Decimal(micros) / Decimal(1_000_000)
