from django.apps import AppConfig


class OperatorsConfig(AppConfig):
    """What platform operators use: the Django admin of enterprises (provisioning, suspension,
    termination) and the management commands that act across layers (`create_enterprise`,
    `session_for`). No models of its own; it sits at the top of the layers."""

    name = "operators"
    verbose_name = "Platform operators"
