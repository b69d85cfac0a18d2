"""Signals of consent, for the layers above it (docs/architecture.md, "Layers"). Consent sits
below the features that hold sensitive data and below retention, which erases it: consent
announces, they act. Receivers are connected when the apps are ready (retention/receivers.py)."""

from django.dispatch import Signal

# A withdrawal (or the end of a legal basis) left no basis for (`category`, `purpose`) of
# `membership_id` in `enterprise`. Sent in the withdrawal's transaction, before it answers, with
# `reason` for the ledger: receivers stop what runs without asking require_basis (CON-6 "at once").
basis_ended = Signal()

# What ending a basis would erase now: each receiver answers {kind: count} for the data it holds
# of (`category`, `purpose`) of `membership_id` in `enterprise`; withdrawal_preview adds them up.
erasure_counted = Signal()
