"""Platform tasks of the consent app (they run in the public schema)."""

from __future__ import annotations

from config.celery import app


@app.task(name="consent.tasks.policy_activate_due")
def policy_activate_due() -> list[str]:
    """Beat, every few minutes: policy versions whose effective time has come take effect."""
    from consent.services.interstitial import policy_activate_due as activate

    return [version.version for version in activate()]
