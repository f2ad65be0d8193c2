from __future__ import annotations

from django.contrib import admin

from portal.admin_helpers import ModelAdmin
from status.models import Subscriber


@admin.register(Subscriber)
class SubscriberAdmin(ModelAdmin):
    list_display = ["email", "all_services", "confirmed_at", "created_at"]
    list_filter = ["all_services", ("confirmed_at", admin.EmptyFieldListFilter)]
    search_fields = ["email"]
    filter_horizontal = ["services"]
    readonly_fields = ["confirmed_at", "created_at"]
