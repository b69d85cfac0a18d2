"""Data-subject requests (DSR-1, DSR-3, DSR-4, DSR-10): submission, identity, decisions, deadlines
in working days, reminders."""
