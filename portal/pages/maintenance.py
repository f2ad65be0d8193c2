"""Maintenance windows of the agreement page: to come and past, excluded or counted."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from credits.evidence import maintenance_verdict
from metrics.models import Maintenance


@dataclass
class MaintenanceRow:
    window: Maintenance
    excluded: bool
    reason: str
    upcoming: bool


def maintenance_rows(
    windows: Iterable[Maintenance], *, notice_hours: int, now: dt.datetime
) -> tuple[list[MaintenanceRow], list[MaintenanceRow]]:
    """(upcoming, past) windows, each with why it is or is not removed (rule 3);
    upcoming soonest first, past latest first."""
    upcoming: list[MaintenanceRow] = []
    past: list[MaintenanceRow] = []
    for m in windows:
        excluded, reason = maintenance_verdict(m, notice_hours)
        row = MaintenanceRow(m, excluded, reason, m.end > now)
        (upcoming if row.upcoming else past).append(row)
    past.reverse()
    return upcoming, past
