from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
import time_machine
from rest_framework.test import APIClient

from agreements.services import agreement_import

UTC = dt.UTC
MARCH = dt.datetime(2026, 3, 1, tzinfo=UTC)
# Deliveries arrive on 2 March, noon: their events are of that morning.
NOW = dt.datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def shop_doc(**over: Any) -> dict[str, Any]:
    doc = {
        "agreement": "shop",
        "customer": {"key": "shop-co", "name": "Shop Co"},
        "name": "Shop",
        "timezone": "UTC",
        "effective_from": "2026-03-01",
        "currency": "EUR",
        "monthly_fee": "1000.00",
        "objectives": [
            {
                "key": "api-up",
                "service": "api",
                "indicator": "availability",
                "source": "incidents",
                "target": 99.9,
            },
        ],
    }
    doc.update(over)
    return doc


@pytest.fixture
def shop(db: Any) -> Any:
    with time_machine.travel(MARCH, tick=False):
        return agreement_import(data=shop_doc()).agreement


@pytest.fixture
def at_noon() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield NOW


def post(client: APIClient, path: str, body: Any, **headers: str) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post(path, data=raw, content_type="application/json", **headers)
