"""Signals of accounts, for the layers above it (docs/architecture.md, "Layers"): accounts do
not know consent, so consent listens instead of being called."""

from django.dispatch import Signal

# Sent inside account_register's transaction, once the account row exists: `account`, `ip`,
# `channel`. A receiver that raises rolls the registration back.
account_registered = Signal()
