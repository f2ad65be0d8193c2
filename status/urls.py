"""Routes of the public status page (SPEC §4), mounted at the site root."""

from django.urls import path

from status import views

app_name = "status"

urlpatterns = [
    path("status/", views.page, name="page"),
    path("status.json", views.status_json, name="json"),
    path("status/feed.atom", views.feed, name="feed"),
    path("status/badge/<slug:service>.svg", views.badge, name="badge"),
    path("status/subscribe/", views.subscribe, name="subscribe"),
    path("status/subscribe/confirm/<str:token>/", views.confirm, name="confirm"),
    path("status/unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
