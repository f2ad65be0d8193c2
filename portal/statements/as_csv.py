"""The statement as CSV: one section per part, figures as on the pages (rule 19) without
thousands separators, which spreadsheets would read as text.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from agreements import display
from credits.statements import Statement
from portal.statements.bonus import csv_bonus_and_attribution
from portal.statements.common import (
    _duration_minutes,
    _exact,
    _money,
    _ordered_evidence,
    _percent_cell,
    _rounding_note,
    _text,
)


def statement_csv(statement: Statement) -> str:
    """The statement as CSV: blocks separated by a blank line, each with a header row.

    Every data row starts with its record type (statement, objective, computation,
    evidence, restatement) so a reader can pick rows without tracking blocks.
    Amounts are quantized to 0.01 without separators, percents truncated as on the pages
    (rule 19), other decimals written as they are.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for index, block in enumerate(
        (
            _csv_statement,
            _csv_objectives,
            _csv_computation,
            csv_bonus_and_attribution,
            _csv_evidence,
            _csv_sources,
            _csv_restatements,
        )
    ):
        if index:
            writer.writerow([])
        block(writer, statement)
    return buffer.getvalue()


def _csv_statement(writer: Any, s: Statement) -> None:
    """The header block: one row per field of the statement."""
    cur = _text(s.currency)
    writer.writerow(["record", "field", "value"])
    header: list[tuple[str, str]] = [
        ("agreement_key", _text(s.agreement_key)),
        ("agreement_name", _text(s.agreement_name)),
        ("customer", _text(s.customer_name)),
        ("provider", _text(s.provider)),
        ("period", _text(s.period)),
        ("timezone", _text(s.timezone)),
        ("currency", cur),
        ("monthly_fee", _money(s.monthly_fee)),
        ("credit_cap_percent", _exact(s.credit_cap_percent)),
        ("terms_version", str(s.terms_version)),
        ("terms_effective_period", _text(s.terms_effective_period)),
        ("closed_at", s.closed_at.isoformat() if s.closed_at else ""),
        ("claim_status", _text(s.claim_status)),
    ]
    writer.writerows(["statement", name, value] for name, value in header)


def _csv_objectives(writer: Any, s: Statement) -> None:
    """One row per objective: figures as stored, percents as on the pages."""
    writer.writerow(
        [
            "record",
            "key",
            "indicator",
            "target",
            "achieved",
            "status",
            "good",
            "bad",
            "unit",
            "completeness",
            "credit_percent",
            "credit_amount",
        ]
    )
    for line in s.objectives:
        writer.writerow(
            [
                "objective",
                _text(line.key),
                _text(line.indicator),
                _exact(line.target),
                _percent_cell(line.achieved, line.target)
                if line.value_unit == "%"
                else _exact(line.achieved),
                _text(line.status),
                _exact(line.good),
                _exact(line.bad),
                _text(line.unit if line.value_unit == "%" else line.value_unit),
                _percent_cell(line.completeness),
                _exact(line.credit_percent),
                display.money_exact(line.credit_amount, grouped=False),
            ]
        )


def _csv_computation(writer: Any, s: Statement) -> None:
    """Subtotal, cap and total, with how the total was reached."""
    cur = _text(s.currency)
    writer.writerow(["record", "item", "amount", "currency", "note"])
    cap_binds = s.subtotal > s.cap_amount
    writer.writerows(
        [
            [
                "computation",
                "subtotal",
                display.money_exact(s.subtotal, grouped=False),
                cur,
                "sum of objective credits, exact",
            ],
            [
                "computation",
                "cap",
                display.money_exact(s.cap_amount, grouped=False),
                cur,
                f"{display.plain(s.credit_cap_percent)}% of monthly fee {_money(s.monthly_fee)}",
            ],
            [
                "computation",
                "credit_total",
                _money(s.credit_total),
                cur,
                "min(subtotal, cap) rounded half-up to 0.01"
                + ("; cap applies" if cap_binds else "")
                + _rounding_note(s),
            ],
        ]
    )


def _csv_evidence(writer: Any, s: Statement) -> None:
    """Down spells, incidents and maintenance behind each objective."""
    writer.writerow(
        ["record", "type", "objective", "start", "end", "amount", "unit", "title", "note"]
    )
    for key, evidence in _ordered_evidence(s):
        okey = _text(key)
        for service, name, provider, bad, unit in evidence.services:
            writer.writerow(
                [
                    "evidence",
                    "service",
                    okey,
                    "",
                    "",
                    _exact(bad),
                    unit,
                    _text(service),
                    _text(f"{name} ({provider})" if provider else name),
                ]
            )
        for start, end, minutes in evidence.down_spells:
            writer.writerow(
                [
                    "evidence",
                    "down_spell",
                    okey,
                    start.isoformat(),
                    end.isoformat(),
                    str(minutes),
                    "minutes",
                    "",
                    "",
                ]
            )
        for title, impact, opened, closed, seconds in evidence.incidents:
            writer.writerow(
                [
                    "evidence",
                    "incident",
                    okey,
                    opened.isoformat(),
                    closed.isoformat() if closed else "",
                    _exact(seconds),
                    "seconds",
                    _text(title),
                    _text(f"impact: {impact}" + ("; ongoing" if closed is None else "")),
                ]
            )
        for external_id, priority, opened, elapsed, threshold in evidence.breached_tickets:
            writer.writerow(
                [
                    "evidence",
                    "breached_ticket",
                    okey,
                    opened.isoformat(),
                    "",
                    _exact(elapsed),
                    "seconds",
                    _text(external_id),
                    _text(
                        f"priority {priority}; threshold {_exact(threshold)} s; "
                        f"over by {_exact(elapsed - threshold)} s"
                    ),
                ]
            )
        for title, start, end, excluded, reason in evidence.maintenance:
            writer.writerow(
                [
                    "evidence",
                    "maintenance",
                    okey,
                    start.isoformat(),
                    end.isoformat(),
                    f"{_duration_minutes(start, end):f}",
                    "minutes",
                    _text(title),
                    _text(
                        ("excluded" if excluded else "counted") + (f": {reason}" if reason else "")
                    ),
                ]
            )
        for external_id, start, end, reason in evidence.exclusions:
            writer.writerow(
                [
                    "evidence",
                    "exclusion",
                    okey,
                    start.isoformat(),
                    end.isoformat(),
                    f"{_duration_minutes(start, end):f}",
                    "minutes",
                    _text(external_id),
                    _text(reason),
                ]
            )


def _csv_sources(writer: Any, s: Statement) -> None:
    """Who sent the measurements behind the figures, from the ingestion log."""
    writer.writerow(["record", "source", "kind", "batches", "records"])
    for source in s.sources:
        writer.writerow(
            [
                "source",
                _text(source.name),
                _text(source.kind),
                str(source.batches),
                str(source.records),
            ]
        )


def _csv_restatements(writer: Any, s: Statement) -> None:
    """Corrections of the credit total after the first close."""
    cur = _text(s.currency)
    writer.writerow(["record", "at", "previous_amount", "new_amount", "currency", "reason"])
    for item in s.restatements:
        writer.writerow(
            [
                "restatement",
                item.at.isoformat(),
                _money(item.previous_amount),
                _money(item.new_amount),
                cur,
                _text(item.reason),
            ]
        )
