"""Two-factor authentication for administrators and operators (SEC-2)."""
