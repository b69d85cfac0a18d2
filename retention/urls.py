"""URLs of the retention settings (RET-1)."""

from django.urls import path

from retention import apis, views

console_patterns = [
    path("retention/", views.RetentionSettingsView.as_view(), name="console_retention"),
]
me_patterns: list = []
api_patterns = [
    path("retention/", apis.RetentionApi.as_view(), name="api_retention"),
]
device_patterns: list = []
