"""Services of the consent app (SPEC §5, ACC-4)."""
