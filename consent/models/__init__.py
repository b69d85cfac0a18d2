"""Consent (§5). Platform models live in the public schema (config.routers /
settings.SPLIT_APP_PUBLIC_MODELS); enterprise notices and separate consents (CON-3, CON-4) will
live in each enterprise's schema."""

from consent.models.platform import (
    DevicePermission,
    DevicePermissionEvent,
    GuardianConsent,
    Notification,
    PolicyAcceptance,
    PolicyNoticeDismissal,
    PolicyVersion,
)

__all__ = [
    "DevicePermission", "DevicePermissionEvent", "GuardianConsent", "Notification", "PolicyAcceptance",
    "PolicyNoticeDismissal", "PolicyVersion",
]
