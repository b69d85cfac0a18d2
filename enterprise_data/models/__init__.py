"""Data each enterprise controls, in the enterprise's own schema (§4), by sub-domain."""

from enterprise_data.models.attendance import (
    AttendanceDay,
    AttendancePolicy,
    ClockEvent,
    ClockEventLocation,
    ClockEventPhoto,
    Geofence,
)
from enterprise_data.models.biometrics import BiometricTemplate, Device, TemplateChange
from enterprise_data.models.health import HealthReport
from enterprise_data.models.invitations import Invitation
from enterprise_data.models.keys import EnterpriseSettings, MemberDataKey
from enterprise_data.models.ledger import LedgerCheckpoint, LedgerEntry
from enterprise_data.models.members import Membership
from enterprise_data.models.org import Department, Position, Rank
from enterprise_data.models.retention import ErasurePlan, PurgeRun, PurgeStep, RetentionSetting

__all__ = [
    "AttendanceDay", "AttendancePolicy", "BiometricTemplate", "ClockEvent", "ClockEventLocation", "ClockEventPhoto",
    "Department",
    "ErasurePlan",
    "Device", "EnterpriseSettings", "Geofence", "HealthReport", "Invitation", "LedgerCheckpoint", "LedgerEntry",
    "MemberDataKey", "Membership", "Position", "PurgeRun", "PurgeStep", "Rank", "RetentionSetting", "TemplateChange",
]
