"""Services of data-subject requests: the working-day calendar (DSR-4), the workflow (DSR-1,
DSR-3) and the deadline reminders."""
