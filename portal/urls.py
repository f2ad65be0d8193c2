from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from agreements.api import AgreementViewSet, ApiRootView
from contracts import api as contracts_api
from credits import api as credits_api
from credits import ticket_api
from integrations.exposition import MetricsView
from metrics import api as metrics_api
from portal import views

router = SimpleRouter()
router.register("agreements", AgreementViewSet, basename="agreement")

api_v1 = [
    path("", ApiRootView.as_view(), name="api-root"),
    path("probes/", metrics_api.ProbesView.as_view(), name="ingest-probes"),
    path("events/", metrics_api.EventsView.as_view(), name="ingest-events"),
    path("tickets/", metrics_api.TicketsView.as_view(), name="ingest-tickets"),
    path("incidents/", metrics_api.IncidentsView.as_view(), name="ingest-incidents"),
    path("maintenance/", metrics_api.MaintenanceView.as_view(), name="ingest-maintenance"),
    path("exclusions/", metrics_api.ExclusionsView.as_view(), name="exclusions"),
    path("samples/", metrics_api.SamplesView.as_view(), name="ingest-samples"),
    path(
        "agreements/<slug:key>/compliance/", credits_api.ComplianceView.as_view(), name="compliance"
    ),
    path(
        "agreements/<slug:key>/compliance/history/",
        credits_api.ComplianceHistoryView.as_view(),
        name="compliance-history",
    ),
    path("agreements/<slug:key>/tickets/", ticket_api.TicketsView.as_view(), name="tickets"),
    path("agreements/<slug:key>/ledger/", credits_api.LedgerView.as_view(), name="ledger"),
    path(
        "agreements/<slug:key>/ledger/export.csv",
        credits_api.LedgerCsvView.as_view(),
        name="ledger-csv",
    ),
    path("agreements/<slug:key>/claims/", credits_api.ClaimsView.as_view(), name="claims"),
    path(
        "agreements/<slug:key>/periods/<str:period>/restate/",
        credits_api.RestateView.as_view(),
        name="restate",
    ),
    path("agreements/<slug:key>/notice/", contracts_api.NoticeView.as_view(), name="notice"),
    path(
        "agreements/<slug:key>/amendments/",
        contracts_api.AmendmentsView.as_view(),
        name="amendments",
    ),
    path(
        "agreements/<slug:key>/amendments/<int:pk>/accept/",
        contracts_api.AmendmentDecisionView.as_view(accept=True),
        name="amendment-accept",
    ),
    path(
        "agreements/<slug:key>/amendments/<int:pk>/reject/",
        contracts_api.AmendmentDecisionView.as_view(accept=False),
        name="amendment-reject",
    ),
    path("integrations/", include("integrations.urls")),
    *router.urls,
]

urlpatterns = [
    path("", include("portal.page_urls")),
    path("", include("notifications.urls")),
    path("", include("status.urls")),
    path("healthz", views.healthz, name="healthz"),
    path("metrics", MetricsView.as_view(), name="metrics"),
    path("accounts/login/", views.login, name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Before admin.site.urls, so the admin's sign-in has the portal's lockout.
    path("admin/login/", views.admin_login, name="admin-login"),
    path("admin/", admin.site.urls),
    path("api/v1/", include((api_v1, "api"), namespace="v1")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]

handler404 = "portal.views.not_found"
handler500 = "portal.views.server_error"
