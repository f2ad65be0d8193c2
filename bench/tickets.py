"""Ticket clocks: due times and the live ticket view of 10,000 open tickets of one agreement.

One agreement (Europe/Berlin, a P1 response objective of 4 h and a resolution objective of
3 d in 09-17 weekday business hours with holidays), 10,000 open tickets opened over the
last 30 days, a third with pauses (some still open). Measures, best of three:
(a) the engine alone: ``engine.ticket_clocks`` for every ticket and objective (covered time
computed once per objective and walked for all tickets), and (b) the live view as the page
and the tickets API read it: one query and the clocks (``credits.tickets.ticket_board``).
Last line: {"ms_per_ticket", "engine_ms_per_ticket", "tickets"} (per ticket, both objectives).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, bench_database_url, environment, recreate_database

TICKETS = int(os.environ.get("BENCH_TICKETS", "10000"))
NOW = dt.datetime(2026, 11, 20, 14, 7, tzinfo=dt.UTC)

DOCUMENT = {
    "agreement": "bench-desk",
    "customer": {"key": "bench-customer", "name": "Bench customer"},
    "name": "Bench service desk",
    "timezone": "Europe/Berlin",
    "effective_from": "2026-01-01",
    "currency": "EUR",
    "monthly_fee": "1000.00",
    "calendars": {
        "business-hours": {
            "weekly": {d: ["09:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
            "holidays": ["2026-10-26", "2026-11-11"],
        }
    },
    "objectives": [
        {
            "key": "p1-response",
            "indicator": "response_time",
            "priority": "P1",
            "threshold": "4h",
            "target": 95,
            "coverage": "business-hours",
        },
        {
            "key": "resolution",
            "indicator": "resolution_time",
            "threshold": "3d",
            "target": 90,
            "coverage": "business-hours",
        },
    ],
}


def setup_django(url: str) -> None:
    os.environ.update(environment(url))
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def load() -> None:
    from django.core.management import call_command

    from agreements.services import agreement_import
    from metrics.models import Ticket

    call_command("migrate", verbosity=0)
    agreement = agreement_import(data=DOCUMENT, actor="bench").agreement
    span = dt.timedelta(days=30).total_seconds()
    rows = []
    for i in range(TICKETS):
        opened = NOW - dt.timedelta(seconds=span * (i + 1) / (TICKETS + 1))
        paused: list[list[str | None]] = []
        if i % 3 == 0:
            start = opened + dt.timedelta(minutes=20 + i % 90)
            if i % 9 == 0 and start < NOW:
                paused = [[start.isoformat(), None]]
            elif start + dt.timedelta(hours=5) < NOW:
                end = start + dt.timedelta(hours=1 + i % 5)
                paused = [[start.isoformat(), end.isoformat()]]
        rows.append(
            Ticket(
                customer_id=agreement.customer_id,
                external_id=f"T-{i}",
                priority="P1" if i % 2 else "P2",
                opened_at=opened,
                paused=paused,
            )
        )
    Ticket.objects.bulk_create(rows, batch_size=2000)


def best_of_three(run) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    url = bench_database_url()
    recreate_database(url)
    setup_django(url)
    load()

    from agreements import engine
    from agreements.engine import Kind
    from agreements.models import Agreement
    from credits.tickets import terms_for, ticket_board, ticket_objectives
    from metrics.models import Ticket, pauses_from_json

    agreement = Agreement.objects.get(key="bench-desk")
    terms = terms_for(agreement, engine.period_id(NOW, agreement.timezone))
    assert terms is not None
    rows = list(Ticket.objects.values_list("opened_at", "priority", "paused"))
    per_objective = []
    for o in ticket_objectives(terms):
        chosen = [
            engine.Ticket(opened, None, pauses_from_json(paused))
            for opened, priority, paused in rows
            if not o.priority or priority == o.priority
        ]
        per_objective.append((o, chosen))
    print(f"{TICKETS} open tickets, {sum(len(c) for _, c in per_objective)} ticket clocks")

    def engine_only() -> None:
        for o, chosen in per_objective:
            engine.ticket_clocks(
                tickets=chosen,
                threshold=o.threshold or dt.timedelta(),
                tz=terms.timezone,
                calendar=o.calendar,
                now=NOW,
            )

    engine_s = best_of_three(engine_only)
    print(f"engine: {engine_s:.3f} s, {engine_s * 1000 / TICKETS:.4f} ms per ticket")

    board = ticket_board(agreement=agreement, terms=terms, now=NOW)
    assert len(board.open) == sum(len(c) for _, c in per_objective)
    assert any(line.paused and line.due_at is None for line in board.open)
    assert all(o.kind in (Kind.RESPONSE_TIME, Kind.RESOLUTION_TIME) for o, _ in per_objective)
    view_s = best_of_three(lambda: ticket_board(agreement=agreement, terms=terms, now=NOW))
    print(
        f"live view (query + clocks): {view_s:.3f} s, {view_s * 1000 / TICKETS:.4f} ms per ticket"
    )
    print(
        json.dumps(
            {
                "ms_per_ticket": round(view_s * 1000 / TICKETS, 4),
                "engine_ms_per_ticket": round(engine_s * 1000 / TICKETS, 4),
                "tickets": TICKETS,
            }
        )
    )


if __name__ == "__main__":
    main()
