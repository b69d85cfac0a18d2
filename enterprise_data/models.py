"""Data each enterprise controls, in the enterprise's own schema (§4), by sub-domain."""

from attendance.models import AttendanceDay, AttendancePolicy, ClockEvent, ClockEventLocation, ClockEventPhoto, Geofence
from biometrics.models import BiometricTemplate, Device, TemplateChange
from core.models import Department, EnterpriseSettings, MemberDataKey, Membership, Position, Rank
from directory.imports.models import MemberImport
from health.models import HealthReport
from invitations.models import Invitation
from ledger.models import LedgerCheckpoint, LedgerEntry
from retention.models import ErasurePlan, PurgeRun, PurgeStep, RetentionSetting

__all__ = [
    "AttendanceDay",
    "AttendancePolicy",
    "BiometricTemplate",
    "ClockEvent",
    "ClockEventLocation",
    "ClockEventPhoto",
    "Department",
    "ErasurePlan",
    "Device",
    "EnterpriseSettings",
    "Geofence",
    "HealthReport",
    "Invitation",
    "LedgerCheckpoint",
    "LedgerEntry",
    "MemberDataKey",
    "MemberImport",
    "Membership",
    "Position",
    "PurgeRun",
    "PurgeStep",
    "Rank",
    "RetentionSetting",
    "TemplateChange",
]
