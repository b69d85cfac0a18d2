"""URLs of the health sub-domain (ENT-5).
config/urls_tenants.py mounts console_patterns under /console/, me_patterns under /me/,
api_patterns under /api/v1/ and device_patterns under /api/device/v1/."""

from django.urls import path

from health import apis, views

console_patterns = [
    path("health/", views.HealthSummaryView.as_view(), name="console_health"),
    path("health/export/", views.HealthExportView.as_view(), name="console_health_export"),
    path("health/remind/", views.HealthReminderView.as_view(), name="console_health_remind"),
    path("health/settings/", views.HealthSettingsView.as_view(), name="console_health_settings"),
    path("health/reports/", views.HealthReportListView.as_view(), name="console_health_reports"),
    path(
        "health/reports/<int:pk>/reveal/", views.HealthReportRevealView.as_view(), name="console_health_report_reveal"
    ),
]
me_patterns = [
    path("health/", views.MeHealthView.as_view(), name="me_health"),
]
api_patterns = [
    path("health/reports/", apis.HealthReportsApi.as_view(), name="api_health_reports"),
    path("health/reports/mine/", apis.MyHealthReportsApi.as_view(), name="api_health_reports_mine"),
    path("health/reports/<int:pk>/reveal/", apis.HealthReportRevealApi.as_view(), name="api_health_report_reveal"),
    path("health/summary/", apis.HealthSummaryApi.as_view(), name="api_health_summary"),
    path("health/remind/", apis.HealthReminderApi.as_view(), name="api_health_remind"),
    path("health/settings/", apis.HealthSettingsApi.as_view(), name="api_health_settings"),
]
device_patterns: list = []
