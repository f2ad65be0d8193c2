"""Storing figures: the evaluation insert follows the model's fields."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agreements.models import Service
from agreements.services import agreement_import
from credits import storage
from credits.models import Evaluation, Period
from credits.recompute import recompute_agreement
from tests.credits.test_compliance import MARCH, minutes, simple_doc

pytestmark = pytest.mark.django_db


def model_columns() -> list[str]:
    return [f.column for f in Evaluation._meta.concrete_fields if not f.primary_key]


def test_evaluation_insert_names_every_column_of_the_model() -> None:
    with time_machine.travel(MARCH, tick=False):
        agreement = agreement_import(data=simple_doc()).agreement
    minutes(Service.objects.get(key="web"), MARCH, 30, ok=True)
    with CaptureQueriesContext(connection) as queries:
        recompute_agreement(agreement_id=agreement.pk, now=MARCH + dt.timedelta(hours=1))
    table = Evaluation._meta.db_table
    inserts = [q["sql"] for q in queries if re.match(rf'INSERT INTO "?{table}"? ', q["sql"])]
    assert len(inserts) == 1
    listed = re.search(r"\(([^)]*)\) VALUES", inserts[0])
    assert listed is not None
    assert [name.strip().strip('"') for name in listed.group(1).split(",")] == model_columns()
    assert Evaluation.objects.filter(period__agreement=agreement).count() == 1


def test_every_field_of_an_evaluation_gets_a_value() -> None:
    """A field added to the model without a value here fails, instead of storing its default."""
    with time_machine.travel(MARCH, tick=False):
        agreement = agreement_import(data=simple_doc()).agreement
    recompute_agreement(agreement_id=agreement.pk, now=MARCH + dt.timedelta(hours=1))
    from credits.evaluation import evaluate

    row = Period.objects.get(agreement=agreement)
    result = evaluate(
        agreement=agreement,
        period=row.period,
        version=row.terms_version,
        now=MARCH + dt.timedelta(hours=1),
        closed=False,
    )
    assert result is not None
    values = storage.evaluation_values(row, result.objectives[0], at=None)
    attnames = [f.attname for f in Evaluation._meta.concrete_fields if not f.primary_key]
    assert sorted(values) == sorted(attnames)
    assert [c.attname for c in storage.evaluation_columns()] == attnames


def test_stored_decimals_take_their_columns_places_half_to_even() -> None:
    field = Evaluation._meta.get_field("target")  # 4 places
    assert storage.fit(Decimal("99.12345"), field) == Decimal("99.1234")
    assert storage.fit(Decimal("99.12355"), field) == Decimal("99.1236")
    assert storage.fit(None, field) is None
    cap = Period._meta.get_field("credit_cap")  # 2 places
    assert storage.fit(Decimal("100.125"), cap) == Decimal("100.12")


def test_an_unbounded_burn_rate_is_stored_as_the_columns_largest_whole_number() -> None:
    with time_machine.travel(MARCH, tick=False):
        agreement = agreement_import(
            data=simple_doc(
                objectives=[
                    {
                        "key": "up",
                        "service": "web",
                        "indicator": "availability",
                        "target": 100,
                        "credits": [{"below": 100, "percent": 10}],
                    }
                ]
            )
        ).agreement
    minutes(Service.objects.get(key="web"), MARCH, 30, ok=False)
    recompute_agreement(agreement_id=agreement.pk, now=MARCH + dt.timedelta(minutes=40))
    evaluation = Evaluation.objects.get(period__agreement=agreement)
    assert evaluation.burn_rate_1h == Decimal("99999999999999")
