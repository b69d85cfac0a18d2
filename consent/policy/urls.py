"""URLs of the platform privacy policy (CON-1, CON-2), on every host."""

from django.urls import path

from consent.policy import views

patterns = [
    path("policy/", views.PolicyView.as_view(), name="policy_current"),
    path("policy/<str:version>/", views.PolicyView.as_view(), name="policy_version"),
]
