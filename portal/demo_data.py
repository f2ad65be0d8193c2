"""Three months of realistic measurements for the demo agreements (deterministic)."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from agreements.models import Customer, Service
from metrics import partitions
from metrics.models import ProbeResult
from metrics.rows import StatusUpdateRow
from metrics.services import (
    events_ingest,
    incidents_ingest,
    maintenance_ingest,
    probes_ingest,
    tickets_ingest,
)
from portal.demo_checkout import checkout_incidents
from portal.demo_measures import load_further_forms

UTC = dt.UTC


def _month_start(day: dt.date, back: int) -> dt.datetime:
    index = day.year * 12 + day.month - 1 - back
    return dt.datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def _progress(out: Any, line: str) -> None:
    if out is not None:
        out.write(line)
        out.flush()


def _open_leads(customer_id: int, end: dt.datetime) -> list[tuple[Any, ...]]:
    """Leads shown to Sales in the last day and not followed up yet, for the live view:
    one fresh, one nearly due, one parked by Marketing since shortly after it came in."""
    out = []
    for n, hours_ago, parked in ((1, 1, False), (2, 3, False), (3, 20, True)):
        opened = end - dt.timedelta(hours=hours_ago)
        paused = [[(opened + dt.timedelta(minutes=15)).isoformat(), None]] if parked else []
        out.append((customer_id, f"LEAD-OPEN-{n}", "lead", opened, None, None, paused))
    return out


def load_measurements(now: dt.datetime, *, out: Any = None) -> bool:
    """Load measurements from three months back until ``now``; False if already there."""
    api = Service.objects.get(key="hosted-api")
    if ProbeResult.objects.filter(service=api).exists():
        return False
    _progress(out, "Loading three months of demo measurements (a minute or two on SQLite)...")
    rng = random.Random(2026)
    start = _month_start(now.date(), 3)
    end = now.replace(second=0, microsecond=0) - dt.timedelta(minutes=2)
    partitions.ensure_partitions(start.date(), (end + dt.timedelta(days=100)).date())
    backbone = Service.objects.get(key="backbone")
    storefront = Service.objects.get(key="storefront")

    # Outages of the hosted API: (start offset in days, length in minutes). The one in the
    # first month breaches 99.9% (about 43 minutes of budget a month) and earns a credit.
    outages = [(9.4, 95), (40.7, 12), (71.2, 25)]
    outage_minutes: set[dt.datetime] = set()
    for offset, length in outages:
        first = (start + dt.timedelta(days=offset)).replace(second=0, microsecond=0)
        outage_minutes.update(first + dt.timedelta(minutes=m) for m in range(length))
    # Latency spikes: a few slow hours.
    spikes = {
        (start + dt.timedelta(days=d)).replace(minute=0, second=0, microsecond=0)
        for d in (5.5, 33.3, 60.1)
    }

    rows = []
    minute = start
    step = dt.timedelta(minutes=1)
    while minute < end:
        down = minute in outage_minutes
        slow = minute.replace(minute=0) in spikes
        for probe, offset in (("eu-west", 5), ("us-east", 35)):
            if probe == "us-east" and minute.minute % 5:
                continue
            if rng.random() < 0.002:  # an occasional lost probe: no data
                continue
            ok = not down and rng.random() > 0.001
            latency = (
                None if not ok else round(rng.lognormvariate(4.6, 0.35) * (4 if slow else 1), 1)
            )
            rows.append((api.pk, probe, minute + dt.timedelta(seconds=offset), ok, latency))
        minute += step
    for i in range(0, len(rows), 20_000):
        probes_ingest(rows=rows[i : i + 20_000], closed={})
        _progress(out, f"  probe results: {min(i + 20_000, len(rows)):,} of {len(rows):,}")

    events = []
    minute = start
    while minute < end:
        total = rng.randint(9_000, 11_000)
        loss = rng.random() < 0.01
        good = total - (rng.randint(50, 400) if loss else rng.randint(0, 20))
        events.append((backbone.pk, minute, good, total))
        minute += dt.timedelta(minutes=5)
    for i in range(0, len(events), 20_000):
        events_ingest(rows=events[i : i + 20_000], closed={})

    def at(days: float) -> dt.datetime:
        return (start + dt.timedelta(days=days)).replace(microsecond=0)

    incidents = [
        (
            api.pk,
            "INC-1001",
            "Hosted API unreachable",
            "outage",
            at(9.4),
            at(9.4) + dt.timedelta(minutes=95),
        ),
        (
            api.pk,
            "INC-1002",
            "Elevated API errors",
            "outage",
            at(40.7),
            at(40.7) + dt.timedelta(minutes=12),
        ),
        (
            api.pk,
            "INC-1003",
            "Slow responses in eu-west",
            "degraded",
            at(33.3),
            at(33.3) + dt.timedelta(hours=1),
        ),
        (
            api.pk,
            "INC-1004",
            "API outage in us-east",
            "outage",
            at(71.2),
            at(71.2) + dt.timedelta(minutes=25),
        ),
        (
            storefront.pk,
            "SF-201",
            "Checkout down",
            "outage",
            at(12.1),
            at(12.1) + dt.timedelta(minutes=41),
        ),
        (
            storefront.pk,
            "SF-202",
            "Search degraded",
            "degraded",
            at(50.0),
            at(50.0) + dt.timedelta(hours=3),
        ),
        (
            storefront.pk,
            "SF-203",
            "Storefront 502s",
            "outage",
            at(80.3),
            at(80.3) + dt.timedelta(minutes=9),
        ),
    ]
    # The public timeline of the latest outage, as the status page shows it.
    us_east = [
        StatusUpdateRow(
            at(71.2) + dt.timedelta(minutes=4),
            "investigating",
            "API requests in us-east fail; we are investigating.",
        ),
        StatusUpdateRow(
            at(71.2) + dt.timedelta(minutes=12),
            "identified",
            "A faulty load balancer rule; rolling it back.",
        ),
        StatusUpdateRow(
            at(71.2) + dt.timedelta(minutes=20),
            "monitoring",
            "Rolled back; error rates are back to normal.",
        ),
        StatusUpdateRow(
            at(71.2) + dt.timedelta(minutes=25), "resolved", "Resolved. A postmortem follows."
        ),
    ]
    incidents += checkout_incidents(at)
    rows_with_updates = [(*r, tuple(us_east)) if r[1] == "INC-1004" else r for r in incidents]
    incidents_ingest(rows=[r for r in rows_with_updates if r[4] < end], closed={})

    maintenance: list[tuple[Any, ...]] = [
        # Announced a week ahead: excluded from covered time.
        (api.pk, "MW-1", "Database upgrade", at(20.05), at(20.05) + dt.timedelta(hours=2), at(13)),
        # Announced only a day ahead (notice is 48 h): ordinary time, downtime counts.
        (
            api.pk,
            "MW-2",
            "Emergency kernel patch",
            at(55.1),
            at(55.1) + dt.timedelta(minutes=30),
            at(54.1),
        ),
        # Upcoming.
        (
            api.pk,
            "MW-3",
            "Network maintenance",
            end + dt.timedelta(days=6),
            end + dt.timedelta(days=6, hours=3),
            end - dt.timedelta(days=1),
        ),
        (
            storefront.pk,
            "MW-SF-1",
            "Storefront platform upgrade",
            at(30.1),
            at(30.1) + dt.timedelta(hours=1),
            at(25),
        ),
    ]
    # Recurring: every Sunday 02:00-03:00 UTC from the first Sunday at least three days
    # ahead, announced a day ago (each occurrence has more than the 48 h of notice).
    sunday = (end + dt.timedelta(days=3)).replace(hour=2, minute=0)
    sunday += dt.timedelta(days=(6 - sunday.weekday()) % 7)
    maintenance.append(
        (
            api.pk,
            "MW-SUN",
            "Sunday patching",
            sunday,
            sunday + dt.timedelta(hours=1),
            end - dt.timedelta(days=1),
            "FREQ=WEEKLY;BYDAY=SU",
        )
    )
    maintenance_ingest(rows=maintenance, closed={})

    tickets = []
    customers = {c.key: c.pk for c in Customer.objects.all()}
    for key, priority, count, quick, tardy in (
        ("acme", "P1", 40, (5, 50), (70, 300)),
        ("acme", "P2", 30, (30, 200), (200, 600)),
        ("globex", "P2", 45, (60, 400), (500, 1500)),
        ("internal-marketing", "lead", 80, (20, 200), (260, 900)),
    ):
        for n in range(count):
            opened = start + dt.timedelta(
                minutes=rng.randint(0, int((end - start).total_seconds() // 60) - 1)
            )
            if opened > end - dt.timedelta(hours=1):
                continue
            missed = rng.random() < 0.12
            low, high = tardy if missed else quick
            # A lead Marketing parks (e.g. waiting for the prospect's budget) stops Sales'
            # clock until Marketing releases it; one still parked has no end.
            paused: list[list[str | None]] = []
            ready = opened
            if key == "internal-marketing" and rng.random() < 0.25:
                park = opened + dt.timedelta(minutes=rng.randint(10, 60))
                ready = park + dt.timedelta(minutes=rng.randint(600, 4000))
                paused = [[park.isoformat(), ready.isoformat() if ready < end else None]]
            response = ready + dt.timedelta(minutes=rng.randint(low, high))
            resolved = response + dt.timedelta(minutes=rng.randint(30, 2000))
            tickets.append(
                (
                    customers[key],
                    f"{key.upper()}-{priority}-{n:03d}",
                    priority,
                    opened,
                    response if response < end else None,
                    resolved if resolved < end else None,
                    paused,
                )
            )
    tickets += _open_leads(customers["internal-marketing"], end)
    tickets_ingest(rows=tickets, closed={})
    _progress(out, load_further_forms(start, end, rng))
    if out is not None:
        out.write(
            f"Loaded {len(rows)} probe results, {len(events)} event counts, {len(incidents)} incidents, "
            f"{len(maintenance)} maintenance windows and {len(tickets)} tickets."
        )
    return True
