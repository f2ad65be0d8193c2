"""The API against its own OpenAPI document (schemathesis): generated requests with a
read key and an ingest key never get a 500, and every answer's status, content type
and body are the ones the document gives."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, seed, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from portal.wsgi import application
from tests.conftest import make_key

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Examples per operation: enough to reach every error answer, within about a minute.
EXAMPLES = 15


@pytest.fixture
def keys(agreement: Any) -> Any:
    # Requests go through the WSGI handler, which closes the database connection after
    # each one, and with it the test's transaction; Django's test client does the same.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield {"read": make_key(["read"]), "ingest": make_key(["ingest"])}
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.mark.django_db
@schema.parametrize()
@seed(20261129)
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=False,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_schema(case: Any, keys: dict[str, str]) -> None:
    key = keys["ingest"] if case.method == "POST" else keys["read"]
    case.call_and_validate(headers={"Authorization": f"Bearer {key}"}, checks=CHECKS)
