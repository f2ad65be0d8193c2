"""``validate``: a parsed document to its canonical form, or DocumentError naming each field."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from agreements.document.calendars import _calendars
from agreements.document.checker import _Checker
from agreements.document.fields import _percent_out, _zones
from agreements.document.life import _life
from agreements.document.objectives import _objectives
from agreements.document.parties import _escalation, _measured_by, _services
from agreements.document.vocabulary import (
    CURRENCIES,
    REQUIRED_TOP,
    TERMS_KEYS,
    TOP_KEYS,
    DocumentError,
)


def validate(data: object) -> dict[str, Any]:
    """Validate a parsed document; return its canonical form or raise DocumentError."""
    c = _Checker()
    doc = c.mapping(data, "")
    if doc is None:
        raise DocumentError([("", "the document must be a mapping of fields")])
    c.unknown(doc, TOP_KEYS, "")
    for key in REQUIRED_TOP:
        if key not in doc or doc[key] is None:
            c.error(key, "is required")
    out: dict[str, Any] = {}

    if doc.get("agreement") is not None:
        out["agreement"] = c.slug(doc["agreement"], "agreement")
    if doc.get("customer") is not None:
        customer = doc["customer"]
        if isinstance(customer, str):
            customer = {"key": customer}
        cust = c.mapping(customer, "customer")
        if cust is not None:
            c.unknown(cust, {"key", "name"}, "customer")
            cust_key = c.slug(cust.get("key"), "customer.key") if "key" in cust else None
            if "key" not in cust:
                c.error("customer.key", "is required")
            name = c.text(cust["name"], "customer.name") if "name" in cust else None
            out["customer"] = {"key": cust_key, "name": name or cust_key}
    if doc.get("name") is not None:
        out["name"] = c.text(doc["name"], "name")
    out["provider"] = c.text(doc["provider"], "provider") if doc.get("provider") else ""

    if doc.get("timezone") is not None:
        tz = doc["timezone"]
        if not isinstance(tz, str) or tz not in _zones():
            c.error("timezone", f"{tz!r} is not an IANA time zone name (e.g. Europe/Berlin)")
        else:
            out["timezone"] = tz
    start = (
        c.date(doc["effective_from"], "effective_from")
        if doc.get("effective_from") is not None
        else None
    )
    end = (
        c.date(doc["effective_to"], "effective_to") if doc.get("effective_to") is not None else None
    )
    if start and end and end < start:
        c.error("effective_to", "must not be before effective_from")
    out["effective_from"] = start.isoformat() if start else None
    out["effective_to"] = end.isoformat() if end else None

    if doc.get("currency") is not None:
        currency = doc["currency"]
        if not isinstance(currency, str) or currency not in CURRENCIES:
            c.error("currency", f"{currency!r} is not an ISO 4217 currency code (e.g. EUR)")
        else:
            out["currency"] = currency
    if doc.get("monthly_fee") is not None:
        fee = doc["monthly_fee"]
        if isinstance(fee, float):
            c.error("monthly_fee", 'must be a decimal string such as "12000.00"')
        else:
            number = c.number(fee, "monthly_fee")
            if number is not None:
                if number < 0:
                    c.error("monthly_fee", "must not be negative")
                elif number.as_tuple().exponent < -2:  # type: ignore[operator]
                    c.error("monthly_fee", "must have at most 2 decimal places")
                elif number >= Decimal("1e12"):
                    c.error("monthly_fee", "is too large")
                else:
                    out["monthly_fee"] = str(number.quantize(Decimal("0.01")))

    cap = doc.get("credit_cap_percent", 100)
    cap_value = c.percent(cap, "credit_cap_percent", allow_zero=True)
    out["credit_cap_percent"] = _percent_out(cap_value) if cap_value is not None else None
    for key, default, maximum in (
        ("claim_window_days", 0, 3660),
        ("maintenance_notice_hours", 0, 8760),
        ("data_grace_hours", 24, 8760),
    ):
        out[key] = c.integer(doc.get(key, default), key, maximum=maximum)
    if doc.get("notice_period_days") is not None:
        out["notice_period_days"] = c.integer(
            doc["notice_period_days"], "notice_period_days", maximum=3660
        )
    else:
        out["notice_period_days"] = None

    out["calendars"] = _calendars(c, doc.get("calendars"))
    out["objectives"] = _objectives(c, doc.get("objectives"), set(out["calendars"] or {}))
    out["escalation"] = _escalation(c, doc.get("escalation"))
    out["measured_by"] = _measured_by(c, doc.get("measured_by"))
    out["services"] = _services(c, doc.get("services"), out["objectives"])
    out.update(_life(c, doc))

    if c.errors:
        raise DocumentError(c.errors)
    return out


def terms_of(document: dict[str, Any]) -> dict[str, Any]:
    """The part of a canonical document that is versioned terms."""
    return {key: document.get(key) for key in TERMS_KEYS}
