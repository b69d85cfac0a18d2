"""URLs of the directory and org structure (ENT-1, ENT-2, ENT-8, ENT-9)."""

from django.urls import path

from enterprise_data.views import directory as views

console_patterns = [
    path("", views.ConsoleHomeView.as_view(), name="console"),
    path("members/", views.MemberListView.as_view(), name="console_members"),
    path("members/<int:pk>/", views.MemberDetailView.as_view(), name="console_member"),
]
me_patterns: list = []
api_patterns: list = []
device_patterns: list = []
