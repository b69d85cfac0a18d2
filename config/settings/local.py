"""Development: `make run`. Everything still comes from the environment the launcher sets."""

from config.env import env_bool

from .base import *  # noqa: F403

# The demo serves as production does (issue 17 §5): no debug pages, static files collected and served
# by whitenoise (the launcher runs collectstatic). DJANGO_DEBUG=1 brings Django's debug pages back.
DEBUG = env_bool("DJANGO_DEBUG", False)
EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
