"""URLs of every enterprise host: /console/ for admins, /me/ for members, /api/v1/."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from accounts import views as account_views
from enterprise_data import views as console_views
from requests import apis as self_service_apis
from requests import views as self_service_views
from tenants import views as tenant_views

api_v1 = [
    path("me/", self_service_apis.MeApi.as_view(), name="api_me"),
]

urlpatterns = [
    path("", tenant_views.EnterpriseHomeView.as_view(), name="home"),
    path("login/", account_views.LoginView.as_view(), name="login"),
    path("logout/", account_views.LogoutView.as_view(), name="logout"),
    path("me/", self_service_views.MeView.as_view(), name="me"),
    path("console/", console_views.ConsoleHomeView.as_view(), name="console"),
    path("console/members/", console_views.MemberListView.as_view(), name="console_members"),
    path("console/members/<int:pk>/", console_views.MemberDetailView.as_view(), name="console_member"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path("i18n/", include("django.conf.urls.i18n")),
]
