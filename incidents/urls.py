"""Incident routes: `patterns` on every host (config/urls_public.py, config/urls_tenants.py),
`console_patterns` under /console/ on enterprise hosts."""

from django.urls import path

from incidents import views

patterns = [
    path("incidents/<int:pk>/", views.IncidentDetailView.as_view(), name="incident"),
]

console_patterns = [
    path("incidents/", views.ConsoleIncidentListView.as_view(), name="console_incidents"),
]
