"""Attendance (ENT-4): clock-in by app, Wi-Fi or device, geofences, the attendance policy, days and
the nightly marking of missing clock-ins."""
