"""The bonus (rule 12) and the attribution of objectives over several services (rule 18)
on a statement, in CSV and PDF: beside the credit, never netted into it."""

from __future__ import annotations

from typing import Any

from agreements import display, engine
from credits.statements import Statement
from portal.statements.common import _money, _text


def csv_bonus_and_attribution(writer: Any, s: Statement) -> None:
    """Bonus rows per objective and the bonus total, then each service's share of the bad
    time of every objective over several services."""
    cur = s.currency
    writer.writerow(["record", "item", "amount", "currency", "note"])
    for line in s.objectives:
        if line.bonus_percent:
            amount = engine.objective_credit(monthly_fee=s.monthly_fee, percent=line.bonus_percent)
            writer.writerow(
                [
                    "bonus",
                    _text(line.key),
                    display.money_exact(amount, grouped=False),
                    cur,
                    f"{display.plain(line.bonus_percent)}% of monthly fee {_money(s.monthly_fee)}",
                ]
            )
    writer.writerow(
        [
            "bonus",
            "bonus_total",
            _money(s.bonus_total),
            cur,
            "earned by the provider, rounded half-up to 0.01; a separate ledger entry, "
            "not netted into the credit",
        ]
    )
    writer.writerow([])
    writer.writerow(["record", "objective", "service", "provider", "bad", "unit", "text"])
    for line in s.objectives:
        for share in line.attribution:
            writer.writerow(
                [
                    "attribution",
                    _text(line.key),
                    _text(share["service"]),
                    _text(share.get("provider", "")),
                    display.plain(share["bad"]),
                    line.unit,
                    _text(display.attribution([share], line.unit)),
                ]
            )


def pdf_bonus_and_attribution(s: Statement, w: Any) -> None:
    """The bonus beside the credit, and who was down, for the PDF."""
    shared = [line for line in s.objectives if line.attribution]
    if shared:
        w.heading("Bad time by service and supplier")
        for line in shared:
            w.para(f"{line.key} was down {display.duration(_seconds(line))}, of which:", indent=2)
            for share in line.attribution:
                w.para(f"- {display.attribution([share], line.unit)}", size=9, indent=4)
    if any(line.bonus_percent for line in s.objectives) or s.bonus_total:
        w.heading("Bonus earned by the provider")
        for line in s.objectives:
            if line.bonus_percent:
                w.para(
                    f"{line.key}: {display.plain(line.bonus_percent)}% of the monthly fee = "
                    + display.money_exact(
                        engine.objective_credit(
                            monthly_fee=s.monthly_fee, percent=line.bonus_percent
                        )
                    )
                    + f" {w.currency}",
                    indent=2,
                )
        w.para(
            f"Bonus total: {w.money(s.bonus_total)}, entered in the ledger as a separate "
            "bonus entry; the credit above is not reduced by it.",
        )


def _seconds(line: Any) -> Any:
    return line.bad * 60 if line.unit == "minutes" else line.bad
