"""Routes of notifications: pages (settings, acknowledgements) and API (webhooks).

Included at the site root, so paths are complete.
"""

from __future__ import annotations

from django.urls import include, path

from notifications import api, views

app_name = "notifications"

api_v1 = [
    path("webhooks/", api.WebhooksView.as_view(), name="webhooks"),
    path("webhooks/<int:pk>/", api.WebhookDetailView.as_view(), name="webhook"),
    path("escalations/", api.EscalationsView.as_view(), name="escalations"),
    path(
        "escalations/<int:pk>/acknowledge/",
        api.EscalationAckView.as_view(),
        name="escalation-ack",
    ),
]

urlpatterns = [
    path(
        "agreements/<slug:key>/notifications/",
        views.notification_settings,
        name="settings",
    ),
    path(
        "agreements/<slug:key>/escalations/<int:pk>/acknowledge/",
        views.acknowledge,
        name="acknowledge",
    ),
    path("notifications/ack/<str:token>/", views.acknowledge_by_link, name="ack-link"),
    path("api/v1/", include(api_v1)),
]
