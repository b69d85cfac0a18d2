from .shadowing import import_optional_requests_importers

import_optional_requests_importers()

from .celery import app as celery_app  # noqa: E402

__all__ = ("celery_app",)
