"""Input and output of the webhooks and escalation API."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from agreements.models import Customer
from agreements.text import TextError, single_line
from notifications import webhooks
from notifications.models import EVENT_TYPES, Escalation, WebhookEndpoint


class WebhookInSerializer(serializers.Serializer):
    url = serializers.CharField(max_length=500)
    events = serializers.ListField(child=serializers.CharField(max_length=64), allow_empty=False)
    customer = serializers.SlugField(required=False)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)

    def validate_url(self, value: str) -> str:
        try:
            value = single_line(value, "url", max_length=500)
            webhooks.check_url(value)
        except TextError as error:
            raise serializers.ValidationError(error.message) from None
        except webhooks.UnsafeUrl as error:
            raise serializers.ValidationError(str(error)) from None
        return value

    def validate_description(self, value: str) -> str:
        if not value:
            return value
        try:
            return single_line(value, "description", max_length=200)
        except TextError as error:
            raise serializers.ValidationError(error.message) from None

    def validate_events(self, value: list[str]) -> list[str]:
        for index, name in enumerate(value):
            if name not in EVENT_TYPES:
                raise serializers.ValidationError(
                    f"events[{index}]: unknown event {name!r}; known events: "
                    + ", ".join(EVENT_TYPES)
                )
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        key = self.context["api_key"]
        given = attrs.get("customer")
        if key.customer_id is not None:
            if given is not None and given != key.customer.key:
                raise serializers.ValidationError(
                    {"customer": "this API key registers webhooks for its own customer only"}
                )
            attrs["customer"] = key.customer
            return attrs
        if given is None:
            raise serializers.ValidationError(
                {"customer": "required: this API key is not bound to a customer"}
            )
        customer = Customer.objects.filter(key=given).first()
        if customer is None:
            raise serializers.ValidationError({"customer": f"unknown customer {given!r}"})
        attrs["customer"] = customer
        return attrs


class WebhookCreatedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    secret = serializers.CharField()


class WebhookSerializer(serializers.ModelSerializer):
    customer: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="key", read_only=True
    )

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "customer",
            "url",
            "events",
            "description",
            "is_active",
            "consecutive_failures",
            "disabled_at",
            "disabled_reason",
            "created_at",
        ]


class EscalationSerializer(serializers.ModelSerializer):
    agreement: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="key", read_only=True
    )

    class Meta:
        model = Escalation
        fields = [
            "id",
            "agreement",
            "kind",
            "subject",
            "objective_key",
            "started_at",
            "level_notified",
            "next_at",
            "state",
            "acknowledged_at",
            "acknowledged_by",
            "acknowledged_via",
            "resolved_at",
            "resolution",
        ]
