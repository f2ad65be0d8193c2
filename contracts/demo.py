"""The contract's life in the demo (idempotent): an exclusion of a false outage, an
accepted amendment, and an agreement under notice."""

from __future__ import annotations

import datetime as dt

from agreements.models import Agreement, Service
from agreements.services import agreement_export, current_period
from contracts.models import Amendment, Notice
from contracts.services import amendment_decide, amendment_propose, notice_give
from metrics.exclusions import exclusion_input, exclusion_record


def _iso(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _next_period(period: str) -> str:
    year, month = int(period[:4]), int(period[5:])
    return f"{year + month // 12:04d}-{month % 12 + 1:02d}"


def load_contract_life(now: dt.datetime) -> None:
    """Add what is missing of the three; leave what is there."""
    if Service.objects.filter(key="hosted-api").exists():
        start = (now - dt.timedelta(days=20)).replace(hour=3, minute=0, second=0, microsecond=0)
        exclusion_record(
            data=exclusion_input(
                {
                    "service": "hosted-api",
                    "external_id": "DEMO-MON-1",
                    "start": _iso(start),
                    "end": _iso(start + dt.timedelta(minutes=45)),
                    "reason": "monitoring_fault",
                    "note": "The Frankfurt probe site lost its uplink; the API answered "
                    "throughout (confirmed by the load balancer logs).",
                },
                now=now,
            ),
            actor="staff:admin",
        )
    acme = Agreement.objects.filter(key="acme-hosting").first()
    if acme is not None and not Amendment.objects.filter(agreement=acme).exists():
        document = agreement_export(acme)
        document["monthly_fee"] = "11500.00"
        amendment = amendment_propose(
            agreement=acme,
            document=document,
            effective_period=_next_period(current_period(acme.timezone, now=now)),
            note="Fee lowered after the move to the new data centre.",
            actor="staff:admin",
            now=now - dt.timedelta(days=3),
        )
        amendment_decide(amendment=amendment, accept=True, actor="acme-manager", now=now)
    globex = Agreement.objects.filter(key="globex-platform").first()
    if globex is not None and not Notice.objects.filter(agreement=globex).exists():
        notice_give(
            agreement=globex,
            by="customer",
            reason="Consolidating suppliers",
            actor="globex-manager",
            now=now - dt.timedelta(days=2),
        )
