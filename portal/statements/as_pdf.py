"""The statement as PDF (core fonts, latin-1), with the arithmetic explained in words."""

from __future__ import annotations

import unicodedata
from decimal import Decimal

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace

from agreements import display
from agreements.engine import Status
from credits.statements import ObjectiveLine, Statement
from portal.statements.bonus import pdf_bonus_and_attribution
from portal.statements.common import (
    _exact,
    _ordered_evidence,
    _when,
)

# Core PDF fonts only cover latin-1; common typographic characters get a readable
# stand-in instead of an encoding error.
_LATIN1_STANDINS = {
    "\u2014": "-",  # em dash
    "\u2013": "-",  # en dash
    "\u2012": "-",
    "\u2010": "-",
    "\u2011": "-",
    "\u2212": "-",  # minus sign
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u2026": "...",
    "\u2022": "-",
    "\u2265": ">=",
    "\u2264": "<=",
    "\u2260": "!=",
    "\u2248": "~",
    "\u2192": "->",
    "\u2190": "<-",
    "\u20ac": "EUR",
    "\u2122": "(TM)",
    # Letters without a canonical decomposition.
    "\u0141": "L",
    "\u0142": "l",
    "\u0110": "D",
    "\u0111": "d",
    "\u0152": "OE",
    "\u0153": "oe",
    "\u0131": "i",
    "\u2009": " ",  # thin space
    "\u202f": " ",  # narrow no-break space
    "\u200b": "",  # zero-width space
}


def _latin1(text: str) -> str:
    """Make text printable with a core font, transliterating what latin-1 lacks."""
    out: list[str] = []
    for char in text:
        if ord(char) < 256:
            out.append(char)
        elif char in _LATIN1_STANDINS:
            out.append(_LATIN1_STANDINS[char])
        else:
            # Decomposition keeps the base letter of accented characters (e.g. "ő" -> "o").
            base = "".join(
                c for c in unicodedata.normalize("NFKD", char) if ord(c) < 256 and c.isprintable()
            )
            out.append(base or "?")
    return "".join(out)


def _clip(text: str, limit: int = 300) -> str:
    """Shorten text for table cells, which must fit on one page."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _StatementPDF(FPDF):
    """A4 portrait document with a footer carrying the statement reference and page numbers."""

    def __init__(self, reference: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.reference = reference
        self.set_margins(18, 18, 18)
        self.set_auto_page_break(auto=True, margin=20)

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font("Helvetica", size=8)
        self.set_text_color(87, 96, 106)
        self.cell(0, 5, self.reference, align="L")
        self.set_x(self.l_margin)
        self.cell(0, 5, f"Page {self.page_no()} of {{nb}}", align="R")
        self.set_text_color(0, 0, 0)


class _Writer:
    """Small layout vocabulary over fpdf2 so the statement reads top to bottom."""

    def __init__(self, pdf: _StatementPDF, currency: str) -> None:
        self.pdf = pdf
        self.currency = _latin1(currency)

    def heading(self, text: str, size: int = 13) -> None:
        pdf = self.pdf
        # Keep a heading together with at least a couple of lines of its content.
        if pdf.will_page_break(size * 0.6 + 14):
            pdf.add_page()
        pdf.ln(3)
        pdf.set_font("Helvetica", style="B", size=size)
        pdf.multi_cell(0, size * 0.5, _latin1(text), align="L", new_x=XPos.LMARGIN)
        pdf.ln(1)
        pdf.set_font("Helvetica", size=10)

    def para(self, text: str, size: float = 10, indent: float = 0) -> None:
        pdf = self.pdf
        pdf.set_font("Helvetica", size=size)
        pdf.set_x(pdf.l_margin + indent)
        pdf.multi_cell(0, size * 0.5, _latin1(text), align="L", new_x=XPos.LMARGIN)

    def field(self, label: str, value: str) -> None:
        pdf = self.pdf
        pdf.set_font("Helvetica", style="B", size=10)
        pdf.cell(38, 5.5, _latin1(label), new_x=XPos.RIGHT, new_y=YPos.TOP)
        pdf.set_font("Helvetica", size=10)
        pdf.multi_cell(0, 5.5, _latin1(value), align="L", new_x=XPos.LMARGIN)

    def table(self, rows: list[list[str]], widths: tuple[float, ...], aligns: str) -> None:
        pdf = self.pdf
        pdf.set_font("Helvetica", size=8.5)
        with pdf.table(
            col_widths=widths,
            text_align=tuple("RIGHT" if a == "R" else "LEFT" for a in aligns),
            headings_style=FontFace(emphasis="BOLD", fill_color=(234, 238, 242)),
            line_height=4.2,
            padding=1.2,
            width=pdf.epw,
            repeat_headings=1,
        ) as table:
            for row in rows:
                table.row([_latin1(_clip(cell)) for cell in row])
        pdf.set_font("Helvetica", size=10)

    def money(self, amount: Decimal) -> str:
        return f"{display.money(amount)} {self.currency}"


def _objective_rows(statement: Statement) -> list[list[str]]:
    rows = [
        [
            "Objective",
            "Target",
            "Achieved",
            "Status",
            "Good / bad",
            "Data complete",
            "Credit %",
            f"Credit ({statement.currency})",
        ]
    ]
    for line in statement.objectives:
        rows.append(
            [
                f"{line.key}\n{line.indicator}",
                f"{display.plain(line.target)}%" if not line.bound else line.bound,
                line.achieved_text + (f"\n{line.commitment}" if line.commitment else ""),
                Status(line.status).words,
                f"{_exact(line.good)} good / {_exact(line.bad)} bad {line.unit}",
                "n/a" if line.completeness is None else display.percent(line.completeness),
                f"{display.plain(line.credit_percent)}%",
                display.money_exact(line.credit_amount),
            ]
        )
    return rows


def _applied_tier(line: ObjectiveLine) -> tuple[Decimal, Decimal] | None:
    """The tier that explains the credit: achieved is below it and its percent matches."""
    if line.achieved is None:
        return None
    achieved = line.achieved
    applicable = [tier for tier in line.tiers if achieved < tier[0]]
    matching = [tier for tier in applicable if tier[1] == line.credit_percent]
    # The tightest threshold is the one the agreement's table is read by.
    return min(matching or applicable, key=lambda tier: tier[0], default=None)


def _explanation(line: ObjectiveLine, statement: Statement, w: _Writer) -> str:
    fee = w.money(statement.monthly_fee)
    head = f"{line.key}: "
    if line.achieved is None:
        completeness = "n/a" if line.completeness is None else display.percent(line.completeness)
        reason = f"no data (completeness {completeness}) -> no credit"
        if line.credit_percent:
            reason = (
                f"no data (completeness {completeness}) -> credit {display.plain(line.credit_percent)}%"
                f" x {fee} = {display.money_exact(line.credit_amount)} {w.currency}"
            )
        return head + reason
    achieved = f"achieved {line.achieved_text}"
    if line.credit_percent:
        tier = _applied_tier(line)
        if tier is not None:
            return (
                f"{head}{achieved} is below {display.plain(tier[0])} -> tier {display.plain(line.credit_percent)}%"
                f" x {fee} = {display.money_exact(line.credit_amount)} {w.currency}"
            )
        return (
            f"{head}{achieved} -> credit {display.plain(line.credit_percent)}% x {fee}"
            f" = {display.money_exact(line.credit_amount)} {w.currency}"
        )
    if line.status in (Status.MET, Status.AT_RISK):
        return f"{head}{achieved} meets the target of {display.plain(line.target)}% -> no credit"
    if not line.tiers:
        return (
            f"{head}{achieved} misses the target of {display.plain(line.target)}% but the agreement "
            "defines no credit tiers -> no credit"
        )
    # No tier applies only when achieved is at or above every threshold.
    highest = max(tier[0] for tier in line.tiers)
    return (
        f"{head}{achieved} misses the target of {display.plain(line.target)}% but is not below "
        f"{display.plain(highest)} -> no tier applies"
    )


def _computation(statement: Statement, w: _Writer) -> None:
    s = statement
    w.heading("How the credit was computed")
    for line in s.objectives:
        w.para(_explanation(line, s, w), indent=2)
    # Line credits and the subtotal print exactly, so the lines add up as printed; only the
    # total is rounded, and the statement says so when that changed it.
    s_line = " + ".join(
        display.money_exact(line.credit_amount) for line in s.objectives if line.credit_amount
    )
    w.pdf.ln(2)
    w.para(f"Subtotal: {s_line or '0.00'} = {display.money_exact(s.subtotal)} {w.currency}")
    w.para(
        f"Cap: {display.plain(s.credit_cap_percent)}% of {display.money(s.monthly_fee)} = "
        f"{display.money_exact(s.cap_amount)} {w.currency}"
    )
    binding = s.subtotal > s.cap_amount
    exact = min(s.subtotal, s.cap_amount)
    rounded = exact != s.credit_total
    w.para(
        f"Total: min(subtotal, cap) = {display.money_exact(exact)}"
        + (f", rounded half-up to the cent: {w.money(s.credit_total)}" if rounded else "")
        + ("" if rounded else f" = {w.money(s.credit_total)}")
        + (" (the cap applies)" if binding else "")
    )


def _evidence(statement: Statement, w: _Writer) -> None:
    w.heading("Evidence")
    w.para(f"Times are in {statement.timezone}.", size=8.5)
    items = list(_ordered_evidence(statement))
    if not items:
        w.para("No evidence recorded for this period.")
        return
    for key, evidence in items:
        w.heading(key, size=11)
        lines: list[str] = []
        for service, _, provider, bad, unit in evidence.services:
            share = {"service": service, "provider": provider, "bad": str(bad)}
            lines.append(f"Service {display.attribution([share], unit)} of the bad time")
        for start, end, minutes in evidence.down_spells:
            lines.append(f"Down {_when(start)} - {_when(end)}: {minutes} min counted as bad")
        for title, impact, opened, closed, seconds in evidence.incidents:
            until = _when(closed) if closed else "ongoing"
            lines.append(
                f'Incident "{title}" ({impact}) {_when(opened)} - {until}: '
                f"{display.plain(seconds)} s counted"
            )
        for external_id, priority, opened, elapsed, threshold in evidence.breached_tickets:
            lines.append(
                f"Ticket {external_id} ({priority}) opened {_when(opened)}: "
                f"{display.duration(elapsed)} of covered time against "
                f"{display.duration(threshold)}, over by {display.duration(elapsed - threshold)}"
            )
        for title, start, end, excluded, reason in evidence.maintenance:
            verdict = "excluded" if excluded else "counted"
            because = f" because {reason}" if reason else ""
            lines.append(f'Maintenance "{title}" {_when(start)} - {_when(end)}: {verdict}{because}')
        for external_id, start, end, reason in evidence.exclusions:
            lines.append(f"Exclusion {external_id} {_when(start)} - {_when(end)}: {reason}")
        if not lines:
            lines.append("No down spells, incidents, breached tickets or maintenance.")
        for text in lines:
            w.para(f"- {text}", size=9, indent=2)


def statement_pdf(statement: Statement, *, compress: bool = True) -> bytes:
    """Render the statement as a PDF; ``compress=False`` leaves text searchable in the bytes."""
    s = statement
    reference = _latin1(f"{s.agreement_key} - {s.period} - terms v{s.terms_version}")
    pdf = _StatementPDF(reference)
    pdf.set_compression(compress)
    pdf.set_title(_latin1(f"Service credit statement {s.agreement_key} {s.period}"))
    pdf.set_author(_latin1(s.provider))
    pdf.set_subject(_latin1(f"{s.agreement_name} - {s.customer_name}"))
    pdf.set_lang("en")
    if s.closed_at is not None:
        # The closing time makes the document byte-stable for a given statement.
        pdf.set_creation_date(s.closed_at)
    pdf.add_page()
    w = _Writer(pdf, s.currency)

    pdf.set_font("Helvetica", style="B", size=18)
    pdf.cell(0, 10, "Service credit statement", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
    w.field("Agreement", f"{s.agreement_name} ({s.agreement_key})")
    w.field("Customer", s.customer_name)
    w.field("Provider", s.provider)
    w.field("Period", s.period)
    w.field("Time zone", s.timezone)
    w.field("Monthly fee", w.money(s.monthly_fee))
    w.field("Credit cap", f"{display.plain(s.credit_cap_percent)}% of the monthly fee")
    w.field("Terms", f"version {s.terms_version}, effective from {s.terms_effective_period}")
    w.field("Closed at", f"{_when(s.closed_at)} ({s.timezone})" if s.closed_at else "not closed")
    if s.claim_status:
        w.field("Claim", s.claim_status)
    pdf.ln(1)
    pdf.set_font("Helvetica", style="B", size=12)
    pdf.cell(
        0,
        8,
        _latin1(
            f"Credit total: {w.money(s.credit_total)}"
            + (f" - bonus to the provider: {w.money(s.bonus_total)}" if s.bonus_total else "")
        ),
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )

    w.heading("Objectives")
    if s.objectives:
        w.table(_objective_rows(s), widths=(30, 9, 11, 11, 19, 10, 9, 12), aligns="LRRLLRRR")
    else:
        w.para("This agreement has no objectives in this period.")

    _computation(s, w)
    pdf_bonus_and_attribution(s, w)
    _evidence(s, w)
    if s.sources:
        w.heading("Sources of the measurements")
        for source in s.sources:
            w.para(
                f"- {source.name}: {source.records} {source.kind} records in {source.batches} "
                f"batch{'es' if source.batches != 1 else ''}",
                size=9,
                indent=2,
            )

    if s.restatements:
        w.heading("Restatements")
        for item in s.restatements:
            w.para(
                f"{_when(item.at)}: credit total changed from {w.money(item.previous_amount)} to "
                f"{w.money(item.new_amount)}. Reason: {item.reason}",
                indent=2,
            )
    return bytes(pdf.output())
