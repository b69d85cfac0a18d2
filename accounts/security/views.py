"""Account-security pages on the public host (issue 17 §2; docs/account-security.md).

`/account/security/` (the hub), its password, sessions, freeze and e-mail pages (a signed-in
account); from the sign-in page, resetting a forgotten password and unfreezing with an SMS code
(anyone: the answers never tell whether a number has an account); the e-mail verification link
(anyone holding it: the signed token is the proof)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import FormView

from accounts.http import AccountRequest
from accounts.models import User
from accounts.security import selectors, services
from accounts.security.forms import EmailForm, MobileForm, PasswordChangeForm, PasswordResetForm, UnfreezeForm
from accounts.two_factor.services import two_factor_enabled
from tenants.access import Account, Public
from tenants.throttling import RateLimited, client_ip
from tenants.views import apply_service_errors

RESET_MOBILE_KEY = "password_reset_mobile"
UNFREEZE_MOBILE_KEY = "unfreeze_mobile"
CONFIRMED_FIELD = "confirmed"


def _rate_limited(response: HttpResponse, limited: RateLimited) -> HttpResponse:
    response.status_code = 429
    response["Retry-After"] = str(limited.retry_after)
    return response


def _confirmation_page(request: HttpRequest, message: str, *, cancel_url: str, button: str) -> HttpResponse | None:
    """As core.views.confirmation_page (accounts sit below core): None once the POST says
    `confirmed=yes`, else the page that asks (what a browser without scripts sees)."""
    if request.POST.get(CONFIRMED_FIELD) == "yes":
        return None
    fields = [
        (name, value)
        for name, values in request.POST.lists()
        if name not in ("csrfmiddlewaretoken", CONFIRMED_FIELD)
        for value in values
    ]
    context = {
        "message": message,
        "fields": fields,
        "action": request.get_full_path(),
        "cancel_url": cancel_url,
        "button": button,
    }
    return render(request, "confirm.html", context)


class SecurityView(LoginRequiredMixin, View):
    """`/account/security/`: every security setting of the account, and its recent events."""

    access = Account()
    request: AccountRequest

    def get(self, request: HttpRequest) -> HttpResponse:
        user: User = request.user  # type: ignore[assignment]
        sessions = selectors.sessions_for(account=user, current_id=request.session.get(services.SESSION_ROW_KEY))
        context = {
            "session_count": len(sessions),
            "two_factor_on": two_factor_enabled(account=user),
            "events": selectors.events_for(account=user),
            "freeze_message": FREEZE_MESSAGE,
        }
        return render(request, "accounts/security/hub.html", context)


class PasswordChangeView(LoginRequiredMixin, FormView):
    """`/account/security/password/`: the current password, then a new one twice."""

    access = Account()
    request: AccountRequest
    template_name = "accounts/security/password.html"
    form_class = PasswordChangeForm

    def form_valid(self, form: PasswordChangeForm) -> HttpResponse:
        data = form.cleaned_data
        try:
            services.password_change(
                account=self.request.user,
                current=data["current_password"],
                new=data["new_password"],
                new_again=data["new_password_again"],
                request=self.request,
            )
        except ValidationError as error:
            apply_service_errors(form, error)
            return self.form_invalid(form)
        messages.success(self.request, _("Your password was changed. Every other session was signed out."))
        return redirect("account_security")

    def form_invalid(self, form: PasswordChangeForm) -> HttpResponse:
        return self.render_to_response(self.get_context_data(form=form), status=400)


class SessionsView(LoginRequiredMixin, View):
    """`/account/security/sessions/`: where the account is signed in."""

    access = Account()
    request: AccountRequest

    def get(self, request: HttpRequest) -> HttpResponse:
        user: User = request.user  # type: ignore[assignment]
        sessions = selectors.sessions_for(account=user, current_id=request.session.get(services.SESSION_ROW_KEY))
        return render(request, "accounts/security/sessions.html", {"sessions": sessions})


class SessionEndView(LoginRequiredMixin, View):
    """POST `/account/security/sessions/<pk>/end/`: sign out one other session."""

    access = Account()
    request: AccountRequest

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        user: User = request.user  # type: ignore[assignment]
        current = request.session.get(services.SESSION_ROW_KEY)
        if not selectors.other_session_exists(account=user, session_id=pk, current_id=current):
            raise Http404
        unconfirmed = _confirmation_page(
            request,
            _("Sign out this session? That browser must sign in again."),
            cancel_url=reverse("account_sessions"),
            button=_("Sign out"),
        )
        if unconfirmed is not None:
            return unconfirmed
        if not services.session_end_one(account=user, session_id=pk, request=request):
            raise Http404
        messages.success(request, _("That session was signed out."))
        return redirect("account_sessions")


class SessionsEndOthersView(LoginRequiredMixin, View):
    """POST `/account/security/sessions/end-others/`: sign out everywhere else (confirmed)."""

    access = Account()
    request: AccountRequest

    def post(self, request: HttpRequest) -> HttpResponse:
        unconfirmed = _confirmation_page(
            request,
            _("Sign out every other session of your account? Only this browser stays signed in."),
            cancel_url=reverse("account_sessions"),
            button=_("Sign out everywhere else"),
        )
        if unconfirmed is not None:
            return unconfirmed
        services.sessions_end_others(account=request.user, request=request)  # type: ignore[arg-type]
        messages.success(request, _("Every other session was signed out."))
        return redirect("account_sessions")


FREEZE_MESSAGE = gettext_lazy(
    "Freeze your account? You are signed out everywhere and nobody can sign in until you unfreeze it with "
    "a code sent to your mobile number."
)


class FreezeView(LoginRequiredMixin, View):
    """POST `/account/security/freeze/` (confirmed): the account is frozen and signed out."""

    access = Account()
    request: AccountRequest

    def post(self, request: HttpRequest) -> HttpResponse:
        unconfirmed = _confirmation_page(
            request, str(FREEZE_MESSAGE), cancel_url=reverse("account_security"), button=_("Freeze my account")
        )
        if unconfirmed is not None:
            return unconfirmed
        services.account_freeze(account=request.user, request=request)  # type: ignore[arg-type]
        logout(request)
        messages.success(request, _("Your account is frozen. To use it again, unfreeze it with an SMS code."))
        return redirect("account_unfreeze")


class EmailView(LoginRequiredMixin, FormView):
    """`/account/security/email/`: set the e-mail address; a verification link is sent."""

    access = Account()
    request: AccountRequest
    template_name = "accounts/security/email.html"
    form_class = EmailForm

    def get_initial(self) -> dict[str, Any]:
        return {"email": self.request.user.email}

    def form_valid(self, form: EmailForm) -> HttpResponse:
        request = self.request
        try:
            services.email_set(
                account=request.user,
                email=form.cleaned_data["email"],
                verify_url=lambda token: request.build_absolute_uri(reverse("account_email_verify", args=[token])),
                request=request,
            )
        except ValidationError as error:
            apply_service_errors(form, error)
            return self.form_invalid(form)
        messages.success(request, _("We sent a verification link to your e-mail address. Open it within 24 hours."))
        return redirect("account_email")

    def form_invalid(self, form: EmailForm) -> HttpResponse:
        return self.render_to_response(self.get_context_data(form=form), status=400)


class EmailVerifyView(View):
    """`/account/email/verify/<token>/`: GET shows what the link confirms (a GET changes
    nothing: mail scanners open links), POST confirms it."""

    access = Public()

    def get(self, request: HttpRequest, token: str) -> HttpResponse:
        try:
            account = services.email_token_account(token=token)
        except ValidationError as error:
            return render(request, "accounts/security/email_verify.html", {"error": error.messages[0]}, status=400)
        return render(request, "accounts/security/email_verify.html", {"email": account.email})

    def post(self, request: HttpRequest, token: str) -> HttpResponse:
        try:
            account = services.email_verify(token=token, request=request)
        except ValidationError as error:
            return render(request, "accounts/security/email_verify.html", {"error": error.messages[0]}, status=400)
        return render(request, "accounts/security/email_verify.html", {"email": account.email, "verified": True})


# --- from the sign-in page: a forgotten password, a frozen account ---------------------------------


class _CodeStartView(FormView):
    """Step 1: the mobile number; a code is sent if the number may have one (same answer either
    way), throttled as sign-up's codes."""

    form_class = MobileForm
    session_key = ""
    next_url = ""

    def send(self, mobile: str) -> None:
        raise NotImplementedError

    def form_valid(self, form: MobileForm) -> HttpResponse:
        mobile = form.cleaned_data["mobile"]
        try:
            self.send(mobile)
        except ValidationError as error:
            apply_service_errors(form, error)
            return self.form_invalid(form)
        except RateLimited as limited:
            form.add_error(None, ValidationError(limited.message, code=limited.code))
            return _rate_limited(self.render_to_response(self.get_context_data(form=form)), limited)
        self.request.session[self.session_key] = mobile
        return redirect(self.next_url)

    def form_invalid(self, form: MobileForm) -> HttpResponse:
        return self.render_to_response(self.get_context_data(form=form), status=400)


class _CodeVerifyView(FormView):
    session_key = ""
    start_url = ""
    mobile: str

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        mobile = request.session.get(self.session_key)
        if not mobile:
            return redirect(self.start_url)
        self.mobile = mobile
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(mobile=self.mobile, start_url=reverse(self.start_url), **kwargs)

    def form_invalid(self, form: Any) -> HttpResponse:
        return self.render_to_response(self.get_context_data(form=form), status=400)


class PasswordResetStartView(_CodeStartView):
    """`/login/reset/`."""

    access = Public()
    template_name = "accounts/security/reset_start.html"
    session_key = RESET_MOBILE_KEY
    next_url = "password_reset_verify"

    def send(self, mobile: str) -> None:
        services.password_reset_send(mobile=mobile, ip=client_ip(self.request))


class PasswordResetVerifyView(_CodeVerifyView):
    """`/login/reset/verify/`: the code and a new password; every session ends."""

    access = Public()
    template_name = "accounts/security/reset_verify.html"
    form_class = PasswordResetForm
    session_key = RESET_MOBILE_KEY
    start_url = "password_reset"

    def form_valid(self, form: PasswordResetForm) -> HttpResponse:
        data = form.cleaned_data
        try:
            services.password_reset_complete(
                mobile=self.mobile,
                code=data["code"],
                new=data["new_password"],
                new_again=data["new_password_again"],
                request=self.request,
            )
        except ValidationError as error:
            apply_service_errors(form, error)
            return self.form_invalid(form)
        self.request.session.pop(RESET_MOBILE_KEY, None)
        if self.request.user.is_authenticated:
            logout(self.request)
        messages.success(self.request, _("Your password was reset. Sign in with the new one."))
        return redirect("login")


class UnfreezeStartView(_CodeStartView):
    """`/login/unfreeze/`."""

    access = Public()
    template_name = "accounts/security/unfreeze_start.html"
    session_key = UNFREEZE_MOBILE_KEY
    next_url = "account_unfreeze_verify"

    def send(self, mobile: str) -> None:
        services.unfreeze_send(mobile=mobile, ip=client_ip(self.request))


class UnfreezeVerifyView(_CodeVerifyView):
    """`/login/unfreeze/verify/`: the code unfreezes the account."""

    access = Public()
    template_name = "accounts/security/unfreeze_verify.html"
    form_class = UnfreezeForm
    session_key = UNFREEZE_MOBILE_KEY
    start_url = "account_unfreeze"

    def form_valid(self, form: UnfreezeForm) -> HttpResponse:
        try:
            services.account_unfreeze(mobile=self.mobile, code=form.cleaned_data["code"], request=self.request)
        except ValidationError as error:
            apply_service_errors(form, error)
            return self.form_invalid(form)
        self.request.session.pop(UNFREEZE_MOBILE_KEY, None)
        messages.success(self.request, _("Your account is unfrozen. You can sign in again."))
        return redirect("login")
