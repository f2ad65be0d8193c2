from django.urls import path

from integrations import api

urlpatterns = [
    path("alertmanager/", api.AlertmanagerView.as_view(), name="integration-alertmanager"),
    path("uptime-kuma/", api.UptimeKumaView.as_view(), name="integration-uptime-kuma"),
    path("pagerduty/", api.PagerDutyView.as_view(), name="integration-pagerduty"),
    path("jira/", api.JiraView.as_view(), name="integration-jira"),
    path("zendesk/", api.ZendeskView.as_view(), name="integration-zendesk"),
]
