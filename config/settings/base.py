"""Settings shared by every environment; the others differ only through environment variables.

The tenancy split follows django-tenants: SHARED_APPS live in the public schema (platform data:
enterprises, domains, accounts, sessions, admin log, beat schedules), TENANT_APPS get their
tables in each enterprise's own schema. `contenttypes` and `auth` are shared only.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from celery.schedules import crontab
from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from config.env import db_config, env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent
DATA_DIR = Path(env_str("PORTAL_DATA_DIR", str(BASE_DIR / ".data")))

SECRET_KEY = env_str("SECRET_KEY")
# Root of envelope encryption (RET-6, docs/encryption.md): 32 bytes, urlsafe base64.
PORTAL_MASTER_KEY = env_str("PORTAL_MASTER_KEY")
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [".localhost", "localhost", "127.0.0.1"])

# --- tenancy -----------------------------------------------------------------------------------
SHARED_APPS = [
    "django_tenants",
    "tenants",
    "accounts",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    # the operators' admin theme (docs/operators-console.md); before django.contrib.admin, whose
    # templates it overrides, and it replaces admin.site with its UnfoldAdminSite
    "unfold",
    "django.contrib.admin",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.forms",  # Django's widget templates for the project's form renderer (FORM_RENDERER)
    "django_celery_beat",
    "guardian",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI assets served locally (no CDN)
    "django_htmx",
    "phonenumber_field",
    # platform policy, device permissions, guardian consent, inbox (public models of a split app)
    "consent",
    "incidents",  # SEC-4, public schema only
    "demo",  # `seed_demo`: the demo data (no models)
    "operators",  # the Django admin of enterprises, create_enterprise, session_for (no models)
    # two-factor authentication for administrators and operators (SEC-2): devices belong to accounts
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    # account-data requests and the working-day calendar (public parts of a split app)
    "requests",
    "axes",  # failed sign-ins (SEC-2): one table for every host, so limits hold across enterprises
]
TENANT_APPS = [
    "enterprise_data",
    "consent",
    "requests",
    # Object permissions are granted on enterprise-schema objects, so each enterprise keeps its
    # own guardian tables (ids collide across schemas; the rows never do). The public copy stays
    # empty and exists so that deleting an account can cascade in the public schema.
    "guardian",
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenants.Enterprise"
TENANT_DOMAIN_MODEL = "tenants.Domain"
PUBLIC_SCHEMA_NAME = "public"
PUBLIC_SCHEMA_URLCONF = "config.urls_public"
ROOT_URLCONF = "config.urls_tenants"
# New enterprises are cloned from this schema (TEN-3); `manage.py sync_template_schema` keeps it
# migrated. It has no Enterprise row, so `migrate` alone never touches it.
TENANT_BASE_SCHEMA = "enterprise_template"
TENANT_CREATION_FAKES_MIGRATIONS = True
# issue 18 §2: empty enterprise schemas kept ready for sign-up (tenants.pool; beat refills them),
# and the pg_dump that writes the template's definition (empty: found on PATH or by version).
TENANT_POOL_SIZE = env_int("PORTAL_TENANT_POOL_SIZE", 3)
PG_DUMP = env_str("PORTAL_PG_DUMP", "")
DATABASE_ROUTERS = ("config.routers.PortalRouter",)
TENANT_SYNC_ROUTER = "config.routers.PortalRouter"
# Apps in both SHARED_APPS and TENANT_APPS: which of their models live in the public schema
# (the rest live in enterprise schemas). config/routers.py.
SPLIT_APP_PUBLIC_MODELS = {
    "consent": {
        "policyversion",
        "policyacceptance",
        "policynoticedismissal",
        "devicepermission",
        "devicepermissionevent",
        "guardianconsent",
        "notification",
        "notificationdelivery",
    },
    "requests": {"holidayoverride", "accountdeletion", "accountexport"},
}
# Models of split apps that have a table in the public schema AND in every enterprise schema:
# requests about account data live in public, requests about an enterprise's data in its schema.
SPLIT_APP_BOTH_MODELS = {
    "requests": {"request", "requestevent"},
}
# Set search_path once per schema switch instead of before every query. Behind a transaction
# pooler (DATABASE_POOL_MODE=transaction) the backend sets it inside every transaction instead
# (tenants.postgresql_backend; docs/operations.md, "Connection pooling").
TENANT_LIMIT_SET_CALLS = True
# Hosts served by the public schema (landing page, sign-up, /account/, operators' /admin/).
PUBLIC_DOMAINS = env_list("PORTAL_PUBLIC_DOMAINS", ["localhost", "127.0.0.1"])
# An enterprise with slug "acme" is served at "acme.<suffix>".
ENTERPRISE_DOMAIN_SUFFIX = env_str("PORTAL_DOMAIN_SUFFIX", "localhost")

DATABASES = {"default": db_config(env_str("DATABASE_URL"))}
# A connection that has worked in more schemas than this is closed at the end of its request or
# task (tenants/postgresql_backend; each schema read costs its backend ~0.12 MB: docs/scaling.md).
DATABASE_SCHEMAS_PER_CONNECTION = env_int("DATABASE_SCHEMAS_PER_CONNECTION", 100)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

MIDDLEWARE = [
    # django-tenants' TenantMainMiddleware with the host -> enterprise lookup cached (issue 18 §8)
    "tenants.routing.CachedTenantMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # static files from STATIC_ROOT (collectstatic), in production and in the demo alike: compressed,
    # with far-future caching of the hashed names (whitenoise; docs/running.md)
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "operators.middleware.AdminScriptPolicyMiddleware",  # /admin/ only: Alpine.js needs 'unsafe-eval'
    "config.middleware.NoStoreMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "tenants.middleware.HostBoundSessionMiddleware",
    "accounts.security.middleware.AccountSessionMiddleware",  # the session list's last seen; frozen accounts out
    "tenants.input.InputGuardMiddleware",  # SEC-3: control characters refused before any view
    "consent.policy.middleware.PolicyInterstitialMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "core.middleware.EnterpriseAccessMiddleware",
    "requests.account_deletion.middleware.AccountDeletionCoolingOffMiddleware",  # DSR-6: only the cancel page
    "accounts.two_factor.middleware.TwoFactorRequiredMiddleware",
    "consent.notices.middleware.NoticeInterstitialMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a sign-in lockout into the lockout page
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tenants.context_processors.enterprise",
                "consent.inbox.context_processors.shell",  # the header: inbox bell, enterprise switcher (UI-1)
            ],
        },
    },
]
# Every form renders through templates/django/forms/ in Tabler's classes (UI-1, docs/frontend.md).
FORM_RENDERER = "tenants.form_rendering.PortalFormRenderer"
WSGI_APPLICATION = "config.wsgi.application"

# --- accounts (ACC-1) --------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses locked-out clients (SEC-2)
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"
PHONENUMBER_DEFAULT_REGION = "CN"
PHONENUMBER_DB_FORMAT = "E164"
GUARDIAN_ANONYMOUS_USER_NAME = None  # no anonymous account row: the user model has no username

# One-time SMS codes (ACC-1): a pluggable sender, codes stored hashed.
SMS_SENDER = env_str("SMS_SENDER", "accounts.sms.ConsoleSmsSender")
# Notifications by e-mail (SEC-5): Django's EMAIL_* settings; the sender address.
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "noreply@portal.localhost")
SMS_CODE_TTL_SECONDS = 5 * 60
# Days the platform keeps its own short-lived personal data (retention.services.platform,
# docs/retention.md): SMS codes outlive their 5 minutes only for the hourly send limit; the
# SMS/e-mail copies of messages (number or address and text) for questions about delivery; the
# in-app inbox for a year.
PLATFORM_RETENTION_DAYS = {
    "sms_codes": 1,
    "notification_deliveries": 90,
    "notifications": 365,
    # account security (docs/retention.md): a session unseen for 30 days is long over (the cookie
    # lives SESSION_COOKIE_AGE); a browser unseen for a year counts as new again; the security
    # event log is kept six months, as network logs are (网络安全法 art. 21).
    "account_sessions": 30,
    "known_devices": 365,
    "account_events": 180,
}
SMS_CODE_MAX_ATTEMPTS = 5
SMS_CODE_RESEND_SECONDS = 60
SMS_CODE_MAX_PER_HOUR = 5  # per number and purpose (the SmsCode rows of the last hour)
# SEC-7 abuse caps on sending codes (accounts/services.py, Redis counters of the clock hour;
# docs/security.md "Throttles and caps"): per client address, whatever the numbers, and for the
# whole platform (the SMS budget). Beyond either: 429 with Retry-After.
SMS_CODE_MAX_PER_ADDRESS_PER_HOUR = env_int("SMS_CODE_MAX_PER_ADDRESS_PER_HOUR", 5)
SMS_CODE_MAX_PER_HOUR_PLATFORM = env_int("SMS_CODE_MAX_PER_HOUR_PLATFORM", 1000)
# TEN-2: the sign-in hand-off from the public host to a new enterprise's host (accounts/handoff.py):
# seconds a token lives, and how many redemptions one client address may try per minute (SEC-7).
SIGN_IN_HANDOFF_SECONDS = 120
SIGN_IN_HANDOFF_MAX_PER_ADDRESS_PER_MINUTE = env_int("SIGN_IN_HANDOFF_MAX_PER_ADDRESS_PER_MINUTE", 10)
# DSR-6: days between asking for an account's deletion and its execution (cancellable meanwhile).
ACCOUNT_DELETION_COOLING_OFF_DAYS = env_int("ACCOUNT_DELETION_COOLING_OFF_DAYS", 7)

# --- sign-in throttling (SEC-2, accounts/throttling.py, docs/security.md) -----------------------
AXES_FAILURE_LIMIT = 10  # failed sign-ins per account (normalised mobile number), over every IP
PORTAL_LOGIN_FAILURE_LIMIT_PER_IP = 30  # failed sign-ins per client IP address, over every account
AXES_COOLOFF_TIME = timedelta(hours=1)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # the lockout lifts an hour after it began
AXES_HANDLER = "accounts.throttling.LoginThrottleHandler"
AXES_USERNAME_CALLABLE = "accounts.throttling.login_username"
AXES_CLIENT_IP_CALLABLE = "tenants.throttling.client_ip"
AXES_LOCKOUT_CALLABLE = "accounts.views.login_locked_out"
AXES_DISABLE_ACCESS_LOG = True  # no per-login history of accounts and addresses to keep
# Reverse proxies in front of the portal whose X-Forwarded-For is trusted (production: 1).
PORTAL_TRUSTED_PROXY_COUNT = env_int("PORTAL_TRUSTED_PROXY_COUNT", 0)

# --- sessions: host-only cookies, bound to the issuing host by tenants.middleware ----------------
SESSION_COOKIE_DOMAIN = None
CSRF_COOKIE_DOMAIN = None
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 60 * 60 * 12)
# The console home keeps an administrator's figures this long (0: never); the page says when
# they were read and offers a refresh (docs/dashboard.md).
DASHBOARD_CACHE_SECONDS = env_int("DASHBOARD_CACHE_SECONDS", 60)
# How long a process keeps the list of published privacy-policy versions for /me/'s notice
# (consent.policy.selectors; a save or delete in the same process forgets it at once).
POLICY_CACHE_SECONDS = env_int("POLICY_CACHE_SECONDS", 30)

# --- HTTP hardening (docs/security.md) ----------------------------------------------------------
# Content-Security-Policy (django-csp) everywhere, so development shows what production blocks:
# scripts and <style> elements only from this origin or carrying the response's nonce
# (`nonce="{{ request.csp_nonce }}"`); style="…" attributes (tree indentation) are allowed.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "style-src-attr": [UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
# `Cache-Control: no-store` on everything under these paths (config.middleware.NoStoreMiddleware).
PORTAL_NO_STORE_PATH_PREFIXES = ["/me/", "/console/", "/account/", "/api/", "/admin/", "/invitations/", "/signup/"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# --- the operators' admin (django-unfold, docs/operators-console.md) -----------------------------
# The product's name instead of "Django administration"; the sidebar's groups and the dashboard
# are built per request by operators.console (only what the operator may see; internals under
# "Advanced"). The admin loads no web font, style or script from outside (all are static files).
UNFOLD = {
    "SITE_TITLE": _("Personal-data portal"),
    "SITE_HEADER": _("Personal-data portal"),
    "SITE_SUBHEADER": _("Operators' console"),
    "SITE_URL": "/",
    "SITE_SYMBOL": "shield_person",
    "SITE_FAVICONS": [{"rel": "icon", "type": "image/svg+xml", "href": "operators.console.favicon"}],
    "SHOW_HISTORY": True,
    "SHOW_VIEW_ON_SITE": False,
    "BORDER_RADIUS": "6px",
    "COLORS": {
        "primary": {  # the portal's blue (Tabler's, static/css/portal.css)
            "50": "239 246 255",
            "100": "219 234 254",
            "200": "191 219 254",
            "300": "147 197 253",
            "400": "96 165 250",
            "500": "59 130 246",
            "600": "6 111 209",
            "700": "29 78 216",
            "800": "30 64 175",
            "900": "30 58 138",
            "950": "23 37 84",
        },
    },
    "STYLES": ["operators.console.admin_styles"],
    "DASHBOARD_CALLBACK": "operators.console.dashboard_callback",
    "SIDEBAR": {
        "show_search": False,
        "command_search": False,
        "show_all_applications": False,
        "navigation": "operators.console.sidebar_navigation",
    },
}

# --- i18n --------------------------------------------------------------------------------------
LANGUAGE_CODE = env_str("PORTAL_LANGUAGE", "zh-hans")
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- static and media (media paths are per enterprise: tenants.storage) -------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]  # vendored assets (htmx 2.0.11 from the npm registry)
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(DATA_DIR / "media")))
MEDIA_URL = "/media/"
# Uploaded files go under MEDIA_ROOT/<schema>/… (TEN-5): one enterprise's files are never in
# another's folder. Served only through views that check access, never as static files.
# MEDIA_STORAGE=s3: the same layout as keys `<schema>/…` in an S3-compatible bucket, so that every
# web node and worker sees the same files (RUN-4, tenants.storage, docs/storage.md).
MEDIA_STORAGE = env_str("MEDIA_STORAGE", "filesystem")


def s3_media_backend(
    *, bucket: str, endpoint_url: str, region: str, access_key: str, secret_key: str
) -> dict[str, Any]:
    """STORAGES["default"] for MEDIA_STORAGE=s3 (tests/tenants/test_storage.py: one against moto)."""
    options = {
        "bucket_name": bucket,
        "endpoint_url": endpoint_url or None,  # None: AWS itself
        "region_name": region or None,
        "access_key": access_key or None,  # None: boto3's own chain (environment, instance role…)
        "secret_key": secret_key or None,
        "file_overwrite": False,  # as on the filesystem: a name in use gets a suffix
        "default_acl": None,  # the bucket's own (private) policy
        "querystring_auth": True,  # never an unsigned URL, should anything ask for one
        "addressing_style": "path",  # minio, moto and most S3-compatible servers
    }
    return {"BACKEND": "tenants.storage.TenantS3Storage", "OPTIONS": options}


if MEDIA_STORAGE == "filesystem":
    MEDIA_BACKEND: dict[str, Any] = {"BACKEND": "tenants.storage.TenantFileSystemStorage"}
elif MEDIA_STORAGE == "s3":
    MEDIA_BACKEND = s3_media_backend(
        bucket=env_str("S3_BUCKET"),
        endpoint_url=env_str("S3_ENDPOINT_URL", ""),
        region=env_str("S3_REGION", ""),
        access_key=env_str("S3_ACCESS_KEY_ID", ""),
        secret_key=env_str("S3_SECRET_ACCESS_KEY", ""),
    )
else:
    raise ImproperlyConfigured(f"MEDIA_STORAGE must be 'filesystem' or 's3', not {MEDIA_STORAGE!r}.")
STORAGES = {
    "default": MEDIA_BACKEND,
    # gzip copies next to the files, served by whitenoise. Not the manifest (hashed names) variant:
    # vendored CSS refers to source maps that are not vendored, which its collectstatic refuses.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
MULTITENANT_RELATIVE_MEDIA_ROOT = "%s"

# --- cache: Redis, every key prefixed with the schema it belongs to ------------------------------
REDIS_URL = env_str("REDIS_URL")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "portal"),
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
    },
    # SEC-7: the abuse limits' counters (tenants.throttling.window_hit). Same Redis and prefix,
    # but the keys are not prefixed with the connection's schema: a limit per enterprise puts the
    # schema into its key itself, a platform-wide one (an address, the SMS budget) does not.
    "throttle": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "portal"),
    },
    # Host -> enterprise (tenants/routing.py, issue 18 §8): platform-wide keys, never prefixed with
    # the connection's schema (a change made in any schema must reach them).
    "routing": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "portal"),
    },
}
# Upper bound on how long a cached host -> enterprise row lives; any change invalidates it at once.
ROUTING_CACHE_SECONDS = 300
# Tests only: use the cache also for a request served inside an open transaction (tenants/routing.py).
ROUTING_CACHE_IN_TRANSACTION = False

# --- Celery (tenant-schemas-celery: every task carries the schema it runs in) --------------------
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_RESULT_EXPIRES = 60 * 60 * 24
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_QUEUE", "portal")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Periodic work. The database scheduler copies these entries into django-celery-beat's tables
# when beat starts (operators can then change them in the admin). Each entry is one dispatcher
# per tick that fans out one task per active enterprise (tenants.tasks).
CELERY_BEAT_SCHEDULE = {
    "tenant-pool-refill": {  # issue 18 §2: keep TENANT_POOL_SIZE schemas ready for sign-up (public schema)
        "task": "tenants.tasks.tenant_pool_refill",
        "schedule": 60,
    },
    "refresh-member-counts": {
        "task": "tenants.tasks.dispatch_per_enterprise",
        "schedule": 15 * 60,
        "kwargs": {"task_name": "tenants.tasks.enterprise_refresh_member_count"},
    },
    "policy-activate-due": {  # CON-2: policy versions take effect (public schema)
        "task": "consent.tasks.policy_activate_due",
        "schedule": 5 * 60,
    },
    "attendance-mark-missing": {  # ENT-4: yesterday's missing clock-ins/outs, 01:30 local time
        "task": "tenants.tasks.dispatch_per_enterprise",
        "schedule": crontab(hour=1, minute=30),
        "kwargs": {"task_name": "enterprise_data.tasks_attendance.attendance_mark_missing"},
    },
    "retention-purge": {  # RET-2..RET-5: daily purge of what is past its retention period, 02:30 local time
        "task": "tenants.tasks.dispatch_per_enterprise",
        "schedule": crontab(hour=2, minute=30),
        # suspended and terminating enterprises too: minimisation does not pause (docs/retention.md)
        "kwargs": {
            "task_name": "enterprise_data.tasks_retention.retention_purge",
            "states": ["active", "suspended", "terminating"],
        },
    },
    "erasure-plans": {  # DSR-5/DSR-6: scheduled erasures that are due, every 10 minutes
        "task": "tenants.tasks.dispatch_per_enterprise",
        "schedule": 10 * 60,
        "kwargs": {
            "task_name": "enterprise_data.tasks_retention.erasure_plans_run",
            "states": ["active", "suspended", "terminating"],
        },
    },
    "request-reminders": {  # DSR-4: reminders at 5 and 2 working days left, per enterprise, 08:00
        "task": "tenants.tasks.dispatch_per_enterprise",
        "schedule": crontab(hour=8, minute=0),
        "kwargs": {"task_name": "requests.tasks.request_send_reminders"},
    },
    "platform-purge": {  # RET-2 for the public schema: SMS codes, inbox, SMS/e-mail copies, 02:45
        "task": "tenants.tasks.platform_purge",
        "schedule": crontab(hour=2, minute=45),
    },
    "terminations": {  # TEN-4: terminations whose notice has run out, 03:30 local time (public schema)
        "task": "tenants.tasks.terminations_execute_due",
        "schedule": crontab(hour=3, minute=30),
    },
    "account-request-reminders": {  # DSR-4: the same for account-data requests (public schema)
        "task": "requests.tasks.account_request_send_reminders",
        "schedule": crontab(hour=8, minute=5),
    },
    "account-deletions": {  # DSR-6: account deletions whose cooling-off is over (public schema; it
        # switches to each enterprise's schema to leave it), every 10 minutes
        "task": "requests.tasks.account_deletions_execute",
        "schedule": 10 * 60,
    },
    "account-exports-purge": {  # DSR-2: account exports whose download link has expired, hourly (public schema)
        "task": "requests.tasks.account_exports_purge",
        "schedule": 60 * 60,
    },
}

# A request body may carry a 2 MB photo as base64 (clock-in photos, ENT-4/CON-5): the services
# check the real limits and answer with field errors.
DATA_UPLOAD_MAX_MEMORY_SIZE = 4 * 1024 * 1024

# --- REST API ----------------------------------------------------------------------------------
REST_FRAMEWORK: dict[str, Any] = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "config.openapi.PortalAutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "tenants.apis.exception_handler",
    # SEC-7 (tenants/throttling.py, docs/security.md "Throttles and caps"): every API request
    # counts against its address, its account or device key, and a view's `throttle_scope` for
    # writes; beyond a rate the answer is a JSON 429 with Retry-After. Fixed windows (a clock
    # minute or hour); the rates are read when a request comes, so override_settings works.
    "DEFAULT_THROTTLE_CLASSES": [
        "tenants.throttling.AddressRateThrottle",
        "tenants.throttling.AccountRateThrottle",
        "tenants.throttling.DeviceRateThrottle",
        "tenants.throttling.ScopedWriteRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "address": env_str("API_THROTTLE_ADDRESS", "600/min"),  # per client address, platform-wide
        "account": env_str("API_THROTTLE_ACCOUNT", "120/min"),  # per signed-in account, per enterprise
        "device": env_str("API_THROTTLE_DEVICE", "300/min"),  # per device key (its enterprise's)
        # writes of views with throttle_scope = "requests": new data-subject requests
        "requests": env_str("API_THROTTLE_REQUESTS", "10/hour"),  # per account, per enterprise
    },
}
for _scope, _rate in REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"].items():  # a typo fails at start, not per request
    if _rate and not re.fullmatch(r"\d+/[smhd][a-z]*", _rate):
        raise ImproperlyConfigured(f"API_THROTTLE_{_scope.upper()} is {_rate!r}: use e.g. 120/min, 10/hour, 1000/day.")
# SEC-7: a member's open data-subject requests per enterprise (an account's open account-data
# requests on the platform): one more is refused with a field error (400), requests/workflow/services.py.
REQUEST_MAX_OPEN_PER_MEMBER = env_int("REQUEST_MAX_OPEN_PER_MEMBER", 10)
SPECTACULAR_SETTINGS = {
    "TITLE": "Enterprise personal-data portal API",
    "DESCRIPTION": "Per-enterprise API: served on each enterprise's host. Members and administrators "
    "authenticate with their session; devices with `Authorization: Device <key>`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # several models have a field called `kind` with different choices: name each set
    "ENUM_NAME_OVERRIDES": {
        "ClockKindEnum": "attendance.models.ClockEvent.Kind",
        "DeviceKindEnum": "biometrics.models.Device.Kind",
        "InvitationKindEnum": "invitations.models.Invitation.Kind",
        "InvitationStatusEnum": "invitations.models.Invitation.Status",
        "RequestCategoryEnum": "requests.models.REQUEST_CATEGORY_CHOICES",
        "SensitiveCategoryEnum": "consent.models.enterprise.SensitiveCategory",
        "RequestKindEnum": "requests.models.RequestKind",
        "RequestStatusEnum": "requests.models.Request.Status",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- two-factor authentication (SEC-2) ------------------------------------------------------------
OTP_TOTP_ISSUER = "Personal-data portal"
# The operators' console never shows a device's secret: an authenticator's key and QR code, a
# recovery-code set's codes (operators/otp_admin.py).
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
