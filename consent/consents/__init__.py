"""Separate consents and legal bases for sensitive data (CON-4, CON-6), and their withdrawal."""
