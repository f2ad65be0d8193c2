from __future__ import annotations

from django import forms

from agreements.models import Service


class SubscribeForm(forms.Form):
    email = forms.EmailField(max_length=254, label="Email address")
    services = forms.ModelMultipleChoiceField(
        queryset=Service.objects.filter(public=True).order_by("name", "key"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Services (none chosen: all of them)",
        to_field_name="key",
    )

    def clean_email(self) -> str:
        return str(self.cleaned_data["email"]).strip().lower()
