"""Signals of accounts, for the layers above it (docs/architecture.md, "Layers"): accounts do
not know consent, so consent listens instead of being called."""

from django.dispatch import Signal

# Sent inside account_register's transaction, once the account row exists: `account`, `ip`,
# `channel`. A receiver that raises rolls the registration back.
account_registered = Signal()

# Account security (issue 17 §2): the account should be told (inbox + SMS) — `account`, `kind`
# (a short code), `title` and `body` as msgids (gettext_noop) with `params` for the body's
# %(name)s, so that the message reads in the reader's language. Sent inside the action's
# transaction; consent writes the inbox message (consent/receivers.py).
account_security_notice = Signal()
