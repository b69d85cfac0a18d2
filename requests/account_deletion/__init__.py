"""Deleting an account (DSR-6): blockers, cooling-off, execution."""
