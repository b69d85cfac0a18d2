"""Sign-in on every host, registration and the account page on the public host."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.generic import FormView, TemplateView

from accounts.forms import MobileAuthenticationForm, SignupStartForm, SignupVerifyForm
from accounts.http import AccountRequest
from accounts.models import SmsCode
from accounts.security.services import DEVICE_COOKIE, DEVICE_COOKIE_MAX_AGE, device_sign_in
from accounts.selectors import sms_code_resend_wait
from accounts.services import account_register, sms_code_send
from tenants.access import Public
from tenants.models import MembershipIndex
from tenants.throttling import RateLimited, client_ip
from tenants.views import apply_service_errors

SIGNUP_MOBILE_KEY = "signup_mobile"


def rate_limited(response: HttpResponse, limited: RateLimited) -> HttpResponse:
    """A page refused by an abuse limit (SEC-7): status 429 and `Retry-After`; the page itself
    says why (`limited.message`, e.g. as a form error)."""
    response.status_code = 429
    response["Retry-After"] = str(limited.retry_after)
    return response


class LoginView(auth_views.LoginView):
    access = Public()

    form_class = MobileAuthenticationForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = False

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        """Signed in; a browser the account has not used before is remembered and the account
        told (issue 17 §2, accounts.security.services.device_sign_in)."""
        response = super().form_valid(form)
        cookie = device_sign_in(request=self.request, account=form.get_user())
        if cookie is not None:
            response.set_cookie(
                DEVICE_COOKIE,
                cookie,
                max_age=DEVICE_COOKIE_MAX_AGE,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response


def login_locked_out(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict[str, Any] | None = None
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE (SEC-2, accounts/throttling.py): the sign-in page again, status 429,
    saying why, and no form error that would suggest the password was the problem."""
    form = MobileAuthenticationForm(request, initial={"username": request.POST.get("username", "")})
    form.cleaned_data = {}
    form.add_error(
        None,
        ValidationError(
            _(
                "Too many failed sign-ins: signing in to this account or from this network is blocked for an "
                "hour. Try again later."
            ),
            code="locked_out",
        ),
    )
    context = {"form": form, "next": request.POST.get("next", request.GET.get("next", ""))}
    return render(request, "accounts/login.html", context, status=429)


class LogoutView(auth_views.LogoutView):
    access = Public()


class SignupStartView(FormView):
    """Step 1: the mobile number; an SMS code is sent (rate-limited)."""

    template_name = "accounts/signup_start.html"
    form_class = SignupStartForm

    def form_valid(self, form: SignupStartForm) -> HttpResponse:
        mobile = form.cleaned_data["mobile"]
        try:
            sms_code_send(mobile=mobile, purpose=SmsCode.Purpose.REGISTER, ip=client_ip(self.request))
        except ValidationError as error:
            apply_service_errors(form, error)
            return self.form_invalid(form)
        except RateLimited as limited:  # SEC-7: the caps per address and for the platform
            form.add_error(None, ValidationError(limited.message, code=limited.code))
            return rate_limited(self.render_to_response(self.get_context_data(form=form)), limited)
        self.request.session[SIGNUP_MOBILE_KEY] = mobile
        return redirect("signup_verify")


class SignupVerifyView(FormView):
    """Step 2: the code, a nickname, a password and accepting the privacy policy in force (CON-1);
    the account is created (with the acceptance) and signed in."""

    template_name = "accounts/signup_verify.html"
    form_class = SignupVerifyForm

    mobile: str

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        mobile = request.session.get(SIGNUP_MOBILE_KEY)
        if not mobile:
            return redirect("signup")
        self.mobile = mobile
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        # the policy in force is shown by the template (`{% current_policy %}`, consent's tag);
        # the countdown on "send a new code" starts from the server's own resend rule
        return super().get_context_data(
            mobile=self.mobile,
            resend_wait=sms_code_resend_wait(mobile=self.mobile, purpose=SmsCode.Purpose.REGISTER),
            **kwargs,
        )

    def form_valid(self, form: SignupVerifyForm) -> HttpResponse:
        data = form.cleaned_data
        try:
            user = account_register(
                mobile=self.mobile,
                code=data["code"],
                password=data["password"],
                nickname=data["nickname"],
                policy_accepted=data["accept_policy"],
                ip=client_ip(self.request),
                channel="web",
            )
        except ValidationError as error:
            apply_service_errors(form, error)
            return self.form_invalid(form)
        self.request.session.pop(SIGNUP_MOBILE_KEY, None)
        login(self.request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect(reverse("account"))


class AccountView(LoginRequiredMixin, TemplateView):
    """`/account/` on the public host: the account and its enterprises."""

    request: AccountRequest
    template_name = "accounts/account.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        links = (
            MembershipIndex.objects.filter(account=self.request.user)
            .select_related("enterprise")
            .prefetch_related("enterprise__domains")
            .order_by("enterprise__name")
        )
        return super().get_context_data(links=links, **kwargs)
