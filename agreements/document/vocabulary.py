"""The document's vocabulary and limits: its keys, indicators, currencies, the bounds every
value must stay within, and ``DocumentError``.
"""

from __future__ import annotations

import datetime as dt
import re

WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
INDICATORS = [
    "availability",
    "latency",
    "ratio",
    "response_time",
    "resolution_time",
    # The further forms of rules 15-17 (agreements.document.forms).
    "mttr",
    "mtbf",
    "mean_latency",
    "jitter",
    "metric_mean",
    "metric_sum",
]
TICKET_INDICATORS = {"response_time", "resolution_time"}
SOURCES = ["probes", "incidents"]
SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9_-]{0,62}[a-z0-9])?$")
DURATION = re.compile(r"^(\d+)(s|m|h|d)$")
RANGE = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}

# Limits: a document within them imports and closes its periods in moments, and every
# value fits the columns and date arithmetic it flows into (docs/agreement-format.md).
MAX_OBJECTIVES = 100
MAX_TIERS = 20
MAX_ESCALATION_LEVELS = 10
MAX_CALENDARS = 20
MAX_RANGES_PER_DAY = 12
MAX_HOLIDAYS = 500
MAX_DURATION = 366 * 86400  # ticket thresholds and escalation delays
EARLIEST_DATE = dt.date(2000, 1, 1)
LATEST_DATE = dt.date(2100, 12, 31)
MAX_EMAIL_LENGTH = 254  # RFC 5321, and the contact column

# ISO 4217 active codes.
CURRENCIES = frozenset(
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD
    BTN BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB
    EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK
    JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA
    MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK
    PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN
    SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST
    XAF XCD XCG XOF XPF YER ZAR ZMW ZWG
    """.split()  # noqa: SIM905 (a word list reads better than 170 quoted items)
)

TOP_KEYS = {
    "agreement",
    "customer",
    "name",
    "provider",
    "timezone",
    "effective_from",
    "effective_to",
    "currency",
    "monthly_fee",
    "credit_cap_percent",
    "claim_window_days",
    "maintenance_notice_hours",
    "data_grace_hours",
    "notice_period_days",
    "calendars",
    "objectives",
    "escalation",
    "measured_by",
    "services",
    # contract life (rule 20)
    "auto_renew_months",
    "contacts",
    "responsibilities",
    "reports",
}
REQUIRED_TOP = [
    "agreement",
    "customer",
    "name",
    "timezone",
    "effective_from",
    "currency",
    "monthly_fee",
    "objectives",
]
OBJECTIVE_KEYS = {
    "key",
    "service",
    "indicator",
    "source",
    "target",
    "coverage",
    "credits",
    "threshold_ms",
    "priority",
    "threshold",
    "warn_at_percent",
    "services",
    "combine",
    "bonus",
    "max",
    "min",
    "metric",
    "carry_over",
}
# The keys whose change makes a new version of the terms (SPEC §2).
TERMS_KEYS = [
    "timezone",
    "effective_from",
    "effective_to",
    "currency",
    "monthly_fee",
    "credit_cap_percent",
    "claim_window_days",
    "maintenance_notice_hours",
    "data_grace_hours",
    "calendars",
    "objectives",
]


class DocumentError(ValueError):
    """An invalid agreement document; ``errors`` holds ``(path, message)`` pairs."""

    def __init__(self, errors: list[tuple[str, str]]):
        self.errors = errors
        super().__init__(
            "; ".join(f"{path}: {message}" if path else message for path, message in errors)
        )

    def as_list(self) -> list[dict[str, str]]:
        return [{"field": path, "message": message} for path, message in self.errors]
