"""Routes of notifications: pages (settings, acknowledgement links) and API (webhooks)."""

urlpatterns: list = []
