from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RequestsConfig(AppConfig):
    """Data-subject requests and self-service (`/me/`).

    The folder shadows the PyPI `requests` library for every process started from the project
    root; nothing the portal installs may import that library (tests/test_dependencies.py).
    """

    name = "requests"
    label = "requests"
    verbose_name = _("Data-subject requests")

    def ready(self) -> None:
        # Django's way to wire an app once the apps are loaded (not a cycle dodge): the retention
        # purge, a layer below, runs the exports' purge of requests through this registration.
        from directory.services import active_member_removal_register
        from requests.export.services import exports_purge_expired
        from requests.leave.services import member_remove
        from retention.services.purge import exports_purge_register

        exports_purge_register(exports_purge_expired)
        active_member_removal_register(member_remove)
