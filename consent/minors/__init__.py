"""Minors and their guardians' consent (ACC-4, ACC-7)."""
