"""URLs of attendance (ENT-4). config/urls_tenants.py mounts console_patterns under /console/,
me_patterns under /me/, api_patterns under /api/v1/ and device_patterns under /api/device/v1/
(devices post clock events through the biometrics device API, which calls attendance_clock)."""

from django.urls import path

from attendance import apis, views

console_patterns = [
    path("attendance/", views.AttendanceOverviewView.as_view(), name="console_attendance"),
    path("attendance/members/<int:pk>/", views.AttendanceMemberView.as_view(), name="console_attendance_member"),
    path(
        "attendance/members/<int:pk>/calendar/",
        views.AttendanceCalendarView.as_view(),
        name="console_attendance_calendar",
    ),
    path("attendance/statistics/", views.AttendanceStatisticsView.as_view(), name="console_attendance_statistics"),
    path(
        "attendance/statistics/export/",
        views.AttendanceStatisticsExportView.as_view(),
        name="console_attendance_statistics_export",
    ),
    path("attendance/events/<int:pk>/reveal/", views.ClockEventRevealView.as_view(), name="console_clock_event_reveal"),
    path("attendance/geofences/", views.GeofenceListView.as_view(), name="console_geofences"),
    path("attendance/geofences/new/", views.GeofenceCreateView.as_view(), name="console_geofence_create"),
    path("attendance/geofences/<int:pk>/", views.GeofenceEditView.as_view(), name="console_geofence_edit"),
    path("attendance/geofences/<int:pk>/delete/", views.GeofenceDeleteView.as_view(), name="console_geofence_delete"),
    path("attendance/policy/", views.AttendancePolicyView.as_view(), name="console_attendance_policy"),
]
me_patterns = [
    path("attendance/", views.MyAttendanceView.as_view(), name="me_attendance"),
    path("attendance/clock/", views.MyClockView.as_view(), name="me_attendance_clock"),
]
api_patterns = [
    path("attendance/clock/", apis.AttendanceClockApi.as_view(), name="api_attendance_clock"),
    path("attendance/me/", apis.AttendanceMeApi.as_view(), name="api_attendance_me"),
    path("attendance/days/", apis.AttendanceDayListApi.as_view(), name="api_attendance_days"),
    path("attendance/statistics/", apis.AttendanceStatisticsApi.as_view(), name="api_attendance_statistics"),
    path(
        "attendance/statistics/members/",
        apis.AttendanceStatisticsMembersApi.as_view(),
        name="api_attendance_statistics_members",
    ),
    path("geofences/", apis.GeofenceListApi.as_view(), name="api_geofences"),
    path("geofences/<int:pk>/", apis.GeofenceDetailApi.as_view(), name="api_geofence"),
]
device_patterns = [
    path("clock/", apis.ClockApi.as_view(), name="device_clock"),
]
