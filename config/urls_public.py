"""URLs of the public host: landing, sign-in, registration, /account/, operators' /admin/."""

from django.contrib import admin
from django.urls import include, path

from accounts import views as account_views
from accounts.two_factor.views import TwoFactorView
from consent import urls as consent_urls
from core import views as core_views
from incidents import urls as incident_urls
from invitations import urls as invitation_urls
from operators.admin import theme_other_admins
from requests import urls as request_urls
from tenants import views as tenant_views

theme_other_admins(admin.site)  # the other packages' admins in the console's theme (unfold)

urlpatterns = [
    path("", tenant_views.LandingView.as_view(), name="home"),
    path("login/", account_views.LoginView.as_view(), name="login"),
    path("logout/", account_views.LogoutView.as_view(), name="logout"),
    path("signup/", account_views.SignupStartView.as_view(), name="signup"),
    path("signup/verify/", account_views.SignupVerifyView.as_view(), name="signup_verify"),
    path("", include("accounts.profile.urls")),  # /account/profile/…, /account/real-name/
    path("", include("accounts.security.urls")),  # /account/security/…, /login/reset/, /login/unfreeze/
    path("", include(invitation_urls.public_patterns)),  # /account/invitations/…, /invitations/<slug>/<token>/
    path("", include("consent.permissions.urls")),  # /account/permissions/ (CON-5)
    path("", include(consent_urls.public_patterns)),  # /policy/…, /account/inbox/
    path("", include(incident_urls.patterns)),  # /incidents/<id>/ (SEC-4)
    path("security/two-factor/", TwoFactorView.as_view(), name="two_factor"),  # SEC-2
    path("", include(request_urls.public_patterns)),  # /account/requests/… (DSR-1, DSR-3)
    path("enterprises/new/", core_views.EnterpriseSignupView.as_view(), name="enterprise_new"),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
]

handler400 = "tenants.errors.bad_request"  # JSON for /api/…; 413 for a body too large (SEC-3)
handler403 = "tenants.errors.permission_denied"  # JSON for /api/… (SEC-3)
handler404 = "tenants.views.not_found"  # JSON for /api/… (SEC-3)
handler500 = "tenants.errors.server_error"  # JSON for /api/… (SEC-3)
