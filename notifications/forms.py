from __future__ import annotations

from typing import Any

from django import forms

from notifications import webhooks
from notifications.models import EventType, WebhookEndpoint


class WebhookEndpointForm(forms.ModelForm):
    """Admin form: the same URL checks as the API, events as checkboxes."""

    url = forms.URLField(max_length=500, assume_scheme="https")
    events = forms.MultipleChoiceField(
        choices=EventType.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["customer", "url", "events", "description", "is_active"]

    def clean_url(self) -> str:
        url = self.cleaned_data["url"].strip()
        try:
            webhooks.check_url(url)
        except webhooks.UnsafeUrl as error:
            raise forms.ValidationError(str(error)) from None
        return url

    def clean_events(self) -> list[str]:
        chosen: Any = self.cleaned_data["events"]
        return [t for t in EventType.values if t in set(chosen)]
