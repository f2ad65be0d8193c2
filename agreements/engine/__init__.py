"""SLA computation engine (SPEC §3): pure functions, no framework, no I/O.

Everything here is exact: percents, achieved figures and money are `Decimal`, durations are
`timedelta` (integer microseconds). Datetimes going in must be timezone-aware; datetimes coming
out are aware UTC. Intervals are half-open ``[start, end)`` pairs.

Local-time rules (periods, coverage calendars, holidays) are decided by the *local wall clock*
of each UTC instant: an instant belongs to whatever local date and time-of-day it shows in the
agreement's zone. Daylight-saving time therefore needs no special cases: the engine cuts time
into stretches of constant UTC offset and, inside each stretch, local time is just UTC plus a
fixed offset.

The engine is a package by concern; import its names from here (``agreements.engine``):

- ``words``: ``Status``, ``Kind``, ``MinuteState``
- ``intervals``: interval algebra
- ``periods``: periods, coverage calendars, maintenance (rules 1-3)
- ``indicators``: achieved figures of rules 4-7
- ``tickets``: ticket times, pauses and due times (rule 8)
- ``verdict``: error budget, burn rate, status, credits and bonuses (rules 9-12)
- ``combined``: availability over several services, with attribution (rule 18)
- ``bounded``: bounded values and volume commitments (rules 15-17)
"""

from .basics import DAY, MINUTE, Interval
from .bounded import (
    Bounded,
    Commitment,
    bounded_status,
    commitment,
    credit_percent_above,
    jitter,
    mean,
    mean_latency,
    metric_mean,
    metric_sum,
    mtbf,
    mttr,
    restore_horizon,
    within_bound,
)
from .combined import (
    Combined,
    combined_from_incidents,
    combined_from_probes,
    combined_minute_state,
    combined_outage_spans,
)
from .indicators import (
    Figures,
    availability_from_incidents,
    availability_from_minute_states,
    availability_from_probes,
    classify_minute,
    eligible_minute_ranges,
    latency,
    minute_state_sql,
    minutes_to_come,
    ratio,
)
from .intervals import clip, clip_sorted, contains, duration, intersect, subtract, union
from .periods import (
    Calendar,
    Maintenance,
    coverage,
    covered_time,
    maintenance_exclusions,
    period_bounds,
    period_id,
    periods_overlapping,
    shift_period,
)
from .tickets import Clock, Pause, Ticket, due_at, ticket_clocks, ticket_elapsed, ticket_times
from .verdict import (
    Budget,
    achieved,
    bonus_percent,
    burn_rate,
    credit_percent,
    error_budget,
    objective_credit,
    period_bonus,
    period_credit,
    period_credit_cap,
    project,
    status,
)
from .words import Kind, MinuteState, Status

__all__ = [
    "DAY",
    "MINUTE",
    "Bounded",
    "Budget",
    "Calendar",
    "Clock",
    "Combined",
    "Commitment",
    "Figures",
    "Interval",
    "Kind",
    "Maintenance",
    "MinuteState",
    "Pause",
    "Status",
    "Ticket",
    "achieved",
    "availability_from_incidents",
    "availability_from_minute_states",
    "availability_from_probes",
    "bonus_percent",
    "bounded_status",
    "burn_rate",
    "classify_minute",
    "clip",
    "clip_sorted",
    "combined_from_incidents",
    "combined_from_probes",
    "combined_minute_state",
    "combined_outage_spans",
    "commitment",
    "contains",
    "coverage",
    "covered_time",
    "credit_percent",
    "credit_percent_above",
    "due_at",
    "duration",
    "eligible_minute_ranges",
    "error_budget",
    "intersect",
    "jitter",
    "latency",
    "maintenance_exclusions",
    "mean",
    "mean_latency",
    "metric_mean",
    "metric_sum",
    "minute_state_sql",
    "minutes_to_come",
    "mtbf",
    "mttr",
    "objective_credit",
    "period_bonus",
    "period_bounds",
    "period_credit",
    "period_credit_cap",
    "period_id",
    "periods_overlapping",
    "project",
    "ratio",
    "restore_horizon",
    "shift_period",
    "status",
    "subtract",
    "ticket_clocks",
    "ticket_elapsed",
    "ticket_times",
    "union",
    "within_bound",
]
