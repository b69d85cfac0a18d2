"""`{{ user_agent|device_label }}`: a readable browser and system (accounts.security.devices)."""

from django import template

from accounts.security.devices import device_label as _device_label

register = template.Library()


@register.filter
def device_label(user_agent: str) -> str:
    return _device_label(user_agent or "")
