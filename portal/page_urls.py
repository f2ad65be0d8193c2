"""Routes of the customer portal pages."""

from django.urls import path

from portal import views

urlpatterns = [
    path("", views.dashboard, name="home"),
    path("agreements/<slug:key>/", views.agreement_detail, name="agreement"),
]
