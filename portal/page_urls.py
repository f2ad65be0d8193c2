"""Routes of the customer portal pages and the account pages around sign-in."""

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.urls import path, re_path

from contracts import views as contract_views
from portal import views

urlpatterns = [
    path("", views.dashboard, name="home"),
    path("agreements/<slug:key>/", views.agreement_detail, name="agreement"),
    path(
        "agreements/<slug:key>/claims/<int:claim_id>/claim/",
        views.claim_credit,
        name="claim-credit",
    ),
    re_path(
        r"^agreements/(?P<key>[-a-zA-Z0-9_]+)/statements/(?P<period>[0-9]{4}-[0-9]{2})\.(?P<fmt>pdf|csv)$",
        views.statement,
        name="statement",
    ),
    path(
        "agreements/<slug:key>/documents/<int:pk>/",
        views.document_download,
        name="agreement-document",
    ),
    path("agreements/<slug:key>/notice/", contract_views.notice, name="contract-notice"),
    path(
        "agreements/<slug:key>/amendments/<int:pk>/",
        contract_views.amendment,
        name="contract-amendment",
    ),
    path(
        "accounts/password/change/",
        auth_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "accounts/password/change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path(
        "accounts/password/reset/",
        views.PasswordResetView.as_view(),
        name="password_reset",
    ),
    path(
        "accounts/password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "accounts/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
]

# The benchmark's ceiling, a view that does nothing, exists only when asked for.
if settings.PORTAL_BENCH_TRIVIAL:
    urlpatterns.append(path("bench/trivial", views.trivial, name="bench-trivial"))
