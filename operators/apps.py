from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OperatorsConfig(AppConfig):
    """What platform operators use: the Django admin of enterprises (provisioning, suspension,
    termination) and the management commands that act across layers (`create_enterprise`,
    `session_for`). No models of its own; it sits at the top of the layers."""

    name = "operators"
    verbose_name = _("Platform operators")
