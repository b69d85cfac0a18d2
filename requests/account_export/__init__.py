"""An account's copy of what the platform holds about it (DSR-2 for account data; issue 17 §3)."""
