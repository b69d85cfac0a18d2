from django.apps import AppConfig


class RequestsConfig(AppConfig):
    """Data-subject requests and self-service (`/me/`).

    The folder shadows the PyPI `requests` library for every process started from the project
    root; nothing the portal installs may import that library (tests/test_dependencies.py).
    """

    name = "requests"
    label = "requests"
    verbose_name = "Data-subject requests"
