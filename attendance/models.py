"""Attendance (ENT-4): geofences, clock events, daily records."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Geofence(models.Model):
    """An office: a circle (centre + radius) and the Wi-Fi networks (BSSIDs) inside it."""

    name = models.CharField(_("name"), max_length=100)
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6)
    radius_m = models.PositiveIntegerField(_("radius (m)"), default=200)
    wifi_bssids = models.JSONField(_("Wi-Fi BSSIDs"), default=list, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("geofence")
        verbose_name_plural = _("geofences")
        app_label = "enterprise_data"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AttendancePolicy(models.Model):
    """One row (pk=1): the working day used to find exceptions."""

    work_starts = models.TimeField(_("work starts"), default="09:00")
    work_ends = models.TimeField(_("work ends"), default="18:00")
    late_after_minutes = models.PositiveSmallIntegerField(_("late after (minutes)"), default=5)

    class Meta:
        verbose_name = _("attendance policy")
        verbose_name_plural = _("attendance policies")
        app_label = "enterprise_data"


class ClockEvent(models.Model):
    """The durable record of a clock-in/out: the in/out-of-geofence flag and a coarse location
    cell. Raw coordinates live in ClockEventLocation under their own retention category."""

    class Kind(models.TextChoices):
        IN = "in", _("Clock in")
        OUT = "out", _("Clock out")

    class Source(models.TextChoices):
        APP = "app", _("App")
        WIFI = "wifi", _("Wi-Fi")
        DEVICE = "device", _("Device")

    membership = models.ForeignKey(
        "enterprise_data.Membership",
        on_delete=models.CASCADE,
        related_name="clock_events",
        verbose_name=_("membership"),
    )
    kind = models.CharField(_("kind"), max_length=4, choices=Kind.choices)
    source = models.CharField(_("source"), max_length=8, choices=Source.choices)
    occurred_at = models.DateTimeField(_("time"))
    within_geofence = models.BooleanField(_("in range"))
    geofence = models.ForeignKey(
        Geofence, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("geofence")
    )
    location_cell = models.CharField(_("location cell"), max_length=32, blank=True)
    accuracy_m = models.PositiveIntegerField(_("accuracy (m)"), null=True, blank=True)
    device = models.ForeignKey(
        "enterprise_data.Device",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="clock_events",
        verbose_name=_("device"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("clock event")
        verbose_name_plural = _("clock events")
        app_label = "enterprise_data"
        ordering = ["-occurred_at"]
        indexes = [models.Index(fields=["membership", "occurred_at"], name="clock_member_time")]


class ClockEventLocation(models.Model):
    """Raw coordinates of a clock event, encrypted with the member's data key; purged sooner
    than the event itself (retention category "raw coordinates")."""

    # No foreign-key constraint: triggers keep the link instead, set-based (migration 0008,
    # docs/retention.md "Clock events and their details"). on_delete is what Django's collector does.
    event = models.OneToOneField(
        ClockEvent, on_delete=models.CASCADE, related_name="raw_location", db_constraint=False, verbose_name=_("event")
    )
    coordinates_encrypted = models.BinaryField(verbose_name=_("coordinates (encrypted)"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("clock event location")
        verbose_name_plural = _("clock event locations")
        app_label = "enterprise_data"


class ClockEventPhoto(models.Model):
    """A photo taken at clock-in by the app (needs the camera device permission, CON-5, and the
    member's biometrics consent for attendance, CON-4), encrypted with the member's data key and
    purged with the raw location detail (retention category "raw coordinates")."""

    # linked like ClockEventLocation.event: triggers, no foreign-key constraint (migration 0008)
    event = models.OneToOneField(
        ClockEvent, on_delete=models.CASCADE, related_name="photo", db_constraint=False, verbose_name=_("event")
    )
    photo_encrypted = models.BinaryField(verbose_name=_("photo (encrypted)"))
    content_type = models.CharField(max_length=16, verbose_name=_("content type"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("clock event photo")
        verbose_name_plural = _("clock event photos")
        app_label = "enterprise_data"


class AttendanceDay(models.Model):
    """A member's day: first in, last out and exceptions (late, missing_in, missing_out,
    out_of_range)."""

    membership = models.ForeignKey(
        "enterprise_data.Membership",
        on_delete=models.CASCADE,
        related_name="attendance_days",
        verbose_name=_("membership"),
    )
    date = models.DateField(_("date"))
    first_in = models.DateTimeField(null=True, blank=True, verbose_name=_("first in"))
    last_out = models.DateTimeField(null=True, blank=True, verbose_name=_("last out"))
    exceptions = models.JSONField(default=list, blank=True, verbose_name=_("exceptions"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("attendance day")
        verbose_name_plural = _("attendance days")
        app_label = "enterprise_data"
        ordering = ["-date"]
        constraints = [models.UniqueConstraint(fields=["membership", "date"], name="attendance_day_unique")]
        indexes = [models.Index(fields=["date"], name="attendance_day_date")]
