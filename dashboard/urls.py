"""URLs of the console home (ENT-12). config/urls_tenants.py mounts console_patterns under /console/."""

from django.urls import path

from dashboard import views

console_patterns = [
    path("", views.ConsoleHomeView.as_view(), name="console"),
]
