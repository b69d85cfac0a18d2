"""Reads of enterprise-schema data, one module per sub-domain. Admin reads start from
enterprise_data.scopes.AdminScope, which filters by the acting admin's scope."""

from enterprise_data.selectors.members import membership_for_account

__all__ = ["membership_for_account"]
