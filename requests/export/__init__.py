"""Exports of a member's data (DSR-2, DSR-7): a zip built by a worker, a one-time link."""
