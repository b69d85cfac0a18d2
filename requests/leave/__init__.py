"""Leaving an enterprise (DSR-5)."""
