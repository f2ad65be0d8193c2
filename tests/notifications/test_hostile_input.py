"""Webhook registrations take one clean line of URL and description."""

from __future__ import annotations

from typing import Any

import pytest

from notifications.models import WebhookEndpoint

pytestmark = pytest.mark.django_db
PUBLIC = "https://93.184.216.34/hooks/sla"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("url", "https://93.184.216.34/hooks/\nsla"),
        ("url", "https://93.184.\r216.34/hooks/sla"),
        ("url", "https://93.184.216.34/hooks/\tsla"),
        ("description", "ops\nBcc: x@example.invalid"),
        ("description", "c1 \x85 next line"),
    ],
)
def test_webhook_text_with_control_characters_is_refused(
    agreement: Any, api: Any, field: str, value: str
) -> None:
    body = {"url": PUBLIC, "events": ["objective.breached"], field: value}
    response = api("write").post("/api/v1/webhooks/", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert not WebhookEndpoint.objects.exists()
