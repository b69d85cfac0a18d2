from django.apps import AppConfig


class EnterpriseDataConfig(AppConfig):
    name = "enterprise_data"
    verbose_name = "Enterprise data"
