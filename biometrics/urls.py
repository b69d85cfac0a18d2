"""URLs of the biometrics sub-domain (ENT-6). config/urls_tenants.py mounts console_patterns under
/console/, me_patterns under /me/, api_patterns under /api/v1/ and device_patterns under
/api/device/v1/."""

from django.urls import path

from biometrics import apis, views

console_patterns = [
    path("biometrics/devices/", views.DeviceListView.as_view(), name="biometrics_devices"),
    path("biometrics/devices/<int:pk>/revoke/", views.DeviceRevokeView.as_view(), name="biometrics_device_revoke"),
    path("biometrics/members/", views.BiometricMemberListView.as_view(), name="biometrics_members"),
    path("biometrics/members/<int:pk>/", views.BiometricMemberView.as_view(), name="biometrics_member"),
    path(
        "biometrics/templates/<int:pk>/revoke/", views.TemplateRevokeView.as_view(), name="biometrics_template_revoke"
    ),
    path(
        "biometrics/templates/<int:pk>/delete/", views.TemplateDeleteView.as_view(), name="biometrics_template_delete"
    ),
]
me_patterns: list = []
api_patterns = [
    path("devices/", apis.DeviceListApi.as_view(), name="api_devices"),
    path("devices/<int:pk>/revoke/", apis.DeviceRevokeApi.as_view(), name="api_device_revoke"),
    path("members/<int:pk>/biometrics/", apis.MemberBiometricsApi.as_view(), name="api_member_biometrics"),
    path("biometrics/<int:pk>/", apis.BiometricDetailApi.as_view(), name="api_biometric"),
    path("biometrics/<int:pk>/revoke/", apis.BiometricRevokeApi.as_view(), name="api_biometric_revoke"),
]
device_patterns = [
    path("templates/", apis.TemplateFeedApi.as_view(), name="device_templates"),
]
