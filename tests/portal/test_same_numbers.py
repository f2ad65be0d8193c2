"""Same numbers everywhere (rule 19): for every closed period of the demo, the agreement
page, the PDF and CSV statements and the API read every figure identically."""

from __future__ import annotations

import csv
import html
import io
import re
import zlib
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from agreements import display
from credits.models import Period

pytestmark = pytest.mark.django_db


def _pdf_text(data: bytes) -> str:
    """The text drawn in a PDF's (deflated) content streams. Each stream runs to
    "endstream"; the end of line before it is left to the decompressor, which keeps what
    follows the deflated data aside: trimming it by pattern would cut a stream whose
    last byte happens to be a carriage return."""
    out = []
    for stream in re.findall(rb"stream\r?\n(.*?)endstream", data, re.S):
        try:
            out.append(zlib.decompressobj().decompress(stream).decode("latin-1"))
        except zlib.error:
            out.append(stream.decode("latin-1"))
    return "".join(out).replace("\\(", "(").replace("\\)", ")")


def _statement_rows(text: str, kind: str) -> list[list[str]]:
    return [row for row in csv.reader(io.StringIO(text)) if row and row[0] == kind]


def test_every_closed_demo_period_reads_the_same_everywhere(client: Any, api: Any) -> None:
    call_command("seed_demo", "--quiet-logins", stdout=io.StringIO())
    client.force_login(get_user_model().objects.get(username="admin"))
    reader = api("read")
    closed = list(Period.objects.filter(state=Period.State.CLOSED).select_related("agreement"))
    assert len(closed) >= 6  # three agreements, the months before this one
    pages: dict[str, str] = {}
    combined: set[str] = set()
    for period in closed:
        agreement = period.agreement
        key, month = agreement.key, period.period
        if key not in pages:
            pages[key] = html.unescape(client.get(f"/agreements/{key}/").content.decode())
        page = pages[key]
        body = reader.get(f"/api/v1/agreements/{key}/compliance/?period={month}").json()
        statement = client.get(f"/agreements/{key}/statements/{month}.csv").content.decode()
        pdf = _pdf_text(client.get(f"/agreements/{key}/statements/{month}.pdf").content)
        csv_objectives = {row[1]: row for row in _statement_rows(statement, "objective")}
        for objective in body["objectives"]:
            shown = objective["achieved_text"]
            target = Decimal(str(objective["target"]))
            achieved = objective["achieved"]
            # The API's figure, its text, the page, the CSV and the PDF agree.
            if achieved is not None and "bound" in objective:
                # A bounded value (rules 15-17): shown with its unit, cut away from its
                # bound; the CSV keeps the exact value beside the unit.
                unit = "%" if "commitment" in objective else objective["unit"]
                (bound,) = objective["bound"]
                assert display.measured(Decimal(str(achieved)), unit, bound=bound) == shown
                cell = csv_objectives[objective["key"]][4]
                if unit == "%":  # a commitment's percent delivered reads as any percent
                    assert f"{cell}%" == shown
                else:
                    assert Decimal(cell) == Decimal(str(achieved))
                assert shown in pdf, (key, month, shown)
            elif achieved is not None:
                assert display.percent(Decimal(str(achieved)), target) == shown
                assert f"{csv_objectives[objective['key']][4]}%" == shown
                assert shown in pdf, (key, month, shown)
            assert f"{objective['key']}: {shown}" in page, (key, month, objective["key"])
            assert csv_objectives[objective["key"]][5] == objective["status"]
            if objective.get("attribution"):
                _same_attribution(objective, statement, pdf)
                combined.add(key)
        amount = Decimal(body["credit"]["amount"])
        total = {row[1]: row[2] for row in _statement_rows(statement, "computation")}
        assert Decimal(total["credit_total"]) == amount == period.credit_amount
        assert f"Credit total: {display.money(amount)}" in pdf
        assert f"{display.money(amount)} {agreement.currency}" in page
    # The demo's checkout (rule 18) was among them, its evidence checked service by service.
    assert "globex-checkout" in combined


def _same_attribution(objective: dict[str, Any], statement: str, pdf: str) -> None:
    """Each service's share of an objective over several services (rule 18): the API's,
    the CSV evidence's exact figure and the PDF's words agree."""
    per_unit = {"minutes": 60, "seconds": 1}
    rows = {
        row[7]: row
        for row in _statement_rows(statement, "evidence")
        if row[1] == "service" and row[2] == objective["key"]
    }
    assert set(rows) == {share["service"] for share in objective["attribution"]}
    for share in objective["attribution"]:
        row = rows[share["service"]]
        seconds = Decimal(str(share["bad"])) * per_unit[share["unit"]]
        assert Decimal(row[5]) * per_unit[row[6]] == seconds
        assert row[8] == f"{share['name']} ({share['provider']})"
        text = display.attribution([{**share, "bad": row[5]}], row[6])
        assert text in objective["attribution_text"]
        assert f"Service {text} of the bad time" in pdf, text
