"""The account's profile and real-name verification (ACC-2)."""
