"""Tests for the monthly statement renderings (CSV and PDF)."""

from __future__ import annotations

import csv
import dataclasses
import io
import re
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from agreements.engine import Status
from credits.statements import Evidence, ObjectiveLine, Restatement, Statement
from portal.statements import statement_csv, statement_pdf

ZONE = ZoneInfo("Europe/Zurich")
FEE = Decimal("12000.00")


def at(day: int, hour: int = 0, minute: int = 0, month: int = 10) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=ZONE)


def availability() -> ObjectiveLine:
    percent = Decimal(10)
    return ObjectiveLine(
        key="api-availability",
        indicator="API availability (probes every minute)",
        target=Decimal("99.9"),
        achieved=Decimal("99.78"),
        status=Status.BREACHED,
        good=Decimal(44542),
        bad=Decimal(98),
        unit="minutes",
        completeness=Decimal("99.98"),
        tiers=((Decimal("99.9"), Decimal(10)), (Decimal("99.0"), Decimal(25))),
        credit_percent=percent,
        credit_amount=FEE * percent / 100,
    )


def latency() -> ObjectiveLine:
    return ObjectiveLine(
        key="api-latency",
        indicator="p95 latency below 300 ms",
        target=Decimal("99.0"),
        achieved=Decimal("99.62"),
        status=Status.MET,
        good=Decimal(1_204_331),
        bad=Decimal(4_577),
        unit="events",
        completeness=Decimal(100),
        tiers=((Decimal("99.0"), Decimal(5)),),
        credit_percent=Decimal(0),
        credit_amount=Decimal(0),
    )


def tickets() -> ObjectiveLine:
    return ObjectiveLine(
        key="support-response",
        indicator="Support first response within 4 h, 24×7 ≥ P2",
        target=Decimal(95),
        achieved=None,
        status=Status.NO_DATA,
        good=Decimal(0),
        bad=Decimal(0),
        unit="tickets",
        completeness=None,
        tiers=((Decimal(95), Decimal(5)),),
        credit_percent=Decimal(0),
        credit_amount=Decimal(0),
    )


def make_statement(**changes: object) -> Statement:
    objectives = (availability(), latency(), tickets())
    subtotal = sum((line.credit_amount for line in objectives), Decimal(0))
    cap_amount = FEE * Decimal(5) / 100
    statement = Statement(
        agreement_key="acme-api-gold",
        agreement_name="Acme API Gold — Zürich",
        customer_name="Acme Versicherungen AG, Zürich",
        provider="Example Hosting GmbH",
        period="2026-10",
        timezone="Europe/Zurich",
        currency="EUR",
        monthly_fee=FEE,
        credit_cap_percent=Decimal(5),
        terms_version=3,
        terms_effective_period="2026-07",
        closed_at=at(3, 2, 0, month=11),
        objectives=objectives,
        subtotal=subtotal,
        cap_amount=cap_amount,
        credit_total=min(subtotal, cap_amount),
        claim_status="issued automatically",
        evidence={
            "api-availability": Evidence(
                down_spells=(
                    (at(3, 10, 0), at(3, 11, 2), 62),
                    (at(17, 23, 40), at(18, 0, 16), 36),
                ),
                incidents=(
                    (
                        "API down in Zürich — 24×7 ≥",
                        "major",
                        at(3, 10, 0),
                        at(3, 11, 2),
                        Decimal(3720),
                    ),
                ),
                maintenance=(
                    ("DB upgrade", at(10, 2, 0), at(10, 3, 30), True, "announced 7 days ahead"),
                    ("Emergency patch", at(12, 9, 0), at(12, 9, 20), False, "announced too late"),
                ),
            ),
            "api-latency": Evidence(),
        },
        restatements=(
            Restatement(
                at=at(5, 9, 30, month=11),
                previous_amount=Decimal("1200.00"),
                new_amount=Decimal("600.00"),
                reason="Cap of 5% applied per terms v3 — €",
            ),
        ),
    )
    return dataclasses.replace(statement, **changes)  # type: ignore[arg-type]


def csv_rows(statement: Statement) -> list[list[str]]:
    return list(csv.reader(io.StringIO(statement_csv(statement))))


def records(rows: list[list[str]], kind: str) -> list[list[str]]:
    return [row for row in rows if row and row[0] == kind]


def header_of(rows: list[list[str]], kind: str) -> list[str]:
    """The header row of the block holding the given record type."""
    index = rows.index(records(rows, kind)[0])
    while rows[index - 1]:
        index -= 1
    return rows[index]


def pdf_pages(data: bytes) -> tuple[list[int], int]:
    # The total is substituted at output time, possibly as a separate text run.
    found = re.findall(rb"Page (\d+) of (?:\) Tj \()?(\d+)", data)
    assert found
    totals = {int(total) for _, total in found}
    assert len(totals) == 1
    return [int(page) for page, _ in found], totals.pop()


# ---------------------------------------------------------------------------
# CSV
# ---------------------------------------------------------------------------


def test_csv_header_section() -> None:
    fields = {row[1]: row[2] for row in records(csv_rows(make_statement()), "statement")}
    assert fields["agreement_key"] == "acme-api-gold"
    assert fields["agreement_name"] == "Acme API Gold — Zürich"
    assert fields["customer"] == "Acme Versicherungen AG, Zürich"
    assert fields["period"] == "2026-10"
    assert fields["timezone"] == "Europe/Zurich"
    assert fields["currency"] == "EUR"
    assert fields["monthly_fee"] == "12000.00"
    assert fields["credit_cap_percent"] == "5"
    assert fields["terms_version"] == "3"
    assert fields["closed_at"] == "2026-11-03T02:00:00+01:00"
    assert fields["claim_status"] == "issued automatically"


def test_csv_objective_rows_exact_figures() -> None:
    rows = csv_rows(make_statement())
    objectives = records(rows, "objective")
    header = header_of(rows, "objective")
    assert header == [
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
    by_key = {row[1]: dict(zip(header, row, strict=True)) for row in objectives}
    assert list(by_key) == ["api-availability", "api-latency", "support-response"]
    avail = by_key["api-availability"]
    assert avail["target"] == "99.9"
    assert avail["achieved"] == "99.780"  # truncated as on the pages (rule 19)
    assert avail["status"] == "breached"
    assert avail["good"] == "44542"
    assert avail["bad"] == "98"
    assert avail["unit"] == "minutes"
    assert avail["completeness"] == "99.980"
    assert avail["credit_percent"] == "10"
    assert avail["credit_amount"] == "1200.00"
    nodata = by_key["support-response"]
    assert nodata["achieved"] == ""
    assert nodata["completeness"] == ""
    assert nodata["credit_amount"] == "0.00"
    assert nodata["indicator"] == "Support first response within 4 h, 24×7 ≥ P2"


def test_csv_arithmetic_rows() -> None:
    rows = csv_rows(make_statement())
    amounts = {row[1]: row[2] for row in records(rows, "computation")}
    assert amounts == {"subtotal": "1200.00", "cap": "600.00", "credit_total": "600.00"}
    notes = {row[1]: row[4] for row in records(rows, "computation")}
    assert "cap applies" in notes["credit_total"]
    assert notes["cap"] == "5% of monthly fee 12000.00"


def test_csv_amounts_exact_and_never_exponent() -> None:
    statement = make_statement(
        subtotal=Decimal("1234.565"), monthly_fee=Decimal("1E+4"), cap_amount=Decimal("5E+2")
    )
    rows = csv_rows(statement)
    amounts = {row[1]: row[2] for row in records(rows, "computation")}
    assert amounts["subtotal"] == "1234.565"  # exact: the lines add up to it as printed
    assert amounts["cap"] == "500.00"
    fields = {row[1]: row[2] for row in records(rows, "statement")}
    assert fields["monthly_fee"] == "10000.00"


def test_csv_evidence_and_restatements() -> None:
    rows = csv_rows(make_statement())
    evidence = records(rows, "evidence")
    assert header_of(rows, "evidence") == [
        "record",
        "type",
        "objective",
        "start",
        "end",
        "amount",
        "unit",
        "title",
        "note",
    ]
    assert [row[1] for row in evidence] == [
        "down_spell",
        "down_spell",
        "incident",
        "maintenance",
        "maintenance",
    ]
    assert evidence[0][2:7] == [
        "api-availability",
        "2026-10-03T10:00:00+02:00",
        "2026-10-03T11:02:00+02:00",
        "62",
        "minutes",
    ]
    incident = evidence[2]
    assert incident[5:] == ["3720", "seconds", "API down in Zürich — 24×7 ≥", "impact: major"]
    assert evidence[3][5] == "90.00"
    assert evidence[3][8] == "excluded: announced 7 days ahead"
    assert evidence[4][8] == "counted: announced too late"
    (restatement,) = records(rows, "restatement")
    assert restatement == [
        "restatement",
        "2026-11-05T09:30:00+01:00",
        "1200.00",
        "600.00",
        "EUR",
        "Cap of 5% applied per terms v3 — €",
    ]


def test_csv_ongoing_incident_and_evidence_without_objective() -> None:
    statement = make_statement(
        evidence={
            "zz-orphan": Evidence(
                incidents=(("Still open", "minor", at(30, 8), None, Decimal("12.5")),)
            ),
        }
    )
    (row,) = records(csv_rows(statement), "evidence")
    assert row[2] == "zz-orphan"
    assert row[4] == ""
    assert row[5] == "12.5"
    assert "ongoing" in row[8]


@pytest.mark.parametrize("payload", ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\t=x"])
def test_csv_formula_injection_guarded(payload: str) -> None:
    statement = make_statement(
        agreement_name=payload,
        customer_name=payload,
        claim_status=payload,
        evidence={
            "api-availability": Evidence(incidents=((payload, payload, at(1), at(2), Decimal(1)),))
        },
        restatements=(Restatement(at(4, month=11), Decimal(1), Decimal(2), payload),),
    )
    rows = csv_rows(statement)
    cells = [cell for row in rows for cell in row]
    assert payload not in cells
    assert cells.count("'" + payload) == 5
    # Numbers are left alone so they stay numbers.
    assert "1.00" in cells


def test_csv_without_objectives_or_evidence() -> None:
    statement = make_statement(
        objectives=(),
        subtotal=Decimal(0),
        credit_total=Decimal(0),
        evidence={},
        restatements=(),
        closed_at=None,
    )
    rows = csv_rows(statement)
    assert records(rows, "objective") == []
    assert records(rows, "evidence") == []
    assert {row[1]: row[2] for row in records(rows, "statement")}["closed_at"] == ""
    assert {row[1]: row[2] for row in records(rows, "computation")}["credit_total"] == "0.00"


# ---------------------------------------------------------------------------
# PDF
# ---------------------------------------------------------------------------


def test_pdf_is_a_pdf() -> None:
    data = statement_pdf(make_statement())
    assert isinstance(data, bytes)
    assert data.startswith(b"%PDF")
    assert data.rstrip().endswith(b"%%EOF")


def test_pdf_contains_the_statement_text() -> None:
    data = statement_pdf(make_statement(), compress=False)
    for text in (
        b"Service credit statement",
        b"acme-api-gold",
        "Acme Versicherungen AG, Zürich".encode("latin-1"),
        b"Example Hosting GmbH",
        b"2026-10",
        b"Europe/Zurich",
        b"version 3, effective from 2026-07",
        b"2026-11-03 02:00",
        b"issued automatically",
        b"Credit total: 600.00 EUR",
        b"How the credit was computed",
        b"Evidence",
        b"Restatements",
    ):
        assert text in data, text


def test_pdf_objectives_table() -> None:
    data = statement_pdf(make_statement(), compress=False)
    for text in (b"99.9%", b"99.780%", b"breached", b"no data", b"99.980%", b"n/a", b"1,200.00"):
        assert text in data, text
    assert b"minutes" in data
    assert b"44542 good" in data


def test_pdf_explains_the_arithmetic() -> None:
    data = statement_pdf(make_statement(), compress=False)
    assert (
        b"api-availability: achieved 99.780% is below 99.9 -> tier 10% x 12,000.00 EUR = 1,200.00 EUR"
        in data
    )
    assert b"api-latency: achieved 99.620% meets the target of 99% -> no credit" in data
    assert b"support-response: no data \\(completeness n/a\\) -> no credit" in data
    assert b"Cap: 5% of 12,000.00 = 600.00 EUR" in data
    assert b"min\\(subtotal, cap\\) = 600.00 = 600.00 EUR \\(the cap applies\\)" in data


def test_pdf_picks_the_tier_that_matches_the_credit() -> None:
    line = dataclasses.replace(
        availability(),
        achieved=Decimal("98.5"),
        credit_percent=Decimal(25),
        credit_amount=FEE * 25 / 100,
    )
    data = statement_pdf(make_statement(objectives=(line,)), compress=False)
    assert b"achieved 98.500% is below 99 -> tier 25% x 12,000.00 EUR = 3,000.00 EUR" in data


def test_pdf_no_tier_applies() -> None:
    line = dataclasses.replace(
        availability(),
        target=Decimal("99.95"),
        achieved=Decimal("99.92"),
        credit_percent=Decimal(0),
        credit_amount=Decimal(0),
    )
    data = statement_pdf(make_statement(objectives=(line,)), compress=False)
    assert b"misses the target of 99.95% but is not below 99.9 -> no tier applies" in data


def test_pdf_truncates_rather_than_rounds_achieved() -> None:
    line = dataclasses.replace(availability(), achieved=Decimal("99.8996"))
    data = statement_pdf(make_statement(objectives=(line,)), compress=False)
    assert b"99.899%" in data
    assert b"99.90%" not in data


def test_pdf_evidence() -> None:
    data = statement_pdf(make_statement(), compress=False)
    assert b"Down 2026-10-03 10:00 - 2026-10-03 11:02: 62 min" in data
    assert b"3720 s counted" in data
    assert b"excluded because announced 7 days ahead" in data
    assert b"counted because announced too late" in data
    assert b"No down spells, incidents, breached tickets or maintenance." in data


def test_pdf_replaces_characters_outside_latin1() -> None:
    data = statement_pdf(make_statement(), compress=False)
    assert "Acme API Gold - Zürich".encode("latin-1") in data
    assert "API down in Zürich - 24×7 >=".encode("latin-1") in data
    assert b"terms v3 - EUR" in data
    # Characters with no stand-in still never break rendering.
    odd = make_statement(customer_name="Łódź 東京 🙂 Őrség")
    assert "Lódz ?? ? Orség".encode("latin-1") in statement_pdf(odd, compress=False)


def test_pdf_page_numbers_in_footer() -> None:
    pages, total = pdf_pages(statement_pdf(make_statement(), compress=False))
    assert pages == list(range(1, total + 1))


def test_pdf_many_evidence_rows_break_pages() -> None:
    start = at(1)
    spells = tuple(
        (start + timedelta(hours=i), start + timedelta(hours=i, minutes=5), 5) for i in range(400)
    )
    statement = make_statement(evidence={"api-availability": Evidence(down_spells=spells)})
    data = statement_pdf(statement, compress=False)
    pages, total = pdf_pages(data)
    assert total >= 5
    assert pages == list(range(1, total + 1))
    assert b"2026-10-17 15:00" in data  # a late row is still there


def test_pdf_long_texts_wrap_without_failing() -> None:
    long_text = "Very long explanation of the maintenance window. " * 150
    unbroken = "x" * 600
    line = dataclasses.replace(availability(), indicator=long_text + unbroken, key="k" * 120)
    statement = make_statement(
        agreement_name=long_text,
        objectives=(line, latency()),
        evidence={
            "k" * 120: Evidence(
                maintenance=(("M " + unbroken, at(1), at(2), False, long_text),),
            )
        },
        restatements=(Restatement(at(4, month=11), Decimal(1), Decimal(2), long_text),) * 3,
    )
    data = statement_pdf(statement)
    assert data.startswith(b"%PDF")


def test_pdf_minimal_statement() -> None:
    statement = make_statement(
        objectives=(),
        subtotal=Decimal(0),
        credit_total=Decimal(0),
        evidence={},
        restatements=(),
        closed_at=None,
        claim_status="",
    )
    data = statement_pdf(statement, compress=False)
    assert b"not closed" in data
    assert b"No evidence recorded for this period." in data
    assert b"Restatements" not in data


def test_pdf_is_deterministic_for_a_closed_statement() -> None:
    assert statement_pdf(make_statement()) == statement_pdf(make_statement())


def _two_five_percent_lines(fee: Decimal) -> tuple[ObjectiveLine, ObjectiveLine]:
    exact = fee * 5 / 100
    first = dataclasses.replace(
        availability(),
        credit_percent=Decimal(5),
        credit_amount=exact,
        tiers=((Decimal("99.9"), Decimal(5)),),
    )
    second = dataclasses.replace(
        latency(),
        achieved=Decimal(90),
        status=Status.BREACHED,
        credit_percent=Decimal(5),
        credit_amount=exact,
        tiers=((Decimal(99), Decimal(5)),),
    )
    return first, second


def test_statement_lines_add_up_to_the_total_as_printed() -> None:
    # A fee of 100.05 with two objectives at 5 % each: 5.0025 + 5.0025 = 10.005, which
    # rounds half-up to 10.01. Lines print exactly and the total says how it was rounded.
    fee = Decimal("100.05")
    lines = _two_five_percent_lines(fee)
    statement = make_statement(
        monthly_fee=fee,
        credit_cap_percent=Decimal(100),
        objectives=lines,
        subtotal=Decimal("10.005"),
        cap_amount=fee,
        credit_total=Decimal("10.01"),
        restatements=(),
    )
    rows = csv_rows(statement)
    line_amounts = [Decimal(row[-1]) for row in records(rows, "objective")]
    amounts = {row[1]: row[2] for row in records(rows, "computation")}
    assert sum(line_amounts) == Decimal(amounts["subtotal"]) == Decimal("10.005")
    assert amounts["credit_total"] == "10.01"
    notes = {row[1]: row[4] for row in records(rows, "computation")}
    assert "10.005 rounded half-up to the cent" in notes["credit_total"]
    data = statement_pdf(statement, compress=False)
    assert b"Subtotal: 5.0025 + 5.0025 = 10.005 EUR" in data
    assert b"rounded half-up to the cent: 10.01 EUR" in data


def test_breached_tickets_are_evidence_with_how_much_they_missed_by() -> None:
    evidence = Evidence(
        breached_tickets=(("T-17", "P1", at(6, 9, 5), Decimal(5400), Decimal(3600)),)
    )
    statement = make_statement(evidence={"support-response": evidence})
    rows = records(csv_rows(statement), "evidence")
    ticket = next(row for row in rows if row[1] == "breached_ticket")
    assert ticket[2] == "support-response" and ticket[5] == "5400" and ticket[7] == "T-17"
    assert "over by 1800 s" in ticket[8]
    data = statement_pdf(statement, compress=False)
    assert b"Ticket T-17 \\(P1\\)" in data
    assert b"1 h 30 min of covered time against 1 h, over by 30 min" in data
