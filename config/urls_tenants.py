"""URLs of every enterprise host: /console/ for admins, /me/ for members, /api/v1/ for both,
/api/device/v1/ for devices. Each sub-domain of enterprise_data has its own URL module."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from accounts import views as account_views
from accounts.two_factor.views import TwoFactorView
from attendance import urls as attendance
from biometrics import urls as biometrics
from consent import urls as consent_urls
from core import views as core_views
from dashboard import urls as dashboard_urls
from directory import urls as directory
from health import urls as health
from incidents import urls as incident_urls
from invitations import urls as invitations
from ledger import urls as ledger
from requests import apis as self_service_apis
from requests import urls as request_urls
from requests import views as self_service_views
from requests.leave import apis as apis_leave
from requests.leave import views as views_leave
from retention import urls as retention
from tenants import views as tenant_views

SUBDOMAINS = (directory, invitations, attendance, health, biometrics, ledger, retention)


def collect(kind: str) -> list:
    return [pattern for module in SUBDOMAINS for pattern in getattr(module, kind)]


api_v1 = [
    path("me/", self_service_apis.MeApi.as_view(), name="api_me"),
    # /api/v1/me/permissions/, /api/v1/me/notice/, /api/v1/me/consents/, /api/v1/notices/, /api/v1/consents/
    *consent_urls.api_patterns,
    *collect("api_patterns"),
    *request_urls.api_patterns,  # /api/v1/me/requests/…, /api/v1/requests/… (DSR-1, DSR-3)
    path("me/leave/", apis_leave.MyLeaveApi.as_view(), name="api_me_leave"),  # DSR-5
]

urlpatterns = [
    path("", tenant_views.EnterpriseHomeView.as_view(), name="home"),
    path("login/", core_views.EnterpriseLoginView.as_view(), name="login"),
    # TEN-2: the creator of a new enterprise arrives here from the public host, signed in by a token
    path("login/handoff/<str:token>/", core_views.EnterpriseHandoffView.as_view(), name="login_handoff"),
    path("logout/", account_views.LogoutView.as_view(), name="logout"),
    path("me/", self_service_views.MeView.as_view(), name="me"),
    path("me/", include(collect("me_patterns"))),
    path("me/", include(consent_urls.me_patterns)),
    path("me/", include(request_urls.me_patterns)),
    path("me/leave/", views_leave.MeLeaveView.as_view(), name="me_leave"),  # DSR-5
    path("console/", include(dashboard_urls.console_patterns)),  # the console home (ENT-12)
    path("console/", include(collect("console_patterns"))),
    path("console/", include(consent_urls.console_patterns)),
    path("console/", include(incident_urls.console_patterns)),  # /console/incidents/ (SEC-4)
    path("", include(incident_urls.patterns)),  # /incidents/<id>/
    path("security/two-factor/", TwoFactorView.as_view(), name="two_factor"),  # SEC-2
    path("console/", include(request_urls.console_patterns)),
    path("", include(consent_urls.open_patterns)),  # /notice/…
    path("", include(consent_urls.tenant_patterns)),  # /policy/…, /me/inbox/, /api/v1/me/notifications/…
    path("api/v1/", include(api_v1)),
    path("api/device/v1/", include(collect("device_patterns"))),
    path("api/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api_schema"), name="api_docs"),
    path("i18n/", include("django.conf.urls.i18n")),
]

handler400 = "tenants.errors.bad_request"  # JSON for /api/…; 413 for a body too large (SEC-3)
handler403 = "tenants.errors.permission_denied"  # JSON for /api/… (SEC-3)
handler404 = "tenants.views.not_found"  # JSON for /api/… (SEC-3)
handler500 = "tenants.errors.server_error"  # JSON for /api/… (SEC-3)
