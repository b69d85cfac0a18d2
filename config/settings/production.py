"""Production: the docker-compose shape. Differs from base only through environment variables.

`manage.py check --deploy --fail-level WARNING` passes with these settings and a real
environment (`.ci/run` checks it with a generated one). Secrets come only from the environment
(SEC-6): without them the process refuses to start. docs/security.md.
"""

import os

from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_str

# Checked before base reads them, to name everything that is missing at once (base would stop
# at the first). A generated value is needed for each secret; none has a default here.
REQUIRED_ENVIRONMENT = {
    "SECRET_KEY": "Django's signing key, 50+ random characters "
    '(python -c "import secrets; print(secrets.token_urlsafe(50))")',
    "PORTAL_MASTER_KEY": "the key that encrypts stored personal data, 32 random bytes in urlsafe base64 "
    '(python -c "import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())")',
    "DATABASE_URL": "postgres://user:password@host:5432/portal",
    "REDIS_URL": "redis://host:6379/0",
}
_missing = [name for name in REQUIRED_ENVIRONMENT if not os.environ.get(name)]
if _missing:
    raise ImproperlyConfigured(
        "The production settings refuse to start without "
        + ", ".join(_missing)
        + " in the environment (never in the repository). Set:\n"
        + "\n".join(f"  {name}: {REQUIRED_ENVIRONMENT[name]}" for name in _missing)
    )

from .base import *  # noqa: E402, F403
from .base import DEFAULT_FROM_EMAIL, SMS_SENDER  # noqa: E402

DEBUG = False

# --- HTTPS behind the reverse proxy that terminates TLS ------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True  # every enterprise is a sub-domain
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
# The client address for sign-in throttling: the one the proxy appends to X-Forwarded-For.
PORTAL_TRUSTED_PROXY_COUNT = env_int("PORTAL_TRUSTED_PROXY_COUNT", 1)

# --- outgoing messages: credentials from the environment only (SEC-6) ---------------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
SERVER_EMAIL = DEFAULT_FROM_EMAIL  # DEFAULT_FROM_EMAIL: base, from the environment
if EMAIL_HOST_USER and not EMAIL_HOST_PASSWORD:
    raise ImproperlyConfigured("EMAIL_HOST_USER is set but EMAIL_HOST_PASSWORD is not: set it in the environment.")
# A real SMS provider's sender class (SMS_SENDER) reads its credentials from these.
SMS_API_KEY = env_str("SMS_API_KEY", "")
SMS_API_SECRET = env_str("SMS_API_SECRET", "")
DEVELOPMENT_SMS_SENDERS = {"accounts.sms.ConsoleSmsSender", "accounts.sms.OutboxSmsSender"}
if SMS_SENDER not in DEVELOPMENT_SMS_SENDERS and not (SMS_API_KEY and SMS_API_SECRET):
    raise ImproperlyConfigured(f"SMS_SENDER is {SMS_SENDER}: set SMS_API_KEY and SMS_API_SECRET in the environment.")
