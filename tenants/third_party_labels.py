"""Labels of third-party apps that people read in the operators' admin, in our catalogue (issue 17
§5, docs/i18n.md "Third-party labels").

Where a package marks its labels for translation but ships no Simplified Chinese (django-axes),
the msgids are listed here with gettext_noop so that `makemessages` keeps them in our
locale/zh_Hans catalogue (which Django consults first). Where a package writes plain strings
(django-otp's app and model names, django-axes' app name), `label_third_party_apps` replaces them
with translatable ones once the apps are loaded (TenantsConfig.ready): Django reads `verbose_name`
of an AppConfig and of a model's options when it renders, so a lazy string there is translated
for each reader.
"""

from __future__ import annotations

from django.apps import apps
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

# django-axes 8.3: model and field labels marked for translation, without a zh_Hans catalogue.
AXES_MESSAGES = (
    gettext_noop("access failure"),
    gettext_noop("access failures"),
    gettext_noop("access attempt"),
    gettext_noop("access attempts"),
    gettext_noop("Access Attempt"),
    gettext_noop("access attempt expiration"),
    gettext_noop("access attempt expirations"),
    gettext_noop("access log"),
    gettext_noop("access logs"),
    gettext_noop("User Agent"),
    gettext_noop("IP Address"),
    gettext_noop("Username"),
    gettext_noop("HTTP Accept"),
    gettext_noop("Path"),
    gettext_noop("Attempt Time"),
    gettext_noop("Access lock out"),
    gettext_noop("GET Data"),
    gettext_noop("POST Data"),
    gettext_noop("Failed Logins"),
    gettext_noop("Expires At"),
    gettext_noop("The time when access attempt expires and is no longer valid."),
    gettext_noop("Logout Time"),
    gettext_noop("Session key hash (sha256)"),
    # its admin (axes/admin.py): the attempt list's filter, action and fieldsets
    gettext_noop("Locked Out"),
    gettext_noop("Attempt Remaining"),
    gettext_noop("Clean up expired attempts"),
    gettext_noop("Form Data"),
    gettext_noop("Meta Data"),
)

# Django 5.2's admin: a string of its user-creation form that its zh_Hans catalogue lacks.
DJANGO_ADMIN_MESSAGES = (gettext_noop("After you’ve created a user, you’ll be able to edit more user options."),)

# (app label, its name for people)
APP_LABELS = {
    "axes": _("Sign-in throttling"),
    "otp_totp": _("Authenticator apps"),
    "otp_static": _("Recovery codes"),
}
# (app label, model name): (verbose_name, verbose_name_plural)
MODEL_LABELS = {
    ("otp_totp", "totpdevice"): (_("authenticator app"), _("authenticator apps")),
    ("otp_static", "staticdevice"): (_("recovery code set"), _("recovery code sets")),
    ("otp_static", "statictoken"): (_("recovery code"), _("recovery codes")),
}


def label_third_party_apps() -> None:
    """Translatable names for the third-party apps and models that have plain-string ones."""
    for label, name in APP_LABELS.items():
        try:
            apps.get_app_config(label).verbose_name = name
        except LookupError:
            continue
    for (app_label, model_name), (singular, plural) in MODEL_LABELS.items():
        try:
            model = apps.get_model(app_label, model_name)
        except LookupError:
            continue
        model._meta.verbose_name = singular
        model._meta.verbose_name_plural = plural
