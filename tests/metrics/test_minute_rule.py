"""Rule 4 has one home, ``engine.classify_minute``; every SQL and ORM form of it agrees."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from agreements.engine import MinuteState, classify_minute, minute_state_sql
from agreements.models import Service
from credits import measure
from metrics.models import ProbeMinute

BASE = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
GRID = [(ok, failed) for ok in range(6) for failed in range(6)]


@pytest.fixture
def minutes() -> dict[dt.datetime, tuple[int, int]]:
    service = Service.objects.create(key="grid", name="Grid")
    counts = {BASE + dt.timedelta(minutes=i): pair for i, pair in enumerate(GRID)}
    ProbeMinute.objects.bulk_create(
        ProbeMinute(service=service, minute=m, ok=ok, failed=failed)
        for m, (ok, failed) in counts.items()
    )
    return counts


def test_classify_minute_is_rule_4() -> None:
    assert classify_minute(0, 0) is None
    assert classify_minute(1, 1) is MinuteState.UP  # exactly half failed is not more than half
    assert classify_minute(1, 2) is MinuteState.DOWN
    assert classify_minute(0, 1) is MinuteState.DOWN
    assert classify_minute(3, 0) is MinuteState.UP


@pytest.mark.django_db
def test_sql_verdicts_equal_classify_minute(minutes: dict[dt.datetime, tuple[int, int]]) -> None:
    up, down = minute_state_sql("ok", "failed")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT minute, CASE WHEN {up} THEN 'up' WHEN {down} THEN 'down' END "
            "FROM metrics_probeminute"
        )
        found = dict(cursor.fetchall())
    for minute, (ok, failed) in minutes.items():
        key = minute if connection.vendor == "postgresql" else minute.replace(tzinfo=None)
        sql_minute = next(m for m in found if _same(m, key))
        assert found[sql_minute] == classify_minute(ok, failed), (ok, failed)


@pytest.mark.django_db
def test_orm_down_minutes_equal_classify_minute(
    minutes: dict[dt.datetime, tuple[int, int]],
) -> None:
    down = set(ProbeMinute.objects.down().values_list("minute", flat=True))
    expected = {m for m, pair in minutes.items() if classify_minute(*pair) is MinuteState.DOWN}
    assert down == expected


@pytest.mark.django_db
def test_summary_sums_equal_classify_minute(minutes: dict[dt.datetime, tuple[int, int]]) -> None:
    service = Service.objects.get(key="grid")
    request = ("grid", service.id, [(BASE, BASE + dt.timedelta(minutes=len(GRID)))])
    up, down = measure.probe_minute_states([request])["grid"]
    verdicts = [classify_minute(*pair) for pair in minutes.values()]
    assert (up, down) == (verdicts.count(MinuteState.UP), verdicts.count(MinuteState.DOWN))


def _same(found: object, expected: dt.datetime) -> bool:
    if isinstance(found, str):
        return found.startswith(expected.strftime("%Y-%m-%d %H:%M"))
    assert isinstance(found, dt.datetime)
    return found.replace(tzinfo=None) == expected.replace(tzinfo=None)
