"""Routes of the device permissions (CON-5).

`urlpatterns`: the public host's `/account/permissions/` page, included by config/urls_public.py
with `path("", include("consent.permissions.urls"))`. `api_patterns`: added to the enterprise
hosts' `/api/v1/` list by config/urls_tenants.py (`*consent_permissions.api_patterns`)."""

from django.urls import path

from consent.permissions import apis
from consent.permissions import views as views_permissions

urlpatterns = [
    path("account/permissions/", views_permissions.PermissionsView.as_view(), name="account_permissions"),
]

api_patterns = [
    path("me/permissions/", apis.MyPermissionsApi.as_view(), name="api_me_permissions"),
]
