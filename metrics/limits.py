"""Bounds on measurements, derived from what every later stage can store.

Whatever ingestion accepts must still be computable when it is summed over a whole
period: a month of the largest values allowed has to fit every column it flows into,
or one partner's batch would make the next recompute of every agreement fail.

Events (SPEC rule 7) are summed per UTC minute into ``EventMinute`` (64-bit integers)
and over a period into ``Evaluation.good`` / ``bad`` / ``budget_*``, which are
``DecimalField(max_digits=24, decimal_places=6)``: whole values below 10**18. A period
is at most 31 days and one hour (a month, plus the hour a daylight-saving change adds),
44,700 minutes. Event identity is (service, ts) with microsecond precision, so a minute
can hold up to 60 million records: a bound per record alone would have to be tiny.
So there are two bounds: one per record, and one on a minute's sum.

    44,700 minutes x MAX_MINUTE_TOTAL (10**12) = 4.47 x 10**16  <  10**18

Probe results are counted, never summed: the summary counters are 64-bit integers,
which no realistic number of rows can fill.
"""

from __future__ import annotations

import datetime as dt

# Good and total of one event record.
MAX_EVENT_COUNT = 10**9
# Total of one service's event records in one UTC minute (EventMinute.total).
MAX_MINUTE_TOTAL = 10**12
# The longest period: 31 days and the hour a daylight-saving change can add.
MAX_PERIOD_MINUTES = 31 * 1440 + 60
# Latency of one probe: an hour is already far past any threshold (at most 3,600,000 ms).
MAX_LATENCY_MS = 3_600_000.0
# Timestamps: nothing before 2000; maintenance may be announced at most two years ahead.
EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
LATEST_YEAR = 2100
MAINTENANCE_HORIZON = dt.timedelta(days=731)


class MinuteTotalExceeded(Exception):
    """A batch would take one service's events of one minute past MAX_MINUTE_TOTAL."""

    def __init__(self, service_id: int, minute: dt.datetime):
        self.service_id = service_id
        self.minute = minute
        super().__init__(
            f"the events of minute {minute:%Y-%m-%dT%H:%MZ} would total more than "
            f"{MAX_MINUTE_TOTAL:,}"
        )
