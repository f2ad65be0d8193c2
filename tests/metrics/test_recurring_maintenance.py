"""Recurring maintenance windows (SPEC §3 rule 3, §4 ``recurrence``): an RFC 5545 rule on
the first occurrence, each occurrence stored as a window of its own and judged by its
own start, listed among the maintenance to come, raising its own events."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.test import Client

from agreements.models import Service
from agreements.services import agreement_import
from credits.closing import close_due_periods
from credits.models import Evaluation, Period
from credits.recompute import recompute_agreement
from metrics.models import LateArrival, Maintenance
from metrics.services import maintenance_ingest
from metrics.tasks import extend_maintenance_series
from notifications import tasks as notification_tasks
from notifications.models import Event
from status import publish
from tests.credits.test_compliance import MARCH, minutes, simple_doc

pytestmark = pytest.mark.django_db
UTC = dt.UTC
# Sundays of March 2026: the 1st, 8th, 15th, 22nd and 29th.
SUNDAYS = [dt.datetime(2026, 3, day, 2, tzinfo=UTC) for day in (1, 8, 15, 22, 29)]
WEEKLY = "FREQ=WEEKLY;BYDAY=SU"


def window(**over: Any) -> dict[str, Any]:
    record = {
        "service": "hosted-api",
        "external_id": "MW-SUN",
        "title": "Sunday patching",
        "start": "2026-03-01T02:00:00Z",
        "end": "2026-03-01T03:00:00Z",
        "announced_at": "2026-02-19T02:00:00Z",
        "recurrence": WEEKLY,
    }
    record.update(over)
    return {k: v for k, v in record.items() if v is not None}


def post(client: Any, *records: dict[str, Any]) -> Any:
    return client.post(
        "/api/v1/maintenance/", json.dumps(list(records)), content_type="application/json"
    )


@pytest.fixture
def ingest_client(api: Any, agreement: Any) -> Any:
    return api("ingest")


def starts(series: str = "MW-SUN") -> list[dt.datetime]:
    return list(
        Maintenance.objects.filter(external_id__startswith=series)
        .order_by("start")
        .values_list("start", flat=True)
    )


def test_a_weekly_rule_is_stored_as_its_occurrences(ingest_client: Any) -> None:
    with time_machine.travel(dt.datetime(2026, 2, 19, 2, tzinfo=UTC), tick=False):
        response = post(ingest_client, window())
    assert response.status_code == 201, response.content
    assert response.json() == {"accepted": 1, "duplicates": 0}
    first = Maintenance.objects.get(external_id="MW-SUN")
    assert first.recurrence == WEEKLY and first.series is None
    # Every Sunday from March 1 to 92 days after now (May 22): twelve in all.
    found = starts()
    assert found[:5] == SUNDAYS
    assert len(found) == 12 and found[-1] == dt.datetime(2026, 5, 17, 2, tzinfo=UTC)
    later = Maintenance.objects.get(external_id="MW-SUN@20260308T020000Z")
    assert later.series == first
    assert later.end == dt.datetime(2026, 3, 8, 3, tzinfo=UTC)
    assert later.announced_at == first.announced_at and later.title == "Sunday patching"
    assert not later.recurrence


BAD_RULES = [
    ("FREQ=WEEKLY;BYDAY=SUNDAY", "not a valid RRULE"),
    ("FREQ=MONTHLY;BYMONTHDAY=0", "BYMONTHDAY must not hold 0"),
    ("FREQ=YEARLY;BYMONTH=3,,4", "BYMONTH must not hold 0 or an empty item"),
    ("every sunday", "is not a NAME=VALUE part"),
    ("DTSTART:20260301T020000Z\nRRULE:FREQ=WEEKLY", "one RRULE line"),
    ("FREQ=WEEKLY;DTSTART=20260301T020000Z", "must not hold DTSTART"),
    ("FREQ=WEEKLY;COUNT=3;UNTIL=20260401T000000Z", "both COUNT and UNTIL"),
    ("FREQ=WEEKLY;UNTIL=20260201T000000Z", "UNTIL is before"),
    ("FREQ=WEEKLY;UNTIL=20260401", "UNTIL must be a UTC date-time"),
    ("FREQ=WEEKLY;BYDAY=MO", "start is not an occurrence"),
    ("FREQ=HOURLY", "more than 1000 occurrences"),
    ("FREQ=MINUTELY", "FREQ=MINUTELY is refused"),
    ("FREQ=SECONDLY;INTERVAL=3600", "FREQ=SECONDLY is refused"),
    ("FREQ=DAILY;INTERVAL=0", "INTERVAL must be a positive"),
    ("BYDAY=SU", "must give FREQ"),
    ("FREQ=WEEKLY;BYDAY=SU;" + "BYMONTH=1,2,3;" * 40, "at most 500 characters"),
]


@pytest.mark.parametrize(("rule", "words"), BAD_RULES)
def test_a_bad_rule_is_refused_naming_the_field(ingest_client: Any, rule: str, words: str) -> None:
    with time_machine.travel(dt.datetime(2026, 2, 19, 2, tzinfo=UTC), tick=False):
        response = post(
            ingest_client, window(external_id="MW-OK", recurrence=None), window(recurrence=rule)
        )
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["index"] == 1 and error["field"] == "recurrence"
    assert words in error["message"]
    assert not Maintenance.objects.exists(), "all or nothing"


def test_occurrences_that_would_overlap_are_refused(ingest_client: Any) -> None:
    with time_machine.travel(dt.datetime(2026, 2, 19, 2, tzinfo=UTC), tick=False):
        response = post(ingest_client, window(end="2026-03-02T03:00:00Z", recurrence="FREQ=DAILY"))
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["field"] == "recurrence" and "overlap" in error["message"]


def test_a_recurrence_that_is_not_text_or_an_occurrence_id_is_refused(ingest_client: Any) -> None:
    with time_machine.travel(dt.datetime(2026, 2, 19, 2, tzinfo=UTC), tick=False):
        not_text = post(ingest_client, window(recurrence=7)).json()["errors"][0]
        taken = post(ingest_client, window(external_id="X@20260308T020000Z")).json()["errors"][0]
    assert not_text["field"] == "recurrence"
    assert taken["field"] == "external_id" and "occurrence" in taken["message"]


def test_csv_takes_the_column(ingest_client: Any) -> None:
    body = (
        "service,external_id,title,start,end,announced_at,recurrence\n"
        "hosted-api,MW-SUN,Sunday patching,2026-03-01T02:00:00Z,2026-03-01T03:00:00Z,"
        "2026-02-19T02:00:00Z,FREQ=WEEKLY;COUNT=3\n"
        "hosted-api,MW-ONE,One-off,2026-03-02T02:00:00Z,2026-03-02T03:00:00Z,"
        "2026-02-19T02:00:00Z,\n"
    )
    with time_machine.travel(dt.datetime(2026, 2, 19, 2, tzinfo=UTC), tick=False):
        response = ingest_client.post("/api/v1/maintenance/", body, content_type="text/csv")
    assert response.status_code == 201, response.content
    assert starts() == SUNDAYS[:3]
    assert starts("MW-ONE") == [dt.datetime(2026, 3, 2, 2, tzinfo=UTC)]


def test_reposting_is_idempotent_and_a_changed_rule_replaces_the_occurrences_to_come(
    ingest_client: Any,
) -> None:
    with time_machine.travel(dt.datetime(2026, 2, 19, 2, tzinfo=UTC), tick=False):
        post(ingest_client, window())
        again = post(ingest_client, window())
    assert again.json() == {"accepted": 0, "duplicates": 1}
    assert len(starts()) == 12
    ids = set(Maintenance.objects.values_list("pk", flat=True))
    # Two Sundays later, the window becomes fortnightly and two hours long.
    with time_machine.travel(dt.datetime(2026, 3, 9, tzinfo=UTC), tick=False):
        changed = post(
            ingest_client,
            window(recurrence="FREQ=WEEKLY;INTERVAL=2;BYDAY=SU", end="2026-03-01T04:00:00Z"),
        )
    assert changed.json() == {"accepted": 1, "duplicates": 0}
    found = starts()
    # The started ones stay as they were (March 1 is the series itself, so it follows it).
    assert found[:4] == [SUNDAYS[0], SUNDAYS[1], SUNDAYS[2], SUNDAYS[4]]
    assert Maintenance.objects.get(start=SUNDAYS[1]).end == SUNDAYS[1] + dt.timedelta(hours=1)
    assert Maintenance.objects.get(start=SUNDAYS[2]).end == SUNDAYS[2] + dt.timedelta(hours=2)
    assert dt.datetime(2026, 3, 22, 2, tzinfo=UTC) not in found
    gaps = {b - a for a, b in itertools.pairwise(found[2:])}
    assert gaps == {dt.timedelta(weeks=2)}
    assert Maintenance.objects.filter(start=SUNDAYS[1], pk__in=ids).exists(), "kept, not made anew"
    # Posted without a rule: the occurrences to come go, the started one stays.
    with time_machine.travel(dt.datetime(2026, 3, 9, tzinfo=UTC), tick=False):
        single = post(ingest_client, window(recurrence=None))
    assert single.json() == {"accepted": 1, "duplicates": 0}
    assert starts() == SUNDAYS[:2]


def test_the_daily_task_moves_the_horizon_on_and_is_idempotent(ingest_client: Any) -> None:
    with time_machine.travel(dt.datetime(2026, 2, 19, 2, tzinfo=UTC), tick=False):
        post(ingest_client, window())
    assert len(starts()) == 12
    later = dt.datetime(2026, 3, 21, 2, tzinfo=UTC)  # horizon now June 21
    # May 24 and 31, June 7, 14 and 21 (the horizon itself is included).
    assert extend_maintenance_series(later.isoformat()) == 5
    assert starts()[-1] == dt.datetime(2026, 6, 21, 2, tzinfo=UTC)
    assert extend_maintenance_series(later.isoformat()) == 0
    assert len(starts()) == 17


@pytest.fixture
def shop() -> Any:
    with time_machine.travel(MARCH - dt.timedelta(days=20), tick=False):
        return agreement_import(data=simple_doc(maintenance_notice_hours=72)).agreement


def sundays_down_and_the_rest_up(web: Service) -> None:
    """Probes: up on the first hour of each day of March, down during each Sunday window."""
    for day in range(31):
        minutes(web, MARCH + dt.timedelta(days=day), 60, True)
    for sunday in SUNDAYS:
        minutes(web, sunday, 60, False)


def evaluate(shop: Any, announced: dt.datetime) -> Evaluation:
    web = Service.objects.get(key="web")
    with time_machine.travel(announced, tick=False):
        maintenance_ingest(
            rows=[
                (
                    web.pk,
                    "MW-SUN",
                    "Sunday patching",
                    SUNDAYS[0],
                    SUNDAYS[0] + dt.timedelta(hours=1),
                    announced,
                    WEEKLY,
                )
            ],
            closed={},
        )
    sundays_down_and_the_rest_up(web)
    recompute_agreement(agreement_id=shop.pk, now=dt.datetime(2026, 4, 1, tzinfo=UTC))
    return Evaluation.objects.get(period__period="2026-03")


def test_announced_ten_days_ahead_every_occurrence_leaves_covered_time(shop: Any) -> None:
    evaluation = evaluate(shop, SUNDAYS[0] - dt.timedelta(days=10))
    assert Maintenance.objects.filter(start__month=3).count() == 5
    # No down minute counts: each Sunday hour is maintenance announced in time.
    assert evaluation.bad == 0
    assert evaluation.achieved == Decimal("100")
    # The month's covered time lost five hours: 31 days less 300 minutes are eligible.
    assert evaluation.eligible == 31 * 1440 - 5 * 60


def test_announced_two_days_ahead_only_the_first_is_late(shop: Any) -> None:
    evaluation = evaluate(shop, SUNDAYS[0] - dt.timedelta(days=2))
    # The first Sunday had 48 h of notice, not 72: its 60 down minutes count. The next
    # ones, announced with the first, had more than 72 h and leave covered time.
    assert evaluation.bad == 60
    assert evaluation.eligible == 31 * 1440 - 4 * 60


def test_a_series_posted_into_a_closed_period_flags_it(shop: Any) -> None:
    close_due_periods(now=dt.datetime(2026, 4, 2, tzinfo=UTC))
    web = Service.objects.get(key="web")
    assert web.closed_until is not None
    announced = dt.datetime(2026, 4, 2, 1, tzinfo=UTC)
    with time_machine.travel(announced, tick=False):
        result = maintenance_ingest(
            rows=[
                (
                    web.pk,
                    "MW-SUN",
                    "Sunday patching",
                    SUNDAYS[0],
                    SUNDAYS[0] + dt.timedelta(hours=1),
                    announced,
                    WEEKLY,
                )
            ],
            closed={web.pk: web.closed_until},
        )
    # The first and the four other March Sundays arrived after March closed.
    assert result.late == 5
    assert Maintenance.objects.filter(late=True).count() == 5
    assert (
        sum(LateArrival.objects.filter(kind="maintenance").values_list("records", flat=True)) == 5
    )
    assert Period.objects.get(period="2026-03").closed_at is not None


def test_occurrences_are_listed_among_the_maintenance_to_come(
    client: Any, ingest_client: Any, customer_user: Any, agreement: Any
) -> None:
    Service.objects.filter(key="hosted-api").update(public=True)
    with time_machine.travel(dt.datetime(2026, 3, 9, tzinfo=UTC), tick=False):
        post(ingest_client, window(announced_at="2026-02-19T02:00:00Z"))
        publish.forget()
        client.force_login(customer_user)
        page = client.get(f"/agreements/{agreement.key}/").content.decode()
        status_page = Client().get("/status.json").json()
    upcoming = page.split("<h3>Upcoming</h3>", 1)[1].split("</ul>", 1)[0]
    # Europe/Berlin: 02:00 UTC is 03:00 in March before the clocks change, 04:00 after.
    assert "2026-03-15 03:00" in upcoming and "2026-03-22 03:00" in upcoming
    assert "2026-04-05 04:00" in upcoming
    assert "2026-03-08" not in upcoming, "a past occurrence is not to come"
    # March 15 to June 7, the last Sunday before the horizon (92 days after March 9).
    assert upcoming.count("Sunday patching") == 13
    listed = [m["start"] for m in status_page["maintenance"] if m["title"] == "Sunday patching"]
    assert listed[:2] == ["2026-03-15T02:00:00Z", "2026-03-22T02:00:00Z"]


def test_each_occurrence_raises_its_own_events(
    agreement: Any, django_capture_on_commit_callbacks: Any
) -> None:
    service = Service.objects.get(key="hosted-api")
    start = dt.datetime(2026, 3, 10, 2, tzinfo=UTC)
    with time_machine.travel(start - dt.timedelta(days=3), tick=False) as clock:
        with django_capture_on_commit_callbacks(execute=True):
            maintenance_ingest(
                rows=[
                    (
                        service.pk,
                        "MW-D",
                        "nightly",
                        start,
                        start + dt.timedelta(hours=1),
                        start - dt.timedelta(days=3),
                        "FREQ=DAILY;COUNT=3",
                    )
                ],
                closed={},
            )
        scheduled = Event.objects.filter(agreement=agreement, type="maintenance.scheduled")
        assert sorted(e.payload["maintenance"]["start"] for e in scheduled) == [
            "2026-03-10T02:00:00Z",
            "2026-03-11T02:00:00Z",
            "2026-03-12T02:00:00Z",
        ]
        for day in range(3):
            clock.move_to(start + dt.timedelta(days=day, minutes=1))
            notification_tasks.escalate()
            clock.move_to(start + dt.timedelta(days=day, hours=1, minutes=1))
            notification_tasks.escalate()
    started = Event.objects.filter(agreement=agreement, type="maintenance.started")
    finished = Event.objects.filter(agreement=agreement, type="maintenance.finished")
    assert sorted(e.occurred_at.day for e in started) == [10, 11, 12]
    assert sorted(e.occurred_at.day for e in finished) == [10, 11, 12]


def test_admin_takes_the_rule_and_shows_occurrences_read_only(
    client: Any, admin_user: Any, agreement: Any
) -> None:
    client.force_login(admin_user)
    service = Service.objects.get(key="hosted-api")
    form = {
        "service": service.pk,
        "external_id": "MW-ADM",
        "title": "Sunday patching",
        "start_0": "2026-03-01",
        "start_1": "02:00:00",
        "end_0": "2026-03-01",
        "end_1": "03:00:00",
        "announced_at_0": "2026-02-19",
        "announced_at_1": "02:00:00",
    }
    with time_machine.travel(dt.datetime(2026, 2, 19, 2, tzinfo=UTC), tick=False):
        refused = client.post(
            "/admin/metrics/maintenance/add/", {**form, "recurrence": "FREQ=WEEKLY;BYDAY=MO"}
        )
        assert (
            refused.status_code == 200
            and "not an occurrence of the rule" in refused.content.decode()
        )
        assert not Maintenance.objects.exists()
        added = client.post(
            "/admin/metrics/maintenance/add/", {**form, "recurrence": "FREQ=WEEKLY;COUNT=3"}
        )
    assert added.status_code == 302, added.content.decode()[:2000]
    first = Maintenance.objects.get(external_id="MW-ADM")
    assert starts("MW-ADM") == SUNDAYS[:3]
    listed = client.get(f"/admin/metrics/maintenance/?series__id__exact={first.pk}")
    assert listed.status_code == 200
    assert "2 maintenance windows" in listed.content.decode()  # March 8 and 15
    occurrence = Maintenance.objects.get(external_id="MW-ADM@20260308T020000Z")
    page = client.get(f"/admin/metrics/maintenance/{occurrence.pk}/change/").content.decode()
    assert 'name="title"' not in page, "an occurrence is read-only"
    assert f"?series__id__exact={first.pk}" in page


# Rules whose days or set positions never match: python-dateutil scans period after
# period to the year 9999 looking for an occurrence (FREQ=HOURLY;BYSETPOS=2 took minutes).
NEVER_MATCHING = [
    ("FREQ=HOURLY;BYSETPOS=2", "BYSETPOS"),
    ("FREQ=HOURLY;BYMONTH=2;BYMONTHDAY=30", "start is not an occurrence"),
    ("FREQ=DAILY;BYMONTH=4;BYMONTHDAY=31", "start is not an occurrence"),
    ("FREQ=DAILY;BYHOUR=1,2;BYSETPOS=3", "start is not an occurrence"),
    ("FREQ=HOURLY;INTERVAL=3;BYMONTH=2;BYMONTHDAY=30;BYSETPOS=1", "BYSETPOS"),
    ("FREQ=WEEKLY;BYDAY=SU;BYSETPOS=2", "start is not an occurrence"),
    ("FREQ=YEARLY;BYEASTER=99999999999999999", "BYEASTER"),
]


@pytest.mark.parametrize(("rule", "words"), NEVER_MATCHING)
def test_a_rule_that_never_matches_is_refused_quickly(
    ingest_client: Any, rule: str, words: str
) -> None:
    import time

    with time_machine.travel(dt.datetime(2026, 2, 19, 2, tzinfo=UTC), tick=False):
        began = time.perf_counter()
        response = post(ingest_client, window(recurrence=rule))
        took = time.perf_counter() - began
    assert response.status_code == 400, response.content
    (error,) = response.json()["errors"]
    assert error["field"] == "recurrence" and words in error["message"]
    # Before the fix these took 5 s to 217 s; now a fraction of a second. The bound is
    # loose so a busy machine does not fail it, yet a search through the calendar would.
    assert took < 4, f"{rule} took {took:.1f} s"
    assert not Maintenance.objects.exists()


def test_the_expansion_is_the_same_far_from_the_year_9999() -> None:
    from metrics import recurrence

    start = dt.datetime(2028, 2, 29, 2, tzinfo=UTC)
    limit = dt.datetime(2036, 3, 1, tzinfo=UTC)
    # Leap days only: 2028, 2032, 2036; the last Sunday of each month; every 7th day.
    assert recurrence.starts("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", start=start, limit=limit) == [
        dt.datetime(year, 2, 29, 2, tzinfo=UTC) for year in (2028, 2032, 2036)
    ]
    sundays = recurrence.starts(
        "FREQ=MONTHLY;BYDAY=SU;BYSETPOS=-1",
        start=dt.datetime(2026, 1, 25, 2, tzinfo=UTC),
        limit=dt.datetime(2026, 4, 1, tzinfo=UTC),
    )
    assert sundays == [
        dt.datetime(2026, m, d, 2, tzinfo=UTC) for m, d in ((1, 25), (2, 22), (3, 29))
    ]
    daily = recurrence.starts(
        "FREQ=DAILY;INTERVAL=7", start=start, limit=start + dt.timedelta(days=15)
    )
    assert daily == [start, start + dt.timedelta(days=7), start + dt.timedelta(days=14)]
