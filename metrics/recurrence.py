"""Recurring maintenance windows (SPEC §3 rule 3, §4 ``recurrence``).

A recurring window is posted once, as its first occurrence, with an RFC 5545 RRULE
(``FREQ=WEEKLY;BYDAY=SU``). The rule is expanded by python-dateutil with DTSTART = the
posted start, in UTC: every occurrence starts at the UTC time of day of the first one
(a rule's BYHOUR / BYMINUTE are read in UTC too) and lasts as long as it (end - start).
Each later occurrence is stored as an ordinary maintenance window linked to the first
(``Maintenance.series``), from the first up to ``HORIZON`` ahead of now (or the rule's own
UNTIL / COUNT); a daily task moves the horizon on. Every reader of maintenance windows
(coverage, evidence, the agreement and status pages, events) then sees each occurrence
as a window of its own, judged by its own start (rule 3).
"""

from __future__ import annotations

import datetime as dt
import itertools
import re

from dateutil import rrule

# Occurrences are stored this far ahead of now; the daily task keeps the horizon there.
HORIZON = dt.timedelta(days=92)
# More occurrences than this from the first to the horizon is refused: no real
# maintenance schedule needs them, and each is a row, a listing and an event.
MAX_OCCURRENCES = 1000
MAX_LENGTH = 500
ALLOWED_FREQ = ("HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY")
_PART = re.compile(r"^[A-Z]+=[A-Z0-9,+\-]+$")
# An occurrence's external id: the series' own, "@", and its start in UTC.
OCCURRENCE_ID = re.compile(r"@\d{8}T\d{6}Z$")
# The parts of an RRULE (RFC 5545 §3.3.10); python-dateutil's BYEASTER is not one.
RFC_PARTS = frozenset(
    {"FREQ", "UNTIL", "COUNT", "INTERVAL", "BYSECOND", "BYMINUTE", "BYHOUR", "BYDAY"}
    | {"BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYMONTH", "BYSETPOS", "WKST"}
)
# The Gregorian calendar repeats exactly every 400 years (146,097 days, whole weeks).
CYCLE = dt.timedelta(days=146_097)


class RecurrenceError(ValueError):
    """A ``recurrence`` that cannot be taken; the message says why (one line)."""


def occurrence_id(external_id: str, start: dt.datetime) -> str:
    """The external id of the occurrence of series ``external_id`` starting at ``start``:
    ``<external_id>@YYYYMMDDTHHMMSSZ`` (the RFC 5545 UTC form of its start)."""
    return f"{external_id}@{start.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}"


def _parts(text: str) -> dict[str, str]:
    body = text[len("RRULE:") :] if text.upper().startswith("RRULE:") else text
    if "\n" in body or "\r" in body:
        raise RecurrenceError("must be one RRULE line (no DTSTART, RDATE or EXDATE)")
    parts: dict[str, str] = {}
    for part in body.split(";"):
        if not _PART.match(part):
            raise RecurrenceError(f"{part[:40]!r} is not a NAME=VALUE part of an RRULE")
        name, value = part.split("=", 1)
        if name not in RFC_PARTS and name != "DTSTART":
            raise RecurrenceError(f"{name[:40]} is not a part of an RFC 5545 RRULE")
        if name == "DTSTART":
            raise RecurrenceError(
                "must not hold DTSTART: the window's start is its first occurrence"
            )
        if name in parts:
            raise RecurrenceError(f"{name} is given twice")
        parts[name] = value
    return parts


def check(text: str, *, start: dt.datetime, end: dt.datetime, now: dt.datetime) -> str:
    """Validate ``text`` as the ``recurrence`` of a window [start, end) (aware instants)
    and return it normalised (upper case, without an ``RRULE:`` prefix).

    Raises RecurrenceError when: it is longer than 500 characters or not one RFC 5545
    RRULE line (RFC 5545 parts only); FREQ is SECONDLY or MINUTELY; BYSETPOS with
    FREQ=HOURLY; INTERVAL is not positive; it holds DTSTART,
    or both COUNT and UNTIL (RFC 5545 §3.3.10), or an UNTIL not in UTC or before start;
    ``start`` is not the rule's first occurrence; two occurrences would overlap (one
    starts before the one before it ends); or it has more than MAX_OCCURRENCES
    occurrences from start to HORIZON ahead of now.
    """
    if len(text) > MAX_LENGTH:
        raise RecurrenceError(f"must be at most {MAX_LENGTH} characters")
    normal = text.strip().upper()
    if normal.startswith("RRULE:"):
        normal = normal[len("RRULE:") :]
    parts = _parts(normal)
    freq = parts.get("FREQ")
    if freq is None:
        raise RecurrenceError("must give FREQ")
    if freq in ("SECONDLY", "MINUTELY"):
        raise RecurrenceError(f"FREQ={freq} is refused: maintenance recurs at most hourly")
    if freq not in ALLOWED_FREQ:
        raise RecurrenceError(f"FREQ must be one of {', '.join(ALLOWED_FREQ)}")
    for name in ("BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYSETPOS", "BYMONTH"):
        if name in parts and any(v.lstrip("+-") in ("0", "00", "") for v in parts[name].split(",")):
            # RFC 5545 §3.3.10: these count from 1 (or back from -1); 0 is no day.
            raise RecurrenceError(f"{name} must not hold 0 or an empty item")
    if freq == "HOURLY" and "BYSETPOS" in parts:
        raise RecurrenceError("BYSETPOS is taken with FREQ=DAILY, WEEKLY, MONTHLY or YEARLY")
    if "INTERVAL" in parts and (not parts["INTERVAL"].isdigit() or int(parts["INTERVAL"]) < 1):
        raise RecurrenceError("INTERVAL must be a positive whole number")
    if "COUNT" in parts and "UNTIL" in parts:
        raise RecurrenceError("must not give both COUNT and UNTIL (RFC 5545)")
    if "COUNT" in parts and (not parts["COUNT"].isdigit() or int(parts["COUNT"]) < 1):
        raise RecurrenceError("COUNT must be a positive whole number")
    if "UNTIL" in parts and not re.fullmatch(r"\d{8}T\d{6}Z", parts["UNTIL"]):
        raise RecurrenceError("UNTIL must be a UTC date-time such as 20271231T235959Z")
    if start.microsecond:
        raise RecurrenceError("a recurring window's start must be on a whole second")
    try:
        rule = rrule.rrulestr(normal, dtstart=start.astimezone(dt.UTC), forceset=False)
    except (ValueError, TypeError, OverflowError) as error:
        raise RecurrenceError(f"is not a valid RRULE: {error}") from None
    if not isinstance(rule, rrule.rrule):
        raise RecurrenceError("must be one RRULE line (no DTSTART, RDATE or EXDATE)")
    if "UNTIL" in parts and _until(parts) < start:
        raise RecurrenceError("UNTIL is before the window's start")
    found = starts(normal, start=start, limit=max(start, now) + HORIZON, most=MAX_OCCURRENCES + 1)
    if not found or found[0] != start:
        raise RecurrenceError(
            "the window's start is not an occurrence of the rule: post the first occurrence"
        )
    if len(found) > MAX_OCCURRENCES:
        raise RecurrenceError(
            f"gives more than {MAX_OCCURRENCES} occurrences from the start to {HORIZON.days} "
            "days ahead"
        )
    duration = end - start
    for before, after in itertools.pairwise(found):
        if after - before < duration:
            raise RecurrenceError(
                f"occurrences overlap: the one at {after:%Y-%m-%dT%H:%M:%SZ} starts before "
                "the one before it ends (the interval is shorter than the window)"
            )
    return normal


def _until(parts: dict[str, str]) -> dt.datetime:
    return dt.datetime.strptime(parts["UNTIL"], "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)


def starts(
    recurrence: str, *, start: dt.datetime, limit: dt.datetime, most: int | None = None
) -> list[dt.datetime]:
    """The starts (aware UTC instants) of the occurrences of ``recurrence`` (a rule
    ``check`` took) with DTSTART = ``start``, up to and including ``limit``, at most
    ``most`` of them. The rule's COUNT counts from ``start``; its UNTIL bounds it too.

    Expanded with the bound set as the rule's UNTIL. python-dateutil looks for the next
    occurrence period after period up to the year 9999 (a rule that never matches again
    would scan eight millennia), so the rule is expanded in the same 400-year Gregorian
    cycle as near the end of the calendar as ``limit`` allows, and the starts moved back:
    the scan past ``limit`` is then at most a few centuries of days.
    """
    parts = _parts(recurrence)
    count = int(parts.pop("COUNT")) if "COUNT" in parts else None
    bound = limit.astimezone(dt.UTC)
    if "UNTIL" in parts:
        bound = min(bound, _until(parts))
    if bound < start:
        return []
    shift = CYCLE * max(0, (dt.MAXYEAR - 1 - bound.year) // 400)
    parts["UNTIL"] = f"{bound + shift:%Y%m%dT%H%M%SZ}"
    text = ";".join(f"{k}={v}" for k, v in parts.items())
    rule = rrule.rrulestr(text, dtstart=start.astimezone(dt.UTC) + shift, forceset=False)
    take = count if most is None else (most if count is None else min(count, most))
    return [found - shift for found in itertools.islice(iter(rule), take)]  # type: ignore[arg-type]
