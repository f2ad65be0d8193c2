"""Credits over the API hold at every edge: a bad page, period or reason is a 400 naming
it, never a 500 or a ledger entry."""

from __future__ import annotations

import json
from typing import Any

import pytest

from credits.models import LedgerEntry, Period, Restatement
from tests.credits.test_ledger import close, load, shop

pytestmark = pytest.mark.django_db
RESTATE = "/api/v1/agreements/shop/periods/2026-03/restate/"


@pytest.mark.parametrize("page", ["9223372036854775807", str(10**30), "1000"])
def test_a_page_far_past_the_end_of_the_ledger_is_empty(api: Any, page: str) -> None:
    shop()
    load(ok=95, failed=5)
    close()
    response = api("read").get(f"/api/v1/agreements/shop/ledger/?page={page}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["entries"] == [] and body["next"] is None and body["count"] == 1


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("page=" + "9" * 5000, "page"),
        ("page=-1", "page"),
        ("page_size=9223372036854775807", "page_size"),
        ("page=1%00", "page"),
    ],
    ids=["5000-digits", "negative", "huge-size", "nul"],
)
def test_a_bad_ledger_page_is_a_400(api: Any, query: str, field: str) -> None:
    shop()
    response = api("read").get(f"/api/v1/agreements/shop/ledger/?{query}")
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/agreements/shop/compliance/?period=2026-03%0A",
        "/api/v1/agreements/shop/compliance/history/?from=2026-03%0A",
    ],
)
def test_a_period_with_a_trailing_newline_is_a_400(api: Any, path: str) -> None:
    shop()
    response = api("read").get(path)
    assert response.status_code == 400, response.content
    assert "2026-03\\n" in response.json()["error"]


@pytest.mark.parametrize(
    ("reason", "words"),
    [
        ("x" * 600, "at most 400"),
        ("late data\nBcc: x@example.invalid", "single line"),
        ("nul\x00byte", "single line"),
        ("lone \udfff surrogate", "single line"),
        ("   ", "non-empty"),
        (42, "string"),
    ],
    ids=["600-chars", "newline", "nul", "surrogate", "blank", "number"],
)
def test_a_bad_restatement_reason_is_a_400_and_changes_nothing(
    api: Any, reason: Any, words: str
) -> None:
    shop()
    load(ok=95, failed=5)
    period = close()
    entries = list(LedgerEntry.objects.values_list("pk", flat=True))
    body = json.dumps({"reason": reason})  # escapes a lone surrogate, as a client would
    response = api("write").post(RESTATE, body, content_type="application/json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error.startswith("reason: ") and words in error
    assert list(LedgerEntry.objects.values_list("pk", flat=True)) == entries
    assert not Restatement.objects.exists()
    assert Period.objects.get(pk=period.pk).revision == 1


def test_the_longest_restatement_reason_is_stored_whole(api: Any) -> None:
    shop()
    load(ok=95, failed=5)
    close()
    response = api("write").post(RESTATE, {"reason": "y" * 400}, format="json")
    assert response.status_code == 200, response.content
    assert Restatement.objects.get().reason == "y" * 400
