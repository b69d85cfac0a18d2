"""Consent (§5). Platform models live in the public schema (config.routers /
settings.SPLIT_APP_PUBLIC_MODELS); enterprise notices and separate consents (CON-3, CON-4, CON-6)
live in each enterprise's schema (consent/models/enterprise.py)."""

from consent.models.enterprise import (
    PURPOSES,
    ConsentPurpose,
    ConsentRecord,
    EnterpriseNotice,
    NoticeAcknowledgement,
    NoticeCategory,
    NoticeItem,
    SensitiveCategory,
)
from consent.models.platform import (
    DevicePermission,
    DevicePermissionEvent,
    GuardianConsent,
    Notification,
    NotificationDelivery,
    PolicyAcceptance,
    PolicyNoticeDismissal,
    PolicyVersion,
)

__all__ = [
    "PURPOSES",
    "ConsentPurpose",
    "ConsentRecord",
    "EnterpriseNotice",
    "NoticeAcknowledgement",
    "NoticeCategory",
    "NoticeItem",
    "SensitiveCategory",
    "DevicePermission",
    "DevicePermissionEvent",
    "GuardianConsent",
    "Notification",
    "NotificationDelivery",
    "PolicyAcceptance",
    "PolicyNoticeDismissal",
    "PolicyVersion",
]
