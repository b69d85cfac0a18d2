"""Services of the consent app (SPEC §5, ACC-4): platform privacy policy (policy.py), in-app inbox
(inbox.py), device permissions (permissions.py), minors (minors.py)."""
